package main

import (
	"encoding/json"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

const testSecret = "s3cret-for-tests"

// client is a minimal host side of the protocol for the integration tests.
type client struct {
	t       *testing.T
	conn    net.Conn
	mu      sync.Mutex
	streams map[uint32]chan Frame
	next    uint32
}

func testAgent(t *testing.T) *Agent {
	a := newAgent(&GuestBootConfig{Secret: testSecret, Env: map[string]string{"HEARTH_TEST": "1"}}, "/")
	a.settime = func(*syscall.Timeval) error { return nil }
	a.poweroff = func(bool) {}
	a.syncfs = func() {}
	return a
}

// dial connects a client to the agent over an in-memory pipe (no virtio, no sockets).
func dial(t *testing.T, a *Agent) *client {
	srv, cli := net.Pipe()
	go a.serveLink(srv, false)
	return attachClient(t, cli)
}

func attachClient(t *testing.T, conn net.Conn) *client {
	c := &client{t: t, conn: conn, streams: map[uint32]chan Frame{}, next: 1}
	t.Cleanup(func() { conn.Close() })
	go func() {
		var dec Decoder
		buf := make([]byte, 64*1024)
		for {
			n, err := conn.Read(buf)
			frames, ferr := dec.Push(buf[:n])
			for _, f := range frames {
				c.ch(f.Stream) <- f
			}
			if err != nil || ferr != nil {
				return
			}
		}
	}()
	return c
}

func (c *client) ch(stream uint32) chan Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := c.streams[stream]
	if ch == nil {
		ch = make(chan Frame, 100000)
		c.streams[stream] = ch
	}
	return ch
}

func (c *client) send(stream uint32, typ uint8, payload []byte) {
	if _, err := c.conn.Write(EncodeFrame(stream, typ, payload)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *client) sendJSON(stream uint32, typ uint8, v interface{}) {
	b, _ := json.Marshal(v)
	c.send(stream, typ, b)
}

func (c *client) recv(stream uint32, timeout time.Duration) (Frame, bool) {
	select {
	case f := <-c.ch(stream):
		return f, true
	case <-time.After(timeout):
		return Frame{}, false
	}
}

func (c *client) hello(secret string) Frame {
	c.sendJSON(0, FrameHello, Hello{Protocol: ProtocolVersion, Secret: secret})
	f, ok := c.recv(0, 30*time.Second)
	if !ok {
		c.t.Fatal("no answer to HELLO")
	}
	return f
}

func (c *client) login() *client {
	if f := c.hello(testSecret); f.Type != FrameWelcome {
		c.t.Fatalf("expected WELCOME, got type %d %s", f.Type, f.Payload)
	}
	return c
}

// reply is everything that came back on one stream.
type reply struct {
	stream uint32
	stdout []byte
	stderr []byte
	events []map[string]interface{}
	result map[string]interface{}
}

func (r *reply) code() string {
	if e, ok := r.result["error"].(map[string]interface{}); ok {
		return e["code"].(string)
	}
	return ""
}

func (c *client) start(req map[string]interface{}) uint32 {
	c.mu.Lock()
	id := c.next
	c.next++
	c.mu.Unlock()
	c.sendJSON(id, FrameRequest, req)
	return id
}

// wait collects frames on stream until its RESULT.
func (c *client) wait(stream uint32, timeout time.Duration) *reply {
	r := &reply{stream: stream}
	deadline := time.After(timeout)
	for {
		select {
		case f := <-c.ch(stream):
			switch f.Type {
			case FrameStdout:
				r.stdout = append(r.stdout, f.Payload...)
			case FrameStderr:
				r.stderr = append(r.stderr, f.Payload...)
			case FrameEvent:
				var m map[string]interface{}
				_ = json.Unmarshal(f.Payload, &m)
				r.events = append(r.events, m)
			case FrameResult:
				_ = json.Unmarshal(f.Payload, &r.result)
				return r
			}
			if len(f.Payload) > DataChunkBytes {
				c.t.Errorf("frame of %d bytes exceeds the chunk size", len(f.Payload))
			}
		case <-deadline:
			c.t.Fatalf("stream %d: no RESULT within %v (stdout %q)", stream, timeout, r.stdout)
		}
	}
}

func (c *client) do(req map[string]interface{}) *reply { return c.wait(c.start(req), 20*time.Second) }

func (c *client) mustOK(req map[string]interface{}) *reply {
	r := c.do(req)
	if r.result["ok"] != true {
		c.t.Fatalf("%v: %v", req, r.result)
	}
	return r
}
