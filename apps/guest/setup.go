package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// applyHostname sets the kernel's hostname (kernel) and /etc/hostname and /etc/hosts, each
// replaced by a rename (not synced: see atomicWrite).
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
	return atomicWrite(hostsPath, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
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

// copySkel fills a home the agent has just created (still root's, so nobody else can write in
// it yet). Nothing is followed or overwritten: directories with Mkdir, files with O_EXCL and
// O_NOFOLLOW, owners set on what was created; symlinks and special files in skel are skipped.
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
			if err := os.Mkdir(dst, info.Mode().Perm()); err != nil {
				return filepath.SkipDir
			}
			chown(dst, uid, gid)
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return nil
			}
			f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, info.Mode().Perm())
			if err != nil {
				return nil
			}
			if _, err := f.Write(b); err == nil && os.Geteuid() == 0 {
				_ = f.Chown(uid, gid)
			}
			f.Close()
		}
		return nil
	})
}

const maxAuthorizedKeysBytes = 1 << 20

// addAuthorizedKeys appends the configured keys that are not there yet; keys added by hand
// inside the VM are kept. It runs as root in a directory the user owns, so nothing below the
// home is trusted: .ssh and authorized_keys are reached through directory descriptors with
// O_NOFOLLOW and must be a directory and a regular, singly linked file owned by the user (or by
// the agent). A symlink or anything unexpected is logged and left alone, never followed. The new
// file is created beside the old one with O_EXCL, given its owner and mode through its
// descriptor, and renamed over it (replacing a directory entry, never writing through one).
func addAuthorizedKeys(home string, keys []string, uid, gid int) error {
	homeFd, err := syscall.Open(home, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open home %s: %w", home, err)
	}
	defer syscall.Close(homeFd)
	dir := filepath.Join(home, ".ssh")
	sshFd, err := openDirAt(homeFd, ".ssh")
	if errors.Is(err, syscall.ENOENT) {
		if err = syscall.Mkdirat(homeFd, ".ssh", 0o700); err == nil || errors.Is(err, syscall.EEXIST) {
			sshFd, err = openDirAt(homeFd, ".ssh")
		}
	}
	if errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%s is a symlink or not a directory: left alone", dir)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	defer syscall.Close(sshFd)
	var st syscall.Stat_t
	if err := syscall.Fstat(sshFd, &st); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	if !ownedBy(&st, uid) {
		return fmt.Errorf("%s is owned by uid %d: left alone", dir, st.Uid)
	}
	if os.Geteuid() == 0 {
		_ = syscall.Fchown(sshFd, uid, gid)
	}
	_ = syscall.Fchmod(sshFd, 0o700)

	path := filepath.Join(dir, "authorized_keys")
	lines, err := readKeysAt(sshFd, path, uid)
	if err != nil {
		return err
	}
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
	return writeKeysAt(sshFd, path, []byte(strings.Join(lines, "\n")+"\n"), uid, gid)
}

func openDirAt(dirFd int, name string) (int, error) {
	return syscall.Openat(dirFd, name, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
}

// ownedBy accepts the user's own files and the agent's (root's, in a VM).
func ownedBy(st *syscall.Stat_t, uid int) bool {
	return int(st.Uid) == uid || int(st.Uid) == os.Geteuid()
}

// readKeysAt reads authorized_keys from the .ssh directory descriptor; a missing file is empty.
func readKeysAt(sshFd int, path string, uid int) ([]string, error) {
	fd, err := syscall.Openat(sshFd, "authorized_keys",
		syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, syscall.ENOENT):
		return nil, nil
	case errors.Is(err, syscall.ELOOP):
		return nil, fmt.Errorf("%s is a symlink: left alone", path)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case st.Mode&syscall.S_IFMT != syscall.S_IFREG:
		return nil, fmt.Errorf("%s is not a regular file: left alone", path)
	case st.Nlink != 1:
		return nil, fmt.Errorf("%s has %d links: left alone", path, st.Nlink)
	case !ownedBy(&st, uid):
		return nil, fmt.Errorf("%s is owned by uid %d: left alone", path, st.Uid)
	case st.Size > maxAuthorizedKeysBytes:
		return nil, fmt.Errorf("%s is larger than %d bytes: left alone", path, maxAuthorizedKeysBytes)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxAuthorizedKeysBytes))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s := strings.TrimRight(string(b), "\n")
	if s == "" {
		return nil, nil
	}
	return strings.Split(s, "\n"), nil
}

// writeKeysAt replaces authorized_keys in the .ssh directory descriptor with data, 0600, owned by
// the user.
func writeKeysAt(sshFd int, path string, data []byte, uid, gid int) error {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := fmt.Sprintf(".authorized_keys.hearth-%x", rnd)
	fd, err := syscall.Openat(sshFd, tmp,
		syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), filepath.Join(filepath.Dir(path), tmp))
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil && os.Geteuid() == 0 {
		err = f.Chown(uid, gid)
	}
	// No sync before the rename, as atomicWrite: the keys are the boot config's or a request's.
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syscall.Renameat(sshFd, tmp, sshFd, "authorized_keys")
	}
	if err != nil {
		_ = syscall.Unlinkat(sshFd, tmp)
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// writeCloudInitSeed hands the VM's data to cloud-init (NoCloud) in images that run it. The agent
// owns the hostname and the API's users and keys and has applied them already; the seed's
// vendor-data repeats them so that cloud-init in an image made for another cloud converges on the
// same state instead of its own defaults (a default user, root locked). The API's userData is the
// seed's user-data, which cloud-init applies over the vendor-data. Hearth's Debian images turn
// vendor-data off, so there cloud-init runs the user data and nothing else. Existing seeds are
// left alone: cloud-init runs its per-instance modules on the first boot only.
func writeCloudInitSeed(root string, c *GuestBootConfig) error {
	if _, err := os.Stat(filepath.Join(root, "usr/bin/cloud-init")); err != nil || (c.Hostname == "" && len(c.Users) == 0 && c.UserData == "") {
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
	user := c.UserData
	if user == "" {
		user = "#cloud-config\n{}\n"
	}
	for name, content := range map[string]string{"meta-data": meta, "vendor-data": ud.String(), "user-data": user} {
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
