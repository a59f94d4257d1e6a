package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// started reads a stream up to its "started" event and returns the process id and pid; the
// process group is killed when the test ends, whatever the agent did with it.
func started(t *testing.T, c *client, id uint32) (string, int) {
	t.Helper()
	for {
		f, ok := c.recv(id, 30*time.Second)
		if !ok {
			t.Fatalf("stream %d: no started event", id)
		}
		if f.Type == FrameResult {
			t.Fatalf("stream %d ended before starting: %s", id, f.Payload)
		}
		var ev map[string]interface{}
		if f.Type == FrameEvent && json.Unmarshal(f.Payload, &ev) == nil && ev["type"] == "started" {
			pid := int(ev["pid"].(float64))
			t.Cleanup(func() { _ = syscall.Kill(-pid, syscall.SIGKILL) })
			return ev["processId"].(string), pid
		}
	}
}

// sendRaw writes frames from a goroutine: a test must not hang on a reader the agent blocked.
func sendRaw(c *client, stream uint32, typ uint8, payloads ...[]byte) {
	go func() {
		for _, p := range payloads {
			if _, err := c.conn.Write(EncodeFrame(stream, typ, p)); err != nil {
				return
			}
		}
	}()
}

func chunks(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, size)
	}
	return out
}

func running(t *testing.T, c *client, processID string) bool {
	t.Helper()
	for _, p := range c.mustOK(map[string]interface{}{"op": "ps"}).result["processes"].([]interface{}) {
		if m := p.(map[string]interface{}); m["processId"] == processID {
			return m["running"] == true
		}
	}
	return false
}

func TestAttachCancelAndDetachLeaveProcessRunning(t *testing.T) {
	c := dial(t, testAgent(t)).login()
	execID := c.start(map[string]interface{}{"op": "exec", "command": "echo hi; sleep 30"})
	pid, _ := started(t, c, execID)

	// The host sends cancel on an attach stream when its client goes away: detach, not kill.
	a := c.start(map[string]interface{}{"op": "attach", "processId": pid, "replay": true})
	time.Sleep(100 * time.Millisecond)
	c.sendJSON(a, FrameControl, map[string]string{"type": "cancel"})
	r := c.wait(a, 30*time.Second)
	if r.result["ok"] != true || r.result["detached"] != true || r.result["running"] != true || r.result["processId"] != pid {
		t.Fatalf("cancel on attach: %v", r.result)
	}
	if !running(t, c, pid) {
		t.Fatal("cancel on an attach stream killed the process")
	}
	// An explicit detach does the same.
	b := c.start(map[string]interface{}{"op": "attach", "processId": pid})
	time.Sleep(100 * time.Millisecond)
	c.sendJSON(b, FrameControl, map[string]string{"type": "detach"})
	if r := c.wait(b, 30*time.Second); r.result["detached"] != true || r.result["running"] != true {
		t.Fatalf("detach on attach: %v", r.result)
	}
	// Detach works on the exec's own stream too; the process is still there to attach to.
	c.sendJSON(execID, FrameControl, map[string]string{"type": "detach"})
	if r := c.wait(execID, 30*time.Second); r.result["detached"] != true || r.result["running"] != true {
		t.Fatalf("detach on exec: %v", r.result)
	}
	if !running(t, c, pid) {
		t.Fatal("detach killed the process")
	}
	d := c.start(map[string]interface{}{"op": "attach", "processId": pid})
	time.Sleep(100 * time.Millisecond)
	c.sendJSON(d, FrameControl, map[string]string{"type": "signal", "signal": "KILL"})
	if r := c.wait(d, 30*time.Second); r.result["signal"] != "KILL" || r.result["detached"] != nil {
		t.Fatalf("exit after re-attach: %v", r.result)
	}
	// Nothing more arrives on the streams that were detached.
	for _, id := range []uint32{execID, a, b} {
		if f, ok := c.recv(id, 100*time.Millisecond); ok {
			t.Fatalf("stream %d got type %d after its RESULT: %s", id, f.Type, f.Payload)
		}
	}
}

