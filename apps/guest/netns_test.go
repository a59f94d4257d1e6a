package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNICsInANetworkNamespace configures real interfaces over rtnetlink in a fresh network
// namespace: veth pairs (this kernel may lack the dummy driver) whose names do not follow the
// order of their hearth.nic entries. Needs root and ip(8); skipped otherwise.
func TestNICsInANetworkNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8)")
	}
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "etc/resolv.conf"), "", 0o644)
	// Only the test's own goroutine may stop the test, so the namespace's goroutine reports what
	// went wrong over a channel; a deferred send means even a panic there ends the wait.
	type outcome struct {
		skip string
		errs []string
	}
	done := make(chan outcome, 1)
	go func() {
		// The namespace is this thread's alone; ending the goroutine still locked makes the runtime
		// discard the thread instead of letting other goroutines run inside the namespace.
		runtime.LockOSThread()
		var o outcome
		defer func() {
			if p := recover(); p != nil {
				o.errs = append(o.errs, fmt.Sprintf("panic: %v", p))
			}
			done <- o
		}()
		if err := syscall.Unshare(syscall.CLONE_NEWNET); err != nil {
			o.skip = fmt.Sprintf("unshare: %v", err)
			return
		}
		o.errs = inNetns(root)
	}()
	select {
	case o := <-done:
		for _, e := range o.errs {
			t.Error(e)
		}
		if o.skip != "" {
			t.Skip(o.skip)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the network namespace checks never finished")
	}
}

// inNetns runs in a fresh network namespace and returns what went wrong there.
func inNetns(root string) (errs []string) {
	errorf := func(format string, args ...interface{}) { errs = append(errs, fmt.Sprintf(format, args...)) }
	sh := func(args ...string) string {
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			errorf("ip %s: %v %s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	for i, mac := range []string{macB, macA, macC} { // h0 has the second NIC's MAC, h1 the first's
		sh("link", "add", fmt.Sprintf("h%d", i), "address", mac, "type", "veth", "peer", "name", fmt.Sprintf("p%d", i))
		sh("link", "set", fmt.Sprintf("p%d", i), "up")
	}
	addrs := func(name string) string {
		ifc, err := net.InterfaceByName(name)
		if err != nil {
			errorf("%s: %v", name, err)
			return ""
		}
		as, _ := ifc.Addrs()
		var out []string
		for _, a := range as {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				out = append(out, ipn.String())
			}
		}
		return strings.Join(out, " ")
	}
	cmdline := "hearth.nic=" + macA + ",10.0.0.5/24,, hearth.nic=" + macB + ",10.1.0.5/24,10.1.0.1,10.1.0.53 hearth.nic=" + macC + ",dhcp"
	plan, _ := loadPlan(cmdline, rtnlOps{})
	for run := 0; run < 2; run++ { // the second run is an agent respawned under init: a no-op
		applyStatic(rtnlOps{}, plan)
	}
	if a, b := addrs("h1"), addrs("h0"); a != "10.0.0.5/24" || b != "10.1.0.5/24" {
		errorf("addresses by MAC: h1 %q, h0 %q", a, b)
	}
	if r := sh("-4", "route", "show", "default"); !strings.HasPrefix(r, "default via 10.1.0.1 dev h0") {
		errorf("default route %q", r)
	}
	bound := envOf("interface", "h2", "ip", "192.168.7.20", "mask", "24", "router", "192.168.7.1", "dns", "192.168.7.1")
	if err := dhcpEvent(root, cmdline, "bound", bound, rtnlOps{}); err != nil {
		errorf("bound: %v", err)
	}
	if a, r := addrs("h2"), sh("-4", "route", "show", "default"); a != "192.168.7.20/24" || !strings.HasPrefix(r, "default via 10.1.0.1 dev h0") {
		errorf("DHCP NIC after a gateway: %q, route %q", a, r)
	}
	// Listed first, the DHCP NIC owns the default route.
	cmdline = "hearth.nic=" + macC + ",dhcp " + cmdline
	renew := envOf("interface", "h2", "ip", "192.168.7.21", "subnet", "255.255.255.0", "router", "192.168.7.1", "dns", "192.168.7.1")
	if err := dhcpEvent(root, cmdline, "renew", renew, rtnlOps{}); err != nil {
		errorf("renew: %v", err)
	}
	if a, r := addrs("h2"), sh("-4", "route", "show", "default"); a != "192.168.7.21/24" || !strings.HasPrefix(r, "default via 192.168.7.1 dev h2") {
		errorf("renewed owner: %q, route %q", a, r)
	}
	if got, err := os.ReadFile(filepath.Join(root, "etc/resolv.conf")); err != nil {
		errorf("resolv.conf: %v", err)
	} else if string(got) != "nameserver 192.168.7.1\nnameserver 10.1.0.53\n" {
		errorf("resolv.conf %q", got)
	}
	if err := dhcpEvent(root, cmdline, "deconfig", envOf("interface", "h2"), rtnlOps{}); err != nil {
		errorf("deconfig: %v", err)
	}
	if a, r := addrs("h2"), sh("-4", "route", "show", "default"); a != "" || r != "" {
		errorf("deconfig left %q, route %q", a, r)
	}
	return errs
}
