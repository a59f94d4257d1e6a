package main

import (
	"errors"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// spawnSpec is a validated exec request.
type spawnSpec struct {
	argv0 string // what the program sees as argv[0] ("-bash" for a login shell)
	argv  []string
	path  string
	env   []string
	cwd   string
	cred  *syscall.Credential
}

func (a *Agent) prepareExec(req *Request) (*spawnSpec, *GuestError) {
	if len(req.Argv) > 0 && req.Command != nil {
		return nil, gerr(ErrBadRequest, "argv and command are exclusive")
	}
	if req.Pty != nil && (req.Pty.Cols <= 0 || req.Pty.Rows <= 0) {
		return nil, gerr(ErrBadRequest, "pty cols and rows must be positive")
	}
	if req.TimeoutMs < 0 {
		return nil, gerr(ErrBadRequest, "timeoutMs must be positive")
	}
	var u *passwdEntry
	var err error
	if req.User != "" {
		u, err = lookupUser(a.root, req.User, -1)
	} else {
		u, err = lookupUser(a.root, "", os.Getuid())
	}
	if err != nil {
		return nil, gerr(ErrSpawnFailed, "%v", err)
	}
	envm := map[string]string{"PATH": defaultPath, "HOME": u.home, "USER": u.name, "LOGNAME": u.name, "SHELL": u.shell}
	if req.Pty != nil {
		envm["TERM"] = "xterm-256color"
	}
	if a.cfg != nil && a.cfg.App != nil {
		// Commands run in an OCI image see its ENV (PATH, NODE_VERSION, …) like its own process.
		for k, v := range appEnvMap(a.cfg.App) {
			envm[k] = v
		}
	}
	if a.cfg != nil {
		for k, v := range a.cfg.Env {
			envm[k] = v
		}
	}
	for k, v := range req.Env {
		envm[k] = v
	}
	sp := &spawnSpec{cwd: req.Cwd}
	for k, v := range envm {
		sp.env = append(sp.env, k+"="+v)
	}
	switch {
	case len(req.Argv) > 0:
		sp.argv = req.Argv
	case req.Command != nil:
		sp.argv = []string{"/bin/sh", "-c", *req.Command}
	case req.Pty != nil:
		sp.argv = []string{u.shell}
		sp.argv0 = "-" + filepath.Base(u.shell)
	default:
		return nil, gerr(ErrBadRequest, "exec needs argv or command")
	}
	if sp.path, err = lookPath(sp.argv[0], envm["PATH"]); err != nil {
		return nil, gerr(ErrSpawnFailed, "%v", err)
	}
	if sp.cwd == "" {
		sp.cwd = defaultCwd(a.cfg, u.home)
	} else if !filepath.IsAbs(sp.cwd) {
		return nil, gerr(ErrSpawnFailed, "cwd %q is not absolute", sp.cwd)
	} else if fi, err := os.Stat(sp.cwd); err != nil || !fi.IsDir() {
		return nil, gerr(ErrSpawnFailed, "cwd %q is not a directory", sp.cwd)
	}
	if u.uid != os.Getuid() || u.gid != os.Getgid() {
		sp.cred = &syscall.Credential{Uid: uint32(u.uid), Gid: uint32(u.gid), Groups: u.groups}
	}
	return sp, nil
}

// defaultCwd is where a command starts when the request names no directory: in an OCI image's
// VM, the image's WORKDIR (as `docker exec` starts there, and the app's ENV is applied the same
// way); else, or when that is no directory, the user's home; else /.
func defaultCwd(cfg *GuestBootConfig, home string) string {
	dirs := []string{home}
	if cfg != nil && cfg.App != nil && cfg.App.Workdir != "" {
		dirs = []string{cfg.App.Workdir, home}
	}
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() && filepath.IsAbs(d) {
			return d
		}
	}
	return "/"
}

// lookPath searches the request's PATH, not the agent's own environment.
func lookPath(name, path string) (string, error) {
	isExec := func(p string) bool {
		fi, err := os.Stat(p)
		return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
	}
	if strings.Contains(name, "/") {
		if isExec(name) {
			return name, nil
		}
		return "", errors.New(name + ": not an executable file")
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		if p := filepath.Join(dir, name); isExec(p) {
			return p, nil
		}
	}
	return "", errors.New(name + ": executable file not found in PATH")
}

