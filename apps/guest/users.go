package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// The agent reads and edits /etc/passwd, /etc/group and /etc/shadow itself: it is static, the
// image may have no shadow-utils, and root is a parameter so tests work on temporary copies.

type passwdEntry struct {
	name, home, shell string
	uid, gid          int
	groups            []uint32
}

func readLines(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := strings.TrimRight(string(b), "\n")
	if s == "" {
		return nil, nil
	}
	return strings.Split(s, "\n"), nil
}

// lookupUser finds a user by name, or by uid when name is "".
func lookupUser(root, name string, uid int) (*passwdEntry, error) {
	lines, _ := readLines(filepath.Join(root, "etc/passwd"))
	for _, l := range lines {
		f := strings.Split(l, ":")
		if len(f) < 7 {
			continue
		}
		u, err1 := strconv.Atoi(f[2])
		g, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil || (name != "" && f[0] != name) || (name == "" && u != uid) {
			continue
		}
		e := &passwdEntry{name: f[0], uid: u, gid: g, home: f[5], shell: f[6]}
		if e.home == "" {
			e.home = "/"
		}
		if e.shell == "" {
			e.shell = "/bin/sh"
		}
		e.groups = supplementaryGroups(root, e.name, g)
		return e, nil
	}
	if name == "" {
		// An agent uid without a passwd entry still gets a usable environment.
		return &passwdEntry{name: strconv.Itoa(uid), uid: uid, gid: os.Getgid(), home: "/", shell: "/bin/sh"}, nil
	}
	return nil, fmt.Errorf("unknown user %q", name)
}

func supplementaryGroups(root, name string, primary int) []uint32 {
	out := []uint32{uint32(primary)}
	lines, _ := readLines(filepath.Join(root, "etc/group"))
	for _, l := range lines {
		f := strings.Split(l, ":")
		if len(f) < 4 {
			continue
		}
		gid, err := strconv.Atoi(f[2])
		if err != nil || gid == primary {
			continue
		}
		for _, m := range strings.Split(f[3], ",") {
			if m == name {
				out = append(out, uint32(gid))
			}
		}
	}
	return out
}

// usedIDs collects field 2 (uid or gid) of a colon file.
func usedIDs(lines []string) map[int]bool {
	m := map[int]bool{}
	for _, l := range lines {
		if f := strings.Split(l, ":"); len(f) > 2 {
			if n, err := strconv.Atoi(f[2]); err == nil {
				m[n] = true
			}
		}
	}
	return m
}

func nextFree(used map[int]bool, from int) int {
	for used[from] {
		from++
	}
	return from
}

func findLine(lines []string, name string) int {
	for i, l := range lines {
		if strings.HasPrefix(l, name+":") {
			return i
		}
	}
	return -1
}

// atomicWrite replaces path via a temp file + rename, keeping the mode and owner it had. Every
// file it writes (accounts, resolv.conf, lease notes) is derived from the boot config, a lease or
// a host request, and written again from there at each boot, so it does not wait for the disk:
// ext4 commits a file replaced by a rename with its data (never a truncated file) within its
// 5 s journal interval, and the identity op syncs once after it answers. A sync per file cost
// the boot 50–70 ms under emulation.
func atomicWrite(path string, data []byte, mode os.FileMode) error {
	uid, gid := -1, -1
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".hearth-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), mode)
	}
	if err == nil && uid >= 0 && os.Geteuid() == 0 {
		err = os.Chown(tmp.Name(), uid, gid)
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func writeLines(path string, lines []string, mode os.FileMode) error {
	return atomicWrite(path, []byte(strings.Join(lines, "\n")+"\n"), mode)
}

// ensureUser creates the user (and its group) if missing and returns its entry.
func ensureUser(root, name string) (*passwdEntry, error) {
	if e, err := lookupUser(root, name, -1); err == nil {
		return e, nil
	}
	passwdPath, groupPath := filepath.Join(root, "etc/passwd"), filepath.Join(root, "etc/group")
	plines, _ := readLines(passwdPath)
	glines, _ := readLines(groupPath)
	uid, home := nextFree(usedIDs(plines), 1000), "/home/"+name
	if name == "root" {
		uid, home = 0, "/root"
	}
	gid := -1
	if i := findLine(glines, name); i >= 0 {
		if f := strings.Split(glines[i], ":"); len(f) > 2 {
			gid, _ = strconv.Atoi(f[2])
		}
	}
	if gid < 0 {
		gused := usedIDs(glines)
		gid = uid
		if gused[gid] {
			gid = nextFree(gused, 1000)
		}
		glines = append(glines, fmt.Sprintf("%s:x:%d:", name, gid))
		if err := writeLines(groupPath, glines, 0o644); err != nil {
			return nil, err
		}
		gsPath := filepath.Join(root, "etc/gshadow")
		if gs, err := readLines(gsPath); err == nil && findLine(gs, name) < 0 {
			_ = writeLines(gsPath, append(gs, name+":!::"), 0o640)
		}
	}
	shell := "/bin/sh"
	if _, err := os.Stat(filepath.Join(root, "bin/bash")); err == nil {
		shell = "/bin/bash"
	}
	plines = append(plines, fmt.Sprintf("%s:x:%d:%d::%s:%s", name, uid, gid, home, shell))
	if err := writeLines(passwdPath, plines, 0o644); err != nil {
		return nil, err
	}
	return lookupUser(root, name, -1)
}

// setShadow writes hash (nil: keep the current one) and makes sure the user has a shadow line;
// a new line without a hash gets "*" (no password login, but keys still work).
func setShadow(root, name string, hash *string, today int) error {
	path := filepath.Join(root, "etc/shadow")
	lines, err := readLines(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	i := findLine(lines, name)
	if i < 0 {
		pw := "*"
		if hash != nil {
			pw = *hash
		}
		lines = append(lines, fmt.Sprintf("%s:%s:%d:0:99999:7:::", name, pw, today))
	} else if hash != nil {
		f := strings.Split(lines[i], ":")
		for len(f) < 9 {
			f = append(f, "")
		}
		f[1], f[2] = *hash, strconv.Itoa(today)
		lines[i] = strings.Join(f, ":")
	} else {
		return nil
	}
	return writeLines(path, lines, 0o600)
}
