package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// AppStatus mirrors AppStatus in packages/contract/src/app-status.ts.
type AppStatus struct {
	State      string           `json:"state"`
	Pid        *int             `json:"pid"`
	ExitCode   *int             `json:"exitCode"`
	Signal     *string          `json:"signal"`
	Reason     *string          `json:"reason"`
	Restarts   int              `json:"restarts"`
	Health     *string          `json:"health"`
	HealthLog  []AppHealthProbe `json:"healthLog"`
	StartedAt  *string          `json:"startedAt"`
	FinishedAt *string          `json:"finishedAt"`
}

type AppHealthProbe struct {
	At     string `json:"at"`
	Ok     bool   `json:"ok"`
	Output string `json:"output"`
}

// appEvent is a human message about a change ("restarted, exit code 1, attempt 3"), numbered so
// followers send each once.
type appEvent struct {
	n   uint64
	msg string
}

const (
	backoffStart = 100 * time.Millisecond
	backoffMax   = time.Minute
	// reasonLines: how many of the last output lines an exit's reason quotes.
	reasonLines = 5
	maxEvents   = 64
)

// backoffReset: a run at least this long starts the back-off over (as Docker does); a variable
// so tests need not run an app for 10 s.
var backoffReset = 10 * time.Second

func strp(s string) *string { return &s }
func intp(n int) *int       { return &n }

// appSupervisor runs the app according to its restart policy and answers the app ops.
type appSupervisor struct {
	root    string
	app     *GuestApp
	ring    *logRing
	console io.Writer
	// Replaceable in tests: the back-off wait (false: cut short by a control), /proc/vmstat, sysfs,
	// mount(2).
	sleep  func(d time.Duration, cancel <-chan struct{}) bool
	vmstat string
	mounts mounter

	mu      sync.Mutex
	st      AppStatus
	proc    *os.Process
	want    bool          // the app should run (false after a stop, or once the policy gave up)
	userOff bool          // the last stop came from a control
	wake    chan struct{} // kicks the loop out of a back-off or an idle wait
	changed chan struct{} // closed and replaced at every status change
	events  []appEvent
	nextEvt uint64
	stopped chan struct{} // closed when the current run ends
}

func newAppSupervisor(root string, app *GuestApp, console io.Writer) *appSupervisor {
	if app.Console != nil && !*app.Console {
		console = nil
	}
	return &appSupervisor{root: root, app: app, ring: newLogRing(defaultRingBytes), console: console,
		sleep: sleepOrCancel, vmstat: "/proc/vmstat", mounts: sysMounter{sys: "/sys", dev: "/dev"},
		st: AppStatus{State: "starting", HealthLog: []AppHealthProbe{}}, want: true,
		wake: make(chan struct{}, 1), changed: make(chan struct{}), nextEvt: 1}
}

func sleepOrCancel(d time.Duration, cancel <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-cancel:
		return false
	}
}

