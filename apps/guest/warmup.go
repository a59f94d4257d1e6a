package main

import (
	"io"
	"os/exec"
	"sync"
)

// warmUpPath is a program every guest image has; a guest without it only misses the warm-up.
const warmUpPath = "/bin/true"

// warmer runs one short process the way an exec does (a fork, an exec, a pipe for its output, a
// wait), in the background, once the first session's WELCOME is written. Under emulation a
// booted guest's first process start costs 50-100 ms more than later ones (the kernel's and the
// agent's process-start code is translated for the first time); the host has work of its own
// between the WELCOME and the user's first command (the VM's state written, the client told),
// and the warm-up runs in it, so that command finds the path warm. After a restore the host's
// next request (its identity) follows at once, so a warm-up there would only compete with it.
type warmer struct {
	mu      sync.Mutex
	running bool
	firsted bool
	run     func() // replaceable in tests
}

func newWarmer() *warmer {
	return &warmer{run: func() {
		cmd := &exec.Cmd{Path: warmUpPath, Args: []string{"true"}, Stdout: io.Discard, Stderr: io.Discard}
		if startTracked(cmd) != nil {
			return
		}
		_ = cmd.Wait()
		untrackPid(cmd.Process.Pid)
	}}
}

// kick starts a warm-up unless one is running; it never blocks.
func (w *warmer) kick() {
	w.mu.Lock()
	if w.running || w.run == nil {
		w.mu.Unlock()
		return
	}
	w.running = true
	w.mu.Unlock()
	go func() {
		defer func() {
			w.mu.Lock()
			w.running = false
			w.mu.Unlock()
		}()
		w.run()
	}()
}

// first kicks a warm-up the first time it is called in this process: a booted guest's first
// session. A restored guest's agent had its first session before the snapshot was taken.
func (w *warmer) first() {
	w.mu.Lock()
	done := w.firsted
	w.firsted = true
	w.mu.Unlock()
	if !done {
		w.kick()
	}
}
