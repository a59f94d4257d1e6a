package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestHealthStateMachine(t *testing.T) {
	h := healthState{status: "starting"}
	h.step(false, true, 2)
	h.step(false, true, 2)
	if h.status != "starting" {
		t.Fatalf("failures in the start period must not count: %s", h.status)
	}
	h.step(false, false, 2)
	if h.status != "starting" {
		t.Fatalf("one failure of 2: %s", h.status)
	}
	h.step(false, false, 2)
	if h.status != "unhealthy" {
		t.Fatalf("two failures: %s", h.status)
	}
	h.step(true, false, 2)
	if h.status != "healthy" || h.failures != 0 {
		t.Fatalf("a success: %+v", h)
	}
	h.step(false, true, 2) // the start period no longer matters once it passed a probe
	h.step(false, true, 2)
	if h.status != "unhealthy" {
		t.Fatalf("after healthy: %s", h.status)
	}
}

func TestHealthLoopReportsTransitionsAndKeepsFiveProbes(t *testing.T) {
	var sl sleepLog
	s := testSupervisor(t, &GuestApp{Argv: []string{"true"}}, &sl)
	hc := &AppHealthcheck{IntervalMs: 1, TimeoutMs: 1000, Retries: 2}
	results := []bool{false, true, true, false, false, true, true, true}
	i := 0
	stop := make(chan struct{})
	done := make(chan struct{})
	probe := func(context.Context) (bool, string) {
		ok := results[i]
		i++
		if i == len(results) {
			close(stop)
		}
		return ok, "probe " + strconv.Itoa(i)
	}
	go func() { s.healthLoop(hc, probe, stop, time.Now); close(done) }()
	<-done
	st, _, _ := s.status(^uint64(0))
	if len(st.HealthLog) != 5 || st.HealthLog[4].Output != "probe 7" || *st.Health != "healthy" {
		t.Fatalf("%+v", st)
	}
	want := "health: healthy|health: unhealthy — probe 5|health: healthy"
	if got := strings.Join(eventsOf(s), "|"); got != want {
		t.Fatalf("events %q", got)
	}
}

func TestProbes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	ctx := context.Background()
	if ok, out := httpProbe(ctx, "http://127.0.0.1:"+strconv.Itoa(port)+"/"); !ok || out != "HTTP 200" {
		t.Fatalf("http ok: %v %s", ok, out)
	}
	if ok, out := httpProbe(ctx, "http://127.0.0.1:"+strconv.Itoa(port)+"/bad"); ok || out != "HTTP 503" {
		t.Fatalf("http 503: %v %s", ok, out)
	}
	if ok, _ := tcpProbe(ctx, "127.0.0.1:"+strconv.Itoa(port)); !ok {
		t.Fatal("tcp")
	}
	if ok, out := httpProbe(ctx, "https://127.0.0.1:"+strconv.Itoa(port)+"/"); ok || !strings.HasPrefix(out, "not an http:// URL") {
		t.Fatalf("https: %v %s", ok, out)
	}
	var sl sleepLog
	s := testSupervisor(t, &GuestApp{Argv: []string{"true"}, Env: []string{"PATH=/usr/bin:/bin", "MARK=m1"}}, &sl)
	if ok, out := s.cmdProbe(ctx, []string{"sh", "-c", "echo $MARK; exit 1"}); ok || out != "m1" {
		t.Fatalf("cmd: %v %q", ok, out)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if ok, out := s.cmdProbe(short, []string{"sleep", "30"}); ok || !strings.HasPrefix(out, "timed out") {
		t.Fatalf("timeout: %v %q", ok, out)
	}
}

// The probe's hand-written request, read by Go's own HTTP server: method, path with its query and
// escapes, Host, and the status of a redirect (passes, not followed).
func TestHTTPProbeRequest(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	host := srv.Listener.Addr().String()
	ok, out := httpProbe(context.Background(), "http://"+host+"/health%20z/x?deep=1&a=%2F")
	if !ok || out != "HTTP 302" {
		t.Fatalf("redirect: %v %s", ok, out)
	}
	if got.Method != "GET" || got.URL.Path != "/health z/x" || got.URL.RawQuery != "deep=1&a=%2F" || got.Host != host {
		t.Fatalf("request: %s %q %q host %q", got.Method, got.URL.Path, got.URL.RawQuery, got.Host)
	}
}

// A server that accepts and never answers, or answers something else than HTTP, fails the probe
// within its context.
func TestHTTPProbeSilentOrWrongServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conns := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if ok, out := httpProbe(ctx, "http://"+ln.Addr().String()+"/"); ok || out != context.DeadlineExceeded.Error() {
		t.Fatalf("silent server: %v %s", ok, out)
	}
	(<-conns).Close()
	go func() {
		c := <-conns
		_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
		c.Close()
	}()
	if ok, out := httpProbe(context.Background(), "http://"+ln.Addr().String()+"/"); ok || !strings.HasPrefix(out, "not an HTTP response: SSH-2.0") {
		t.Fatalf("wrong server: %v %s", ok, out)
	}
}
