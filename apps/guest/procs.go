package main

import (
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	ringBytes         = 1 << 20 // output kept per process for attach replay
	maxProcs          = 256
	forgetExitedAfter = 10 * time.Minute
)

type chunk struct {
	typ  uint8
	data []byte
}

// ring keeps the newest ringBytes of a process's combined output, tagged stdout/stderr.
type ring struct {
	chunks []chunk
	size   int
}

func (r *ring) add(typ uint8, data []byte) {
	if len(data) > ringBytes {
		data = data[len(data)-ringBytes:]
	}
	r.chunks = append(r.chunks, chunk{typ, append([]byte(nil), data...)})
	r.size += len(data)
	for r.size > ringBytes {
		c := &r.chunks[0]
		if over := r.size - ringBytes; over < len(c.data) {
			c.data = c.data[over:]
			r.size -= over
			break
		}
		r.size -= len(c.data)
		r.chunks = r.chunks[1:]
	}
}

// process is a tracked exec. Its output goes to the ring buffer and to every attached stream;
// streams of a session that ended simply fall off, the process never notices.
type process struct {
	id      string
	pid     int
	argv    []string
	tag     *string
	pty     bool
	started time.Time

	// stdinMu guards the stdin field only and is never held across I/O; writeMu serializes
	// writers and is held across a write that may block on a full pipe. Closing stdin never
	// takes writeMu, so it releases a blocked writer instead of waiting for it.
	stdinMu sync.Mutex
	stdin   *os.File // pipe write end or pty master; nil when stdin is /dev/null or closed
	writeMu sync.Mutex
	master  *os.File

	mu       sync.Mutex // exit state
	exited   bool
	timedOut bool
	exit     ExecExit
	exitedAt time.Time

	outMu   sync.Mutex // ring, subs, outDone: held while fanning out so replay+live stay ordered
	ring    ring
	subs    []*stream
	outDone bool
}

func (p *process) hasExited() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exited
}

// emit records output and forwards it, blocking on slow sessions (never dropping for live ones).
func (p *process) emit(typ uint8, data []byte) {
	p.outMu.Lock()
	defer p.outMu.Unlock()
	p.ring.add(typ, data)
	live := p.subs[:0]
	for _, st := range p.subs {
		if st.sendData(typ, data) == nil {
			live = append(live, st)
		}
	}
	p.subs = live
}

func (p *process) exitResult() map[string]interface{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return map[string]interface{}{"processId": p.id, "exitCode": p.exit.ExitCode, "signal": p.exit.Signal,
		"timedOut": p.exit.TimedOut, "durationMs": p.exit.DurationMs}
}

// attach optionally replays the buffer, then follows live output; after exit it ends at once.
func (p *process) attach(st *stream, replay bool) {
	p.outMu.Lock()
	if replay {
		for _, c := range p.ring.chunks {
			if st.sendData(c.typ, c.data) != nil {
				p.outMu.Unlock()
				return
			}
		}
	}
	if !p.outDone {
		p.subs = append(p.subs, st)
		p.outMu.Unlock()
		return
	}
	p.outMu.Unlock()
	st.ok(p.exitResult())
}

// detach stops forwarding output to st and ends it; the process is not touched. When the exit
// was already reported on st this does nothing (a stream has one RESULT).
func (p *process) detach(st *stream) {
	p.outMu.Lock()
	for i, s := range p.subs {
		if s == st {
			p.subs = append(p.subs[:i:i], p.subs[i+1:]...)
			break
		}
	}
	p.outMu.Unlock()
	p.mu.Lock()
	res := map[string]interface{}{"processId": p.id, "detached": true, "running": !p.exited}
	if p.exited {
		res["exitCode"], res["signal"], res["timedOut"], res["durationMs"] =
			p.exit.ExitCode, p.exit.Signal, p.exit.TimedOut, p.exit.DurationMs
	}
	p.mu.Unlock()
	st.ok(res)
}

// finish runs once output is drained: every attached stream gets the exit RESULT.
func (p *process) finish() {
	p.outMu.Lock()
	p.outDone = true
	subs := p.subs
	p.subs = nil
	p.outMu.Unlock()
	res := p.exitResult()
	for _, st := range subs {
		st.ok(res)
	}
}

func (p *process) stdinFile() *os.File {
	p.stdinMu.Lock()
	defer p.stdinMu.Unlock()
	return p.stdin
}

func (p *process) writeStdin(b []byte) error {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	f := p.stdinFile()
	if f == nil {
		return gerr(ErrBadRequest, "stdin of %s is not open", p.id)
	}
	_, err := f.Write(b)
	return err
}

// closeStdin closes the pipe; a terminal has no half-close, so it gets the EOF character instead.
func (p *process) closeStdin() error {
	if p.pty {
		return p.writeStdin([]byte{4})
	}
	p.stdinMu.Lock()
	f := p.stdin
	p.stdin = nil
	p.stdinMu.Unlock()
	if f == nil {
		return gerr(ErrBadRequest, "stdin of %s is not open", p.id)
	}
	return f.Close()
}

