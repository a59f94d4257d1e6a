package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type sleepLog struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *sleepLog) sleep(d time.Duration, _ <-chan struct{}) bool {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
	return true
}

func (l *sleepLog) all() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Duration(nil), l.d...)
}

// waitFor waits for a status that satisfies ok (the deadline only turns a hang into a failure).
func waitFor(t *testing.T, s *appSupervisor, ok func(st AppStatus) bool) AppStatus {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		st, _, ch := s.status(^uint64(0))
		if ok(st) {
			return st
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("status never matched; last %+v", st)
		}
	}
}

// waitLine waits for an output line (the app got that far).
func waitLine(t *testing.T, s *appSupervisor, line string) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		recs, _, _, ch := s.ring.since(1, 1<<30)
		for _, r := range recs {
			if r.Line == line {
				return
			}
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no line %q", line)
		}
	}
}

func testSupervisor(t *testing.T, app *GuestApp, sl *sleepLog) *appSupervisor {
	if app.Env == nil {
		app.Env = []string{"PATH=/usr/bin:/bin"}
	}
	s := newAppSupervisor(t.TempDir(), app, nil)
	s.sleep = sl.sleep
	s.vmstat = filepath.Join(t.TempDir(), "vmstat")
	_ = os.WriteFile(s.vmstat, []byte("pgfault 5\noom_kill 0\n"), 0o644)
	return s
}

func eventsOf(s *appSupervisor) []string {
	_, evs, _ := s.status(0)
	var out []string
	for _, e := range evs {
		out = append(out, e.msg)
	}
	return out
}

func TestOnFailureBacksOffAndGivesUpAfterMaxRetries(t *testing.T) {
	two := 2
	var sl sleepLog
	s := testSupervisor(t, &GuestApp{Argv: []string{"sh", "-c", "echo to-out; echo to-err >&2; exit 3"},
		Restart: "on-failure", MaxRetries: &two}, &sl)
	go s.run()
	st := waitFor(t, s, func(st AppStatus) bool { return st.State == "exited" })
	if st.ExitCode == nil || *st.ExitCode != 3 || st.Restarts != 2 || st.Reason == nil ||
		!strings.HasPrefix(*st.Reason, "max-retries: exit code 3") || !strings.Contains(*st.Reason, "to-err") {
		t.Fatalf("status %+v reason %q", st, *st.Reason)
	}
	if got := sl.all(); len(got) != 2 || got[0] != 100*time.Millisecond || got[1] != 200*time.Millisecond {
		t.Fatalf("back-off %v", got)
	}
	evs := eventsOf(s)
	want := []string{"restarted, exit code 3, attempt 1", "restarted, exit code 3, attempt 2", "exited with code 3 after 2 restarts"}
	if strings.Join(evs, "|") != strings.Join(want, "|") {
		t.Fatalf("events %q", evs)
	}
	recs, _, _, _ := s.ring.since(1, 1<<20)
	var outs, errs int
	for _, r := range recs {
		if r.Stream == "stdout" && r.Line == "to-out" {
			outs++
		}
		if r.Stream == "stderr" && r.Line == "to-err" {
			errs++
		}
	}
	if outs != 3 || errs != 3 {
		t.Fatalf("stdout %d stderr %d records: %+v", outs, errs, recs)
	}
}

func TestBackoffResetsAfterALongRun(t *testing.T) {
	old := backoffReset
	backoffReset = time.Nanosecond
	defer func() { backoffReset = old }()
	one := 3
	var sl sleepLog
	s := testSupervisor(t, &GuestApp{Argv: []string{"false"}, Restart: "on-failure", MaxRetries: &one}, &sl)
	go s.run()
	waitFor(t, s, func(st AppStatus) bool { return st.State == "exited" })
	for _, d := range sl.all() {
		if d != backoffStart {
			t.Fatalf("back-off not reset: %v", sl.all())
		}
	}
}

func TestCleanExitWithOnFailureEnds(t *testing.T) {
	var sl sleepLog
	s := testSupervisor(t, &GuestApp{Argv: []string{"true"}, Restart: "on-failure"}, &sl)
	go s.run()
	st := waitFor(t, s, func(st AppStatus) bool { return st.State == "exited" })
	if *st.ExitCode != 0 || st.Restarts != 0 || len(sl.all()) != 0 {
		t.Fatalf("%+v", st)
	}
	if evs := eventsOf(s); len(evs) != 1 || evs[0] != "exited with code 0" {
		t.Fatalf("events %q", evs)
	}
}

func TestOOMKillIsTheReason(t *testing.T) {
	var sl sleepLog
	s := testSupervisor(t, &GuestApp{Restart: "no"}, &sl)
	// The kernel would count the kill; here the app does it, then dies by SIGKILL.
	s.app.Argv = []string{"sh", "-c", "printf 'pgfault 9\\noom_kill 1\\n' > " + s.vmstat + "; kill -KILL $$"}
	go s.run()
	st := waitFor(t, s, func(st AppStatus) bool { return st.State == "exited" })
	if *st.ExitCode != 137 || st.Signal == nil || *st.Signal != "SIGKILL" || !strings.HasPrefix(*st.Reason, "oom") {
		t.Fatalf("%+v reason %q", st, *st.Reason)
	}
	// A SIGKILL without an OOM kill is just a kill.
	s2 := testSupervisor(t, &GuestApp{Argv: []string{"sh", "-c", "kill -KILL $$"}, Restart: "no"}, &sl)
	go s2.run()
	st = waitFor(t, s2, func(st AppStatus) bool { return st.State == "exited" })
	if !strings.HasPrefix(*st.Reason, "killed by SIGKILL") {
		t.Fatalf("reason %q", *st.Reason)
	}
}

func TestStartFailureIsReported(t *testing.T) {
	var sl sleepLog
	s := testSupervisor(t, &GuestApp{Argv: []string{"/no/such/binary"}, Restart: "no"}, &sl)
	go s.run()
	st := waitFor(t, s, func(st AppStatus) bool { return st.State == "exited" })
	if *st.ExitCode != 127 || !strings.Contains(*st.Reason, "start-failed: /no/such/binary") {
		t.Fatalf("%+v %q", st, *st.Reason)
	}
}

func TestStopStartAndSignal(t *testing.T) {
	var sl sleepLog
	grace := int64(50)
	s := testSupervisor(t, &GuestApp{Argv: []string{"sh", "-c", "trap '' TERM; echo up; while :; do sleep 1; done"},
		Restart: "always", StopGraceMs: &grace}, &sl)
	go s.run()
	waitLine(t, s, "up")
	waitFor(t, s, func(st AppStatus) bool { return st.State == "running" })
	if err := s.control("stop", ""); err != nil {
		t.Fatal(err)
	}
	st, _, _ := s.status(^uint64(0))
	if st.State != "stopped" || st.Restarts != 0 || *st.Signal != "SIGKILL" {
		t.Fatalf("after stop (TERM ignored, so KILL): %+v %s", st, *st.Signal)
	}
	if err := s.control("signal", "TERM"); err == nil {
		t.Fatal("signal to a stopped app must fail")
	}
	_ = s.control("start", "")
	st = waitFor(t, s, func(st AppStatus) bool { return st.State == "running" })
	if err := s.control("signal", "KILL"); err != nil {
		t.Fatal(err)
	}
	// `always` restarts it after the kill.
	st = waitFor(t, s, func(st AppStatus) bool { return st.State == "running" && st.Restarts == 1 })
	if err := s.control("bogus", ""); err == nil {
		t.Fatal("unknown action accepted")
	}
	_ = s.control("stop", "")
}
