package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	macA = "02:48:0a:00:00:05"
	macB = "02:48:0a:00:01:07"
	macC = "02:48:0a:00:02:09"
)

func TestParseNICArgs(t *testing.T) {
	cmdline := "console=ttyS0 hearth.nic=" + macA + ",10.0.0.5/24,10.0.0.1,10.0.0.1" +
		" hearth.nic=02:48:0A:00:01:07,dhcp" + // upper case is normalised
		" hearth.nic=" + macC + ",10.2.0.9/16,," +
		" hearth.nic=" + macA + ",dhcp" + // a second entry for a MAC
		" hearth.nic=02:48:0a:00:00,dhcp hearth.nic=nonsense hearth.nic=" +
		" hearth.nic=02:48:0a:00:00:01" +
		" hearth.nic=02:48:0a:00:00:02,dhcp," +
		" hearth.nic=02:48:0a:00:00:03,10.0.0.3" +
		" hearth.nic=02:48:0a:00:00:04,fd00::4/64,," +
		" hearth.nic=02:48:0a:00:00:06,10.0.0.6/24,gw," +
		" hearth.nic=02:48:0a:00:00:08,10.0.0.8/24,,dns" +
		" hearth.nic=02:48:0a:00:00:0a,10.0.0.8/24,,,extra" +
		" hearth.ip=10.9.9.9/24,10.9.9.1,10.9.9.1"
	nics, skipped := parseNICArgs(cmdline)
	if len(nics) != 3 {
		t.Fatalf("want 3 entries, got %+v", nics)
	}
	a, b, c := nics[0], nics[1], nics[2]
	if a.mac != macA || a.dhcp || a.addr.String() != "10.0.0.5" || a.prefix != 24 || a.gateway.String() != "10.0.0.1" || a.dns != "10.0.0.1" {
		t.Errorf("static: %+v", a)
	}
	if b.mac != macB || !b.dhcp || b.addr != nil {
		t.Errorf("dhcp: %+v", b)
	}
	if c.mac != macC || c.addr.String() != "10.2.0.9" || c.prefix != 16 || c.gateway != nil || c.dns != "" {
		t.Errorf("no gateway, no dns: %+v", c)
	}
	if len(skipped) != 11 {
		t.Fatalf("want 11 skipped, got %d: %q", len(skipped), skipped)
	}
	for _, s := range skipped {
		if !strings.HasPrefix(s, "ignoring hearth.nic=") {
			t.Errorf("log line %q", s)
		}
	}
	if !strings.Contains(skipped[0], "already") {
		t.Errorf("duplicate MAC: %q", skipped[0])
	}
}

func links(names ...string) []netLink {
	var out []netLink
	for i := 0; i+1 < len(names); i += 2 {
		out = append(out, netLink{index: i/2 + 2, name: names[i], mac: names[i+1]})
	}
	return append([]netLink{{index: 1, name: "lo"}}, out...)
}

func TestPlanNICsMatchesByMAC(t *testing.T) {
	// eth0 has macB: probe order put the second NIC first.
	ls := links("eth0", macB, "eth1", macA)
	nics, _ := parseNICArgs("hearth.nic=" + macA + ",10.0.0.5/24,, hearth.nic=" + macB + ",dhcp hearth.nic=" + macC + ",dhcp")
	plan, problems := planNICs(nics, nil, ls)
	if len(plan) != 2 || plan[0].ifname != "eth1" || plan[0].index != 3 || plan[1].ifname != "eth0" || !plan[1].dhcp {
		t.Fatalf("plan %+v", plan)
	}
	if len(problems) != 1 || !strings.Contains(problems[0], macC) {
		t.Fatalf("problems %q", problems)
	}
}

