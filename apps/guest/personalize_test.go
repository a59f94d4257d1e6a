package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestPersonalize(t *testing.T) {
	root := fakeRoot(t)
	if err := os.WriteFile(filepath.Join(root, "etc/machine-id"), []byte("0123456789abcdef0123456789abcdef\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	a := newAgent(&GuestBootConfig{Secret: "s", Hostname: "pool-web-abc123", Env: map[string]string{"OLD": "1"}}, root)
	var set int64
	a.settime = func(tv *syscall.Timeval) error { set = tv.Sec; return nil }
	ms := float64(1_900_000_000_000)
	hash := "$6$salt$hashhash"
	seed := base64.StdEncoding.EncodeToString(make([]byte, 64))
	res, err := a.opIdentity(&Request{Op: OpPersonalize, Hostname: "web-1", UnixMs: &ms, Entropy: seed,
		Env:   map[string]string{"GREETING": "hi"},
		Users: []BootUser{{Name: "alice", PasswordHash: &hash, SSHKeys: []string{"ssh-ed25519 AAAA alice@host"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if set != 1_900_000_000 || res["machineId"] != true {
		t.Fatalf("clock %d, result %v", set, res)
	}
	if h := read(t, filepath.Join(root, "etc/hostname")); h != "web-1\n" {
		t.Fatalf("hostname %q", h)
	}
	if id := read(t, filepath.Join(root, "etc/machine-id")); len(id) != 33 || strings.HasPrefix(id, "0123") {
		t.Fatalf("machine-id %q", id)
	}
	if s := read(t, filepath.Join(root, "etc/shadow")); !strings.Contains(s, "alice:"+hash+":") {
		t.Fatalf("shadow:\n%s", s)
	}
	if k := read(t, filepath.Join(root, "home/alice/.ssh/authorized_keys")); k != "ssh-ed25519 AAAA alice@host\n" {
		t.Fatalf("keys %q", k)
	}
	// Later execs see the new env, not the pool's.
	if a.cfg.Env["GREETING"] != "hi" || a.cfg.Env["OLD"] != "" || a.cfg.Hostname != "web-1" || a.cfg.Secret != "s" {
		t.Fatalf("config %+v", a.cfg)
	}
	bad := []*Request{
		{Op: OpPersonalize, Hostname: "web-1", Entropy: seed},
		{Op: OpPersonalize, Hostname: "bad name", UnixMs: &ms, Entropy: seed},
		{Op: OpPersonalize, Hostname: "web-1", UnixMs: &ms, Entropy: "c2hvcnQ="},
	}
	for _, r := range bad {
		if _, err := a.opIdentity(r); err == nil || err.(*GuestError).Code != ErrBadRequest {
			t.Fatalf("%+v: %v", r, err)
		}
	}
}

// A clone restored from a snapshot of an image without /etc/machine-id gets one of its own; the
// merged op under its new name applies only what it is given (no users, env kept).
func TestIdentityRenewsMachineIDAndKeepsWhatItIsNotGiven(t *testing.T) {
	root := fakeRoot(t)
	_ = os.Remove(filepath.Join(root, "etc/machine-id"))
	a := newAgent(&GuestBootConfig{Secret: "s", Hostname: "src", Env: map[string]string{"KEEP": "1"}}, root)
	a.settime = func(tv *syscall.Timeval) error { return nil }
	seed := base64.StdEncoding.EncodeToString(make([]byte, 32))
	res, err := a.opIdentity(&Request{Op: OpIdentity, Hostname: "clone-1", Entropy: seed, RenewMachineID: true})
	if err != nil {
		t.Fatal(err)
	}
	if res["machineId"] != true || len(read(t, filepath.Join(root, "etc/machine-id"))) != 33 {
		t.Fatalf("result %v", res)
	}
	if a.cfg.Env["KEEP"] != "1" || a.cfg.Hostname != "clone-1" {
		t.Fatalf("config %+v", a.cfg)
	}
	// An empty machine-id is systemd's to fill: left alone.
	if err := os.WriteFile(filepath.Join(root, "etc/machine-id"), nil, 0o444); err != nil {
		t.Fatal(err)
	}
	if res, err := a.opIdentity(&Request{Op: OpIdentity, RenewMachineID: true}); err != nil || res["machineId"] != false {
		t.Fatalf("%v %v", res, err)
	}
	if _, err := a.opIdentity(&Request{Op: OpIdentity, Entropy: "c2hvcnQ="}); err == nil {
		t.Fatal("short entropy accepted")
	}
}
