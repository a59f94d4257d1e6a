package main

import (
	"encoding/json"
	"errors"
	"log"
	"os"
	"syscall"
	"time"
)

// pump copies one output until EOF or EIO (pty closed by the child). Once the process exited
// and the output went quiet, `quiet` is called (the exit is then reported). A terminal stops
// there; a pipe is kept open and read to its end: a background child that still holds it (a
// server started with `cmd &`) must not die of SIGPIPE on its next write once the exec returned.
// Late output goes to the ring buffer, where `attach` with replay finds it.
func (p *process) pump(f *os.File, typ uint8, quiet func()) {
	defer f.Close()
	buf := make([]byte, DataChunkBytes)
	idle, reported := 0, false
	report := func() {
		if !reported {
			reported = true
			quiet()
		}
	}
	defer report()
	for {
		n, err := f.Read(buf)
		if n > 0 {
			idle = 0
			p.emit(typ, buf[:n])
		}
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if idle++; idle < 2 {
				_ = f.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				continue
			}
			report()
			if p.pty {
				return // the session is over: closing the master hangs up the terminal, as ssh does
			}
			_ = f.SetReadDeadline(time.Time{})
			continue
		}
		return
	}
}

type control struct {
	Type   string `json:"type"`
	Signal string `json:"signal"`
	Cols   int    `json:"cols"`
	Rows   int    `json:"rows"`
}

// consume applies a stream's input to the process until the stream ends: STDIN/STDIN_EOF (and
// resize, which belongs with the keystrokes) in order on this goroutine, the other CONTROL frames
// on another, so a write stuck on a full stdin pipe never delays a signal, a kill or a detach.
// attach tells an attach stream from the exec's own.
func (p *process) consume(st *stream, attach bool) {
	if st.in == nil {
		return
	}
	st.in.setOverflowHandler(p.abortStdin)
	go p.consumeControl(st, attach)
	logged := false // one line per stream: a dead stdin fails every queued chunk the same way
	for {
		f, err := st.nextData()
		if err != nil {
			return // stream or session ended, or the queue overflowed (the stream is failed)
		}
		switch f.Type {
		case FrameStdin:
			err = p.writeStdin(f.Payload)
		case FrameStdinEOF:
			err = p.closeStdin()
		case FrameControl: // in-band (resize)
			err = p.control(st, f.Payload, attach)
		}
		if err != nil && !logged && !p.hasExited() {
			logged = true
			log.Printf("%s: stream %d input: %v", p.id, st.id, err)
		}
	}
}

func (p *process) consumeControl(st *stream, attach bool) {
	for {
		c, err := st.nextControl()
		if err != nil {
			return
		}
		if err := p.control(st, c, attach); err != nil && !p.hasExited() {
			log.Printf("%s: stream %d control: %v", p.id, st.id, err)
		}
	}
}

// control applies one CONTROL frame. "cancel" means the host's client went away: the exec's own
// stream kills the process (as ssh does), an attach stream only detaches. "detach" detaches
// either kind: the stream ends with RESULT {ok, detached: true, running, ...}, the process runs on.
func (p *process) control(st *stream, payload []byte, attach bool) error {
	var c control
	if err := json.Unmarshal(payload, &c); err != nil {
		return err
	}
	switch c.Type {
	case "signal":
		sig, ok := parseSignal(c.Signal)
		if !ok {
			return errors.New("unknown signal " + c.Signal)
		}
		return p.signal(sig)
	case "resize":
		if p.master == nil || c.Cols <= 0 || c.Rows <= 0 {
			return errors.New("resize needs a pty and a positive size")
		}
		return setWinsize(p.master, c.Cols, c.Rows)
	case "cancel":
		if attach {
			p.detach(st)
			return nil
		}
		return p.signal(syscall.SIGKILL)
	case "detach":
		p.detach(st)
		return nil
	}
	return errors.New("unknown control " + c.Type)
}
