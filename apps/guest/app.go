package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// When the agent boots as PID 1 (images without an init, e.g. OCI images) it also runs the
// image's own process: ENTRYPOINT + CMD with the image's ENV, WORKDIR and USER, its output on the
// serial console, restarted according to its policy. The VM stays up when the app ends, so exec
// and the shell remain available to see why.

// GuestApp mirrors GuestApp in packages/contract/src/guest-protocol.ts.
type GuestApp struct {
	Argv    []string `json:"argv"`
	Env     []string `json:"env"`
	Workdir string   `json:"workdir"`
	User    string   `json:"user"`
	Restart string   `json:"restart"`
}

// appEnvMap is the app's environment as a map, for exec sessions in the same image.
func appEnvMap(app *GuestApp) map[string]string {
	m := map[string]string{}
	for _, kv := range app.Env {
		if i := strings.IndexByte(kv, '='); i > 0 {
			m[kv[:i]] = kv[i+1:]
		}
	}
	return m
}

// appCredential resolves an OCI USER: "", "name", "uid", "name:group" or "uid:gid".
// Numeric ids need no passwd entry (as with Docker).
func appCredential(root, spec string) (*syscall.Credential, string, error) {
	if spec == "" || spec == "root" || spec == "0" || spec == "0:0" {
		return nil, "/root", nil
	}
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	var uid, gid int
	home := "/"
	var groups []uint32
	if n, err := strconv.Atoi(userPart); err == nil {
		uid, gid = n, n
		if u, err := lookupUser(root, "", n); err == nil && u.name != strconv.Itoa(n) {
			gid, home, groups = u.gid, u.home, u.groups
		}
	} else {
		u, err := lookupUser(root, userPart, -1)
		if err != nil {
			return nil, "", err
		}
		uid, gid, home, groups = u.uid, u.gid, u.home, u.groups
	}
	if hasGroup {
		g, err := lookupGroup(root, groupPart)
		if err != nil {
			return nil, "", err
		}
		gid = g
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups}, home, nil
}

func lookupGroup(root, spec string) (int, error) {
	if n, err := strconv.Atoi(spec); err == nil {
		return n, nil
	}
	lines, _ := readLines(filepath.Join(root, "etc/group"))
	for _, l := range lines {
		f := strings.Split(l, ":")
		if len(f) >= 3 && f[0] == spec {
			return strconv.Atoi(f[2])
		}
	}
	return 0, fmt.Errorf("unknown group %q", spec)
}

// appCommand builds the process for one run of the app.
func appCommand(root string, app *GuestApp, out io.Writer) (*exec.Cmd, error) {
	if len(app.Argv) == 0 {
		return nil, fmt.Errorf("no command")
	}
	env := appEnvMap(app)
	path := env["PATH"]
	if path == "" {
		path = defaultPath
	}
	cred, home, err := appCredential(root, app.User)
	if err != nil {
		return nil, err
	}
	bin, err := lookPath(app.Argv[0], path)
	if err != nil {
		return nil, err
	}
	dir := app.Workdir
	if dir == "" {
		dir = "/"
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		// Docker creates a missing WORKDIR too.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("workdir %s: %v", dir, err)
		}
	}
	full := app.Env
	if _, ok := env["HOME"]; !ok {
		full = append(append([]string(nil), full...), "HOME="+home)
	}
	cmd := &exec.Cmd{Path: bin, Args: app.Argv, Env: full, Dir: dir, Stdout: out, Stderr: out,
		SysProcAttr: &syscall.SysProcAttr{Credential: cred, Setsid: true}}
	return cmd, nil
}

// shouldRestart applies the restart policy to an exit status (-1: it could not start).
func shouldRestart(policy string, code int) bool {
	switch policy {
	case "always":
		return true
	case "on-failure":
		return code != 0
	}
	return false
}

// superviseApp runs the app until its policy says stop; failures to start count as exit 127.
// sleep is replaceable so tests need not wait for the backoff.
func superviseApp(root string, app *GuestApp, out io.Writer, sleep func(time.Duration)) {
	backoff := time.Second
	for runs := 1; ; runs++ {
		started := time.Now()
		code := 127
		cmd, err := appCommand(root, app, out)
		if err == nil {
			err = startTracked(cmd)
		}
		if err != nil {
			fmt.Fprintf(out, "hearth-guest: starting the app (%s) failed: %v\n", strings.Join(app.Argv, " "), err)
		} else {
			fmt.Fprintf(out, "hearth-guest: app started (pid %d): %s\n", cmd.Process.Pid, strings.Join(app.Argv, " "))
			werr := cmd.Wait()
			untrackPid(cmd.Process.Pid)
			code = cmd.ProcessState.ExitCode()
			if werr != nil && code < 0 {
				code = 128 + int(cmd.ProcessState.Sys().(syscall.WaitStatus).Signal())
			}
			fmt.Fprintf(out, "hearth-guest: app exited with status %d\n", code)
		}
		if !shouldRestart(app.Restart, code) {
			return
		}
		if time.Since(started) > 30*time.Second {
			backoff = time.Second
		}
		log.Printf("restarting the app in %v (run %d)", backoff, runs)
		sleep(backoff)
		if backoff *= 2; backoff > 30*time.Second {
			backoff = 30 * time.Second
		}
	}
}

// startApp runs the configured app with its output on the serial console.
func startApp(app *GuestApp) {
	var out io.Writer = os.Stdout
	if f, err := os.OpenFile("/dev/console", os.O_WRONLY|syscall.O_NOCTTY, 0); err == nil {
		out = f
	}
	go superviseApp("/", app, out, time.Sleep)
}
