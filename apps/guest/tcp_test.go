package main

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"testing"
	"time"
)

// listen starts a loopback server that runs serve for each connection.
func listen(t *testing.T, serve func(net.Conn)) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// echoUntilEOF answers with what it read once the client half-closed, then closes.
func echoUntilEOF(c net.Conn) {
	defer c.Close()
	b, _ := io.ReadAll(c)
	_, _ = c.Write(b)
}

func TestTCPRelaysBothWaysWithHalfClose(t *testing.T) {
	port := listen(t, echoUntilEOF)
	c := dial(t, testAgent(t)).loginCredit()
	id := c.start(map[string]interface{}{"op": "tcp.connect", "port": port})
	msg := bytes.Repeat([]byte("hearth "), 100000) // 700 KB: several frames each way
	for off := 0; off < len(msg); off += DataChunkBytes {
		end := off + DataChunkBytes
		if end > len(msg) {
			end = len(msg)
		}
		c.send(id, FrameStdin, msg[off:end])
	}
	// The server answers only after the half-close: the stream must carry it and stay open.
	c.send(id, FrameStdinEOF, nil)
	r := c.wait(id, 30*time.Second)
	if r.result["ok"] != true || r.result["reset"] != false {
		t.Fatalf("result %v", r.result)
	}
	if !bytes.Equal(r.stdout, msg) {
		t.Fatalf("echo of %d bytes came back as %d bytes", len(msg), len(r.stdout))
	}
	if len(r.events) != 2 || r.events[0]["type"] != "connected" || r.events[1]["type"] != "eof" {
		t.Fatalf("events %v", r.events)
	}
	if r.result["bytesIn"].(float64) != float64(len(msg)) || r.result["bytesOut"].(float64) != float64(len(msg)) {
		t.Fatalf("counters %v", r.result)
	}
}

// A server that floods a stream whose host does not read gets no more than the window through;
// another stream on the same session keeps working; a grant lets exactly that much more through.
func TestTCPFloodStaysWithinCredit(t *testing.T) {
	flood := listen(t, func(c net.Conn) {
		defer c.Close()
		chunk := make([]byte, 64*1024)
		for i := 0; i < 256; i++ { // 16 MiB
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	})
	echo := listen(t, echoUntilEOF)
	c := dial(t, testAgent(t)).loginCredit()
	slow := c.start(map[string]interface{}{"op": "tcp.connect", "port": flood})
	readOutput(t, c, slow, StreamWindowBytes)

	other := c.start(map[string]interface{}{"op": "tcp.connect", "port": echo})
	c.send(other, FrameStdin, []byte("ping"))
	c.send(other, FrameStdinEOF, nil)
	if r := c.wait(other, 30*time.Second); string(r.stdout) != "ping" || r.result["ok"] != true {
		t.Fatalf("second stream while the first is stalled: %q %v", r.stdout, r.result)
	}
	nothingMore(t, c, slow)
	c.grant(slow, 100000)
	readOutput(t, c, slow, 100000)
	time.Sleep(200 * time.Millisecond)
	nothingMore(t, c, slow)

	// Cancel closes the connection; the stream ends with reset.
	c.sendJSON(slow, FrameControl, map[string]string{"type": "cancel"})
	for {
		f, ok := c.recv(slow, 30*time.Second)
		if !ok {
			t.Fatal("no RESULT after cancel")
		}
		if f.Type == FrameResult {
			if !bytes.Contains(f.Payload, []byte(`"reset":true`)) {
				t.Fatalf("cancel: %s", f.Payload)
			}
			break
		}
	}
}

func TestTCPConnectErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	c := dial(t, testAgent(t)).loginCredit()
	cases := []struct {
		req  map[string]interface{}
		code string
	}{
		{map[string]interface{}{"op": "tcp.connect", "port": closed}, ErrConnectFailed},
		{map[string]interface{}{"op": "tcp.connect", "port": 0}, ErrBadRequest},
		{map[string]interface{}{"op": "tcp.connect", "port": 80, "host": "localhost"}, ErrBadRequest},
		// Not an address of this machine: streams reach the guest's servers, not its networks.
		{map[string]interface{}{"op": "tcp.connect", "port": 80, "host": "192.0.2.1"}, ErrBadRequest},
	}
	for _, tc := range cases {
		if r := c.do(tc.req); r.code() != tc.code {
			t.Errorf("%v: %v, want %s", tc.req, r.result, tc.code)
		}
	}
}

// The server closing first (an HTTP/1.0 style reply) is an eof event; the stream ends once the
// host half-closes too, and the host's late data before that still reaches the server.
func TestTCPServerClosesFirst(t *testing.T) {
	got := make(chan string, 1)
	port := listen(t, func(c net.Conn) {
		defer c.Close()
		_, _ = c.Write([]byte("hello"))
		_ = c.(*net.TCPConn).CloseWrite()
		b, _ := io.ReadAll(c)
		got <- string(b)
	})
	c := dial(t, testAgent(t)).loginCredit()
	id := c.start(map[string]interface{}{"op": "tcp.connect", "host": "127.0.0.1", "port": port})
	var out []byte
	for seenEOF := false; !seenEOF; {
		f, ok := c.recv(id, 30*time.Second)
		if !ok || f.Type == FrameResult {
			t.Fatalf("stream ended before the eof event (%s)", f.Payload)
		}
		if f.Type == FrameStdout {
			out = append(out, f.Payload...)
		}
		seenEOF = f.Type == FrameEvent && bytes.Contains(f.Payload, []byte(`"eof"`))
	}
	c.send(id, FrameStdin, []byte("bye "+strconv.Itoa(port)))
	c.send(id, FrameStdinEOF, nil)
	r := c.wait(id, 30*time.Second)
	if string(out) != "hello" || r.result["ok"] != true || r.result["reset"] != false {
		t.Fatalf("out %q result %v", out, r.result)
	}
	if s := <-got; s != "bye "+strconv.Itoa(port) {
		t.Fatalf("server got %q", s)
	}
}
