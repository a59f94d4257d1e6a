package main

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestPid1Smoke talks to an agent started as PID 1 of a fresh PID namespace, e.g.
//
//	unshare -p -f -m --propagation private --mount-proc hearth-guest -listen unix:/var/tmp/hg.sock -config cfg.json
//
// and is skipped unless HEARTH_PID1_SOCK names that socket. With HEARTH_PID1_DHCP_MAC it also
// waits for guest info to report a leased address on the NIC with that MAC (hearth.nic=MAC,dhcp).
func TestPid1Smoke(t *testing.T) {
	sock := os.Getenv("HEARTH_PID1_SOCK")
	if sock == "" {
		t.Skip("HEARTH_PID1_SOCK not set")
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
	time.Sleep(time.Second)
	r = c.mustOK(map[string]interface{}{"op": "exec", "command": "cat /proc/1/comm; for f in /proc/[0-9]*/stat; do cut -d' ' -f3 $f; done | grep -c Z; grep -c ' /tmp tmpfs' /proc/self/mounts"})
	if lines := strings.Fields(string(r.stdout)); len(lines) != 3 || lines[1] != "0" || lines[2] != "1" {
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
