package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log"
	"os"
	"strings"
	"sync"
	"time"
)

// outQueue bounds the frames waiting for the writer: producers (process output, file reads) block
// when it is full, which is the only flow control the protocol has. 64 × 32 KiB ≈ 2 MiB in flight.
const outQueue = 64

var errGone = errors.New("session ended")

type outFrame struct {
	s *session // nil: written regardless of session state (UNAUTHENTICATED replies)
	b []byte
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

// writer is the only goroutine that writes to the link, so frames never interleave. Frames of a
// session that has ended are dropped: they belong to a host connection that is gone.
func (l *link) writer() {
	for {
		select {
		case f := <-l.out:
			if f.s != nil && f.s.isDone() {
				continue
			}
			if _, err := l.w.Write(f.b); err != nil && f.s != nil {
				f.s.end()
			}
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
		s := &session{l: l, done: make(chan struct{}), streams: map[uint32]*stream{}}
		l.cur = s
		w, _ := json.Marshal(l.a.welcome())
		_ = s.send(0, FrameWelcome, w)
	}
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
	wantsData    = map[string]bool{OpExec: true, OpAttach: true, OpFsWrite: true}
	wantsControl = map[string]bool{OpExec: true, OpAttach: true, OpFsWrite: true, OpFsRead: true}
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

// inBand tells the controls that stay in order with STDIN: a resize describes the terminal the
// following keystrokes are typed in. Signals, cancel and detach overtake queued input.
func inBand(payload []byte) bool {
	var c control
	return json.Unmarshal(payload, &c) == nil && c.Type == "resize"
}

// inbox is a stream's input: an ordered STDIN/STDIN_EOF queue limited in bytes and a control
// queue, each with a one-slot wake-up channel.
type inbox struct {
	mu         sync.Mutex
	data       bool // STDIN/STDIN_EOF accepted (false: controls only)
	frames     []Frame
	bytes      int
	overflowed bool
	onOverflow func() // run once when the data queue overflows (before the stream fails)
	ctl        [][]byte
	dataSig    chan struct{} // data queued or overflowed
	spaceSig   chan struct{} // the consumer took data
	ctlSig     chan struct{} // control queued
}

func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// pushData queues a STDIN/STDIN_EOF frame and reports whether the queue just overflowed. Over
// stdinQueueBytes it waits for the consumer, giving up after stall without progress.
func (in *inbox) pushData(st *stream, f Frame, stall time.Duration) bool {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		in.mu.Lock()
		if !in.data || in.overflowed {
			in.mu.Unlock()
			return false
		}
		if in.bytes == 0 || in.bytes+len(f.Payload) <= stdinQueueBytes {
			in.frames = append(in.frames, f)
			in.bytes += len(f.Payload)
			wake(in.dataSig)
			in.mu.Unlock()
			return false
		}
		in.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(stall)
		} else {
			if !timer.Stop() {
				<-timer.C
			}
			timer.Reset(stall)
		}
		select {
		case <-in.spaceSig: // the consumer took a frame: look again, with a fresh stall timer
		case <-timer.C:
			timer = nil
			in.mu.Lock()
			in.overflowed, in.frames, in.bytes = true, nil, 0
			wake(in.dataSig)
			in.mu.Unlock()
			return true
		case <-st.closed:
			return false
		case <-st.s.done:
			return false
		}
	}
}

func (in *inbox) pushControl(st *stream, payload []byte) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.ctl) >= maxQueuedControls {
		log.Printf("stream %d: more than %d controls queued, dropping one", st.id, maxQueuedControls)
		return
	}
	in.ctl = append(in.ctl, payload)
	wake(in.ctlSig)
}

// errOverflow is what a data consumer gets once its queue overflowed.
var errOverflow = gerr(ErrTooLarge, "stdin overflow: more than %d bytes queued that were not consumed", stdinQueueBytes)

// popData takes the next data frame without waiting: ok is false when the queue is empty.
func (in *inbox) popData() (f Frame, ok bool, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.overflowed {
		return Frame{}, false, errOverflow
	}
	if len(in.frames) == 0 {
		return Frame{}, false, nil
	}
	f = in.frames[0]
	in.frames[0] = Frame{}
	in.frames = in.frames[1:]
	in.bytes -= len(f.Payload)
	wake(in.spaceSig)
	return f, true, nil
}