func TestPlanNICsLegacyHearthIP(t *testing.T) {
	ls := links("eth0", macA, "eth1", macB)
	legacy := parseIPArg("hearth.ip=10.9.0.2/24,10.9.0.1,10.9.0.1")
	nics, _ := parseNICArgs("hearth.nic=" + macB + ",10.1.0.2/24,10.1.0.1,")
	plan, _ := planNICs(nics, legacy, ls)
	if len(plan) != 2 || plan[0].ifname != "eth0" || plan[0].mac != macA || plan[0].addr.String() != "10.9.0.2" || plan[1].ifname != "eth1" {
		t.Fatalf("legacy eth0 comes first: %+v", plan)
	}
	if routeOwner(plan) != 0 {
		t.Fatalf("legacy eth0 keeps the default route rcS gave it")
	}
	// A hearth.nic entry for eth0's MAC wins: hearth.ip must not configure it a second time.
	nics, _ = parseNICArgs("hearth.nic=" + macA + ",10.0.0.5/24,, hearth.nic=" + macB + ",dhcp")
	plan, _ = planNICs(nics, legacy, ls)
	if len(plan) != 2 || plan[0].addr.String() != "10.0.0.5" || plan[0].gateway != nil {
		t.Fatalf("hearth.nic not authoritative: %+v", plan)
	}
	if plan, problems := planNICs(nil, legacy, links("eth1", macB)); len(plan) != 0 || len(problems) != 1 {
		t.Fatalf("no eth0: %+v %q", plan, problems)
	}
}

func TestRouteOwner(t *testing.T) {
	ls := links("eth0", macA, "eth1", macB, "eth2", macC)
	for _, c := range []struct {
		args string
		want int
	}{
		{"hearth.nic=" + macA + ",10.0.0.5/24,, hearth.nic=" + macB + ",10.1.0.5/24,10.1.0.1, hearth.nic=" + macC + ",10.2.0.5/24,10.2.0.1,", 1},
		{"hearth.nic=" + macA + ",10.0.0.5/24,, hearth.nic=" + macB + ",dhcp hearth.nic=" + macC + ",10.2.0.5/24,10.2.0.1,", 1},
		{"hearth.nic=" + macC + ",10.2.0.5/24,10.2.0.1, hearth.nic=" + macB + ",dhcp", 0},
		{"hearth.nic=" + macA + ",10.0.0.5/24,,10.0.0.53", -1},
	} {
		nics, _ := parseNICArgs(c.args)
		plan, _ := planNICs(nics, nil, ls)
		if got := routeOwner(plan); got != c.want {
			t.Errorf("%s: owner %d, want %d", c.args, got, c.want)
		}
	}
}

func TestResolvConfFromAllNICs(t *testing.T) {
	root := t.TempDir()
	resolv := filepath.Join(root, "etc/resolv.conf")
	mustWrite(t, resolv, "nameserver 10.0.2.3\n", 0o644)
	ls := links("eth0", macA, "eth1", macB, "eth2", macC)
	nics, _ := parseNICArgs("hearth.nic=" + macA + ",10.0.0.5/24,, hearth.nic=" + macB + ",dhcp hearth.nic=" + macC + ",10.2.0.5/24,,10.2.0.53")
	plan, _ := planNICs(nics, parseIPArg("hearth.ip=10.9.0.2/24,10.9.0.1,10.2.0.53"), ls)
	if err := writeResolv(root, plan); err != nil {
		t.Fatal(err)
	}
	if got := read(t, resolv); got != "nameserver 10.2.0.53\n" {
		t.Fatalf("static only: %q", got)
	}
	if err := recordLeaseDNS(root, macB, []string{"192.168.1.1", "10.2.0.53", "192.168.1.2"}); err != nil {
		t.Fatal(err)
	}
	_ = writeResolv(root, plan)
	if got, want := read(t, resolv), "nameserver 192.168.1.1\nnameserver 10.2.0.53\nnameserver 192.168.1.2\n"; got != want {
		t.Fatalf("NIC order, no repeats: %q", got)
	}
	if err := recordLeaseDNS(root, macB, nil); err != nil {
		t.Fatal(err)
	}
	if err := recordLeaseDNS(root, macB, nil); err != nil {
		t.Fatalf("forgetting twice: %v", err)
	}
	if got := nameservers(plan, readLeaseDNS(root, plan)); !reflect.DeepEqual(got, []string{"10.2.0.53"}) {
		t.Fatalf("lease forgotten: %q", got)
	}
	// With no servers anywhere the image's resolv.conf stays.
	nics, _ = parseNICArgs("hearth.nic=" + macA + ",10.0.0.5/24,,")
	plan, _ = planNICs(nics, nil, ls)
	mustWrite(t, resolv, "nameserver 10.0.2.3\n", 0o644)
	_ = writeResolv(root, plan)
	if got := read(t, resolv); got != "nameserver 10.0.2.3\n" {
		t.Fatalf("image's resolv.conf replaced: %q", got)
	}
}

