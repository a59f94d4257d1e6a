package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log"
	"os"
	"strings"
	"sync"
	"time"
)

// outQueue bounds the frames waiting for the writer: producers block when it is full. With
// credit each stream also stays within its window, so one stream whose host reader is slow waits
// alone; without it (an older host) this queue is the only flow control.
const outQueue = 64

var errGone = errors.New("session ended")

type outFrame struct {
	s    *session // nil: written regardless of session state (UNAUTHENTICATED replies)
	b    []byte
	then func() // run by the writer once b is written (nil: nothing)
}

// link is one byte channel to the host (a virtio-serial port for the VM's lifetime, or one
// accepted socket). Sessions come and go on it: each good HELLO starts a new one.
type link struct {
	a    *Agent
	w    io.Writer
	out  chan outFrame
	quit chan struct{}
	cur  *session // only touched by the reader goroutine
}

// serveLink reads frames until the link dies. persistent links (virtio-serial) never die: a read
// of 0 bytes means no host is attached, so the session is dropped and reading is retried.
func (a *Agent) serveLink(rw io.ReadWriter, persistent bool) {
	l := &link{a: a, w: rw, out: make(chan outFrame, outQueue), quit: make(chan struct{})}
	defer close(l.quit)
	go l.writer()
	var dec Decoder
	buf := make([]byte, 64*1024)
	for {
		n, err := rw.Read(buf)
		if n > 0 {
			frames, ferr := dec.Push(buf[:n])
			for _, f := range frames {
				l.handle(f)
			}
			if ferr != nil {
				log.Printf("dropping session: %v", ferr)
				l.endSession()
				dec.Reset()
			}
		}
		if err != nil || n == 0 {
			l.endSession()
			dec.Reset()
			if !persistent {
				return
			}
			time.Sleep(25 * time.Millisecond)
		}
	}
}

// writeBatchBytes bounds how many queued frames the writer joins into one write: small frames
// (an exec's started event, its output and its RESULT) then cost one system call, not three.
const writeBatchBytes = 256 * 1024

// writer is the only goroutine that writes to the link, so frames never interleave. Frames of a
// session that has ended are dropped: they belong to a host connection that is gone.
func (l *link) writer() {
	batch := make([]byte, 0, writeBatchBytes)
	var owner *session
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, err := l.w.Write(batch); err != nil && owner != nil {
			owner.end()
		}
		batch, owner = batch[:0], nil
	}
	var thens []func()
	add := func(f outFrame) {
		if f.s != nil && f.s.isDone() {
			return
		}
		if f.then != nil {
			thens = append(thens, f.then)
		}
		if f.s != owner || len(batch)+len(f.b) > writeBatchBytes {
			flush()
		}
		if len(f.b) >= writeBatchBytes {
			if _, err := l.w.Write(f.b); err != nil && f.s != nil {
				f.s.end()
			}
			return
		}
		owner = f.s
		batch = append(batch, f.b...)
	}
	for {
		select {
		case f := <-l.out:
			add(f)
			for more := true; more; {
				select {
				case f := <-l.out:
					add(f)
				default:
					more = false
				}
			}
			flush()
			for _, t := range thens {
				t()
			}
			thens = thens[:0]
		case <-l.quit:
			return
		}
	}
}

func (l *link) endSession() {
	if l.cur != nil {
		l.cur.end()
		l.cur = nil
	}
}

func (l *link) handle(f Frame) {
	if l.cur != nil && l.cur.isDone() {
		l.cur = nil
	}
	if f.Stream == 0 && f.Type == FrameHello {
		l.hello(f)
		return
	}
	s := l.cur
	if s == nil {
		return // unauthenticated: everything but HELLO is ignored
	}
	if f.Stream == 0 {
		if f.Type == FramePing {
			_ = s.send(0, FramePong, f.Payload)
		}
		return
	}
	switch f.Type {
	case FrameRequest:
		s.request(f)
	case FrameStdin, FrameStdinEOF, FrameControl:
		s.deliver(f)
	case FrameWindow:
		s.window(f)
	}
}

func (l *link) hello(f Frame) {
	l.endSession()
	var h Hello
	err := json.Unmarshal(f.Payload, &h)
	refuse := func(msg string) {
		log.Printf("HELLO refused: %s", msg)
		l.out <- outFrame{b: EncodeFrame(0, FrameResult, resultErr(gerr(ErrUnauthenticated, "%s", msg)))}
	}
	cfg := l.a.cfg
	switch {
	case cfg == nil:
		refuse("agent has no boot config: " + l.a.cfgErr)
	case cfg.Secret == "":
		refuse("boot config has an empty secret")
	case err != nil:
		refuse("malformed HELLO")
	case h.Protocol != ProtocolVersion:
		refuse("unsupported protocol version")
	case !secretEqual(h.Secret, cfg.Secret):
		refuse("wrong secret")
	default:
		s := &session{l: l, done: make(chan struct{}), streams: map[uint32]*stream{},
			credit: hasFeature(h.Features, CreditFeature)}
		l.cur = s
		w, _ := json.Marshal(l.a.welcome())
		// The process's first session warms the process-start path once the WELCOME is out.
		l.out <- outFrame{s: s, b: EncodeFrame(0, FrameWelcome, w), then: l.a.warm.first}
	}
}

