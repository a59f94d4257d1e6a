package main

import (
	"os/exec"
	"sync"
	"testing"
	"time"
)

func TestWarmerRunsOneAtATime(t *testing.T) {
	started := make(chan struct{}, 4)
	release := make(chan struct{})
	w := &warmer{run: func() {
		started <- struct{}{}
		<-release
	}}
	w.kick()
	<-started
	w.kick() // one is running: nothing more starts
	w.kick()
	select {
	case <-started:
		t.Fatal("a second warm-up started while the first ran")
	default:
	}
	close(release)
	// Once the first is done a new session warms up again.
	deadline := time.After(10 * time.Second)
	for {
		w.kick()
		select {
		case <-started:
			return
		case <-deadline:
			t.Fatal("no warm-up after the first ended")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestWarmerStartsARealProcess(t *testing.T) {
	if _, err := exec.LookPath(warmUpPath); err != nil {
		t.Skip(warmUpPath + " is missing here")
	}
	w := newWarmer()
	run := w.run
	done := make(chan struct{})
	w.run = func() { run(); close(done) }
	w.kick()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the warm-up process did not finish")
	}
	ownMu.Lock()
	defer ownMu.Unlock()
	if len(ownPids) != 0 {
		t.Fatalf("the warm-up left tracked pids: %v", ownPids)
	}
}

func TestWarmerFirstOnlyOnce(t *testing.T) {
	var mu sync.Mutex
	runs := 0
	w := &warmer{run: func() {
		mu.Lock()
		runs++
		mu.Unlock()
	}}
	w.first()
	waitIdle(t, w)
	// Later sessions (a host agent reconnecting) start nothing more.
	for i := 0; i < 3; i++ {
		w.first()
		waitIdle(t, w)
	}
	mu.Lock()
	defer mu.Unlock()
	if runs != 1 {
		t.Fatalf("first() warmed up %d times, want 1", runs)
	}
}

// waitIdle waits until no warm-up runs.
func waitIdle(t *testing.T, w *warmer) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		w.mu.Lock()
		busy := w.running
		w.mu.Unlock()
		if !busy {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the warm-up never ended")
		}
		time.Sleep(time.Millisecond)
	}
}