func (in *inbox) popControl() ([]byte, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.ctl) == 0 {
		return nil, false
	}
	c := in.ctl[0]
	in.ctl[0] = nil
	in.ctl = in.ctl[1:]
	return c, true
}

// setOverflowHandler registers what to undo when the data queue overflows (a process's stdin
// writer blocked on a full pipe is released by closing that pipe).
func (in *inbox) setOverflowHandler(fn func()) {
	in.mu.Lock()
	in.onOverflow = fn
	in.mu.Unlock()
}

// overflow fails a stream whose stdin queue overflowed.
func (st *stream) overflow() {
	st.in.mu.Lock()
	fn := st.in.onOverflow
	st.in.mu.Unlock()
	log.Printf("stream %d: %v", st.id, errOverflow)
	if fn != nil {
		fn()
	}
	st.fail(errOverflow)
}

// nextData waits for the next STDIN/STDIN_EOF frame. It returns errGone once the stream or the
// session has ended and errOverflow once the queue overflowed.
func (st *stream) nextData() (Frame, error) {
	for {
		f, ok, err := st.in.popData()
		if err != nil || ok {
			return f, err
		}
		select {
		case <-st.in.dataSig:
		case <-st.closed:
			return Frame{}, errGone
		case <-st.s.done:
			return Frame{}, errGone
		}
	}
}

// nextControl waits for the next CONTROL payload, or returns errGone once the stream or the
// session has ended.
func (st *stream) nextControl() ([]byte, error) {
	for {
		if c, ok := st.in.popControl(); ok {
			return c, nil
		}
		select {
		case <-st.in.ctlSig:
		case <-st.closed:
			return nil, errGone
		case <-st.s.done:
			return nil, errGone
		}
	}
}

// cancelled reports, without waiting, whether a CONTROL cancel has arrived (other controls are
// consumed and ignored). For ops that take no data and check between chunks (fs.read).
func (st *stream) cancelled() bool {
	if st.in == nil {
		return false
	}
	for {
		c, ok := st.in.popControl()
		if !ok {
			return false
		}
		var ctl control
		if json.Unmarshal(c, &ctl) == nil && ctl.Type == "cancel" {
			return true
		}
	}
}

// stream is one request: it ends with exactly one RESULT.
type stream struct {
	id     uint32
	s      *session
	in     *inbox // nil when the op takes no input
	closed chan struct{}
	once   sync.Once
	sendMu sync.Mutex // orders frames against the RESULT: nothing is sent after it
}

func newStream(id uint32, s *session) *stream {
	return &stream{id: id, s: s, closed: make(chan struct{})}
}

func (st *stream) isClosed() bool {
	select {
	case <-st.closed:
		return true
	default:
		return false
	}
}

// send fails once the stream has its RESULT: nothing may follow it on the stream.
func (st *stream) send(typ uint8, payload []byte) error {
	st.sendMu.Lock()
	defer st.sendMu.Unlock()
	if st.isClosed() {
		return errGone
	}
	return st.s.send(st.id, typ, payload)
}

func (st *stream) sendData(typ uint8, data []byte) error {
	for len(data) > 0 {
		n := len(data)
		if n > DataChunkBytes {
			n = DataChunkBytes
		}
		if err := st.send(typ, data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

func (st *stream) event(v interface{}) error {
	b, _ := json.Marshal(v)
	return st.send(FrameEvent, b)
}

func (st *stream) finish(payload []byte) {
	st.once.Do(func() {
		st.sendMu.Lock()
		_ = st.s.send(st.id, FrameResult, payload)
		close(st.closed)
		st.sendMu.Unlock()
		st.s.mu.Lock()
		if st.s.streams[st.id] == st {
			delete(st.s.streams, st.id)
		}
		st.s.mu.Unlock()
	})
}

func (st *stream) ok(fields map[string]interface{}) { st.finish(resultOK(fields)) }
func (st *stream) fail(e *GuestError)               { st.finish(resultErr(e)) }

// stdoutWriter turns a byte stream (tar archives) into STDOUT frames.
type stdoutWriter struct {
	st *stream
	n  int64
}

// errCancelled ends a download whose host sent CONTROL {"type":"cancel"}.
var errCancelled = gerr(ErrBadRequest, "cancelled")

func (w *stdoutWriter) Write(p []byte) (int, error) {
	if w.st.cancelled() {
		return 0, errCancelled
	}
	if err := w.st.sendData(FrameStdout, p); err != nil {
		return 0, err
	}
	w.n += int64(len(p))
	return len(p), nil
}
