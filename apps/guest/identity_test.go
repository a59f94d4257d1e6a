package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

// recNet records what taking an identity asks of the kernel.
type recNet struct {
	ifs   []netLink
	have  map[int][]net.IPNet
	calls []string
}

func (r *recNet) links() ([]netLink, error)        { return r.ifs, nil }
func (r *recNet) addrs(i int) ([]net.IPNet, error) { return r.have[i], nil }
func (r *recNet) linkUp(i int) error {
	r.calls = append(r.calls, fmt.Sprintf("up %d", i))
	return nil
}
func (r *recNet) addAddr(i int, ip net.IP, p int) error {
	r.calls = append(r.calls, fmt.Sprintf("add %d %s/%d", i, ip, p))
	return nil
}
func (r *recNet) delAddr(i int, ip net.IP, p int) error {
	r.calls = append(r.calls, fmt.Sprintf("del %d %s/%d", i, ip, p))
	return nil
}
func (r *recNet) replaceDefaultRoute(i int, gw net.IP) error {
	r.calls = append(r.calls, fmt.Sprintf("route %d %s", i, gw))
	return nil
}
func (r *recNet) setLinkUp(i int, up bool) error {
	r.calls = append(r.calls, fmt.Sprintf("updown %d %v", i, up))
	return nil
}
func (r *recNet) setMAC(i int, mac net.HardwareAddr) error {
	r.calls = append(r.calls, fmt.Sprintf("mac %d %s", i, mac))
	return nil
}

func str(s string) *string { return &s }

func TestIdentityCloneTakesNewMACAddressAndRoute(t *testing.T) {
	r := &recNet{
		ifs:  []netLink{{index: 1, name: "lo"}, {index: 2, name: "eth0", mac: "02:00:00:00:00:01"}},
		have: map[int][]net.IPNet{2: {{IP: net.IPv4(10, 0, 0, 5).To4(), Mask: net.CIDRMask(24, 32)}}},
	}
	err := applyIdentityNICs(r, []IdentityNIC{{From: "02:00:00:00:00:01", MAC: "02:00:00:00:00:02",
		Address: str("10.0.0.6/24"), Gateway: str("10.0.0.1"), Index: 0}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"updown 2 false", "mac 2 02:00:00:00:00:02", "del 2 10.0.0.5/24", "up 2",
		"add 2 10.0.0.6/24", "route 2 10.0.0.1"}
	if !reflect.DeepEqual(r.calls, want) {
		t.Fatalf("calls %v, want %v", r.calls, want)
	}
}

func TestIdentityInPlaceLeavesTheNICAlone(t *testing.T) {
	r := &recNet{
		ifs:  []netLink{{index: 2, name: "eth0", mac: "02:00:00:00:00:01"}},
		have: map[int][]net.IPNet{2: {{IP: net.IPv4(10, 0, 0, 5).To4(), Mask: net.CIDRMask(24, 32)}}},
	}
	err := applyIdentityNICs(r, []IdentityNIC{{From: "02:00:00:00:00:01", MAC: "02:00:00:00:00:01",
		Address: str("10.0.0.5/24"), Gateway: str("10.0.0.1")}})
	if err != nil || !reflect.DeepEqual(r.calls, []string{"route 2 10.0.0.1"}) {
		t.Fatalf("err %v calls %v", err, r.calls)
	}
}

func TestIdentityFindsAChangedMACByIndexAndRefusesAMissingNIC(t *testing.T) {
	r := &recNet{ifs: []netLink{{index: 3, name: "eth1", mac: "02:aa:00:00:00:09"}}, have: map[int][]net.IPNet{}}
	if err := applyIdentityNICs(r, []IdentityNIC{{From: "02:00:00:00:00:01", MAC: "02:00:00:00:00:02", Index: 1}}); err != nil {
		t.Fatal(err)
	}
	if r.calls[0] != "updown 3 false" || r.calls[len(r.calls)-1] != "up 3" {
		t.Fatalf("calls %v", r.calls)
	}
	err := applyIdentityNICs(r, []IdentityNIC{{From: "02:00:00:00:00:07", MAC: "02:00:00:00:00:08", Index: 5}})
	if ge, ok := err.(*GuestError); !ok || ge.Code != ErrNotFound {
		t.Fatalf("missing NIC: %v", err)
	}
}

func TestIdentityOpSetsClockAndHostname(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	a := newAgent(&GuestBootConfig{Secret: testSecret}, root)
	var set int64
	a.settime = func(tv *syscall.Timeval) error { set = tv.Sec; return nil }
	ms := float64(1_900_000_000_000)
	if _, err := a.opIdentity(&Request{Op: OpIdentity, UnixMs: &ms, Hostname: "clone-1"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(root, "etc/hostname"))
	hosts, _ := os.ReadFile(filepath.Join(root, "etc/hosts"))
	if set != 1_900_000_000 || strings.TrimSpace(string(b)) != "clone-1" || !strings.Contains(string(hosts), "127.0.1.1\tclone-1") {
		t.Fatalf("clock %d hostname %q hosts %q", set, b, hosts)
	}
}
