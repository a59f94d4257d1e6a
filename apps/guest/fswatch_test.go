package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// startWatch starts fs.watch on dir; it answers the stream's id and a function that waits until
// the changes so far include want, in that order (others may come between).
func startWatch(t *testing.T, c *client, dir string, recursive bool) (uint32, func(want ...string)) {
	id := c.start(map[string]interface{}{"op": "fs.watch", "path": dir, "recursive": recursive})
	f, ok := c.recv(id, 10*time.Second)
	if !ok || f.Type != FrameEvent {
		t.Fatalf("no watching event: %v %s", ok, f.Payload)
	}
	var got []string
	return id, func(want ...string) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			i := 0
			for _, g := range got {
				if i < len(want) && g == want[i] {
					i++
				}
			}
			if i == len(want) {
				return
			}
			f, ok := c.recv(id, time.Until(deadline))
			if !ok {
				t.Fatalf("changes %v lack %v", got, want)
			}
			if f.Type != FrameEvent {
				t.Fatalf("frame %d %s", f.Type, f.Payload)
			}
			var ev struct{ Type, Name, Op string }
			if err := json.Unmarshal(f.Payload, &ev); err != nil || ev.Type != "change" {
				t.Fatalf("event %s", f.Payload)
			}
			got = append(got, ev.Op+" "+ev.Name)
		}
	}
}

func TestFsWatchReportsChanges(t *testing.T) {
	c := dial(t, testAgent(t)).login()
	dir := t.TempDir()
	id, expect := startWatch(t, c, dir, false)
	p := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(p, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	expect("create a.txt", "write a.txt")
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	expect("chmod a.txt")
	if err := os.Rename(p, filepath.Join(dir, "b.txt")); err != nil {
		t.Fatal(err)
	}
	expect("rename a.txt", "create b.txt")
	if err := os.Remove(filepath.Join(dir, "b.txt")); err != nil {
		t.Fatal(err)
	}
	expect("remove b.txt")
	c.sendJSON(id, FrameControl, map[string]string{"type": "cancel"})
	if r := c.wait(id, 10*time.Second); r.result["ok"] != true {
		t.Fatalf("cancel: %v", r.result)
	}
}

func TestFsWatchRecursiveAndAgentWrites(t *testing.T) {
	c := dial(t, testAgent(t)).login()
	dir := t.TempDir()
	_, expect := startWatch(t, c, dir, true)
	// A directory made after the watch started is watched too.
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	expect("create sub")
	if err := os.WriteFile(filepath.Join(sub, "deep.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	expect("create sub/deep.txt", "write sub/deep.txt")
	// The agent's own write (a temp file renamed over the target) shows as the target's create
	// and write, never the temp file.
	target := filepath.Join(sub, "up.txt")
	id := c.start(map[string]interface{}{"op": "fs.write", "path": target})
	c.send(id, FrameStdin, []byte("data"))
	c.send(id, FrameStdinEOF, nil)
	expect("create sub/up.txt", "write sub/up.txt")
	if err := os.RemoveAll(sub); err != nil {
		t.Fatal(err)
	}
	expect("remove sub/deep.txt", "remove sub/up.txt", "remove sub")
}

func TestFsWatchRefusesNonDirectories(t *testing.T) {
	c := dial(t, testAgent(t)).login()
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	_ = os.WriteFile(f, nil, 0o644)
	for path, code := range map[string]string{f: ErrNotDir, filepath.Join(dir, "none"): ErrNotFound} {
		if r := c.do(map[string]interface{}{"op": "fs.watch", "path": path}); r.code() != code {
			t.Fatalf("%s: %v", path, r.result)
		}
	}
}