func (a *Agent) opExec(st *stream, req *Request) {
	defaultSignalsForChildren()
	sp, gerrv := a.prepareExec(req)
	if gerrv != nil {
		st.fail(gerrv)
		return
	}
	p := &process{argv: sp.argv, tag: req.Tag, pty: req.Pty != nil}
	cmd := &exec.Cmd{Path: sp.path, Args: append([]string(nil), sp.argv...), Env: sp.env, Dir: sp.cwd,
		SysProcAttr: &syscall.SysProcAttr{Credential: sp.cred}}
	if sp.argv0 != "" {
		cmd.Args[0] = sp.argv0
	}
	var outs []*os.File // read ends we pump, with their frame types
	var types []uint8
	var childEnds []*os.File // closed in the agent once the child has them
	fail := func(err error) {
		for _, f := range append(append(outs, childEnds...), p.stdin) {
			if f != nil {
				f.Close()
			}
		}
		st.fail(gerr(ErrSpawnFailed, "%v", err))
	}
	if req.Pty != nil {
		master, slave, err := openPty(req.Pty.Cols, req.Pty.Rows)
		if err != nil {
			st.fail(gerr(ErrSpawnFailed, "pty: %v", err))
			return
		}
		p.master, p.stdin = master, master
		outs, types, childEnds = []*os.File{master}, []uint8{FrameStdout}, []*os.File{slave}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr.Setsid, cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, true, 0
	} else {
		cmd.SysProcAttr.Setpgid = true
		if req.Stdin {
			r, w, err := os.Pipe()
			if err != nil {
				fail(err)
				return
			}
			p.stdin, cmd.Stdin = w, r
			childEnds = append(childEnds, r)
		} else {
			null, err := os.Open(os.DevNull)
			if err != nil {
				fail(err)
				return
			}
			cmd.Stdin = null
			childEnds = append(childEnds, null)
		}
		for _, t := range []uint8{FrameStdout, FrameStderr} {
			r, w, err := os.Pipe()
			if err != nil {
				fail(err)
				return
			}
			outs, types, childEnds = append(outs, r), append(types, t), append(childEnds, w)
		}
		cmd.Stdout, cmd.Stderr = childEnds[len(childEnds)-2], childEnds[len(childEnds)-1]
	}
	if err := startTracked(cmd); err != nil {
		fail(err)
		return
	}
	for _, f := range childEnds {
		f.Close()
	}
	p.pid, p.started = cmd.Process.Pid, time.Now()
	p.subs = []*stream{st} // before the table makes p visible to attach
	a.procs.add(p)
	_ = st.event(map[string]interface{}{"type": "started", "processId": p.id, "pid": p.pid})
	go p.consume(st, false)
	var wg sync.WaitGroup
	for i, f := range outs {
		wg.Add(1)
		go p.pump(f, types[i], wg.Done)
	}
	var timer *time.Timer
	if req.TimeoutMs > 0 {
		timer = time.AfterFunc(time.Duration(req.TimeoutMs)*time.Millisecond, func() {
			p.mu.Lock()
			p.timedOut = true
			p.mu.Unlock()
			_ = p.signal(syscall.SIGKILL)
		})
	}
	go p.wait(cmd, timer, outs, &wg)
}

// wait reaps the child, lets the pumps drain, then reports the exit to every attached stream.
func (p *process) wait(cmd *exec.Cmd, timer *time.Timer, outs []*os.File, wg *sync.WaitGroup) {
	err := cmd.Wait()
	untrackPid(p.pid)
	// Nobody but a background child could read stdin now. Closing it here (never waiting for a
	// writer: one may be stuck on a pipe that child keeps full) releases that writer and lets
	// the exit be reported whatever happens to stdin.
	p.dropStdin()
	if timer != nil {
		timer.Stop()
	}
	exit := ExecExit{DurationMs: time.Since(p.started).Milliseconds()}
	if ps := cmd.ProcessState; ps == nil {
		log.Printf("%s: wait: %v", p.id, err) // no status: reported as neither code nor signal
	} else if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		name := signalName(ws.Signal())
		exit.Signal = &name
	} else {
		code := ps.ExitCode()
		exit.ExitCode = &code
	}
	p.mu.Lock()
	exit.TimedOut = p.timedOut
	p.exited, p.exit, p.exitedAt = true, exit, time.Now()
	p.mu.Unlock()
	// A background child may hold the output open forever: report the exit once it goes quiet.
	// The pumps close what they read (with a pty the master: a writer blocked on it is released).
	for _, f := range outs {
		_ = f.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	}
	wg.Wait()
	p.finish()
}
