package main

import (
	"os/exec"
	"testing"
)

func TestWarmUpStartsARealProcess(t *testing.T) {
	if _, err := exec.LookPath(warmUpPath); err != nil {
		t.Skip(warmUpPath + " is missing here")
	}
	warmUp()
	ownMu.Lock()
	defer ownMu.Unlock()
	if len(ownPids) != 0 {
		t.Fatalf("the warm-up left tracked pids: %v", ownPids)
	}
}

func TestWarmerFirstOnlyOnce(t *testing.T) {
	runs := 0
	w := &warmer{run: func() { runs++ }}
	w.first()
	// Later sessions (a host agent reconnecting) start nothing more.
	for i := 0; i < 3; i++ {
		w.first()
	}
	if runs != 1 {
		t.Fatalf("first() warmed up %d times, want 1", runs)
	}
}
