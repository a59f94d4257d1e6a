package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

const maxListEntries = 100000

// checkPath refuses instead of cleaning: a host that sends "a/../b" has a bug worth seeing.
func checkPath(p string) *GuestError {
	switch {
	case p == "" || len(p) > 4096 || strings.ContainsRune(p, 0):
		return gerr(ErrBadRequest, "invalid path %q", p)
	case !strings.HasPrefix(p, "/"):
		return gerr(ErrPathEscape, "path %q is not absolute", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return gerr(ErrPathEscape, "path %q has a '..' segment", p)
		}
	}
	if filepath.Clean(p) != p {
		return gerr(ErrBadRequest, "path %q is not clean", p)
	}
	return nil
}

// fsErr maps errno values to the protocol's codes.
func fsErr(err error) *GuestError {
	var ge *GuestError
	if errors.As(err, &ge) {
		return ge
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		switch en {
		case syscall.ENOENT:
			return gerr(ErrNotFound, "%v", err)
		case syscall.EEXIST:
			return gerr(ErrExists, "%v", err)
		case syscall.ENOTDIR:
			return gerr(ErrNotDir, "%v", err)
		case syscall.EISDIR:
			return gerr(ErrIsDir, "%v", err)
		case syscall.EACCES, syscall.EPERM, syscall.EROFS:
			return gerr(ErrPermission, "%v", err)
		case syscall.ENOTEMPTY, syscall.ENAMETOOLONG, syscall.ELOOP:
			// A name past the guest's limit or a symlink loop: the caller's path to change.
			return gerr(ErrBadRequest, "%v", err)
		case syscall.EIO, syscall.EINVAL, syscall.ENXIO, syscall.ENODEV, syscall.ESRCH,
			syscall.EFAULT, syscall.EOPNOTSUPP, syscall.ENOSPC, syscall.EFBIG, syscall.ETXTBSY:
			// The guest's kernel refused this path (say /proc/1/mem, a full disk): the
			// caller's request cannot be served, the agent itself is fine.
			return gerr(ErrIO, "%v", err)
		}
	}
	return gerr(ErrInternal, "%v", err)
}

func statOf(path string, fi os.FileInfo) FileStat {
	s := FileStat{Path: path, Name: fi.Name(), Size: fi.Size(), Mode: uint32(fi.Mode().Perm()),
		Mtime: isoTime(fi.ModTime())}
	if path == "/" {
		s.Name = "/"
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.Mode = st.Mode & 0o7777
	}
	switch m := fi.Mode(); {
	case m.IsRegular():
		s.Type = "file"
		s.Meta, _ = readMeta(path)
	case m.IsDir():
		s.Type = "dir"
		s.Meta, _ = readMeta(path)
	case m&os.ModeSymlink != 0:
		s.Type = "symlink"
		s.LinkTarget, _ = os.Readlink(path)
	default:
		s.Type = "other"
	}
	return s
}

func opStat(req *Request) (map[string]interface{}, error) {
	if e := checkPath(req.Path); e != nil {
		return nil, e
	}
	fi, err := os.Lstat(req.Path)
	if err != nil {
		return nil, err
	}
	return map[string]interface{}{"stat": statOf(req.Path, fi)}, nil
}

func opList(req *Request) (map[string]interface{}, error) {
	if e := checkPath(req.Path); e != nil {
		return nil, e
	}
	depth := req.Depth
	if depth == 0 {
		depth = 1
	}
	if depth < 1 || depth > 32 {
		return nil, gerr(ErrBadRequest, "depth must be 1..32")
	}
	fi, err := os.Stat(req.Path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, gerr(ErrNotDir, "%s is not a directory", req.Path)
	}
	entries := []FileStat{}
	var walk func(dir string, level int) error
	walk = func(dir string, level int) error {
		des, err := os.ReadDir(dir)
		if err != nil {
			if level > 1 {
				return nil // unreadable subdirectory: list what we can
			}
			return err
		}
		for _, de := range des {
			p := filepath.Join(dir, de.Name())
			fi, err := os.Lstat(p)
			if err != nil {
				continue
			}
			if len(entries) >= maxListEntries {
				return gerr(ErrTooLarge, "more than %d entries", maxListEntries)
			}
			entries = append(entries, statOf(p, fi))
			if fi.IsDir() && level < depth { // Lstat: symlinked dirs are not followed
				if err := walk(p, level+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(req.Path, 1); err != nil {
		return nil, err
	}
	return map[string]interface{}{"entries": entries}, nil
}

func opMkdir(req *Request) (map[string]interface{}, error) {
	if e := checkPath(req.Path); e != nil {
		return nil, e
	}
	if req.Parents {
		if fi, err := os.Lstat(req.Path); err == nil && !fi.IsDir() {
			return nil, gerr(ErrExists, "%s exists and is not a directory", req.Path)
		}
		return nil, os.MkdirAll(req.Path, 0o755)
	}
	return nil, os.Mkdir(req.Path, 0o755)
}

func opMove(req *Request) (map[string]interface{}, error) {
	for _, p := range []string{req.From, req.To} {
		if e := checkPath(p); e != nil {
			return nil, e
		}
	}
	err := os.Rename(req.From, req.To)
	if errors.Is(err, syscall.EXDEV) {
		// Across filesystems: copy, and remove the source only once the copy is complete.
		if err = copyTree(req.From, req.To); err != nil {
			_ = os.RemoveAll(req.To)
			return nil, err
		}
		err = os.RemoveAll(req.From)
	}
	return nil, err
}

func copyTree(from, to string) error {
	return filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(to, strings.TrimPrefix(p, from))
		switch m := fi.Mode(); {
		case m.IsDir():
			err = os.Mkdir(dst, m.Perm())
		case m&os.ModeSymlink != 0:
			var target string
			if target, err = os.Readlink(p); err == nil {
				err = os.Symlink(target, dst)
			}
		case m.IsRegular():
			err = copyFile(p, dst, m.Perm())
		default:
			return nil
		}
		if err == nil && !fi.IsDir() && fi.Mode()&os.ModeSymlink == 0 {
			_ = os.Chtimes(dst, fi.ModTime(), fi.ModTime())
		}
		return err
	})
}

func copyFile(from, to string, mode os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err = io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func opRemove(req *Request) (map[string]interface{}, error) {
	if e := checkPath(req.Path); e != nil {
		return nil, e
	}
	if req.Path == "/" {
		return nil, gerr(ErrPermission, "refusing to remove /")
	}
	if _, err := os.Lstat(req.Path); err != nil {
		return nil, err
	}
	if req.Recursive {
		return nil, os.RemoveAll(req.Path)
	}
	return nil, os.Remove(req.Path)
}
