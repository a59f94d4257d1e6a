package main

import (
	"bytes"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// When the agent is PID 1 (an image without init) it must mount the basics and reap orphans.
// Reaping uses a /proc scan instead of Wait4(-1) so the exit statuses of processes the agent
// started itself stay with the goroutines waiting for them.

var (
	spawnMu sync.RWMutex // spawners hold it shared across Start+track; the reaper exclusively
	ownMu   sync.Mutex
	ownPids = map[int]bool{}
)

func startTracked(cmd *exec.Cmd) error {
	spawnMu.RLock()
	defer spawnMu.RUnlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	ownMu.Lock()
	ownPids[cmd.Process.Pid] = true
	ownMu.Unlock()
	return nil
}

func untrackPid(pid int) {
	ownMu.Lock()
	delete(ownPids, pid)
	ownMu.Unlock()
}

type mountSpec struct {
	source, target, fstype, data string
	flags                        uintptr
}

var pid1Mounts = []mountSpec{
	{"proc", "/proc", "proc", "", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC},
	{"sysfs", "/sys", "sysfs", "", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC},
	{"devtmpfs", "/dev", "devtmpfs", "mode=0755", syscall.MS_NOSUID},
	{"devpts", "/dev/pts", "devpts", "mode=0620,ptmxmode=666", syscall.MS_NOSUID | syscall.MS_NOEXEC},
	{"tmpfs", "/run", "tmpfs", "mode=0755", syscall.MS_NOSUID | syscall.MS_NODEV},
	{"tmpfs", "/tmp", "tmpfs", "mode=1777", syscall.MS_NOSUID | syscall.MS_NODEV},
}

func mounted(target string) bool {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[1] == target {
			return true
		}
	}
	return false
}

func setupPid1() {
	for _, m := range pid1Mounts {
		if mounted(m.target) {
			continue
		}
		_ = os.MkdirAll(m.target, 0o755)
		if err := syscall.Mount(m.source, m.target, m.fstype, m.flags, m.data); err != nil {
			log.Printf("mount %s: %v", m.target, err)
		}
	}
	if _, err := os.Lstat("/dev/ptmx"); err != nil {
		_ = os.Symlink("pts/ptmx", "/dev/ptmx")
	}
	// devtmpfs has no /dev/fd or /dev/std* (udev or systemd make them elsewhere); images log to
	// /dev/stdout (nginx's access.log symlink), and without the link a write creates a plain file.
	for name, target := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		if _, err := os.Lstat("/dev/" + name); err != nil {
			_ = os.Symlink(target, "/dev/"+name)
		}
	}
	setupNetwork("/")
	go reaper()
	// The kernel only delivers signals to PID 1 that it handles; the Go runtime handles them all,
	// so without this a stray SIGTERM would kill init and panic the kernel.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go func() {
		for s := range sigs {
			log.Printf("PID 1 got %v", s)
			if s == syscall.SIGTERM {
				powerOff(false)
			} else if s == syscall.SIGINT {
				powerOff(true) // ctrl-alt-del
			}
		}
	}()
}

func reaper() {
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, syscall.SIGCHLD)
	tick := time.NewTicker(5 * time.Second)
	for {
		select {
		case <-ch:
		case <-tick.C:
		}
		reapOrphans()
	}
}

func reapOrphans() {
	spawnMu.Lock()
	defer spawnMu.Unlock()
	me := os.Getpid()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		i := bytes.LastIndexByte(b, ')')
		if err != nil || i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:])) // state ppid ...
		if len(f) < 2 || f[0] != "Z" || f[1] != strconv.Itoa(me) {
			continue
		}
		ownMu.Lock()
		mine := ownPids[pid]
		ownMu.Unlock()
		if !mine {
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		}
	}
}

// powerOff asks init to stop the machine; as PID 1 (or if that fails) it does it itself.
func powerOff(reboot bool) {
	syscall.Sync()
	if os.Getpid() != 1 {
		bin := "/sbin/poweroff"
		if reboot {
			bin = "/sbin/reboot"
		}
		cmd := exec.Command(bin)
		if err := startTracked(cmd); err == nil {
			err = cmd.Wait()
			untrackPid(cmd.Process.Pid)
			if err == nil {
				time.Sleep(30 * time.Second) // init is shutting down; give it time before forcing
			}
		}
		log.Printf("%s did not stop the machine; forcing", bin)
	} else {
		_ = syscall.Kill(-1, syscall.SIGTERM)
		time.Sleep(2 * time.Second)
		_ = syscall.Kill(-1, syscall.SIGKILL)
	}
	syscall.Sync()
	cmd := syscall.LINUX_REBOOT_CMD_POWER_OFF
	if reboot {
		cmd = syscall.LINUX_REBOOT_CMD_RESTART
	}
	if err := syscall.Reboot(cmd); err != nil {
		log.Printf("reboot syscall: %v", err)
	}
}
