package main

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// writeTar archives root (a directory's contents, or a single file under its base name) with
// relative names. Symlinks are stored as links, never followed; devices and sockets are skipped.
func writeTar(root string, w io.Writer) error {
	tw := tar.NewWriter(w)
	fi, err := os.Lstat(root)
	if err != nil {
		return err
	}
	base := root
	if !fi.IsDir() {
		base = filepath.Dir(root)
	}
	err = filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if p == base {
			return nil
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, base), "/")
		var link string
		switch m := fi.Mode(); {
		case m&os.ModeSymlink != 0:
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		case m.IsDir(), m.IsRegular():
		default:
			return nil
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name = rel
		if fi.IsDir() {
			hdr.Name += "/"
		}
		hdr.Format = tar.FormatPAX
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		f, err := openRegular(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyN(tw, f, hdr.Size)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// entryPath validates an archive name: relative, no '..' segment.
func entryPath(name string) (string, *GuestError) {
	if strings.HasPrefix(name, "/") {
		return "", gerr(ErrPathEscape, "archive entry %q is absolute", name)
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." {
			return "", gerr(ErrPathEscape, "archive entry %q has a '..' segment", name)
		}
	}
	return filepath.Clean(name), nil
}

// noSymlinkParents makes sure no existing component of rel below dir is a symlink, so a write
// there cannot land outside dir. Missing components are created as directories.
func noSymlinkParents(dir, rel string) error {
	cur := dir
	parts := strings.Split(filepath.Dir(rel), "/")
	for _, c := range parts {
		if c == "." || c == "" {
			continue
		}
		cur = filepath.Join(cur, c)
		fi, err := os.Lstat(cur)
		switch {
		case os.IsNotExist(err):
			if err := os.Mkdir(cur, 0o755); err != nil {
				return err
			}
		case err != nil:
			return err
		case fi.Mode()&os.ModeSymlink != 0:
			return gerr(ErrPathEscape, "archive entry %q passes through a symlink", rel)
		case !fi.IsDir():
			return gerr(ErrNotDir, "archive entry %q: %s is not a directory", rel, c)
		}
	}
	return nil
}

// extractTar unpacks into target atomically: everything lands in a temp dir beside target and
// is moved into place only when the whole archive was good; on any refusal nothing remains.
func extractTar(r io.Reader, target string, parents bool) error {
	parent := filepath.Dir(target)
	if parents {
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return err
		}
	}
	if fi, err := os.Stat(target); err == nil && !fi.IsDir() {
		return gerr(ErrNotDir, "%s is not a directory", target)
	}
	tmp, err := os.MkdirTemp(parent, ".hearth-tar-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	type dirTime struct {
		path string
		t    time.Time
	}
	var dirs []dirTime
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		rel, gerrv := entryPath(hdr.Name)
		if gerrv != nil {
			return gerrv
		}
		if rel == "." {
			continue
		}
		if err := noSymlinkParents(tmp, rel); err != nil {
			return err
		}
		dst := filepath.Join(tmp, rel)
		mode := os.FileMode(hdr.Mode & 0o777)
		if fi, err := os.Lstat(dst); err == nil && !(fi.IsDir() && hdr.Typeflag == tar.TypeDir) {
			if err := os.RemoveAll(dst); err != nil { // later entries replace earlier ones
				return err
			}
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.Mkdir(dst, 0o700); err != nil && !os.IsExist(err) {
				return err
			}
			_ = os.Chmod(dst, mode|chmodExtra(hdr.Mode))
			dirs = append(dirs, dirTime{dst, hdr.ModTime})
		case tar.TypeReg, tar.TypeRegA:
			f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			_ = os.Chmod(dst, mode|chmodExtra(hdr.Mode))
			_ = os.Chtimes(dst, hdr.ModTime, hdr.ModTime)
		case tar.TypeSymlink:
			if err := os.Symlink(hdr.Linkname, dst); err != nil {
				return err
			}
		case tar.TypeLink:
			lrel, gerrv := entryPath(hdr.Linkname)
			if gerrv != nil {
				return gerrv
			}
			if err := noSymlinkParents(tmp, lrel); err != nil {
				return err
			}
			src := filepath.Join(tmp, lrel)
			if fi, err := os.Lstat(src); err != nil || !fi.Mode().IsRegular() {
				return gerr(ErrBadRequest, "hard link %q to a missing or non-regular entry", hdr.Name)
			}
			if err := os.Link(src, dst); err != nil {
				return err
			}
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = os.Chtimes(dirs[i].path, dirs[i].t, dirs[i].t)
	}
	if _, err := os.Lstat(target); os.IsNotExist(err) {
		return os.Rename(tmp, target)
	}
	if err := checkMerge(tmp, target); err != nil {
		return err
	}
	return merge(tmp, target)
}

func chmodExtra(mode int64) os.FileMode {
	var m os.FileMode
	if mode&0o1000 != 0 {
		m |= os.ModeSticky
	}
	return m
}

// checkMerge finds conflicts before anything moves: a directory from the archive over a symlink
// (it would be followed) or a file over a directory.
func checkMerge(src, dst string) error {
	des, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, de := range des {
		s, d := filepath.Join(src, de.Name()), filepath.Join(dst, de.Name())
		fi, err := os.Lstat(d)
		if err != nil {
			continue
		}
		switch {
		case de.IsDir() && fi.Mode()&os.ModeSymlink != 0:
			return gerr(ErrPathEscape, "archive directory %q would pass through the symlink %s", de.Name(), d)
		case de.IsDir() && fi.IsDir():
			if err := checkMerge(s, d); err != nil {
				return err
			}
		case !de.IsDir() && fi.IsDir():
			return gerr(ErrIsDir, "archive entry would replace the directory %s", d)
		}
	}
	return nil
}

func merge(src, dst string) error {
	des, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, de := range des {
		s, d := filepath.Join(src, de.Name()), filepath.Join(dst, de.Name())
		fi, err := os.Lstat(d)
		if err == nil && de.IsDir() && fi.IsDir() {
			if err := merge(s, d); err != nil {
				return err
			}
			if sfi, err := os.Stat(s); err == nil {
				_ = os.Chmod(d, sfi.Mode()&(os.ModePerm|os.ModeSticky))
				_ = os.Chtimes(d, sfi.ModTime(), sfi.ModTime())
			}
			continue
		}
		if err == nil && de.IsDir() {
			_ = os.Remove(d) // a plain file where the archive has a directory
		}
		if err := os.Rename(s, d); err != nil {
			return err
		}
	}
	return nil
}