// collect reads a stream until its RESULT, failing if more than budget data bytes arrive first.
func collect(t *testing.T, c *client, id uint32, budget int, timeout time.Duration) (int, map[string]interface{}) {
	t.Helper()
	n, deadline := 0, time.After(timeout)
	for {
		select {
		case f := <-c.ch(id):
			switch f.Type {
			case FrameStdout, FrameStderr:
				if n += len(f.Payload); n > budget {
					t.Fatalf("stream %d: more than %d bytes and no RESULT", id, budget)
				}
			case FrameResult:
				var res map[string]interface{}
				_ = json.Unmarshal(f.Payload, &res)
				return n, res
			}
		case <-deadline:
			t.Fatalf("stream %d: no RESULT within %v (%d bytes)", id, timeout, n)
		}
	}
}

func TestFsReadRefusesNonRegularFiles(t *testing.T) {
	c := dial(t, testAgent(t)).login()
	for _, p := range []string{"/dev/zero", "/dev/null"} {
		_, res := collect(t, c, c.start(map[string]interface{}{"op": "fs.read", "path": p}), 1<<20, 30*time.Second)
		if e, _ := res["error"].(map[string]interface{}); res["ok"] != false || e["code"] != ErrBadRequest {
			t.Fatalf("fs.read %s: %v", p, res)
		}
	}
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	_, res := collect(t, c, c.start(map[string]interface{}{"op": "fs.read", "path": fifo}), 0, 30*time.Second)
	if res["ok"] != false {
		t.Fatalf("fs.read of a FIFO: %v", res)
	}
}

func TestFsReadCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	const size = 1 << 30 // sparse
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
	c := dial(t, testAgent(t)).login()
	for _, format := range []string{"raw", "tar"} {
		id := c.start(map[string]interface{}{"op": "fs.read", "path": path, "format": format})
		for {
			f, ok := c.recv(id, 30*time.Second)
			if !ok || f.Type == FrameResult {
				t.Fatalf("%s: no data before the RESULT", format)
			}
			if f.Type == FrameStdout {
				break
			}
		}
		c.sendJSON(id, FrameControl, map[string]string{"type": "cancel"})
		n, res := collect(t, c, id, size/4, 20*time.Second)
		e, _ := res["error"].(map[string]interface{})
		if res["ok"] != false || e["code"] != ErrBadRequest || e["message"] != "cancelled" {
			t.Fatalf("%s: cancel after %d bytes: %v", format, n, res)
		}
	}
	c.mustOK(map[string]interface{}{"op": "health"})
}

// A process that does not read its stdin must not stop the channel: its controls and other
// requests go through while its input waits.
func TestStdinBacklogDoesNotBlockChannel(t *testing.T) {
	c := dial(t, testAgent(t)).login()
	id := c.start(map[string]interface{}{"op": "exec", "argv": []string{"sleep", "20"}, "stdin": true})
	started(t, c, id)
	sendRaw(c, id, FrameStdin, chunks(40, 32*1024)...) // 1.25 MiB: under the queue bound
	time.Sleep(200 * time.Millisecond)
	go func() {
		b, _ := json.Marshal(map[string]string{"type": "signal", "signal": "KILL"})
		_, _ = c.conn.Write(EncodeFrame(id, FrameControl, b))
		b, _ = json.Marshal(map[string]string{"op": "health"})
		_, _ = c.conn.Write(EncodeFrame(1000, FrameRequest, b))
	}()
	if _, res := collect(t, c, 1000, 0, 3*time.Second); res["ok"] != true {
		t.Fatalf("health: %v", res)
	}
	if _, res := collect(t, c, id, 0, 30*time.Second); res["signal"] != "KILL" {
		t.Fatalf("kill: %v", res)
	}
}

