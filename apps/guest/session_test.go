package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestHelloRefusedThenWelcome(t *testing.T) {
	c := dial(t, testAgent(t))
	f := c.hello("wrong")
	var res map[string]interface{}
	_ = json.Unmarshal(f.Payload, &res)
	if f.Type != FrameResult || res["ok"] != false || res["error"].(map[string]interface{})["code"] != ErrUnauthenticated {
		t.Fatalf("wrong secret not refused: %d %s", f.Type, f.Payload)
	}
	// Unauthenticated: requests and pings are ignored.
	c.sendJSON(1, FrameRequest, map[string]interface{}{"op": "health"})
	c.send(0, FramePing, []byte("x"))
	if f, ok := c.recv(1, 150*time.Millisecond); ok {
		t.Fatalf("request answered before auth: %s", f.Payload)
	}
	if f, ok := c.recv(0, 50*time.Millisecond); ok {
		t.Fatalf("ping answered before auth: %d", f.Type)
	}
	f = c.hello(testSecret)
	var w Welcome
	if err := json.Unmarshal(f.Payload, &w); f.Type != FrameWelcome || err != nil {
		t.Fatalf("no WELCOME: %d %s", f.Type, f.Payload)
	}
	if w.Protocol != 1 || w.Pid != os.Getpid() || w.BootID == "" || w.Hostname == "" || len(w.Capabilities) != len(Capabilities) {
		t.Fatalf("welcome %+v", w)
	}
	c.send(0, FramePing, []byte("abc"))
	if f, ok := c.recv(0, time.Second); !ok || f.Type != FramePong || string(f.Payload) != "abc" {
		t.Fatalf("no PONG: %+v", f)
	}
}

func TestNoConfigRefusesEverySession(t *testing.T) {
	a := newAgent(nil, "/")
	a.cfgErr = "missing"
	c := dial(t, a)
	if f := c.hello(""); f.Type != FrameResult || !strings.Contains(string(f.Payload), ErrUnauthenticated) {
		t.Fatalf("%d %s", f.Type, f.Payload)
	}
}

func TestBadFrameDropsSessionAndResyncs(t *testing.T) {
	c := dial(t, testAgent(t)).login()
	bad := EncodeFrame(0, FramePing, nil)
	bad[10] = 200 // unknown type once synced: the session is dropped
	c.send(0, FramePing, nil)
	if f, _ := c.recv(0, time.Second); f.Type != FramePong {
		t.Fatal("no pong")
	}
	if _, err := c.conn.Write(append(bad, []byte("junk")...)); err != nil {
		t.Fatal(err)
	}
	r := c.start(map[string]interface{}{"op": "health"})
	if f, ok := c.recv(r, 150*time.Millisecond); ok {
		t.Fatalf("dropped session still answers: %s", f.Payload)
	}
	c.login()
	c.mustOK(map[string]interface{}{"op": "health"})
}

func TestRequestErrors(t *testing.T) {
	c := dial(t, testAgent(t)).login()
	for _, tc := range []struct {
		req  map[string]interface{}
		code string
	}{
		{map[string]interface{}{"op": "nope"}, ErrUnknownOp},
		{map[string]interface{}{"op": "fs.stat", "path": "etc/passwd"}, ErrPathEscape},
		{map[string]interface{}{"op": "fs.stat", "path": "/etc/../etc"}, ErrPathEscape},
		{map[string]interface{}{"op": "fs.stat", "path": "/no/such/file"}, ErrNotFound},
		{map[string]interface{}{"op": "exec", "argv": []string{"/no/such/binary"}}, ErrSpawnFailed},
		{map[string]interface{}{"op": "exec", "argv": []string{"true"}, "cwd": "/no/such/dir"}, ErrSpawnFailed},
		{map[string]interface{}{"op": "exec", "argv": []string{"true"}, "user": "no-such-user"}, ErrSpawnFailed},
		{map[string]interface{}{"op": "exec", "argv": "true"}, ErrBadRequest},
		{map[string]interface{}{"op": "attach", "processId": "p999"}, ErrProcessNotFound},
	} {
		if r := c.do(tc.req); r.code() != tc.code {
			t.Errorf("%v: want %s, got %v", tc.req, tc.code, r.result)
		}
	}
	c.send(99, FrameRequest, []byte("{not json"))
	if r := c.wait(99, 30*time.Second); r.code() != ErrBadRequest {
		t.Errorf("bad JSON: %v", r.result)
	}
}