// update changes the status under the lock and wakes followers; msg (if any) becomes an event.
func (s *appSupervisor) update(msg string, fn func(st *AppStatus)) {
	s.mu.Lock()
	fn(&s.st)
	if msg != "" {
		s.events = append(s.events, appEvent{n: s.nextEvt, msg: msg})
		s.nextEvt++
		if len(s.events) > maxEvents {
			s.events = s.events[len(s.events)-maxEvents:]
		}
		log.Printf("app: %s", msg)
	}
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// status returns a copy of the status, the events after `after`, and a channel closed at the
// next change.
func (s *appSupervisor) status(after uint64) (AppStatus, []appEvent, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.HealthLog = append([]AppHealthProbe{}, s.st.HealthLog...)
	var evs []appEvent
	for _, e := range s.events {
		if e.n > after {
			evs = append(evs, e)
		}
	}
	return st, evs, s.changed
}

func (s *appSupervisor) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// shouldRestart applies the restart policy to an exit status.
func shouldRestart(policy string, code int) bool {
	switch policy {
	case "always", "unless-stopped":
		return true
	case "on-failure":
		return code != 0
	}
	return false
}

// run is the supervision loop; it returns only when the mounts fail (state failed).
func (s *appSupervisor) run() {
	if err := mountAll(s.mounts, s.app.Mounts); err != nil {
		s.update("failed: "+err.Error(), func(st *AppStatus) {
			st.State, st.Reason = "failed", strp(err.Error())
		})
		return
	}
	backoff := backoffStart
	retries := 0
	for {
		s.mu.Lock()
		want := s.want
		s.mu.Unlock()
		if !want {
			<-s.wake
			continue
		}
		res := s.runOnce()
		s.mu.Lock()
		userOff := s.userOff
		s.mu.Unlock()
		if userOff {
			if st, _, _ := s.status(^uint64(0)); st.State == "stopped" {
				continue // the stop came before the start and recorded itself
			}
			s.update("stopped", func(st *AppStatus) {
				st.State, st.Reason, st.Pid = "stopped", strp("stopped"), nil
			})
			continue
		}
		if res.ran >= backoffReset {
			backoff = backoffStart
		}
		giveUp := !shouldRestart(s.app.Restart, res.code)
		maxed := !giveUp && s.app.Restart == "on-failure" && s.app.MaxRetries != nil && retries >= *s.app.MaxRetries
		if giveUp || maxed {
			s.exited(res, maxed)
			continue
		}
		retries++
		s.update(fmt.Sprintf("restarted, exit code %d, attempt %d", res.code, retries), func(st *AppStatus) {
			st.State, st.Restarts, st.Pid = "restarting", retries, nil
		})
		log.Printf("restarting the app in %v (attempt %d)", backoff, retries)
		s.sleep(backoff, s.wake)
		if backoff *= 2; backoff > backoffMax {
			backoff = backoffMax
		}
	}
}

// exited records the end of the app (the policy says no more restarts) and waits for a start.
func (s *appSupervisor) exited(res runResult, maxed bool) {
	reason := res.reason
	if maxed {
		reason = "max-retries: " + reason
	}
	if lines := s.ring.tail(reasonLines); len(lines) > 0 {
		reason += "; last output:\n" + strings.Join(lines, "\n")
	}
	msg := fmt.Sprintf("exited with code %d", res.code)
	if res.oom {
		msg += " (out of memory)"
	} else if maxed {
		msg += fmt.Sprintf(" after %d restarts", *s.app.MaxRetries)
	}
	s.mu.Lock()
	s.want = false
	s.mu.Unlock()
	s.update(msg, func(st *AppStatus) {
		st.State, st.Reason, st.Pid = "exited", strp(reason), nil
	})
}

type runResult struct {
	code   int
	reason string
	oom    bool
	ran    time.Duration
}

// runOnce starts the app and waits for its end; a failure to start counts as exit 127.
func (s *appSupervisor) runOnce() runResult {
	outW := &lineWriter{ring: s.ring, stream: "stdout", console: s.console}
	errW := &lineWriter{ring: s.ring, stream: "stderr", console: s.console}
	started := time.Now()
	oomBefore := readOOMKills(s.vmstat)
	// Spawning under the lock makes a stop either come first (nothing is started) or find the
	// process to signal; between the two it would be lost and the app left running.
	done := make(chan struct{})
	s.mu.Lock()
	if !s.want {
		s.mu.Unlock()
		return runResult{code: 0, reason: "stopped before it started"}
	}
	cmd, pipes, err := s.spawn(outW, errW)
	if err == nil {
		s.proc, s.stopped = cmd.Process, done
	}
	s.mu.Unlock()
	if err != nil {
		msg := fmt.Sprintf("start-failed: %s: %v", strings.Join(s.app.Argv, " "), err)
		s.ring.add("stderr", "hearth-guest: "+msg)
		code := 127
		s.update("", func(st *AppStatus) {
			st.ExitCode, st.Signal, st.FinishedAt = intp(code), nil, strp(isoTime(time.Now()))
		})
		return runResult{code: code, reason: msg}
	}
	hc := s.startHealth()
	s.update("", func(st *AppStatus) {
		st.State, st.Pid, st.ExitCode, st.Signal, st.Reason = "running", intp(cmd.Process.Pid), nil, nil, nil
		st.StartedAt, st.FinishedAt = strp(isoTime(started)), nil
		if s.app.Healthcheck != nil {
			st.Health = strp("starting")
		}
	})
	_ = cmd.Wait()
	untrackPid(cmd.Process.Pid)
	close(hc)
	pipes.wait(2 * time.Second)
	outW.flush()
	errW.flush()
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	res := runResult{code: ws.ExitStatus(), ran: time.Since(started)}
	var sig *string
	if ws.Signaled() {
		res.code = 128 + int(ws.Signal())
		sig = strp("SIG" + signalName(ws.Signal()))
		res.reason = fmt.Sprintf("killed by %s", *sig)
		res.oom = ws.Signal() == syscall.SIGKILL && readOOMKills(s.vmstat) > oomBefore
		if res.oom {
			res.reason = "oom"
		}
	} else {
		res.reason = fmt.Sprintf("exit code %d", res.code)
	}
	s.mu.Lock()
	s.proc = nil
	close(done)
	s.mu.Unlock()
	s.update("", func(st *AppStatus) {
		st.ExitCode, st.Signal, st.FinishedAt = intp(res.code), sig, strp(isoTime(time.Now()))
	})
	return res
}

// readOOMKills is the kernel's count of OOM kills (oom_kill in /proc/vmstat; 0 when unknown).
func readOOMKills(path string) int64 {
	lines, _ := readLines(path)
	for _, l := range lines {
		if strings.HasPrefix(l, "oom_kill ") {
			var n int64
			_, _ = fmt.Sscan(strings.TrimPrefix(l, "oom_kill "), &n)
			return n
		}
	}
	return 0
}