func hasFeature(list []string, f string) bool {
	for _, x := range list {
		if x == f {
			return true
		}
	}
	return false
}

// secretEqual compares digests so that neither the content nor the length leaks through timing.
func secretEqual(a, b string) bool {
	x, y := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(x[:], y[:]) == 1
}

func (a *Agent) welcome() Welcome {
	host, _ := os.Hostname()
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	return Welcome{Protocol: ProtocolVersion, AgentVersion: version, Hostname: host,
		BootID: strings.TrimSpace(string(boot)), Pid: os.Getpid(), UptimeSec: uptimeSec(),
		Capabilities: Capabilities}
}

// session is one authenticated host connection. Ending it detaches its streams; processes keep
// running and their output keeps going to their ring buffers.
type session struct {
	l       *link
	done    chan struct{}
	once    sync.Once
	mu      sync.Mutex
	streams map[uint32]*stream
	// credit: the host offered per-stream credit (HELLO features), so data frames in both
	// directions stay within the windows the receivers grant (see stream.go).
	credit bool
}

func (s *session) end() { s.once.Do(func() { close(s.done) }) }

func (s *session) isDone() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// send blocks while the writer queue is full (flow control) and fails once the session is gone.
func (s *session) send(stream uint32, typ uint8, payload []byte) error {
	if s.isDone() {
		return errGone
	}
	select {
	case s.l.out <- outFrame{s: s, b: EncodeFrame(stream, typ, payload)}:
		return nil
	case <-s.done:
		return errGone
	}
}

// Which ops' streams take input frames. STDIN/STDIN_EOF go to a per-stream queue that the op
// drains in order; CONTROL frames go to a separate queue so that a consumer stuck on a process's
// stdin never delays a signal, a kill or a detach. fs.read takes controls only (cancel).
var (
	wantsData    = map[string]bool{OpExec: true, OpAttach: true, OpFsWrite: true, OpTCPConnect: true}
	wantsControl = map[string]bool{OpExec: true, OpAttach: true, OpFsWrite: true, OpFsRead: true, OpFsWatch: true,
		OpAppLogs: true, OpTCPConnect: true}
)

const (
	// stdinQueueBytes is how many STDIN bytes one stream may have queued that its consumer has not
	// taken yet. Below it the link reader never waits; above it the reader waits for the consumer
	// (the host drains its socket, so uploads and pipes get back-pressure), but only while the
	// consumer makes progress: a consumer that takes nothing for Agent.stdinStall (a process that
	// does not read its stdin) fails the stream with TOO_LARGE "stdin overflow" and every other
	// stream flows again.
	stdinQueueBytes   = 4 << 20
	defaultStdinStall = 5 * time.Second
	// maxQueuedControls bounds the CONTROL frames waiting for one stream's consumer; more are
	// dropped (and logged). A live consumer takes them at once, so this only limits a flood.
	maxQueuedControls = 256
)

func (s *session) request(f Frame) {
	st := newStream(f.Stream, s)
	var req Request
	if err := json.Unmarshal(f.Payload, &req); err != nil {
		go st.fail(gerr(ErrBadRequest, "invalid request JSON: %v", err))
		return
	}
	s.mu.Lock()
	if _, dup := s.streams[f.Stream]; dup {
		s.mu.Unlock()
		log.Printf("REQUEST on busy stream %d ignored", f.Stream)
		return
	}
	if wantsData[req.Op] || wantsControl[req.Op] {
		st.in = &inbox{data: wantsData[req.Op], dataSig: make(chan struct{}, 1),
			spaceSig: make(chan struct{}, 1), ctlSig: make(chan struct{}, 1)}
		if s.credit && wantsData[req.Op] {
			st.in.grant = st.grantInput
		}
	}
	s.streams[f.Stream] = st
	s.mu.Unlock()
	go s.l.a.dispatch(st, &req)
}

// deliver queues input for the stream's consumer. It runs on the link reader: controls never
// wait, data waits only as described at stdinQueueBytes.
func (s *session) deliver(f Frame) {
	s.mu.Lock()
	st := s.streams[f.Stream]
	s.mu.Unlock()
	if st == nil || st.in == nil || st.isClosed() {
		return
	}
	if f.Type == FrameControl && !inBand(f.Payload) {
		st.in.pushControl(st, f.Payload)
		return
	}
	if st.in.pushData(st, f, s.l.a.stdinStall) {
		go st.overflow()
	}
}

// window adds the host's credit grant to a stream's output budget. It runs on the link reader and
// never waits; a grant for a stream that has ended is ignored.
func (s *session) window(f Frame) {
	if !s.credit || len(f.Payload) != 4 {
		return
	}
	s.mu.Lock()
	st := s.streams[f.Stream]
	s.mu.Unlock()
	if st != nil {
		st.addCredit(int64(binary.BigEndian.Uint32(f.Payload)))
	}
}
