package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func fakeRoot(t *testing.T) string {
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n"+
		"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nalice:x:1000:1000::/home/alice:/bin/sh\n", 0o644)
	mustWrite(t, filepath.Join(root, "etc/group"), "root:x:0:\nsudo:x:27:alice,bob\nalice:x:1000:\n", 0o644)
	mustWrite(t, filepath.Join(root, "etc/shadow"), "root:*:19000:0:99999:7:::\nalice:!:19000:0:99999:7:::\n", 0o640)
	mustWrite(t, filepath.Join(root, "etc/hosts"), "127.0.0.1\tlocalhost\n127.0.1.1\told-name\n", 0o644)
	mustWrite(t, filepath.Join(root, "etc/skel/.profile"), "# profile\n", 0o644)
	mustWrite(t, filepath.Join(root, "bin/bash"), "", 0o755)
	return root
}

func read(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSetupUsersAndHostname(t *testing.T) {
	root := fakeRoot(t)
	hash := "$6$salt$hashhash"
	cfg := &GuestBootConfig{Secret: "s", Hostname: "vm-one", Users: []BootUser{
		{Name: "root", PasswordHash: &hash, SSHKeys: []string{"ssh-ed25519 AAAA root@host"}},
		{Name: "bob", PasswordHash: nil, SSHKeys: []string{"ssh-ed25519 BBBB bob@host", "ssh-ed25519 BBBB bob@host"}},
		{Name: "alice", PasswordHash: &hash},
		{Name: "bad:name", PasswordHash: &hash},
	}}
	applySetup(root, cfg, false)
	applySetup(root, cfg, false) // idempotent on the next boot

	passwd := read(t, filepath.Join(root, "etc/passwd"))
	if !strings.Contains(passwd, "bob:x:1001:1001::/home/bob:/bin/bash\n") || strings.Count(passwd, "\nbob:") != 1 || strings.Contains(passwd, "bad") {
		t.Fatalf("passwd:\n%s", passwd)
	}
	if g := read(t, filepath.Join(root, "etc/group")); !strings.Contains(g, "bob:x:1001:\n") || strings.Count(g, "\nbob:") != 1 {
		t.Fatalf("group:\n%s", g)
	}
	shadow := read(t, filepath.Join(root, "etc/shadow"))
	lines := strings.Split(strings.TrimSpace(shadow), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "root:"+hash+":") || !strings.HasPrefix(lines[1], "alice:"+hash+":") ||
		!strings.HasPrefix(lines[2], "bob:*:") || !strings.HasSuffix(lines[0], ":0:99999:7:::") {
		t.Fatalf("shadow:\n%s", shadow)
	}
	if fi, _ := os.Stat(filepath.Join(root, "etc/shadow")); fi.Mode().Perm() != 0o640 {
		t.Fatalf("shadow mode changed to %v", fi.Mode())
	}
	keys := filepath.Join(root, "home/bob/.ssh/authorized_keys")
	if k := read(t, keys); k != "ssh-ed25519 BBBB bob@host\n" {
		t.Fatalf("keys: %q", k)
	}
	if fi, _ := os.Stat(keys); fi.Mode().Perm() != 0o600 {
		t.Fatalf("keys mode %v", fi.Mode())
	}
	if fi, _ := os.Stat(filepath.Dir(keys)); fi.Mode().Perm() != 0o700 {
		t.Fatalf(".ssh mode %v", fi.Mode())
	}
	if read(t, filepath.Join(root, "home/bob/.profile")) != "# profile\n" {
		t.Fatal("skel not copied")
	}
	if k := read(t, filepath.Join(root, "root/.ssh/authorized_keys")); k != "ssh-ed25519 AAAA root@host\n" {
		t.Fatalf("root keys: %q", k)
	}
	if h := read(t, filepath.Join(root, "etc/hostname")); h != "vm-one\n" {
		t.Fatalf("hostname %q", h)
	}
	if h := read(t, filepath.Join(root, "etc/hosts")); h != "127.0.0.1\tlocalhost\n127.0.1.1\tvm-one\n" {
		t.Fatalf("hosts %q", h)
	}
	if _, err := os.Stat(filepath.Join(root, "var/lib/cloud")); err == nil {
		t.Fatal("cloud-init seed written without cloud-init")
	}
	e, err := lookupUser(root, "alice", -1)
	if err != nil || e.uid != 1000 || len(e.groups) != 2 || e.groups[1] != 27 {
		t.Fatalf("lookup alice: %+v %v", e, err)
	}
}

func TestCloudInitSeed(t *testing.T) {
	root := fakeRoot(t)
	mustWrite(t, filepath.Join(root, "usr/bin/cloud-init"), "", 0o755)
	hash := "$6$x$y"
	applySetup(root, &GuestBootConfig{Hostname: "ci-vm", Users: []BootUser{{Name: "dev", PasswordHash: &hash, SSHKeys: []string{"ssh-rsa AAA dev"}}}}, false)
	seed := filepath.Join(root, "var/lib/cloud/seed/nocloud")
	meta, ud := read(t, filepath.Join(seed, "meta-data")), read(t, filepath.Join(seed, "vendor-data"))
	if !strings.Contains(meta, `local-hostname: "ci-vm"`) || !strings.Contains(meta, "instance-id:") {
		t.Fatalf("meta-data:\n%s", meta)
	}
	for _, want := range []string{"#cloud-config\n", `hostname: "ci-vm"`, `- name: "dev"`, `passwd: "$6$x$y"`, `- "ssh-rsa AAA dev"`} {
		if !strings.Contains(ud, want) {
			t.Fatalf("vendor-data lacks %q:\n%s", want, ud)
		}
	}
	if u := read(t, filepath.Join(seed, "user-data")); u != "#cloud-config\n{}\n" {
		t.Fatalf("user-data without userData from the API:\n%s", u)
	}
	// An existing seed is left alone.
	mustWrite(t, filepath.Join(seed, "user-data"), "#cloud-config\n# mine\n", 0o600)
	applySetup(root, &GuestBootConfig{Hostname: "other"}, false)
	if read(t, filepath.Join(seed, "user-data")) != "#cloud-config\n# mine\n" {
		t.Fatal("existing seed overwritten")
	}
}

func TestCloudInitSeedUserData(t *testing.T) {
	root := fakeRoot(t)
	mustWrite(t, filepath.Join(root, "usr/bin/cloud-init"), "", 0o755)
	userData := "#cloud-config\nruncmd:\n  - [touch, /tmp/ran]\n"
	applySetup(root, &GuestBootConfig{Hostname: "ci-vm", UserData: userData}, false)
	seed := filepath.Join(root, "var/lib/cloud/seed/nocloud")
	if u := read(t, filepath.Join(seed, "user-data")); u != userData {
		t.Fatalf("user-data is not the API's userData:\n%s", u)
	}
	if v := read(t, filepath.Join(seed, "vendor-data")); !strings.Contains(v, `hostname: "ci-vm"`) {
		t.Fatalf("vendor-data:\n%s", v)
	}
}

// The agent writes keys as root inside a home its user controls: nothing there may be followed.
func TestAuthorizedKeysNeverFollowLinks(t *testing.T) {
	key := "ssh-ed25519 AAAA alice@host"
	setup := func(t *testing.T) (root, ssh string) {
		root = fakeRoot(t)
		ssh = filepath.Join(root, "home/alice/.ssh")
		mustWrite(t, filepath.Join(root, "root/.ssh/authorized_keys"), "ssh-ed25519 ROOT root@host\n", 0o600)
		if err := os.MkdirAll(filepath.Dir(ssh), 0o755); err != nil {
			t.Fatal(err)
		}
		return root, ssh
	}
	apply := func(root string) {
		applySetup(root, &GuestBootConfig{Users: []BootUser{{Name: "alice", SSHKeys: []string{key}}}}, false)
	}
	shadowIntact := func(t *testing.T, root string) {
		t.Helper()
		shadow := filepath.Join(root, "etc/shadow")
		if s := read(t, shadow); s != "root:*:19000:0:99999:7:::\nalice:!:19000:0:99999:7:::\n" {
			t.Fatalf("shadow changed:\n%s", s)
		}
		if fi, _ := os.Stat(shadow); fi.Mode().Perm() != 0o640 || fi.Sys().(*syscall.Stat_t).Uid != uint32(os.Geteuid()) {
			t.Fatalf("shadow mode/owner changed: %v", fi.Mode())
		}
	}

	t.Run("authorized_keys symlink to shadow", func(t *testing.T) {
		root, ssh := setup(t)
		if err := os.MkdirAll(ssh, 0o700); err != nil {
			t.Fatal(err)
		}
		keys := filepath.Join(ssh, "authorized_keys")
		if err := os.Symlink(filepath.Join(root, "etc/shadow"), keys); err != nil {
			t.Fatal(err)
		}
		apply(root)
		shadowIntact(t, root)
		if fi, err := os.Lstat(keys); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("symlink replaced: %v %v", fi, err)
		}
		ents, _ := os.ReadDir(ssh)
		for _, e := range ents {
			if e.Name() != "authorized_keys" {
				t.Fatalf("left behind: %s", e.Name())
			}
		}
	})
	t.Run("authorized_keys hard link to shadow", func(t *testing.T) {
		root, ssh := setup(t)
		if err := os.MkdirAll(ssh, 0o700); err != nil {
			t.Fatal(err)
		}
		keys := filepath.Join(ssh, "authorized_keys")
		if err := os.Link(filepath.Join(root, "etc/shadow"), keys); err != nil {
			t.Skipf("no hard link: %v", err)
		}
		apply(root)
		shadowIntact(t, root)
		if strings.Contains(read(t, keys), key) {
			t.Fatal("a hard-linked authorized_keys was rewritten")
		}
	})
	t.Run(".ssh symlink to root's", func(t *testing.T) {
		root, ssh := setup(t)
		if err := os.Symlink(filepath.Join(root, "root/.ssh"), ssh); err != nil {
			t.Fatal(err)
		}
		apply(root)
		rootKeys := filepath.Join(root, "root/.ssh/authorized_keys")
		if k := read(t, rootKeys); k != "ssh-ed25519 ROOT root@host\n" {
			t.Fatalf("root's keys changed: %q", k)
		}
		for _, p := range []string{rootKeys, filepath.Dir(rootKeys)} {
			if fi, _ := os.Stat(p); fi.Sys().(*syscall.Stat_t).Uid != uint32(os.Geteuid()) {
				t.Fatalf("%s handed to uid %d", p, fi.Sys().(*syscall.Stat_t).Uid)
			}
		}
		if fi, err := os.Lstat(ssh); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf(".ssh symlink replaced: %v %v", fi, err)
		}
	})
	t.Run("regular files are still updated", func(t *testing.T) {
		root, ssh := setup(t)
		mustWrite(t, filepath.Join(ssh, "authorized_keys"), "ssh-rsa MINE by-hand\n", 0o644)
		if os.Geteuid() == 0 {
			_ = os.Chown(filepath.Join(ssh, "authorized_keys"), 1000, 1000)
			_ = os.Chown(ssh, 1000, 1000)
		}
		apply(root)
		keys := filepath.Join(ssh, "authorized_keys")
		if k := read(t, keys); k != "ssh-rsa MINE by-hand\n"+key+"\n" {
			t.Fatalf("keys: %q", k)
		}
		fi, _ := os.Lstat(keys)
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != 0o600 || (os.Geteuid() == 0 && (st.Uid != 1000 || st.Gid != 1000)) {
			t.Fatalf("keys mode %v owner %d:%d", fi.Mode(), st.Uid, st.Gid)
		}
		if fi, _ := os.Lstat(ssh); fi.Mode().Perm() != 0o700 {
			t.Fatalf(".ssh mode %v", fi.Mode())
		}
	})
}