// fakeOps records what configuring would ask of the kernel.
type fakeOps struct {
	ls    []netLink
	have  map[int][]net.IPNet
	calls []string
}

func (f *fakeOps) links() ([]netLink, error) { return f.ls, nil }

func (f *fakeOps) addrsOf(index int) []string {
	var out []string
	for _, a := range f.have[index] {
		out = append(out, a.String())
	}
	return out
}

func (f *fakeOps) addrs(index int) ([]net.IPNet, error) { return f.have[index], nil }

func (f *fakeOps) linkUp(index int) error {
	f.calls = append(f.calls, fmt.Sprintf("up %d", index))
	return nil
}

func (f *fakeOps) addAddr(index int, ip net.IP, prefix int) error {
	f.calls = append(f.calls, fmt.Sprintf("add %d %s/%d", index, ip, prefix))
	if f.have == nil {
		f.have = map[int][]net.IPNet{}
	}
	f.have[index] = append(f.have[index], net.IPNet{IP: ip, Mask: net.CIDRMask(prefix, 32)})
	return nil
}

func (f *fakeOps) delAddr(index int, ip net.IP, prefix int) error {
	f.calls = append(f.calls, fmt.Sprintf("del %d %s/%d", index, ip, prefix))
	var keep []net.IPNet
	for _, a := range f.have[index] {
		if !a.IP.Equal(ip) {
			keep = append(keep, a)
		}
	}
	f.have[index] = keep
	return nil
}

func (f *fakeOps) replaceDefaultRoute(index int, gw net.IP) error {
	f.calls = append(f.calls, fmt.Sprintf("route %d via %s", index, gw))
	return nil
}

func TestApplyStaticRoutesOnlyViaTheOwner(t *testing.T) {
	ops := &fakeOps{ls: links("eth0", macB, "eth1", macA, "eth2", macC)}
	nics, _ := parseNICArgs("hearth.nic=" + macA + ",10.0.0.5/24,, hearth.nic=" + macB + ",10.1.0.5/24,10.1.0.1, " +
		"hearth.nic=" + macC + ",10.2.0.5/24,10.2.0.1,")
	plan, _ := planNICs(nics, nil, ops.ls)
	applyStatic(ops, plan)
	want := []string{"up 3", "add 3 10.0.0.5/24", "up 2", "add 2 10.1.0.5/24", "route 2 via 10.1.0.1", "up 4", "add 4 10.2.0.5/24"}
	if !reflect.DeepEqual(ops.calls, want) {
		t.Fatalf("calls %q\nwant  %q", ops.calls, want)
	}
	// DHCP NICs are udhcpc's; one listed first owns the route, so no static NIC takes it.
	ops.calls = nil
	nics, _ = parseNICArgs("hearth.nic=" + macB + ",dhcp hearth.nic=" + macC + ",10.2.0.5/24,10.2.0.1,")
	plan, _ = planNICs(nics, nil, ops.ls)
	applyStatic(ops, plan)
	if want := []string{"up 4", "add 4 10.2.0.5/24"}; !reflect.DeepEqual(ops.calls, want) {
		t.Fatalf("calls %q", ops.calls)
	}
}

func TestUdhcpcLookup(t *testing.T) {
	root := t.TempDir()
	if got := udhcpcArgv(root); got != nil {
		t.Fatalf("empty image: %q", got)
	}
	if _, err := os.Stat("/bin/busybox"); err == nil {
		if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/bin/busybox", filepath.Join(root, "bin/busybox")); err != nil {
			t.Fatal(err)
		}
		if got := udhcpcArgv(root); !reflect.DeepEqual(got, []string{"/bin/busybox", "udhcpc"}) {
			t.Fatalf("busybox applet: %q", got)
		}
	}
	mustWrite(t, filepath.Join(root, "usr/sbin/udhcpc"), "", 0o755)
	if got := udhcpcArgv(root); !reflect.DeepEqual(got, []string{"/usr/sbin/udhcpc"}) {
		t.Fatalf("applet link: %q", got)
	}
	if args := udhcpcArgs("eth1", "/usr/sbin/hearth-guest"); strings.Join(args, " ") != "-f -i eth1 -s /usr/sbin/hearth-guest -t 5 -T 2 -A 5" {
		t.Fatalf("args %q", args)
	}
}
