package main

import (
	"encoding/binary"
	"encoding/json"
	"log"
	"sync"
	"time"
)

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
	grant      func(n int) // with credit: returns consumed STDIN bytes to the host (WINDOW)
	granted    int
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
	grant := 0
	in.mu.Lock()
	if in.overflowed {
		in.mu.Unlock()
		return Frame{}, false, errOverflow
	}
	if len(in.frames) == 0 {
		in.mu.Unlock()
		return Frame{}, false, nil
	}
	f = in.frames[0]
	in.frames[0] = Frame{}
	in.frames = in.frames[1:]
	in.bytes -= len(f.Payload)
	if f.Type == FrameStdin && in.grant != nil {
		in.granted += len(f.Payload)
		// Batched; it cannot stall the host, which waits only with a whole window queued here.
		if in.granted >= StreamWindowBytes/4 || len(in.frames) == 0 {
			grant, in.granted = in.granted, 0
		}
	}
	fn := in.grant
	wake(in.spaceSig)
	in.mu.Unlock()
	if grant > 0 {
		fn(grant) // outside the lock: it may wait for the link writer
	}
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

	// Output credit (only when the session negotiated it): payload bytes of STDOUT/STDERR the host
	// still accepts. A producer waits at zero until a WINDOW frame adds more.
	creditMu  sync.Mutex
	credit    int64
	creditSig chan struct{}
}

func newStream(id uint32, s *session) *stream {
	return &stream{id: id, s: s, closed: make(chan struct{}), credit: StreamWindowBytes,
		creditSig: make(chan struct{}, 1)}
}

func (st *stream) addCredit(n int64) {
	st.creditMu.Lock()
	st.credit += n
	st.creditMu.Unlock()
	wake(st.creditSig)
}

// takeCredit waits until the host accepts output on this stream and reserves up to want bytes of
// it. It returns errGone once the stream or the session has ended.
func (st *stream) takeCredit(want int) (int, error) {
	for {
		st.creditMu.Lock()
		if st.credit > 0 {
			n := want
			if int64(n) > st.credit {
				n = int(st.credit)
			}
			st.credit -= int64(n)
			st.creditMu.Unlock()
			return n, nil
		}
		st.creditMu.Unlock()
		select {
		case <-st.creditSig:
		case <-st.closed:
			return 0, errGone
		case <-st.s.done:
			return 0, errGone
		}
	}
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

// sendData sends output in frames of at most DataChunkBytes, within the host's credit: a host
// whose client reads slowly stops this producer (a process then blocks on its full pipe) while
// every other stream keeps flowing.
func (st *stream) sendData(typ uint8, data []byte) error {
	for len(data) > 0 {
		n := len(data)
		if n > DataChunkBytes {
			n = DataChunkBytes
		}
		if st.s.credit {
			var err error
			if n, err = st.takeCredit(n); err != nil {
				return err
			}
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

// grantInput returns consumed STDIN bytes to the host's credit (a WINDOW frame).
func (st *stream) grantInput(n int) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(n))
	_ = st.send(FrameWindow, b[:])
}

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
