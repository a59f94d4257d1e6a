package main

import (
	"bytes"
	"log"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestParseLease(t *testing.T) {
	l, err := parseLease(envOf("ip", "192.168.7.20", "mask", "24", "subnet", "255.255.0.0",
		"router", "bogus 192.168.7.1 192.168.7.2", "dns", "192.168.7.1  1.1.1.1 junk"))
	if err != nil || l.ip.String() != "192.168.7.20" || l.prefix != 24 || l.router.String() != "192.168.7.1" ||
		!reflect.DeepEqual(l.dns, []string{"192.168.7.1", "1.1.1.1"}) {
		t.Fatalf("%+v %v", l, err)
	}
	// Older busybox gives only the dotted subnet.
	if l, err := parseLease(envOf("ip", "10.5.1.2", "subnet", "255.255.240.0")); err != nil || l.prefix != 20 || l.router != nil || l.dns != nil {
		t.Fatalf("subnet only: %+v %v", l, err)
	}
	for _, env := range []func(string) string{
		envOf("subnet", "255.255.255.0"),
		envOf("ip", "fe80::1", "mask", "64"),
		envOf("ip", "10.0.0.2"),
		envOf("ip", "10.0.0.2", "subnet", "255.0.255.0"),
		envOf("ip", "10.0.0.2", "mask", "40"),
	} {
		if l, err := parseLease(env); err == nil {
			t.Errorf("accepted %+v", l)
		}
	}
}

// dhcpFixture: eth0 (macA) static with a gateway unless dhcpFirst, eth1 (macB) by DHCP.
func dhcpFixture(t *testing.T, dhcpFirst bool) (string, string, *fakeOps) {
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "etc/resolv.conf"), "nameserver 10.0.2.3\n", 0o644)
	cmdline := "hearth.nic=" + macA + ",10.0.0.5/24,10.0.0.1,10.0.0.1 hearth.nic=" + macB + ",dhcp"
	if dhcpFirst {
		cmdline = "hearth.nic=" + macB + ",dhcp hearth.nic=" + macA + ",10.0.0.5/24,10.0.0.1,10.0.0.1"
	}
	return root, cmdline, &fakeOps{ls: links("eth0", macA, "eth1", macB)}
}

var boundEnv = envOf("interface", "eth1", "ip", "192.168.7.20", "mask", "24", "router", "192.168.7.1", "dns", "192.168.7.1 10.0.0.1")

func TestDHCPBoundLeavesTheRouteToAnEarlierGateway(t *testing.T) {
	root, cmdline, ops := dhcpFixture(t, false)
	if err := dhcpEvent(root, cmdline, "bound", boundEnv, ops); err != nil {
		t.Fatal(err)
	}
	if want := []string{"up 3", "add 3 192.168.7.20/24"}; !reflect.DeepEqual(ops.calls, want) {
		t.Fatalf("calls %q", ops.calls)
	}
	if got := read(t, filepath.Join(root, "etc/resolv.conf")); got != "nameserver 10.0.0.1\nnameserver 192.168.7.1\n" {
		t.Fatalf("resolv.conf %q", got)
	}
}

