package main

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakePort behaves like a guest's virtio-serial port: reads return EOF while no host is plugged
// in, and the same port serves one host connection after another.
type fakePort struct {
	mu   sync.Mutex
	conn net.Conn
}

func (p *fakePort) cur() net.Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conn
}

func (p *fakePort) Read(b []byte) (int, error) {
	c := p.cur()
	if c == nil {
		return 0, io.EOF
	}
	n, err := c.Read(b)
	if err != nil {
		p.mu.Lock()
		if p.conn == c {
			p.conn = nil
		}
		p.mu.Unlock()
		return n, io.EOF
	}
	return n, nil
}

func (p *fakePort) Write(b []byte) (int, error) {
	c := p.cur()
	if c == nil {
		return 0, errors.New("no host connected")
	}
	return c.Write(b)
}

func (p *fakePort) plug(t *testing.T) *client {
	srv, cli := net.Pipe()
	p.mu.Lock()
	p.conn = srv
	p.mu.Unlock()
	return attachClient(t, cli)
}

func TestPersistentPortReconnect(t *testing.T) {
	a := testAgent(t)
	port := &fakePort{}
	go a.serveLink(port, true)
	time.Sleep(60 * time.Millisecond) // the agent polls an empty port without giving up

	c1 := port.plug(t).login()
	id := c1.start(map[string]interface{}{"op": "exec", "command": "echo a; sleep 0.4; echo b"})
	f, ok := c1.recv(id, 30*time.Second)
	var ev map[string]interface{}
	if !ok || json.Unmarshal(f.Payload, &ev) != nil || ev["type"] != "started" {
		t.Fatalf("no started event: %s", f.Payload)
	}
	c1.conn.Close() // host disconnects mid-exec

	time.Sleep(50 * time.Millisecond)
	c2 := port.plug(t)
	// Left-overs of an earlier connection before the HELLO are skipped by the magic resync.
	if _, err := c2.conn.Write([]byte("stale bytes HG\x00\x00")); err != nil {
		t.Fatal(err)
	}
	c2.login()
	r := c2.mustOK(map[string]interface{}{"op": "attach", "processId": ev["processId"], "replay": true})
	if string(r.stdout) != "a\nb\n" || r.result["exitCode"] != 0.0 {
		t.Fatalf("reattach: %q %v", r.stdout, r.result)
	}
}

func TestFindVirtioPort(t *testing.T) {
	sys := t.TempDir()
	mustWrite(t, filepath.Join(sys, "vport9p1", "name"), "org.qemu.guest_agent.0\n", 0o644)
	if dev, err := findVirtioPort(sys); dev != "" || err != nil {
		t.Fatalf("wrong port picked: %q %v", dev, err)
	}
	mustWrite(t, filepath.Join(sys, "null", "name"), virtioPortName+"\n", 0o644)
	// /dev/null exists, so no mknod is needed and the path is returned as is.
	if dev, err := findVirtioPort(sys); dev != "/dev/null" || err != nil {
		t.Fatalf("port not found: %q %v", dev, err)
	}
	if mkdev(252, 1) != 252<<8|1 || mkdev(1, 300) != (300&0xff)|(1<<8)|((300&^0xff)<<12) {
		t.Fatal("mkdev encoding")
	}
}

// TestBinaryListensOnUnixSocket builds and runs the real binary with -listen.
func TestBinaryListensOnUnixSocket(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := buildAgent(t)
	if out, err := exec.Command(bin, "-version").Output(); err != nil || strings.TrimSpace(string(out)) != "dev" {
		t.Fatalf("-version: %q %v", out, err)
	}
	cfg := filepath.Join(dir, "guest.json")
	mustWrite(t, cfg, `{"secret":"`+testSecret+`","hostname":"","users":[],"env":{"FROM_CONFIG":"yes"}}`, 0o600)
	sock := filepath.Join(dir, "agent.sock")
	cmd := exec.Command(bin, "-listen", "unix:"+sock, "-config", cfg)
	stderr := &lockedBuf{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var conn net.Conn
	for i := 0; i < 100; i++ {
		var err error
		if conn, err = net.Dial("unix", sock); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if conn == nil {
		t.Fatalf("agent did not listen: %s", stderr.String())
	}
	c := attachClient(t, conn).login()
	r := c.mustOK(map[string]interface{}{"op": "exec", "command": "echo $FROM_CONFIG"})
	if string(r.stdout) != "yes\n" {
		t.Fatalf("exec through the binary: %q", r.stdout)
	}
	want := "hearth-guest: agent dev listening on unix:" + sock
	for i := 0; i < 40 && !strings.Contains(stderr.String(), want); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), want) {
		t.Fatalf("startup line missing: %q", stderr.String())
	}
}

// lockedBuf collects a child's stderr while the test reads it.
type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
