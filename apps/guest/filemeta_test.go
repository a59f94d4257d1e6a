package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// xattrDir is a temporary directory whose filesystem keeps user attributes, or the test skips.
func xattrDir(t *testing.T) string {
	dir := t.TempDir()
	probe := filepath.Join(dir, "probe")
	if err := os.WriteFile(probe, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setxattr(probe, "user.probe", []byte("1"), 0); err != nil {
		t.Skipf("%s keeps no user attributes: %v", dir, err)
	}
	return dir
}

func writeWithMeta(t *testing.T, c *client, path string, data string, meta map[string]string) *reply {
	req := map[string]interface{}{"op": "fs.write", "path": path, "parents": true}
	if meta != nil {
		req["meta"] = meta
	}
	id := c.start(req)
	c.send(id, FrameStdin, []byte(data))
	c.send(id, FrameStdinEOF, nil)
	return c.wait(id, 10*time.Second)
}

func TestFsWriteKeepsMetadata(t *testing.T) {
	dir := xattrDir(t)
	c := dial(t, testAgent(t)).login()
	path := filepath.Join(dir, "sub", "f.txt")
	if r := writeWithMeta(t, c, path, "hi", map[string]string{"author": "ann", "purpose": "a b"}); r.result["ok"] != true {
		t.Fatalf("write: %v", r.result)
	}
	// Stored where envd keeps it.
	if v, err := getXattr(path, "user.e2b.author"); err != nil || string(v) != "ann" {
		t.Fatalf("xattr: %q %v", v, err)
	}
	st := c.mustOK(map[string]interface{}{"op": "fs.stat", "path": path}).result["stat"].(map[string]interface{})
	meta, _ := st["meta"].(map[string]interface{})
	if meta["author"] != "ann" || meta["purpose"] != "a b" || len(meta) != 2 {
		t.Fatalf("stat meta: %v", st)
	}
	// Attributes outside user.e2b. are not metadata.
	if err := syscall.Setxattr(path, "user.other", []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	ents := c.mustOK(map[string]interface{}{"op": "fs.list", "path": dir, "depth": 2}).result["entries"].([]interface{})
	found := false
	for _, e := range ents {
		m := e.(map[string]interface{})
		if m["path"] == path {
			found = true
			if mm, _ := m["meta"].(map[string]interface{}); len(mm) != 2 || mm["author"] != "ann" {
				t.Fatalf("list meta: %v", m)
			}
		} else if _, has := m["meta"]; has {
			t.Fatalf("an entry without metadata reports some: %v", m)
		}
	}
	if !found {
		t.Fatalf("list lacks %s: %v", path, ents)
	}
	// A new upload replaces the set: without metadata the file has none.
	if r := writeWithMeta(t, c, path, "again", map[string]string{"author": "bob"}); r.result["ok"] != true {
		t.Fatalf("rewrite: %v", r.result)
	}
	if m, _ := readMeta(path); len(m) != 1 || m["author"] != "bob" {
		t.Fatalf("after rewrite: %v", m)
	}
	if r := writeWithMeta(t, c, path, "plain", nil); r.result["ok"] != true {
		t.Fatalf("plain rewrite: %v", r.result)
	}
	if m, _ := readMeta(path); m != nil {
		t.Fatalf("metadata left after a plain upload: %v", m)
	}
}

func TestFsWriteRefusesBadMetadata(t *testing.T) {
	dir := t.TempDir()
	c := dial(t, testAgent(t)).login()
	for name, meta := range map[string]map[string]string{
		"control byte": {"k": "a\nb"},
		"empty key":    {"": "v"},
		"long key":     {strings.Repeat("k", maxMetaKeyLen+1): "v"},
		"too much":     {"a": strings.Repeat("v", 2100), "b": strings.Repeat("v", 2100)},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		if r := writeWithMeta(t, c, path, "x", meta); r.code() != ErrBadRequest {
			t.Fatalf("%s: %v", name, r.result)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("%s: the file was written: %v", name, err)
		}
	}
}

func TestWriteMetaReplacesAndClears(t *testing.T) {
	dir := xattrDir(t)
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeMeta(p, map[string]string{"a": "1", "b": "2"}); err != nil {
		t.Fatal(err)
	}
	if err := writeMeta(p, map[string]string{"b": "3"}); err != nil {
		t.Fatal(err)
	}
	if m, _ := readMeta(p); len(m) != 1 || m["b"] != "3" {
		t.Fatalf("replaced: %v", m)
	}
	if err := writeMeta(p, nil); err != nil {
		t.Fatal(err)
	}
	if m, _ := readMeta(p); m != nil {
		t.Fatalf("cleared: %v", m)
	}
}

func TestMetaOnFilesystemWithoutXattrs(t *testing.T) {
	// /proc keeps no user attributes: reading answers none, writing is a clear error.
	if m, err := readMeta("/proc/self/status"); err != nil || m != nil {
		t.Fatalf("read: %v %v", m, err)
	}
	err := writeMeta("/proc/self/comm", map[string]string{"a": "1"})
	ge, ok := err.(*GuestError)
	if !ok || !strings.Contains(ge.Message, "extended attributes") {
		t.Fatalf("write: %#v", err)
	}
}
