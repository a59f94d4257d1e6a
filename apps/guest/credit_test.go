package main

import (
	"encoding/binary"
	"strconv"
	"strings"
	"testing"
	"time"
)

// loginCredit opens a session that offers per-stream credit, as the current host does.
func (c *client) loginCredit() *client {
	c.sendJSON(0, FrameHello, Hello{Protocol: ProtocolVersion, Secret: testSecret, Features: []string{CreditFeature}})
	if f, ok := c.recv(0, 30*time.Second); !ok || f.Type != FrameWelcome {
		c.t.Fatalf("expected WELCOME, got %+v", f)
	}
	return c
}

func (c *client) grant(stream uint32, n int) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(n))
	c.send(stream, FrameWindow, b[:])
}

// readOutput takes exactly n output bytes of a stream (failing on its RESULT: the flooding
// process must still be running).
func readOutput(t *testing.T, c *client, id uint32, n int) {
	got := 0
	for got < n {
		f, ok := c.recv(id, 20*time.Second)
		if !ok {
			t.Fatalf("stream %d: %d of %d bytes", id, got, n)
		}
		switch f.Type {
		case FrameStdout, FrameStderr:
			got += len(f.Payload)
		case FrameResult:
			t.Fatalf("stream %d ended: %s", id, f.Payload)
		}
	}
	if got != n {
		t.Fatalf("stream %d: %d bytes where the credit allowed %d", id, got, n)
	}
}

// nothingMore asserts that a stream sent nothing more while other streams were served: the writer
// keeps frames in order, so a producer that ignored its credit would show up here.
func nothingMore(t *testing.T, c *client, id uint32) {
	if n := len(c.ch(id)); n != 0 {
		f := <-c.ch(id)
		t.Fatalf("stream %d sent %d more frames (type %d, %d bytes) without credit", id, n, f.Type, len(f.Payload))
	}
}

// A process that floods its stdout sends no more than the window until the host grants more;
// other streams on the same session are answered meanwhile; a grant lets exactly that much more
// through.
func TestCreditBoundsAFloodingStream(t *testing.T) {
	c := dial(t, testAgent(t)).loginCredit()
	id := c.start(map[string]interface{}{"op": "exec", "command": "cat /dev/zero"})
	started(t, c, id)
	readOutput(t, c, id, StreamWindowBytes)
	c.mustOK(map[string]interface{}{"op": "health"})
	other := c.mustOK(map[string]interface{}{"op": "exec", "command": "head -c 1000000 /dev/zero; echo"})
	if len(other.stdout) != 1000001 {
		t.Fatalf("second stream: %d bytes", len(other.stdout))
	}
	nothingMore(t, c, id)
	c.grant(id, 100000)
	readOutput(t, c, id, 100000)
	c.mustOK(map[string]interface{}{"op": "health"})
	nothingMore(t, c, id)
	c.sendJSON(id, FrameControl, map[string]string{"type": "signal", "signal": "KILL"})
	c.grant(id, 1<<30) // let the pump drain what the pipe still holds
	if _, res := collect(t, c, id, 1<<30, 10*time.Second); res["signal"] != "KILL" {
		t.Fatalf("kill: %v", res)
	}
}

// With credit, the guest hands back consumed STDIN bytes as WINDOW frames: a host that never
// sends more than it was granted delivers an upload larger than the window whole.
func TestCreditGrantsStdinBack(t *testing.T) {
	c := dial(t, testAgent(t)).loginCredit()
	id := c.start(map[string]interface{}{"op": "exec", "command": "wc -c", "stdin": true})
	started(t, c, id)
	const total = 3*StreamWindowBytes + 12345
	credit, sent, granted := StreamWindowBytes, 0, 0
	for sent < total {
		if credit == 0 {
			f, ok := c.recv(id, 10*time.Second)
			if !ok {
				t.Fatalf("no WINDOW after %d bytes", sent)
			}
			if f.Type == FrameWindow {
				n := int(binary.BigEndian.Uint32(f.Payload))
				credit += n
				granted += n
			}
			continue
		}
		n := credit
		if n > DataChunkBytes {
			n = DataChunkBytes
		}
		if n > total-sent {
			n = total - sent
		}
		c.send(id, FrameStdin, make([]byte, n))
		sent += n
		credit -= n
	}
	c.send(id, FrameStdinEOF, nil)
	r := c.wait(id, 20*time.Second)
	if strings.TrimSpace(string(r.stdout)) != strconv.Itoa(total) || granted < total-StreamWindowBytes {
		t.Fatalf("wc -c said %q after %d granted bytes", r.stdout, granted)
	}
}

// A host without the credit feature (an older agent) gets no WINDOW frames and unthrottled output.
func TestNoCreditWithoutTheFeature(t *testing.T) {
	c := dial(t, testAgent(t)).login()
	r := c.mustOK(map[string]interface{}{"op": "exec", "command": "head -c 5000000 /dev/zero"})
	if len(r.stdout) != 5000000 {
		t.Fatalf("got %d bytes", len(r.stdout))
	}
}