func TestExec(t *testing.T) {
	c := dial(t, testAgent(t)).login()
	r := c.mustOK(map[string]interface{}{"op": "exec", "argv": []string{"echo", "hello"}})
	if string(r.stdout) != "hello\n" || r.result["exitCode"] != 0.0 || r.result["signal"] != nil || r.result["timedOut"] != false {
		t.Fatalf("echo: %q %v", r.stdout, r.result)
	}
	if len(r.events) == 0 || r.events[0]["type"] != "started" || r.events[0]["processId"] == "" || r.events[0]["pid"].(float64) <= 0 {
		t.Fatalf("no started event: %v", r.events)
	}
	r = c.mustOK(map[string]interface{}{"op": "exec", "command": "echo oops >&2; echo $HEARTH_TEST $FOO; exit 3", "env": map[string]string{"FOO": "bar"}})
	if r.result["exitCode"] != 3.0 || string(r.stderr) != "oops\n" || string(r.stdout) != "1 bar\n" {
		t.Fatalf("exit 3: %q %q %v", r.stdout, r.stderr, r.result)
	}
	r = c.mustOK(map[string]interface{}{"op": "exec", "argv": []string{"pwd"}, "cwd": "/tmp"})
	if string(r.stdout) != "/tmp\n" {
		t.Fatalf("cwd: %q", r.stdout)
	}
	// Another user: credentials, HOME and USER come from /etc/passwd.
	if os.Getuid() == 0 {
		r = c.mustOK(map[string]interface{}{"op": "exec", "command": "id -u; echo $USER", "user": "nobody", "cwd": "/"})
		if string(r.stdout) != "65534\nnobody\n" {
			t.Fatalf("user nobody: %q %q", r.stdout, r.stderr)
		}
	}
	// stdin piped, then closed with STDIN_EOF.
	id := c.start(map[string]interface{}{"op": "exec", "argv": []string{"sh", "-c", "tr a-z A-Z; echo done"}, "stdin": true})
	c.send(id, FrameStdin, []byte("abc\n"))
	c.send(id, FrameStdin, []byte("xyz"))
	c.send(id, FrameStdinEOF, nil)
	if r := c.wait(id, 10*time.Second); string(r.stdout) != "ABC\nXYZdone\n" {
		t.Fatalf("stdin: %q %v", r.stdout, r.result)
	}
	// Without stdin the process reads /dev/null.
	if r := c.mustOK(map[string]interface{}{"op": "exec", "argv": []string{"cat"}}); len(r.stdout) != 0 || r.result["exitCode"] != 0.0 {
		t.Fatalf("cat /dev/null: %v", r.result)
	}
}

func TestExecTimeoutAndSignals(t *testing.T) {
	c := dial(t, testAgent(t)).login()
	start := time.Now()
	// Within mustOK's deadline, well under the 30 s the command would take without the kill.
	r := c.mustOK(map[string]interface{}{"op": "exec", "command": "sleep 30 & sleep 30", "timeoutMs": 200})
	if r.result["timedOut"] != true || r.result["signal"] != "KILL" || r.result["exitCode"] != nil {
		t.Fatalf("timeout: %v after %v", r.result, time.Since(start))
	}
	id := c.start(map[string]interface{}{"op": "exec", "argv": []string{"sleep", "30"}})
	time.Sleep(100 * time.Millisecond)
	c.sendJSON(id, FrameControl, map[string]string{"type": "signal", "signal": "TERM"})
	if r := c.wait(id, 30*time.Second); r.result["signal"] != "TERM" || r.result["timedOut"] != false {
		t.Fatalf("TERM: %v", r.result)
	}
	id = c.start(map[string]interface{}{"op": "exec", "argv": []string{"sleep", "30"}})
	time.Sleep(100 * time.Millisecond)
	c.sendJSON(id, FrameControl, map[string]string{"type": "cancel"})
	if r := c.wait(id, 30*time.Second); r.result["signal"] != "KILL" {
		t.Fatalf("cancel: %v", r.result)
	}
}

