package main

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// DHCP NICs are left to busybox's udhcpc, run as a child of the agent with the agent's own binary
// as its event script (dhcpscript.go): images need no /etc/udhcpc/default.script, and a lease is
// applied by the same rules (default route, resolv.conf) as the static NICs.

// udhcpcArgv finds busybox's DHCP client in the image (root is "/" except in tests): an applet
// link at its usual path, or the busybox binary when it was built with the applet.
func udhcpcArgv(root string) []string {
	for _, p := range []string{"/sbin/udhcpc", "/usr/sbin/udhcpc"} {
		if fi, err := os.Stat(filepath.Join(root, p)); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return []string{p}
		}
	}
	var out bytes.Buffer
	cmd := exec.Command(filepath.Join(root, "bin/busybox"), "--list")
	cmd.Stdout = &out
	if startTracked(cmd) != nil {
		return nil
	}
	err := cmd.Wait()
	untrackPid(cmd.Process.Pid)
	for _, a := range strings.Fields(out.String()) {
		if err == nil && a == "udhcpc" {
			return []string{"/bin/busybox", "udhcpc"}
		}
	}
	return nil
}

// udhcpcArgs: foreground, so the agent supervises it; a lease failure is retried after 5 s
// rather than busybox's 20, as the VM may boot before its network's DHCP server answers.
func udhcpcArgs(ifname, script string) []string {
	return []string{"-f", "-i", ifname, "-s", script, "-t", "5", "-T", "2", "-A", "5"}
}

// startDHCP supervises one udhcpc per DHCP NIC.
func startDHCP(root string, plan []nicPlan) {
	var argv []string
	looked := false
	for _, p := range plan {
		if !p.dhcp {
			continue
		}
		if !looked {
			argv, looked = udhcpcArgv(root), true
		}
		if argv == nil {
			log.Printf("%s (%s) wants DHCP, which needs busybox udhcpc in the image (/sbin/udhcpc, "+
				"/usr/sbin/udhcpc or the applet in /bin/busybox): none found, the NIC stays unconfigured", p.ifname, p.mac)
			continue
		}
		go superviseUdhcpc(argv, p.mac)
	}
}

func superviseUdhcpc(argv []string, mac string) {
	// Pdeathsig fires when the thread that started the child exits. This goroutine never returns,
	// so locking it keeps that thread as long as the agent lives: udhcpc dies with the agent, and
	// an agent respawned by init does not find a second client on the NIC.
	runtime.LockOSThread()
	exe, err := os.Executable()
	if err != nil {
		log.Printf("DHCP for %s: cannot find the agent's own binary for the udhcpc script: %v", mac, err)
		return
	}
	backoff := time.Second
	for {
		started := time.Now()
		err := runUdhcpc(argv, exe, mac)
		if time.Since(started) > time.Minute {
			backoff = time.Second
		}
		log.Printf("DHCP for %s: %v; restarting udhcpc in %v", mac, err, backoff)
		time.Sleep(backoff)
		if backoff *= 2; backoff > 30*time.Second {
			backoff = 30 * time.Second
		}
	}
}

// runUdhcpc runs one udhcpc until it exits; the interface is looked up by MAC each time.
func runUdhcpc(argv []string, exe, mac string) error {
	links, err := rtnlOps{}.links()
	ifname := ""
	for _, l := range links {
		if l.mac == mac {
			ifname = l.name
		}
	}
	if ifname == "" {
		return fmt.Errorf("no interface has this MAC (%v)", err)
	}
	args := append(append([]string(nil), argv...), udhcpcArgs(ifname, exe)...)
	cmd := exec.Command(args[0], args[1:]...)
	// A clean environment: udhcpc passes its own to the script, and dhcpScriptEnv is what tells
	// the agent's binary it runs as that script.
	cmd.Env = []string{"PATH=" + defaultPath, dhcpScriptEnv + "=1"}
	out := &lineLogger{prefix: "dhcp " + ifname + ": "}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := startTracked(cmd); err != nil {
		return err
	}
	log.Printf("started %s", strings.Join(args, " "))
	err = cmd.Wait()
	untrackPid(cmd.Process.Pid)
	if err == nil {
		err = errors.New("udhcpc exited")
	}
	return err
}

// lineLogger passes a child's output to the agent log line by line: the kernel log once the agent
// is up, where udhcpc's chatter belongs rather than on the serial console.
type lineLogger struct {
	prefix string
	buf    []byte
}

func (l *lineLogger) Write(b []byte) (int, error) {
	l.buf = append(l.buf, b...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 && len(l.buf) < 4096 {
			return len(b), nil
		}
		line := l.buf
		if i >= 0 {
			line = l.buf[:i]
		}
		log.Print(l.prefix + string(line))
		l.buf = l.buf[len(line):]
		if i >= 0 {
			l.buf = l.buf[1:]
		}
	}
}
