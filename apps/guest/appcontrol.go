package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

const defaultStopGrace = 10 * time.Second

// pipeSet is the app's stdout and stderr pipes, each drained into its lineWriter.
type pipeSet struct{ wg sync.WaitGroup }

// wait waits for both pipes to reach EOF, at most d: a child that kept the pipe open must not
// hold up the supervisor (its later output still reaches the ring).
func (p *pipeSet) wait(d time.Duration) {
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// spawn starts the app with stdout and stderr on separate pipes.
func (s *appSupervisor) spawn(outW, errW io.Writer) (*exec.Cmd, *pipeSet, error) {
	cmd, err := appCommand(s.root, s.app, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	ps := &pipeSet{}
	var closeAfter []*os.File
	for i, w := range []io.Writer{outW, errW} {
		r, wf, err := os.Pipe()
		if err != nil {
			for _, f := range closeAfter {
				f.Close()
			}
			return nil, nil, err
		}
		if i == 0 {
			cmd.Stdout = wf
		} else {
			cmd.Stderr = wf
		}
		closeAfter = append(closeAfter, wf)
		ps.wg.Add(1)
		go func(r *os.File, w io.Writer) {
			defer ps.wg.Done()
			defer r.Close()
			_, _ = io.Copy(w, r)
		}(r, w)
	}
	err = startTracked(cmd)
	for _, f := range closeAfter {
		f.Close() // the child holds its own copies; EOF comes when it (and its children) exit
	}
	if err != nil {
		return nil, nil, err
	}
	return cmd, ps, nil
}

// control carries out app.control: stop, start, restart or signal.
func (s *appSupervisor) control(action, signal string) error {
	switch action {
	case "stop":
		s.stop()
	case "start":
		s.start()
	case "restart":
		s.stop()
		s.start()
	case "signal":
		sig, ok := parseSignal(signal)
		if !ok {
			return gerr(ErrBadRequest, "unknown signal %q", signal)
		}
		s.mu.Lock()
		p := s.proc
		s.mu.Unlock()
		if p == nil {
			return gerr(ErrProcessNotFound, "the app is not running")
		}
		if err := p.Signal(sig); err != nil {
			return gerr(ErrProcessNotFound, "signalling the app: %v", err)
		}
	default:
		return gerr(ErrBadRequest, "unknown action %q (stop, start, restart, signal)", action)
	}
	return nil
}

func (s *appSupervisor) start() {
	s.mu.Lock()
	s.want, s.userOff = true, false
	s.mu.Unlock()
	s.kick()
}

// stop sends the stop signal, then SIGKILL to the app's process group after the grace period,
// and returns once the run has ended (a back-off in progress is cut short).
func (s *appSupervisor) stop() {
	sig := syscall.SIGTERM
	if x, ok := parseSignal(s.app.StopSignal); ok {
		sig = x
	}
	grace := defaultStopGrace
	if s.app.StopGraceMs != nil {
		grace = time.Duration(*s.app.StopGraceMs) * time.Millisecond
	}
	s.mu.Lock()
	s.want, s.userOff = false, true
	p, done := s.proc, s.stopped
	s.mu.Unlock()
	if p == nil {
		s.kick()
		// Between runs (a back-off) the stop ends the restarts; an exited app stays exited.
		if st, _, _ := s.status(^uint64(0)); st.State == "restarting" || st.State == "starting" {
			s.update("stopped", func(st *AppStatus) { st.State, st.Reason = "stopped", strp("stopped") })
		}
		return
	}
	_ = p.Signal(sig)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
		_ = p.Kill()
		<-done
	}
	// The loop records "stopped" itself; wait for it so a following start finds it idle.
	for {
		st, _, ch := s.status(^uint64(0))
		if st.State == "stopped" {
			return
		}
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			fmt.Fprintln(os.Stderr, "hearth-guest: the app loop did not record the stop")
			return
		}
	}
}
