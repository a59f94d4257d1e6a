package main

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// tcpDialTimeout bounds the connect: a guest-local listener answers at once or refuses.
const tcpDialTimeout = 10 * time.Second

// guestLocal reports whether ip is loopback or one of the guest's own addresses: a stream
// reaches servers in the guest, it is not a way out onto the guest's networks.
func guestLocal(ip net.IP) bool {
	if ip.IsLoopback() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

// tcpEndpoint validates a tcp.connect request: an IP literal (default 127.0.0.1) and a port.
func tcpEndpoint(req *Request) (string, *GuestError) {
	if req.Port < 1 || req.Port > 65535 {
		return "", gerr(ErrBadRequest, "port must be 1..65535")
	}
	host := req.Host
	if host == "" {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return "", gerr(ErrBadRequest, "host %q is not an IP address", host)
	}
	if !guestLocal(ip) {
		return "", gerr(ErrBadRequest, "host %s is not an address of the guest", host)
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(req.Port)), nil
}

// opTCP relays one TCP connection to a guest-local server over the stream: STDIN frames are
// written to it and STDIN_EOF half-closes it (shutdown(SHUT_WR)); what it sends comes back as
// STDOUT frames within the host's credit (a slow host client leaves the bytes in the guest
// kernel's socket buffer and the server's own send blocks, so nothing grows here), and its end of
// data is an EVENT {"type":"eof"}. CONTROL cancel closes the connection. The RESULT comes once
// both directions are done, or at once when the connection fails or is reset: {ok, bytesIn,
// bytesOut, reset}.
func (a *Agent) opTCP(st *stream, req *Request) {
	addr, gerrv := tcpEndpoint(req)
	if gerrv != nil {
		st.fail(gerrv)
		return
	}
	c, err := net.DialTimeout("tcp", addr, tcpDialTimeout)
	if err != nil {
		st.fail(gerr(ErrConnectFailed, "connecting to %s in the guest failed: %v", addr, unwrapOp(err)))
		return
	}
	conn := c.(*net.TCPConn)
	_ = conn.SetNoDelay(true)
	if st.event(map[string]interface{}{"type": "connected"}) != nil {
		conn.Close()
		return
	}
	relayTCP(st, conn)
}

// unwrapOp drops the "dial tcp 127.0.0.1:80:" prefix the message already says.
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

type tcpRelay struct {
	mu       sync.Mutex
	bytesIn  int64 // host → guest server
	bytesOut int64 // guest server → host
	reset    bool
}

func relayTCP(st *stream, conn *net.TCPConn) {
	r := &tcpRelay{}
	var once sync.Once
	closeConn := func() { once.Do(func() { conn.Close() }) }
	defer closeConn()
	readDone, writeDone, broken := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var brokenOnce sync.Once
	breakOff := func() {
		brokenOnce.Do(func() {
			r.mu.Lock()
			r.reset = true
			r.mu.Unlock()
			close(broken)
			closeConn()
		})
	}
	go func() { // server → host
		defer close(readDone)
		buf := make([]byte, DataChunkBytes)
		for {
			n, err := conn.Read(buf)
			if n > 0 {
				if st.sendData(FrameStdout, buf[:n]) != nil {
					breakOff()
					return
				}
				r.mu.Lock()
				r.bytesOut += int64(n)
				r.mu.Unlock()
			}
			if err == io.EOF {
				if st.event(map[string]interface{}{"type": "eof"}) != nil {
					breakOff()
				}
				return
			}
			if err != nil {
				breakOff()
				return
			}
		}
	}()
	go func() { // host → server
		defer close(writeDone)
		for {
			f, err := st.nextData()
			if err != nil {
				breakOff()
				return
			}
			if f.Type == FrameStdinEOF {
				_ = conn.CloseWrite()
				return
			}
			if f.Type != FrameStdin {
				continue
			}
			if _, err := conn.Write(f.Payload); err != nil {
				breakOff()
				return
			}
			r.mu.Lock()
			r.bytesIn += int64(len(f.Payload))
			r.mu.Unlock()
		}
	}()
	go func() { // CONTROL cancel: the host's client went away
		for {
			c, err := st.nextControl()
			if err != nil {
				return
			}
			var ctl control
			if json.Unmarshal(c, &ctl) == nil && ctl.Type == "cancel" {
				breakOff()
				return
			}
		}
	}()
	both := make(chan struct{})
	go func() {
		<-readDone
		<-writeDone
		close(both)
	}()
	select {
	case <-both:
	case <-broken:
		// A reset ends the stream now: the writer may be waiting for host input that never comes.
	}
	r.mu.Lock()
	res := map[string]interface{}{"bytesIn": r.bytesIn, "bytesOut": r.bytesOut, "reset": r.reset}
	r.mu.Unlock()
	st.ok(res)
}
