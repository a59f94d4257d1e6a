package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// When the agent boots as PID 1 (images without an init, e.g. OCI images) it also runs the
// image's own process: ENTRYPOINT + CMD with the image's ENV, WORKDIR and USER. appsup.go
// supervises it (restart policy, stop, status), applog.go keeps its output for the host,
// apphealth.go probes it and appmounts.go mounts its volumes. The VM stays up when the app ends,
// so exec and the shell remain available to see why.

// GuestApp mirrors GuestApp in packages/contract/src/guest-protocol.ts.
type GuestApp struct {
	Argv        []string        `json:"argv"`
	Env         []string        `json:"env"`
	Workdir     string          `json:"workdir"`
	User        string          `json:"user"`
	Restart     string          `json:"restart"`
	MaxRetries  *int            `json:"maxRetries"`
	Healthcheck *AppHealthcheck `json:"healthcheck"`
	StopSignal  string          `json:"stopSignal"`
	StopGraceMs *int64          `json:"stopGraceMs"`
	Mounts      []AppMount      `json:"mounts"`
	Console     *bool           `json:"console"`
}

type AppHealthcheck struct {
	Cmd           []string       `json:"cmd"`
	HTTP          *AppHealthHTTP `json:"http"`
	TCP           *AppHealthTCP  `json:"tcp"`
	IntervalMs    int64          `json:"intervalMs"`
	TimeoutMs     int64          `json:"timeoutMs"`
	Retries       int            `json:"retries"`
	StartPeriodMs int64          `json:"startPeriodMs"`
}

type AppHealthHTTP struct {
	Port int    `json:"port"`
	Path string `json:"path"`
}

type AppHealthTCP struct {
	Port int `json:"port"`
}

type AppMount struct {
	Serial   string `json:"serial"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly"`
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
func appCommand(root string, app *GuestApp, stdout, stderr io.Writer) (*exec.Cmd, error) {
	if len(app.Argv) == 0 {
		return nil, fmt.Errorf("no command")
	}
	return appProcess(root, app, app.Argv, stdout, stderr)
}

// appProcess builds a process in the app's environment, user and working directory (the app
// itself, or a health check command).
func appProcess(root string, app *GuestApp, argv []string, stdout, stderr io.Writer) (*exec.Cmd, error) {
	env := appEnvMap(app)
	path := env["PATH"]
	if path == "" {
		path = defaultPath
	}
	cred, home, err := appCredential(root, app.User)
	if err != nil {
		return nil, err
	}
	bin, err := lookPath(argv[0], path)
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
	cmd := &exec.Cmd{Path: bin, Args: argv, Env: full, Dir: dir, Stdout: stdout, Stderr: stderr,
		SysProcAttr: &syscall.SysProcAttr{Credential: cred, Setsid: true}}
	return cmd, nil
}