// Past stdinQueueBytes, a consumer that makes no progress fails its stream and frees the channel.
func TestStdinOverflowFailsStream(t *testing.T) {
	a := testAgent(t)
	a.stdinStall = 300 * time.Millisecond
	c := dial(t, a).login()
	id := c.start(map[string]interface{}{"op": "exec", "argv": []string{"sleep", "30"}, "stdin": true})
	pid, _ := started(t, c, id)
	sendRaw(c, id, FrameStdin, chunks(stdinQueueBytes/DataChunkBytes+40, DataChunkBytes)...)
	_, res := collect(t, c, id, 0, 10*time.Second)
	if e, _ := res["error"].(map[string]interface{}); res["ok"] != false || e["code"] != ErrTooLarge ||
		!strings.Contains(e["message"].(string), "stdin overflow") {
		t.Fatalf("overflow: %v", res)
	}
	c.mustOK(map[string]interface{}{"op": "health"})
	if !running(t, c, pid) {
		t.Fatal("the process should survive its stream")
	}
}

// More than stdinQueueBytes to a process that reads slowly but steadily still arrives whole:
// back-pressure, not failure, while the consumer makes progress.
func TestStdinBackpressureKeepsEverything(t *testing.T) {
	c := dial(t, testAgent(t)).login()
	id := c.start(map[string]interface{}{"op": "exec", "command": "sleep 1; wc -c", "stdin": true})
	started(t, c, id)
	const n = 10 << 20
	go func() {
		for _, b := range chunks(n/DataChunkBytes, DataChunkBytes) {
			if _, err := c.conn.Write(EncodeFrame(id, FrameStdin, b)); err != nil {
				return
			}
		}
		_, _ = c.conn.Write(EncodeFrame(id, FrameStdinEOF, nil))
	}()
	r := c.wait(id, 30*time.Second)
	if strings.TrimSpace(string(r.stdout)) != strconv.Itoa(n) || r.result["exitCode"] != 0.0 {
		t.Fatalf("got %q %v", r.stdout, r.result)
	}
}

// The exit is reported even when a write to stdin is stuck: here a background child keeps the
// pipe open without reading it, and the main process exits.
func TestExitReportedWhileStdinWriteBlocked(t *testing.T) {
	c := dial(t, testAgent(t)).login()
	id := c.start(map[string]interface{}{"op": "exec", "stdin": true,
		"command": "exec 3<&0; sleep 30 <&3 >/dev/null 2>&1 & exec 3<&-; sleep 0.5"})
	started(t, c, id)
	sendRaw(c, id, FrameStdin, chunks(8, DataChunkBytes)...) // 256 KiB: more than a pipe holds
	if _, res := collect(t, c, id, 0, 30*time.Second); res["exitCode"] != 0.0 {
		t.Fatalf("exit: %v", res)
	}
	c.mustOK(map[string]interface{}{"op": "health"})
}

// What a command leaves in the background outlives its exec, as over ssh or `docker exec`: here
// a child that keeps writing to the exec's stdout after the exit was reported must neither be
// signalled nor die of SIGPIPE. Its late output lands in the ring buffer.
func TestBackgroundChildOutlivesExec(t *testing.T) {
	c := dial(t, testAgent(t)).login()
	marks := filepath.Join(t.TempDir(), "marks")
	id := c.start(map[string]interface{}{"op": "exec",
		"command": "(while :; do sleep 1; echo tick; echo x >> " + marks + "; done) & echo started"})
	pid, _ := started(t, c, id)
	if r := c.wait(id, 10*time.Second); r.result["exitCode"] != 0.0 || string(r.stdout) != "started\n" {
		t.Fatalf("exec: %q %v", r.stdout, r.result)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(marks)
		if strings.Count(string(b), "x") >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the background child stopped after the exec returned (%d marks)", strings.Count(string(b), "x"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	a := c.mustOK(map[string]interface{}{"op": "attach", "processId": pid, "replay": true})
	if !strings.Contains(string(a.stdout), "started\ntick\n") {
		t.Fatalf("late output not kept: %q", a.stdout)
	}
}
