package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

// A console that takes nothing never slows the app: writes return at once, what does not fit is
// dropped, and once the console reads again it gets what was kept and a note of what was not.
func TestLossyWriterNeverBlocks(t *testing.T) {
	r, w := io.Pipe()
	l := newLossyWriter(w, 64)
	done := make(chan struct{})
	go func() {
		for i := 0; i < 100; i++ {
			_, _ = l.Write([]byte("0123456789abcdef")) // 16 bytes; 4 fit
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a write waited for the console")
	}
	got := make(chan string)
	go func() {
		var sb strings.Builder
		buf := make([]byte, 4096)
		for !strings.Contains(sb.String(), "not copied") {
			n, err := r.Read(buf)
			if err != nil {
				break
			}
			sb.Write(buf[:n])
		}
		got <- sb.String()
	}()
	out := <-got
	if !strings.HasPrefix(out, "0123456789abcdef") || !strings.Contains(out, "bytes of app output not copied to the console") {
		t.Fatalf("console got %q", out)
	}
}
