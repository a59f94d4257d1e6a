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
	once sync.Once
	run  func() // starts the warm-up without waiting for it; replaceable in tests
}

func newWarmer() *warmer {
	return &warmer{run: func() { go warmUp() }}
}

// first starts the warm-up the first time it is called in this process: a booted guest's first
// session. A restored guest's agent had its first session before the snapshot was taken, and a
// host agent reconnecting later starts nothing.
func (w *warmer) first() {
	w.once.Do(w.run)
}

// warmUp starts warmUpPath and waits for it, tracked like every process the agent starts (the
// reaper of a PID-1 agent leaves it alone).
func warmUp() {
	cmd := &exec.Cmd{Path: warmUpPath, Args: []string{"true"}, Stdout: io.Discard, Stderr: io.Discard}
	if startTracked(cmd) != nil {
		return
	}
	_ = cmd.Wait()
	untrackPid(cmd.Process.Pid)
}
