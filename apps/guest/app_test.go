package main

import (
	"os"
	"path/filepath"
	"testing"
)

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
	if shouldRestart("no", 1) || !shouldRestart("on-failure", 1) || shouldRestart("on-failure", 0) ||
		!shouldRestart("always", 0) || !shouldRestart("unless-stopped", 0) {
		t.Fatal("restart policy")
	}
}

func TestExecStartsInTheImageWorkdir(t *testing.T) {
	home := t.TempDir()
	work := t.TempDir()
	app := &GuestBootConfig{App: &GuestApp{Workdir: work}}
	if got := defaultCwd(app, home); got != work {
		t.Errorf("an OCI image's VM: want its WORKDIR %s, got %s", work, got)
	}
	if got := defaultCwd(&GuestBootConfig{}, home); got != home {
		t.Errorf("no app: want the home %s, got %s", home, got)
	}
	gone := &GuestBootConfig{App: &GuestApp{Workdir: filepath.Join(work, "missing")}}
	if got := defaultCwd(gone, home); got != home {
		t.Errorf("a WORKDIR that is no directory: want the home %s, got %s", home, got)
	}
	if got := defaultCwd(nil, filepath.Join(home, "missing")); got != "/" {
		t.Errorf("no home either: want /, got %s", got)
	}
}
