package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

const configPath = "/etc/hearth/guest.json"

var (
	validUser     = regexp.MustCompile(`^[a-z_][a-z0-9_.-]{0,31}$`)
	validHostname = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$`)
)

func loadConfig(path string) (*GuestBootConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c GuestBootConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

// applySetup does the boot-time work before the channel opens. Each step logs and continues: a
// VM with a broken user entry is still better reachable through the agent than not at all.
// root is "/" in production; setKernelHostname is false in tests.
func applySetup(root string, c *GuestBootConfig, setKernelHostname bool) {
	if c.Hostname != "" {
		if err := applyHostname(root, c.Hostname, setKernelHostname); err != nil {
			log.Printf("hostname: %v", err)
		}
	}
	for _, u := range c.Users {
		if err := applyUser(root, u); err != nil {
			log.Printf("user %s: %v", u.Name, err)
		}
	}
	if err := writeCloudInitSeed(root, c); err != nil {
		log.Printf("cloud-init seed: %v", err)
	}
}

func applyHostname(root, name string, kernel bool) error {
	if !validHostname.MatchString(name) {
		return fmt.Errorf("invalid hostname %q", name)
	}
	if kernel {
		if err := syscall.Sethostname([]byte(name)); err != nil {
			log.Printf("sethostname: %v", err)
		}
	}
	if err := atomicWrite(filepath.Join(root, "etc/hostname"), []byte(name+"\n"), 0o644); err != nil {
		return err
	}
	hostsPath := filepath.Join(root, "etc/hosts")
	lines, err := readLines(hostsPath)
	if err != nil {
		lines = []string{"127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"}
	}
	entry, found := "127.0.1.1\t"+name, false
	for i, l := range lines {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "127.0.1.1" {
			lines[i], found = entry, true
		}
	}
	if !found {
		lines = append(lines, entry)
	}
	return writeLines(hostsPath, lines, 0o644)
}

func applyUser(root string, u BootUser) error {
	if !validUser.MatchString(u.Name) {
		return fmt.Errorf("invalid user name %q", u.Name)
	}
	if u.PasswordHash != nil && strings.ContainsAny(*u.PasswordHash, ":\n") {
		return errors.New("password hash contains ':' or a newline")
	}
	e, err := ensureUser(root, u.Name)
	if err != nil {
		return err
	}
	if err := setShadow(root, u.Name, u.PasswordHash, int(time.Now().Unix()/86400)); err != nil {
		return err
	}
	home := filepath.Join(root, e.home)
	if _, err := os.Stat(home); os.IsNotExist(err) {
		if err := os.MkdirAll(home, 0o755); err != nil {
			return err
		}
		copySkel(filepath.Join(root, "etc/skel"), home, e.uid, e.gid)
		chown(home, e.uid, e.gid)
	}
	if len(u.SSHKeys) == 0 {
		return nil
	}
	return addAuthorizedKeys(home, u.SSHKeys, e.uid, e.gid)
}

func chown(path string, uid, gid int) {
	if os.Geteuid() == 0 {
		_ = os.Lchown(path, uid, gid)
	}
}

func copySkel(skel, home string, uid, gid int) {
	_ = filepath.WalkDir(skel, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == skel {
			return nil
		}
		dst := filepath.Join(home, strings.TrimPrefix(p, skel))
		info, ierr := d.Info()
		switch {
		case ierr != nil:
		case d.IsDir():
			_ = os.MkdirAll(dst, info.Mode().Perm())
		case info.Mode().IsRegular():
			if b, err := os.ReadFile(p); err == nil {
				_ = os.WriteFile(dst, b, info.Mode().Perm())
			}
		default:
			return nil
		}
		chown(dst, uid, gid)
		return nil
	})
}

// addAuthorizedKeys appends the configured keys that are not there yet; keys added by hand
// inside the VM are kept.
func addAuthorizedKeys(home string, keys []string, uid, gid int) error {
	dir := filepath.Join(home, ".ssh")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	_ = os.Chmod(dir, 0o700)
	chown(dir, uid, gid)
	path := filepath.Join(dir, "authorized_keys")
	lines, _ := readLines(path)
	have := map[string]bool{}
	for _, l := range lines {
		have[strings.TrimSpace(l)] = true
	}
	for _, k := range keys {
		k = strings.TrimSpace(k)
		if k != "" && !strings.ContainsAny(k, "\r\n") && !have[k] {
			lines, have[k] = append(lines, k), true
		}
	}
	if err := atomicWrite(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	_ = os.Chmod(path, 0o600)
	chown(path, uid, gid)
	return nil
}

// writeCloudInitSeed hands the same data to cloud-init (NoCloud) in images that run it, so it
// does not undo the agent's setup with its own defaults. Existing seeds are left alone.
func writeCloudInitSeed(root string, c *GuestBootConfig) error {
	if _, err := os.Stat(filepath.Join(root, "usr/bin/cloud-init")); err != nil || (c.Hostname == "" && len(c.Users) == 0) {
		return nil
	}
	dir := filepath.Join(root, "var/lib/cloud/seed/nocloud")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) } // JSON strings are YAML
	meta := fmt.Sprintf("instance-id: %s\nlocal-hostname: %s\n", q("hearth-"+c.Hostname), q(c.Hostname))
	var ud strings.Builder
	ud.WriteString("#cloud-config\n")
	if c.Hostname != "" {
		fmt.Fprintf(&ud, "hostname: %s\npreserve_hostname: false\n", q(c.Hostname))
	}
	ud.WriteString("ssh_pwauth: true\nusers:\n")
	for _, u := range c.Users {
		if !validUser.MatchString(u.Name) {
			continue
		}
		fmt.Fprintf(&ud, "  - name: %s\n", q(u.Name))
		if u.PasswordHash != nil {
			fmt.Fprintf(&ud, "    passwd: %s\n    lock_passwd: false\n", q(*u.PasswordHash))
		}
		if u.Name != "root" {
			ud.WriteString("    shell: /bin/bash\n")
		}
		if len(u.SSHKeys) > 0 {
			ud.WriteString("    ssh_authorized_keys:\n")
			for _, k := range u.SSHKeys {
				fmt.Fprintf(&ud, "      - %s\n", q(k))
			}
		}
	}
	for name, content := range map[string]string{"meta-data": meta, "user-data": ud.String()} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			return err
		}
	}
	return nil
}
