package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// A VM may have several NICs. The host puts one entry per NIC on the kernel command line:
//
//	hearth.nic=MAC,ADDR/PREFIX,GATEWAY,DNS   static (GATEWAY and DNS may be empty)
//	hearth.nic=MAC,dhcp                      address from a DHCP server on that link
//
// Interfaces are matched by MAC because virtio-mmio probe order, and so the ethN names, is not
// guaranteed. The older hearth.ip=ADDR/PREFIX,GATEWAY,DNS still means eth0, unless a hearth.nic
// entry names eth0's MAC: those entries are authoritative.

// nicSpec is one hearth.nic entry, or the legacy hearth.ip one once eth0's MAC is known.
type nicSpec struct {
	mac  string // lower-case, colon separated
	dhcp bool
	ipConfig
}

// parseNICArgs returns the well-formed hearth.nic entries in command-line order, and one message
// per entry it skipped, for the caller to log.
func parseNICArgs(cmdline string) (nics []nicSpec, skipped []string) {
	seen := map[string]bool{}
	for _, f := range strings.Fields(cmdline) {
		if !strings.HasPrefix(f, "hearth.nic=") {
			continue
		}
		v := strings.TrimPrefix(f, "hearth.nic=")
		n, err := parseNIC(v)
		if err == nil && seen[n.mac] {
			err = errors.New("MAC already has an entry")
		}
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("ignoring hearth.nic=%s: %v", v, err))
			continue
		}
		seen[n.mac] = true
		nics = append(nics, n)
	}
	return nics, skipped
}

func parseNIC(v string) (nicSpec, error) {
	parts := strings.Split(v, ",")
	hw, err := net.ParseMAC(parts[0])
	if err != nil || len(hw) != 6 {
		return nicSpec{}, fmt.Errorf("bad MAC %q", parts[0])
	}
	n := nicSpec{mac: hw.String()}
	if len(parts) == 2 && parts[1] == "dhcp" {
		n.dhcp = true
		return n, nil
	}
	if len(parts) < 2 || len(parts) > 4 {
		return n, errors.New("want MAC,ADDR/PREFIX,GATEWAY,DNS or MAC,dhcp")
	}
	ip, ipnet, err := net.ParseCIDR(parts[1])
	if err != nil || ip.To4() == nil {
		return n, fmt.Errorf("bad IPv4 address/prefix %q", parts[1])
	}
	n.addr = ip.To4()
	n.prefix, _ = ipnet.Mask.Size()
	if len(parts) > 2 && parts[2] != "" {
		if n.gateway = net.ParseIP(parts[2]).To4(); n.gateway == nil {
			return n, fmt.Errorf("bad gateway %q", parts[2])
		}
	}
	if len(parts) > 3 && parts[3] != "" {
		if net.ParseIP(parts[3]) == nil {
			return n, fmt.Errorf("bad DNS server %q", parts[3])
		}
		n.dns = parts[3]
	}
	return n, nil
}

// netLink is one interface as the kernel reports it.
type netLink struct {
	index int
	name  string
	mac   string
}

// nicPlan is an entry matched to its interface; mac is always the interface's.
type nicPlan struct {
	nicSpec
	index  int
	ifname string
}

// planNICs matches entries to interfaces. The legacy eth0 goes first: the host and the base image's
// rcS treat it as the primary NIC, so it keeps the default route rcS may already have added.
func planNICs(nics []nicSpec, legacy *ipConfig, links []netLink) (plan []nicPlan, problems []string) {
	byMAC := map[string]netLink{}
	for _, l := range links {
		if l.mac != "" {
			byMAC[l.mac] = l
		}
	}
	if legacy != nil {
		var eth0 *netLink
		for i := range links {
			if links[i].name == "eth0" {
				eth0 = &links[i]
			}
		}
		switch {
		case eth0 == nil:
			problems = append(problems, "hearth.ip: no interface eth0")
		case !hasMAC(nics, eth0.mac):
			plan = append(plan, nicPlan{nicSpec{mac: eth0.mac, ipConfig: *legacy}, eth0.index, eth0.name})
		}
	}
	for _, n := range nics {
		l, ok := byMAC[n.mac]
		if !ok {
			problems = append(problems, fmt.Sprintf("hearth.nic: no interface has MAC %s", n.mac))
			continue
		}
		plan = append(plan, nicPlan{n, l.index, l.name})
	}
	return plan, problems
}

func hasMAC(nics []nicSpec, mac string) bool {
	for _, n := range nics {
		if n.mac == mac {
			return true
		}
	}
	return false
}

// routeOwner is the plan index of the NIC allowed the default route, or -1: the first with a
// gateway, a DHCP NIC counting as having one since its router is only known from the lease. Only
// one may own it, as a second default route in the main table would clash with the first.
func routeOwner(plan []nicPlan) int {
	for i, p := range plan {
		if p.dhcp || p.gateway != nil {
			return i
		}
	}
	return -1
}

// nameservers lists every NIC's DNS servers in plan order without repeats; leased holds what the
// DHCP NICs were given, by MAC.
func nameservers(plan []nicPlan, leased map[string][]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range plan {
		servers := leased[p.mac]
		if !p.dhcp {
			servers = nil
			if p.dns != "" {
				servers = []string{p.dns}
			}
		}
		for _, s := range servers {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// The udhcpc scripts of several NICs run as separate processes, possibly at once, so each NIC's
// leased DNS servers live in a file under /run and resolv.conf is rebuilt from all of them under a lock.
func leaseDir(root string) string { return filepath.Join(root, "run/hearth/dhcp") }

func leaseFile(root, mac string) string {
	return filepath.Join(leaseDir(root), strings.ReplaceAll(mac, ":", "-")+".dns")
}

// withNetLock runs f holding an exclusive lock shared by the agent and its udhcpc scripts.
func withNetLock(root string, f func() error) error {
	if err := os.MkdirAll(leaseDir(root), 0o755); err != nil {
		return err
	}
	lf, err := os.OpenFile(filepath.Join(leaseDir(root), ".lock"), os.O_CREATE|os.O_RDWR|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	defer lf.Close() // releases the lock
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	return f()
}

// recordLeaseDNS remembers (or, with no servers, forgets) what one DHCP NIC was given.
func recordLeaseDNS(root, mac string, servers []string) error {
	if len(servers) == 0 {
		if err := os.Remove(leaseFile(root, mac)); err != nil && !os.IsNotExist(err) {
			return err
		}
		return nil
	}
	if err := os.MkdirAll(leaseDir(root), 0o755); err != nil {
		return err
	}
	return atomicWrite(leaseFile(root, mac), []byte(strings.Join(servers, " ")+"\n"), 0o644)
}

func readLeaseDNS(root string, plan []nicPlan) map[string][]string {
	out := map[string][]string{}
	for _, p := range plan {
		if b, err := os.ReadFile(leaseFile(root, p.mac)); err == nil && p.dhcp {
			out[p.mac] = strings.Fields(string(b))
		}
	}
	return out
}

// writeResolv rewrites resolv.conf from all NICs; with no servers at all it leaves the image's.
func writeResolv(root string, plan []nicPlan) error {
	servers := nameservers(plan, readLeaseDNS(root, plan))
	if len(servers) == 0 {
		return nil
	}
	var b strings.Builder
	for _, s := range servers {
		b.WriteString("nameserver " + s + "\n")
	}
	return atomicWrite(filepath.Join(root, "etc/resolv.conf"), []byte(b.String()), 0o644)
}