func TestExecTenMegabytesIntact(t *testing.T) {
	data := make([]byte, 10<<20)
	_, _ = rand.Read(data)
	path := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c := dial(t, testAgent(t)).login()
	r := c.wait(c.start(map[string]interface{}{"op": "exec", "argv": []string{"cat", path}}), 60*time.Second)
	if sha256.Sum256(r.stdout) != sha256.Sum256(data) || r.result["exitCode"] != 0.0 {
		t.Fatalf("10 MB output damaged: got %d bytes, %v", len(r.stdout), r.result)
	}
}

func needPty(t *testing.T) {
	if f, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0); err != nil {
		t.Skipf("no /dev/ptmx: %v", err)
	} else {
		f.Close()
	}
}

func TestPty(t *testing.T) {
	needPty(t)
	c := dial(t, testAgent(t)).login()
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ { // several terminals at once
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cols, rows := 80+i, 24+i
			r := c.wait(c.start(map[string]interface{}{"op": "exec", "command": "stty size; tty; echo $TERM",
				"pty": map[string]int{"cols": cols, "rows": rows}}), 10*time.Second)
			out := string(r.stdout)
			for _, w := range []string{itoa(rows) + " " + itoa(cols), "/dev/pts/", "xterm-256color"} {
				if !strings.Contains(out, w) {
					t.Errorf("pty %d: %q lacks %q (%v)", i, out, w, r.result)
				}
			}
		}(i)
	}
	wg.Wait()
	// An interactive shell: resize, then exit by input.
	id := c.start(map[string]interface{}{"op": "exec", "argv": []string{"/bin/sh"}, "pty": map[string]int{"cols": 80, "rows": 24}})
	c.sendJSON(id, FrameControl, map[string]interface{}{"type": "resize", "cols": 132, "rows": 50})
	c.send(id, FrameStdin, []byte("stty size; exit 7\n"))
	r := c.wait(id, 10*time.Second)
	if !strings.Contains(string(r.stdout), "50 132") || r.result["exitCode"] != 7.0 {
		t.Fatalf("resize: %q %v", r.stdout, r.result)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestProcessesSurviveDisconnect(t *testing.T) {
	a := testAgent(t)
	c := dial(t, a).login()
	id := c.start(map[string]interface{}{"op": "exec", "command": "echo one; echo err >&2; sleep 0.5; echo two", "tag": "job"})
	f, _ := c.recv(id, 30*time.Second)
	var ev map[string]interface{}
	_ = json.Unmarshal(f.Payload, &ev)
	pid := ev["processId"].(string)
	c.conn.Close() // host goes away mid-exec

	c2 := dial(t, a).login()
	r := c2.mustOK(map[string]interface{}{"op": "ps"})
	procs := r.result["processes"].([]interface{})
	found := false
	for _, p := range procs {
		m := p.(map[string]interface{})
		if m["processId"] == pid {
			found = m["tag"] == "job" && m["running"] == true && m["pty"] == false
		}
	}
	if !found {
		t.Fatalf("process %s not listed as running: %v", pid, procs)
	}
	r = c2.mustOK(map[string]interface{}{"op": "attach", "processId": pid, "replay": true})
	if string(r.stdout) != "one\ntwo\n" || string(r.stderr) != "err\n" || r.result["exitCode"] != 0.0 {
		t.Fatalf("attach: %q %q %v", r.stdout, r.stderr, r.result)
	}
	// Attaching after exit answers at once; write-stdin/close-stdin/signal on a live process.
	if r := c2.mustOK(map[string]interface{}{"op": "attach", "processId": pid}); len(r.stdout) != 0 {
		t.Fatalf("no replay requested: %q", r.stdout)
	}
	id = c2.start(map[string]interface{}{"op": "exec", "argv": []string{"cat"}, "stdin": true})
	f, _ = c2.recv(id, 30*time.Second)
	_ = json.Unmarshal(f.Payload, &ev)
	pid = ev["processId"].(string)
	c2.mustOK(map[string]interface{}{"op": "write-stdin", "processId": pid, "data": base64.StdEncoding.EncodeToString([]byte("via op"))})
	c2.mustOK(map[string]interface{}{"op": "close-stdin", "processId": pid})
	if r := c2.wait(id, 30*time.Second); string(r.stdout) != "via op" {
		t.Fatalf("write-stdin: %q", r.stdout)
	}
	id = c2.start(map[string]interface{}{"op": "exec", "argv": []string{"sleep", "30"}})
	f, _ = c2.recv(id, 30*time.Second)
	_ = json.Unmarshal(f.Payload, &ev)
	c2.mustOK(map[string]interface{}{"op": "signal", "processId": ev["processId"], "signal": "SIGINT"})
	if r := c2.wait(id, 30*time.Second); r.result["signal"] != "INT" {
		t.Fatalf("signal op: %v", r.result)
	}
}

func TestFilesRawRoundTrip(t *testing.T) {
	c := dial(t, testAgent(t)).login()
	dir := t.TempDir()
	path := filepath.Join(dir, "a", "b", "file.bin")
	data := make([]byte, 100*1024+7)
	_, _ = rand.Read(data)
	id := c.start(map[string]interface{}{"op": "fs.write", "path": path, "parents": true, "mode": 0o600})
	for off := 0; off < len(data); off += DataChunkBytes {
		end := off + DataChunkBytes
		if end > len(data) {
			end = len(data)
		}
		c.send(id, FrameStdin, data[off:end])
	}
	c.send(id, FrameStdinEOF, nil)
	if r := c.wait(id, 10*time.Second); r.result["ok"] != true || r.result["bytes"] != float64(len(data)) {
		t.Fatalf("write: %v", r.result)
	}
	r := c.mustOK(map[string]interface{}{"op": "fs.read", "path": path})
	if !bytes.Equal(r.stdout, data) || len(r.events) != 1 || r.events[0]["kind"] != "file" || r.events[0]["size"] != float64(len(data)) || r.events[0]["mode"] != float64(0o600) {
		t.Fatalf("read back: %d bytes, %v", len(r.stdout), r.events)
	}
	st := c.mustOK(map[string]interface{}{"op": "fs.stat", "path": path}).result["stat"].(map[string]interface{})
	if st["type"] != "file" || st["mode"] != float64(0o600) || st["name"] != "file.bin" || !strings.HasSuffix(st["mtime"].(string), "Z") {
		t.Fatalf("stat: %v", st)
	}
	// maxBytes: refused and nothing left behind.
	id = c.start(map[string]interface{}{"op": "fs.write", "path": filepath.Join(dir, "big"), "maxBytes": 10})
	c.send(id, FrameStdin, make([]byte, 11))
	if r := c.wait(id, 30*time.Second); r.code() != ErrTooLarge {
		t.Fatalf("maxBytes: %v", r.result)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("partial upload left: %v", ents)
	}
	c.mustOK(map[string]interface{}{"op": "fs.mkdir", "path": filepath.Join(dir, "x", "y"), "parents": true})
	if r := c.do(map[string]interface{}{"op": "fs.mkdir", "path": filepath.Join(dir, "x")}); r.code() != ErrExists {
		t.Fatalf("mkdir existing: %v", r.result)
	}
	c.mustOK(map[string]interface{}{"op": "fs.move", "from": path, "to": filepath.Join(dir, "x", "moved")})
	list := c.mustOK(map[string]interface{}{"op": "fs.list", "path": dir, "depth": 3}).result["entries"].([]interface{})
	var names []string
	for _, e := range list {
		names = append(names, strings.TrimPrefix(e.(map[string]interface{})["path"].(string), dir))
	}
	if strings.Join(names, ",") != "/a,/a/b,/x,/x/moved,/x/y" {
		t.Fatalf("list: %v", names)
	}
	if r := c.do(map[string]interface{}{"op": "fs.remove", "path": filepath.Join(dir, "x")}); r.code() != ErrBadRequest {
		t.Fatalf("non-recursive remove of a full dir: %v", r.result)
	}
	c.mustOK(map[string]interface{}{"op": "fs.remove", "path": filepath.Join(dir, "x"), "recursive": true})
	if _, err := os.Stat(filepath.Join(dir, "x")); !os.IsNotExist(err) {
		t.Fatal("not removed")
	}
}

func TestFilesTarRoundTrip(t *testing.T) {
	c := dial(t, testAgent(t)).login()
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "copy")
	mustWrite(t, filepath.Join(src, "top.txt"), "top", 0o640)
	mustWrite(t, filepath.Join(src, "sub", "deep", "f.sh"), "#!/bin/sh\n", 0o755)
	_ = os.Symlink("sub/deep/f.sh", filepath.Join(src, "link"))
	r := c.mustOK(map[string]interface{}{"op": "fs.read", "path": src})
	if len(r.events) != 1 || r.events[0]["kind"] != "tar" || r.result["bytes"] != float64(len(r.stdout)) {
		t.Fatalf("tar meta: %v %v", r.events, r.result)
	}
	id := c.start(map[string]interface{}{"op": "fs.write", "path": dst, "format": "tar", "parents": true})
	c.send(id, FrameStdin, r.stdout)
	c.send(id, FrameStdinEOF, nil)
	if w := c.wait(id, 10*time.Second); w.result["ok"] != true {
		t.Fatalf("tar write: %v", w.result)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "sub", "deep", "f.sh")); string(b) != "#!/bin/sh\n" {
		t.Fatalf("content: %q", b)
	}
	if fi, _ := os.Stat(filepath.Join(dst, "sub", "deep", "f.sh")); fi == nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("mode: %v", fi)
	}
	if fi, _ := os.Stat(filepath.Join(dst, "top.txt")); fi == nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode: %v", fi)
	}
	if l, _ := os.Readlink(filepath.Join(dst, "link")); l != "sub/deep/f.sh" {
		t.Fatalf("symlink: %q", l)
	}
}

