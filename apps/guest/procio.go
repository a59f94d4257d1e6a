package main

import (
	"encoding/json"
	"errors"
	"log"
	"os"
	"syscall"
	"time"
)

// pump copies one output until EOF, EIO (pty closed by the child) or quiet after exit.
func (p *process) pump(f *os.File, typ uint8) {
	buf := make([]byte, DataChunkBytes)
	quiet := 0
	for {
		n, err := f.Read(buf)
		if n > 0 {
			quiet = 0
			p.emit(typ, buf[:n])
		}
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if quiet++; quiet >= 2 {
				return
			}
			_ = f.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
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

// consume applies a stream's STDIN/STDIN_EOF/CONTROL frames to the process until the stream ends.
func (p *process) consume(st *stream) {
	for {
		select {
		case f := <-st.in:
			var err error
			switch f.Type {
			case FrameStdin:
				err = p.writeStdin(f.Payload)
			case FrameStdinEOF:
				err = p.closeStdin()
			case FrameControl:
				err = p.control(f.Payload)
			}
			if err != nil && !p.hasExited() {
				log.Printf("%s: stream %d input: %v", p.id, st.id, err)
			}
		case <-st.closed:
			return
		case <-st.s.done:
			return
		}
	}
}

func (p *process) control(payload []byte) error {
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
		return p.signal(syscall.SIGKILL)
	}
	return errors.New("unknown control " + c.Type)
}
