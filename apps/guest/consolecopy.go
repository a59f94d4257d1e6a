package main

import (
	"fmt"
	"io"
	"sync"
)

// lossyWriter copies what it is given to a slow writer (the serial console, about 10 KB/s under
// emulation) without ever making the writer wait: an app's output goes to its log ring at full
// speed, and what the console cannot take is dropped and counted, with a note when it catches up.
type lossyWriter struct {
	mu      sync.Mutex
	queue   [][]byte
	queued  int
	max     int
	dropped int
	wake    chan struct{}
}

func newLossyWriter(w io.Writer, maxBytes int) *lossyWriter {
	l := &lossyWriter{max: maxBytes, wake: make(chan struct{}, 1)}
	go l.drain(w)
	return l
}

func (l *lossyWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	if l.queued+len(p) > l.max {
		l.dropped += len(p)
	} else {
		l.queue = append(l.queue, append([]byte(nil), p...))
		l.queued += len(p)
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (l *lossyWriter) drain(w io.Writer) {
	for range l.wake {
		for {
			l.mu.Lock()
			batch, dropped := l.queue, l.dropped
			l.queue, l.queued, l.dropped = nil, 0, 0
			l.mu.Unlock()
			if len(batch) == 0 && dropped == 0 {
				break
			}
			for _, b := range batch {
				_, _ = w.Write(b)
			}
			if dropped > 0 {
				_, _ = fmt.Fprintf(w, "[hearth-guest: %d bytes of app output not copied to the console, which is slower than the app; the app's logs have them]\n", dropped)
			}
		}
	}
}
