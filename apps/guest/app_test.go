package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestAppRunsWithEnvAndWorkdir(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join(dir, "srv")
	app := &GuestApp{
		Argv:    []string{"sh", "-c", `echo "greeting=$GREETING pwd=$(pwd)"; exit 3`},
		Env:     []string{"PATH=/usr/bin:/bin", "GREETING=hello world"},
		Workdir: work,
		Restart: "on-failure",
	}
	var out syncBuf
	var sleeps []time.Duration
	runs := 0
	superviseApp(dir, app, &out, func(d time.Duration) {
		sleeps = append(sleeps, d)
		if runs++; runs == 2 {
			app.Restart = "no" // stop after the third run
		}
	})
	got := out.String()
	if strings.Count(got, "greeting=hello world pwd="+work) != 3 {
		t.Fatalf("app output: %q", got)
	}
	if !strings.Contains(got, "app exited with status 3") {
		t.Fatalf("exit status not reported: %q", got)
	}
	if len(sleeps) != 2 || sleeps[0] != time.Second || sleeps[1] != 2*time.Second {
		t.Fatalf("backoff: %v", sleeps)
	}
}

func TestAppStartFailureIsReported(t *testing.T) {
	var out syncBuf
	superviseApp(t.TempDir(), &GuestApp{Argv: []string{"/no/such/binary"}, Restart: "no"}, &out, func(time.Duration) {})
	if !strings.Contains(out.String(), "starting the app (/no/such/binary) failed") {
		t.Fatalf("%q", out.String())
	}
}

func TestAppCredential(t *testing.T) {
	root := t.TempDir()
	_ = os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	_ = os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0::/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n"), 0o644)
	_ = os.WriteFile(filepath.Join(root, "etc/group"), []byte("root:x:0:\nnode:x:1000:\nstaff:x:50:node\n"), 0o644)
	cases := []struct {
		spec      string
		uid, gid  uint32
		home      string
		wantError bool
	}{
		{"node", 1000, 1000, "/home/node", false},
		{"1000", 1000, 1000, "/home/node", false},
		{"1234:55", 1234, 55, "/", false},
		{"node:staff", 1000, 50, "/home/node", false},
		{"ghost", 0, 0, "", true},
		{"node:nogroup", 0, 0, "", true},
	}
	for _, c := range cases {
		cred, home, err := appCredential(root, c.spec)
		if c.wantError {
			if err == nil {
				t.Errorf("%s: want an error", c.spec)
			}
			continue
		}
		if err != nil || cred.Uid != c.uid || cred.Gid != c.gid || home != c.home {
			t.Errorf("%s: %+v %s %v", c.spec, cred, home, err)
		}
	}
	if cred, _, err := appCredential(root, ""); cred != nil || err != nil {
		t.Errorf("empty user must be root: %+v %v", cred, err)
	}
}

func TestRestartPolicy(t *testing.T) {
	if shouldRestart("no", 1) || !shouldRestart("on-failure", 1) || shouldRestart("on-failure", 0) || !shouldRestart("always", 0) {
		t.Fatal("restart policy")
	}
}