func TestDHCPLifecycleOfTheRouteOwner(t *testing.T) {
	root, cmdline, ops := dhcpFixture(t, true)
	ops.have = map[int][]net.IPNet{3: {{IP: net.IPv4(169, 254, 3, 3).To4(), Mask: net.CIDRMask(16, 32)}}}
	if err := dhcpEvent(root, cmdline, "deconfig", envOf("interface", "eth1"), ops); err != nil {
		t.Fatal(err)
	}
	if want := []string{"up 3", "del 3 169.254.3.3/16"}; !reflect.DeepEqual(ops.calls, want) {
		t.Fatalf("deconfig %q", ops.calls)
	}
	ops.calls = nil
	if err := dhcpEvent(root, cmdline, "bound", boundEnv, ops); err != nil {
		t.Fatal(err)
	}
	if want := []string{"up 3", "add 3 192.168.7.20/24", "route 3 via 192.168.7.1"}; !reflect.DeepEqual(ops.calls, want) {
		t.Fatalf("bound %q", ops.calls)
	}
	resolv := filepath.Join(root, "etc/resolv.conf")
	if got := read(t, resolv); got != "nameserver 192.168.7.1\nnameserver 10.0.0.1\n" {
		t.Fatalf("resolv.conf %q", got)
	}
	// A renewal with the same address changes nothing; one with another replaces it.
	ops.calls = nil
	renew := envOf("interface", "eth1", "ip", "192.168.7.21", "subnet", "255.255.255.0", "router", "192.168.7.1")
	if err := dhcpEvent(root, cmdline, "renew", boundEnv, ops); err != nil {
		t.Fatal(err)
	}
	if err := dhcpEvent(root, cmdline, "renew", renew, ops); err != nil {
		t.Fatal(err)
	}
	want := []string{"up 3", "route 3 via 192.168.7.1", "up 3", "del 3 192.168.7.20/24", "add 3 192.168.7.21/24", "route 3 via 192.168.7.1"}
	if !reflect.DeepEqual(ops.calls, want) || !reflect.DeepEqual(ops.addrsOf(3), []string{"192.168.7.21/24"}) {
		t.Fatalf("renew %q, addresses %q", ops.calls, ops.addrsOf(3))
	}
	if got := read(t, resolv); got != "nameserver 10.0.0.1\n" {
		t.Fatalf("a lease without dns keeps only the static NIC's: %q", got)
	}
	ops.calls = nil
	if err := dhcpEvent(root, cmdline, "deconfig", envOf("interface", "eth1"), ops); err != nil || len(ops.have[3]) != 0 {
		t.Fatalf("deconfig: %v, left %q", err, ops.addrsOf(3))
	}
}

func TestDHCPEventsThatChangeNothing(t *testing.T) {
	root, cmdline, ops := dhcpFixture(t, true)
	for _, ev := range []string{"leasefail", "nak", "something-new"} {
		if err := dhcpEvent(root, cmdline, ev, envOf("interface", "eth1"), ops); err != nil {
			t.Fatalf("%s: %v", ev, err)
		}
	}
	bad := []struct {
		ev  string
		env func(string) string
	}{
		{"bound", envOf("interface", "eth0", "ip", "10.0.0.9", "mask", "24")}, // eth0 is static
		{"bound", envOf("interface", "eth7", "ip", "10.0.0.9", "mask", "24")},
		{"bound", envOf("interface", "eth1", "ip", "10.0.0.9")},
	}
	for _, b := range bad {
		if err := dhcpEvent(root, cmdline, b.ev, b.env, ops); err == nil {
			t.Errorf("accepted %s", b.ev)
		}
	}
	if len(ops.calls) != 0 {
		t.Fatalf("touched the kernel: %q", ops.calls)
	}
}

func TestLineLogger(t *testing.T) {
	var buf bytes.Buffer
	log.SetOutput(&buf)
	defer log.SetOutput(os.Stderr)
	l := &lineLogger{prefix: "dhcp eth1: "}
	_, _ = l.Write([]byte("started, v1.35\nsending disc"))
	_, _ = l.Write([]byte("over\n"))
	_, _ = l.Write(bytes.Repeat([]byte("x"), 5000))
	// Other tests' goroutines may log too, so look for our lines rather than count them.
	out := buf.String()
	for _, want := range []string{"dhcp eth1: started, v1.35\n", "dhcp eth1: sending discover\n", "dhcp eth1: " + strings.Repeat("x", 5000) + "\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("%q lacks %.40q", out, want)
		}
	}
	if len(l.buf) != 0 {
		t.Fatalf("kept %d bytes of an overlong line", len(l.buf))
	}
}