func mustWrite(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(path, mode)
}

func TestMetricsInfoHealthTime(t *testing.T) {
	a := testAgent(t)
	var set int64
	a.settime = func(tv *syscall.Timeval) error { set = tv.Sec; return nil }
	c := dial(t, a).login()
	m := c.mustOK(map[string]interface{}{"op": "metrics"}).result
	var gm GuestMetrics
	b, _ := json.Marshal(m)
	_ = json.Unmarshal(b, &gm)
	if gm.Memory.TotalBytes == 0 || gm.Memory.AvailableBytes == 0 || gm.Processes == 0 || gm.UptimeSec == 0 ||
		gm.Disk.TotalBytes == 0 || gm.AgentRssBytes == 0 || gm.CPUPercent < 0 || m["network"] == nil || m["load"] == nil {
		t.Fatalf("metrics: %+v", m)
	}
	info := c.mustOK(map[string]interface{}{"op": "info"}).result
	if info["hostname"] == "" || info["kernel"] == "" || info["timeMs"].(float64) <= 0 || info["agentVersion"] != version || info["ips"] == nil {
		t.Fatalf("info: %v", info)
	}
	if h := c.mustOK(map[string]interface{}{"op": "health"}).result; h["uptimeSec"].(float64) <= 0 {
		t.Fatalf("health: %v", h)
	}
	target := time.Now().Add(time.Hour).UnixMilli()
	ts := c.mustOK(map[string]interface{}{"op": "time.sync", "unixMs": target}).result
	if adj := ts["adjustedMs"].(float64); adj < 3590000 || adj > 3610000 || set != target/1000 {
		t.Fatalf("time.sync: %v set=%d", ts, set)
	}
}
