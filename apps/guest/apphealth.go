package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Health checks, as Docker runs them: a probe every interval (each bounded by the timeout);
// `retries` failures in a row make the app unhealthy, one success healthy; failures during the
// start period do not count. The last healthLogLen results are kept for the status.

const (
	healthLogLen    = 5
	maxProbeOutput  = 4096
	defaultInterval = 30 * time.Second
)

// probe runs one check and returns whether it passed and what it said.
type probe func(ctx context.Context) (bool, string)

func (s *appSupervisor) probeFor(hc *AppHealthcheck) probe {
	switch {
	case len(hc.Cmd) > 0:
		return func(ctx context.Context) (bool, string) { return s.cmdProbe(ctx, hc.Cmd) }
	case hc.HTTP != nil:
		url := fmt.Sprintf("http://127.0.0.1:%d%s", hc.HTTP.Port, hc.HTTP.Path)
		return func(ctx context.Context) (bool, string) { return httpProbe(ctx, url) }
	case hc.TCP != nil:
		addr := fmt.Sprintf("127.0.0.1:%d", hc.TCP.Port)
		return func(ctx context.Context) (bool, string) { return tcpProbe(ctx, addr) }
	}
	return nil
}

// cmdProbe runs the command in the app's environment, user and working directory; exit 0 passes.
func (s *appSupervisor) cmdProbe(ctx context.Context, argv []string) (bool, string) {
	var out bytes.Buffer
	cmd, err := appProcess(s.root, s.app, argv, &out, &out)
	if err != nil {
		return false, err.Error()
	}
	if err := startTracked(cmd); err != nil {
		return false, err.Error()
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = cmd.Process.Kill()
		case <-done:
		}
	}()
	werr := cmd.Wait()
	close(done)
	untrackPid(cmd.Process.Pid)
	text := clip(out.String())
	if ctx.Err() != nil {
		return false, strings.TrimSpace("timed out " + text)
	}
	if werr != nil {
		if text == "" {
			text = werr.Error()
		}
		return false, text
	}
	return true, text
}

// httpProbe sends one GET for rawURL (http://127.0.0.1:PORT/PATH) and passes on a 2xx or 3xx
// status line; redirects are not followed and the body is not read. It speaks those few lines of
// HTTP/1.1 itself: net/http would bring TLS, HTTP/2 and MIME into the agent, 2.5 MB more binary
// that every boot pages in and initialises under emulation (docs/decisions/0045).
func httpProbe(ctx context.Context, rawURL string) (bool, string) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return false, fmt.Sprintf("not an http:// URL: %q", rawURL)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return false, err.Error()
	}
	defer c.Close()
	// A cancelled or expired context ends a read or write in progress.
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			_ = c.SetDeadline(time.Unix(1, 0))
		case <-done:
		}
	}()
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUser-Agent: hearth-guest\r\nAccept: */*\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		return false, probeErr(ctx, err)
	}
	line, err := bufio.NewReaderSize(c, 512).ReadString('\n')
	if err != nil && line == "" {
		return false, probeErr(ctx, err)
	}
	// "HTTP/1.1 200 OK"
	f := strings.Fields(line)
	code := 0
	if len(f) >= 2 && strings.HasPrefix(f[0], "HTTP/") && len(f[1]) == 3 {
		code, _ = strconv.Atoi(f[1])
	}
	if code < 100 {
		return false, "not an HTTP response: " + clip(line)
	}
	return code >= 200 && code < 400, fmt.Sprintf("HTTP %d", code)
}

func probeErr(ctx context.Context, err error) string {
	if ctx.Err() != nil {
		return ctx.Err().Error()
	}
	return err.Error()
}

func tcpProbe(ctx context.Context, addr string) (bool, string) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false, err.Error()
	}
	c.Close()
	return true, "connected to " + addr
}

func clip(s string) string {
	if len(s) > maxProbeOutput {
		s = s[:maxProbeOutput]
	}
	return strings.TrimSpace(s)
}

// startHealth probes the current run until the returned channel is closed.
func (s *appSupervisor) startHealth() chan struct{} {
	stop := make(chan struct{})
	hc := s.app.Healthcheck
	if hc == nil {
		return stop
	}
	p := s.probeFor(hc)
	if p == nil {
		return stop
	}
	go s.healthLoop(hc, p, stop, time.Now)
	return stop
}

func ms(n int64, def time.Duration) time.Duration {
	if n <= 0 {
		return def
	}
	return time.Duration(n) * time.Millisecond
}

// healthLoop runs the probes; the state machine is healthStep.
func (s *appSupervisor) healthLoop(hc *AppHealthcheck, p probe, stop <-chan struct{}, now func() time.Time) {
	interval, timeout := ms(hc.IntervalMs, defaultInterval), ms(hc.TimeoutMs, defaultInterval)
	started := now()
	h := healthState{status: "starting"}
	for {
		if !s.sleep(interval, stop) {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		ok, out := p(ctx)
		cancel()
		select {
		case <-stop:
			return // the run ended meanwhile: its result says nothing about the next run
		default:
		}
		inStart := now().Sub(started) < time.Duration(hc.StartPeriodMs)*time.Millisecond
		before := h.status
		h.step(ok, inStart, hc.Retries)
		msg := ""
		if h.status != before {
			msg = "health: " + h.status
			if h.status == "unhealthy" && out != "" {
				msg += " — " + out
			}
		}
		rec := AppHealthProbe{At: isoTime(now()), Ok: ok, Output: out}
		status := h.status
		s.update(msg, func(st *AppStatus) {
			st.Health = strp(status)
			st.HealthLog = append(st.HealthLog, rec)
			if len(st.HealthLog) > healthLogLen {
				st.HealthLog = st.HealthLog[len(st.HealthLog)-healthLogLen:]
			}
		})
	}
}

// healthState is the health state machine: starting → healthy / unhealthy.
type healthState struct {
	status   string
	failures int
}

func (h *healthState) step(ok, inStartPeriod bool, retries int) {
	if retries < 1 {
		retries = 1
	}
	if ok {
		h.status, h.failures = "healthy", 0
		return
	}
	if inStartPeriod && h.status == "starting" {
		return
	}
	if h.failures++; h.failures >= retries {
		h.status = "unhealthy"
	}
}
