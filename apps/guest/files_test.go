package main

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestCheckPath(t *testing.T) {
	for p, code := range map[string]string{
		"/":           "",
		"/etc/passwd": "",
		"/a/b..c/d":   "",
		"etc/passwd":  ErrPathEscape,
		"./x":         ErrPathEscape,
		"/a/../b":     ErrPathEscape,
		"/a/..":       ErrPathEscape,
		"..":          ErrPathEscape,
		"":            ErrBadRequest,
		"/a//b":       ErrBadRequest,
		"/a/./b":      ErrBadRequest,
		"/a/":         ErrBadRequest,
		"/a\x00b":     ErrBadRequest,
	} {
		got := ""
		if e := checkPath(p); e != nil {
			got = e.Code
		}
		if got != code {
			t.Errorf("checkPath(%q) = %q, want %q", p, got, code)
		}
	}
}

type tarEntry struct {
	name, body, link string
	typ              byte
}

func mkTar(t *testing.T, entries ...tarEntry) *bytes.Buffer {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if e.typ == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if h.Typeflag == tar.TypeDir {
			h.Mode = 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			_, _ = tw.Write([]byte(e.body))
		}
	}
	_ = tw.Close()
	return &buf
}

// assertOnly checks that dir holds exactly the names given (nothing left from a refused archive).
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("%s holds %v, want %v", dir, got, names)
	}
}

func TestExtractRefusesEscapes(t *testing.T) {
	outside := t.TempDir()
	cases := map[string][]tarEntry{
		"dotdot":   {{name: "ok.txt", body: "fine"}, {name: "../x", body: "evil"}},
		"inner":    {{name: "a/../../x", body: "evil"}},
		"absolute": {{name: "ok.txt", body: "fine"}, {name: "/tmp/x", body: "evil"}},
		"symlink":  {{name: "l", typ: tar.TypeSymlink, link: outside}, {name: "l/x", body: "evil"}},
		"symdir":   {{name: "d/", typ: tar.TypeDir}, {name: "d/l", typ: tar.TypeSymlink, link: "/"}, {name: "d/l/etc/x", body: "evil"}},
		"hardlink": {{name: "h", typ: tar.TypeLink, link: "../../etc/passwd"}},
	}
	for name, entries := range cases {
		parent := t.TempDir()
		target := filepath.Join(parent, "target")
		err := extractTar(mkTar(t, entries...), target, false)
		if e := fsErr(err); err == nil || e.Code != ErrPathEscape {
			t.Errorf("%s: want PATH_ESCAPE, got %v", name, err)
		}
		assertOnly(t, parent) // neither the target nor the temp dir remains
	}
	assertOnly(t, outside)
}

func TestExtractIntoExistingDir(t *testing.T) {
	parent := t.TempDir()
	target := filepath.Join(parent, "target")
	outside := t.TempDir()
	mustWrite(t, filepath.Join(target, "keep.txt"), "kept", 0o644)
	mustWrite(t, filepath.Join(target, "sub", "old.txt"), "old", 0o644)
	_ = os.Symlink(outside, filepath.Join(target, "esc"))
	// A directory entry over an existing symlink would write through it: refused, nothing moved.
	err := extractTar(mkTar(t, tarEntry{name: "new.txt", body: "n"}, tarEntry{name: "esc/x", body: "evil"}), target, false)
	if e := fsErr(err); err == nil || e.Code != ErrPathEscape {
		t.Fatalf("want PATH_ESCAPE, got %v", err)
	}
	assertOnly(t, outside)
	assertOnly(t, target, "esc", "keep.txt", "sub")
	assertOnly(t, parent, "target")
	// A good archive merges: new files appear, existing ones are replaced, others stay.
	err = extractTar(mkTar(t, tarEntry{name: "./sub/old.txt", body: "new"}, tarEntry{name: "sub/two/t.txt", body: "t"},
		tarEntry{name: "esc", body: "now a file"}), target, false)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(target, "sub", "old.txt")); string(b) != "new" {
		t.Fatalf("not replaced: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(target, "esc")); string(b) != "now a file" {
		t.Fatalf("symlink not replaced by the file: %q", b)
	}
	assertOnly(t, target, "esc", "keep.txt", "sub")
	assertOnly(t, filepath.Join(target, "sub"), "old.txt", "two")
	assertOnly(t, outside)
	assertOnly(t, parent, "target")
}

func TestFsErrMapping(t *testing.T) {
	_, err := os.Open("/definitely/not/here")
	if fsErr(err).Code != ErrNotFound {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "f")
	mustWrite(t, f, "x", 0o644)
	if _, err := os.Open(filepath.Join(f, "below")); fsErr(err).Code != ErrNotDir {
		t.Fatal(err)
	}
	if err := os.Mkdir(f, 0o755); fsErr(err).Code != ErrExists {
		t.Fatal(err)
	}
	long := filepath.Join(t.TempDir(), strings.Repeat("d", 300))
	if err := os.Mkdir(long, 0o755); fsErr(err).Code != ErrBadRequest {
		t.Fatal(err)
	}
	// A path the kernel refuses (an I/O error) is the caller's to change, not an agent fault.
	eio := &os.PathError{Op: "read", Path: "/proc/1/mem", Err: syscall.EIO}
	if fsErr(eio).Code != ErrIO {
		t.Fatal(eio)
	}
}
