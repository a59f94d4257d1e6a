package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPid1Smoke runs the real binary as PID 1 of fresh PID, mount, UTS and network namespaces,
// as in an image without init: it mounts the basics, reaps orphans, and still hands each process
// it started its own exit status. Needs root and unshare(1); skipped (saying why) otherwise.
//
// HEARTH_PID1_SOCK instead names the socket of an agent started by hand, e.g.
//
//	unshare -p -f -m --propagation private --mount-proc hearth-guest -listen unix:/var/tmp/hg.sock -config cfg.json
//
// and with HEARTH_PID1_DHCP_MAC the test also waits for guest info to report a leased address on
// the NIC with that MAC (hearth.nic=MAC,dhcp on a host that has a DHCP server).
func TestPid1Smoke(t *testing.T) {
	sock := os.Getenv("HEARTH_PID1_SOCK")
	if sock == "" {
		sock = startAsPid1(t)
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	c := attachClient(t, conn).login()
	// The orphaned sleep is reparented to the agent; its own child's status must still arrive.
	r := c.mustOK(map[string]interface{}{"op": "exec", "command": "sleep 0.2 & echo $$; exit 5"})
	if r.result["exitCode"] != 5.0 {
		t.Fatalf("exit status stolen by the reaper: %v", r.result)
	}
	// The orphan exits on its own; wait until the reaper has collected it.
	probe := "cat /proc/1/comm; for f in /proc/[0-9]*/stat; do cut -d' ' -f3 $f; done | grep -c Z; grep -c ' /tmp tmpfs' /proc/self/mounts"
	var lines []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r = c.mustOK(map[string]interface{}{"op": "exec", "command": probe})
		if lines = strings.Fields(string(r.stdout)); len(lines) != 3 || lines[1] == "0" || time.Now().After(deadline) {
			break
		}
	}
	if len(lines) != 3 || lines[0] != "hearth-guest" || lines[1] != "0" || lines[2] != "1" {
		t.Fatalf("as PID 1 (comm, zombies, /tmp mounts): %q", r.stdout)
	}
	mac := os.Getenv("HEARTH_PID1_DHCP_MAC")
	for deadline := time.Now().Add(30 * time.Second); mac != ""; time.Sleep(500 * time.Millisecond) {
		r = c.mustOK(map[string]interface{}{"op": "info"})
		for _, ip := range r.result["ips"].([]interface{}) {
			if m := ip.(map[string]interface{}); m["mac"] == mac {
				t.Logf("leased %v/%v on %v", m["address"], m["prefix"], m["iface"])
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no address for %s in %v", mac, r.result["ips"])
		}
	}
}

// startAsPid1 builds the agent and starts it as PID 1 of its own namespaces; it is killed (and
// with it everything in its PID namespace) when the test ends. Returns its socket.
func startAsPid1(t *testing.T) string {
	if os.Geteuid() != 0 {
		t.Skip("needs root for PID, mount and network namespaces")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("needs unshare(1) from util-linux")
	}
	bin := buildAgent(t)
	// As PID 1 the agent mounts fresh tmpfs on /tmp and /run in its mount namespace, so its
	// config and socket live where both sides see the same files.
	dir, err := os.MkdirTemp("/var/tmp", "hearth-pid1-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cfg := filepath.Join(dir, "guest.json")
	mustWrite(t, cfg, `{"secret":"`+testSecret+`","hostname":"","users":[],"env":{}}`, 0o600)
	sock := filepath.Join(dir, "agent.sock")
	cmd := exec.Command(unshare, "--pid", "--mount", "--uts", "--net", "--propagation", "private",
		"--mount-proc", "--kill-child", bin, "-listen", "unix:"+sock, "-config", cfg)
	stderr := &lockedBuf{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGKILL); <-exited })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return sock
		}
		select {
		case <-exited:
			t.Fatalf("the agent exited before listening: %s", stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not listen on %s: %s", sock, stderr.String())
		}
	}
}

// buildAgent builds the agent binary as images get it (static, no cgo).
func buildAgent(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hearth-guest")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}
