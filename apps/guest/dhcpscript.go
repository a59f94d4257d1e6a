package main

import (
	"fmt"
	"log"
	"net"
	"os"
	"strconv"
	"strings"
)

// udhcpc runs its -s program as `PROG EVENT` (deconfig, bound, renew, leasefail, nak) with the
// lease in environment variables: interface, ip, subnet (dotted) or mask (prefix length, newer
// busybox), router and dns (space-separated lists), and more we do not need. That program is the
// agent's own binary; dhcpScriptEnv, which only the supervisor puts in udhcpc's environment, is
// how the binary knows, so it applies the event and exits without ever starting an agent.
const dhcpScriptEnv = "HEARTH_UDHCPC_SCRIPT"

func isDHCPScript() bool {
	return os.Getenv(dhcpScriptEnv) == "1" && len(os.Args) == 2
}

func runDHCPScript() int {
	log.SetFlags(0)
	log.SetPrefix("script: ") // stderr goes through udhcpc back into the agent's log
	b, err := os.ReadFile("/proc/cmdline")
	if err == nil {
		err = dhcpEvent("/", string(b), os.Args[1], os.Getenv, rtnlOps{})
	}
	if err != nil {
		log.Printf("%s: %v", os.Args[1], err)
		return 1
	}
	return 0
}

type lease struct {
	ip     net.IP
	prefix int
	router net.IP
	dns    []string
}

func parseLease(env func(string) string) (lease, error) {
	l := lease{prefix: -1}
	if l.ip = net.ParseIP(env("ip")).To4(); l.ip == nil {
		return l, fmt.Errorf("bad ip %q", env("ip"))
	}
	if n, err := strconv.Atoi(env("mask")); err == nil && n > 0 && n <= 32 {
		l.prefix = n
	} else if m := net.ParseIP(env("subnet")).To4(); m != nil {
		if ones, bits := net.IPMask(m).Size(); bits == 32 && ones > 0 {
			l.prefix = ones
		}
	}
	if l.prefix < 0 {
		return l, fmt.Errorf("no usable mask %q or subnet %q", env("mask"), env("subnet"))
	}
	for _, r := range strings.Fields(env("router")) {
		if l.router = net.ParseIP(r).To4(); l.router != nil {
			break
		}
	}
	for _, d := range strings.Fields(env("dns")) {
		if net.ParseIP(d) != nil {
			l.dns = append(l.dns, d)
		}
	}
	return l, nil
}

// dhcpEvent applies one udhcpc event to the DHCP NIC named by $interface. The NIC list comes from
// the command line again, so the default route and resolv.conf follow the same rules as at boot.
func dhcpEvent(root, cmdline, event string, env func(string) string, ops netOps) error {
	ifname := env("interface")
	if event != "deconfig" && event != "bound" && event != "renew" {
		log.Printf("%s on %s", event, ifname) // leasefail, nak: udhcpc tries again by itself
		return nil
	}
	links, err := ops.links()
	if err != nil {
		return err
	}
	nics, _ := parseNICArgs(cmdline)
	plan, _ := planNICs(nics, parseIPArg(cmdline), links)
	i := -1
	for j, p := range plan {
		if p.dhcp && p.ifname == ifname {
			i = j
		}
	}
	if i < 0 {
		return fmt.Errorf("%q is not a hearth.nic=MAC,dhcp interface", ifname)
	}
	p := plan[i]
	var l lease // deconfig: no address, no DNS servers
	if event != "deconfig" {
		if l, err = parseLease(env); err != nil {
			return err
		}
	}
	if err := ops.linkUp(p.index); err != nil {
		return err
	}
	if err := setOnlyAddr(ops, p.index, l.ip, l.prefix); err != nil {
		return err
	}
	route := "none"
	if l.router != nil && i == routeOwner(plan) {
		if err := ops.replaceDefaultRoute(p.index, l.router); err != nil {
			return fmt.Errorf("default route via %s: %v", l.router, err)
		}
		route = l.router.String()
	}
	err = withNetLock(root, func() error {
		if err := recordLeaseDNS(root, p.mac, l.dns); err != nil {
			return err
		}
		return writeResolv(root, plan)
	})
	if err != nil {
		return fmt.Errorf("resolv.conf: %v", err)
	}
	if l.ip == nil {
		log.Printf("%s on %s (%s): addresses flushed", event, ifname, p.mac)
	} else {
		log.Printf("%s on %s (%s): %s/%d, default route via %s, dns %v", event, ifname, p.mac, l.ip, l.prefix, route, l.dns)
	}
	return nil
}

// setOnlyAddr leaves ip/prefix as the link's only IPv4 address (none when ip is nil): a renewed
// lease may bring another address, and the old one must not linger.
func setOnlyAddr(ops netOps, index int, ip net.IP, prefix int) error {
	have, err := ops.addrs(index)
	if err != nil {
		return err
	}
	present := false
	for _, a := range have {
		ones, _ := a.Mask.Size()
		if ip != nil && a.IP.Equal(ip) && ones == prefix {
			present = true
			continue
		}
		if err := ops.delAddr(index, a.IP, ones); err != nil {
			return fmt.Errorf("removing %s/%d: %v", a.IP, ones, err)
		}
	}
	if ip == nil || present {
		return nil
	}
	return ops.addAddr(index, ip, prefix)
}