// dropStdin forgets stdin at exit: a pipe is closed (a pty master is closed with the outputs).
func (p *process) dropStdin() {
	p.stdinMu.Lock()
	f := p.stdin
	p.stdin = nil
	p.stdinMu.Unlock()
	if f != nil && f != p.master {
		f.Close()
	}
}

// abortStdin closes a stdin pipe whose stream overflowed: queued input is lost anyway, the
// process gets EOF and a writer blocked on the full pipe is released. A terminal is left open
// (closing the master would end the session); its writer is released when the process exits.
func (p *process) abortStdin() {
	if !p.pty {
		p.dropStdin()
	}
}

// signal targets the process group so shells' children are reached too.
func (p *process) signal(sig syscall.Signal) error {
	if p.hasExited() {
		return nil
	}
	if err := syscall.Kill(-p.pid, sig); err != nil {
		return syscall.Kill(p.pid, sig)
	}
	return nil
}

func (p *process) info() GuestProcess {
	p.mu.Lock()
	defer p.mu.Unlock()
	return GuestProcess{ProcessID: p.id, Pid: p.pid, Argv: p.argv, Tag: p.tag, Pty: p.pty,
		StartedAt: isoTime(p.started), Running: !p.exited, ExitCode: p.exit.ExitCode, Signal: p.exit.Signal}
}

type procTable struct {
	mu   sync.Mutex
	seq  int
	byID map[string]*process
}

func newProcTable() *procTable { return &procTable{byID: map[string]*process{}} }

func (t *procTable) add(p *process) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	p.id = "p" + strconv.Itoa(t.seq)
	t.byID[p.id] = p
	t.pruneLocked()
}

func (t *procTable) get(id string) *process {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked()
	return t.byID[id]
}

func (t *procTable) list() []*process {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked()
	out := make([]*process, 0, len(t.byID))
	for _, p := range t.byID {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return procSeq(out[i].id) < procSeq(out[j].id) })
	return out
}

func procSeq(id string) int { n, _ := strconv.Atoi(strings.TrimPrefix(id, "p")); return n }

// pruneLocked forgets exited processes after a while, and the oldest exited ones beyond maxProcs.
func (t *procTable) pruneLocked() {
	var exited []*process
	for id, p := range t.byID {
		p.mu.Lock()
		gone, at := p.exited, p.exitedAt
		p.mu.Unlock()
		if gone && time.Since(at) > forgetExitedAfter {
			delete(t.byID, id)
		} else if gone {
			exited = append(exited, p)
		}
	}
	sort.Slice(exited, func(i, j int) bool { return procSeq(exited[i].id) < procSeq(exited[j].id) })
	for i := 0; len(t.byID) > maxProcs && i < len(exited); i++ {
		delete(t.byID, exited[i].id)
	}
}

func (t *procTable) running() int {
	n := 0
	for _, p := range t.list() {
		if !p.hasExited() {
			n++
		}
	}
	return n
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGHUP: "HUP", syscall.SIGINT: "INT", syscall.SIGQUIT: "QUIT", syscall.SIGILL: "ILL",
	syscall.SIGTRAP: "TRAP", syscall.SIGABRT: "ABRT", syscall.SIGBUS: "BUS", syscall.SIGFPE: "FPE",
	syscall.SIGKILL: "KILL", syscall.SIGUSR1: "USR1", syscall.SIGSEGV: "SEGV", syscall.SIGUSR2: "USR2",
	syscall.SIGPIPE: "PIPE", syscall.SIGALRM: "ALRM", syscall.SIGTERM: "TERM", syscall.SIGCHLD: "CHLD",
	syscall.SIGCONT: "CONT", syscall.SIGSTOP: "STOP", syscall.SIGTSTP: "TSTP", syscall.SIGTTIN: "TTIN",
	syscall.SIGTTOU: "TTOU", syscall.SIGURG: "URG", syscall.SIGXCPU: "XCPU", syscall.SIGXFSZ: "XFSZ",
	syscall.SIGVTALRM: "VTALRM", syscall.SIGPROF: "PROF", syscall.SIGWINCH: "WINCH", syscall.SIGIO: "IO",
	syscall.SIGPWR: "PWR", syscall.SIGSYS: "SYS", syscall.SIGSTKFLT: "STKFLT",
}

func signalName(s syscall.Signal) string {
	if n, ok := signalNames[s]; ok {
		return n
	}
	return strconv.Itoa(int(s))
}

// parseSignal accepts "TERM", "SIGTERM", "sigterm" or a number.
func parseSignal(s string) (syscall.Signal, bool) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), true
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	for sig, n := range signalNames {
		if n == name {
			return sig, true
		}
	}
	return 0, false
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
