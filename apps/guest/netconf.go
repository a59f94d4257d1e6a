package main

import (
	"encoding/binary"
	"log"
	"net"
	"os"
	"strings"
	"syscall"
	"unsafe"
)

// The agent configures the NICs from the kernel command line (nics.go) over rtnetlink, stdlib
// only: as PID 1 nothing else would, and in an image with an init the base image's rcS only knows
// hearth.ip (eth0). Running after rcS is harmless: adding what it already added is a no-op.

type ipConfig struct {
	addr    net.IP
	prefix  int
	gateway net.IP
	dns     string
}

// parseIPArg reads hearth.ip= from a kernel command line; nil when absent or malformed.
func parseIPArg(cmdline string) *ipConfig {
	for _, f := range strings.Fields(cmdline) {
		if !strings.HasPrefix(f, "hearth.ip=") {
			continue
		}
		v := strings.TrimPrefix(f, "hearth.ip=")
		parts := strings.Split(v, ",")
		ip, ipnet, err := net.ParseCIDR(parts[0])
		if err != nil || ip.To4() == nil {
			return nil
		}
		ones, _ := ipnet.Mask.Size()
		c := &ipConfig{addr: ip.To4(), prefix: ones}
		if len(parts) > 1 {
			c.gateway = net.ParseIP(parts[1]).To4()
		}
		if len(parts) > 2 {
			c.dns = parts[2]
		}
		return c
	}
	return nil
}

func setupNetwork(root string) {
	if lo, err := net.InterfaceByName("lo"); err == nil {
		if err := linkUp(lo.Index); err != nil {
			log.Printf("lo up: %v", err)
		}
	}
	b, _ := os.ReadFile("/proc/cmdline")
	plan, ok := loadPlan(string(b), rtnlOps{})
	if !ok {
		return
	}
	applyStatic(rtnlOps{}, plan)
	if err := withNetLock(root, func() error { return writeResolv(root, plan) }); err != nil {
		log.Printf("resolv.conf: %v", err)
	}
	startDHCP(root, plan)
}

// loadPlan reads the NIC entries and matches them to interfaces, logging what it has to skip;
// false when the command line configures no NIC at all.
func loadPlan(cmdline string, ops netOps) ([]nicPlan, bool) {
	nics, skipped := parseNICArgs(cmdline)
	legacy := parseIPArg(cmdline)
	for _, s := range skipped {
		log.Print(s)
	}
	if len(nics) == 0 && legacy == nil {
		return nil, false
	}
	links, err := ops.links()
	if err != nil {
		log.Printf("listing interfaces: %v", err)
	}
	plan, problems := planNICs(nics, legacy, links)
	for _, s := range problems {
		log.Print(s)
	}
	return plan, true
}

// applyStatic configures the static NICs; the DHCP ones are left to udhcpc.
func applyStatic(ops netOps, plan []nicPlan) {
	owner := routeOwner(plan)
	for i, p := range plan {
		if p.dhcp {
			continue
		}
		err := ops.linkUp(p.index)
		if err == nil {
			err = ops.addAddr(p.index, p.addr, p.prefix)
		}
		route := "none"
		// Replace, not add: rcS may have routed via hearth.ip's gateway, and hearth.nic wins.
		if err == nil && i == owner && p.gateway != nil {
			err = ops.replaceDefaultRoute(p.index, p.gateway)
			route = p.gateway.String()
		}
		if err != nil {
			log.Printf("configuring %s (%s) failed: %v", p.ifname, p.mac, err)
			continue
		}
		log.Printf("%s (%s) %s/%d, default route via %s, dns %q", p.ifname, p.mac, p.addr, p.prefix, route, p.dns)
	}
}

// netOps is what configuring NICs asks of the kernel; tests record it instead.
type netOps interface {
	links() ([]netLink, error)
	addrs(index int) ([]net.IPNet, error) // IPv4 only
	linkUp(index int) error
	addAddr(index int, ip net.IP, prefix int) error
	delAddr(index int, ip net.IP, prefix int) error
	replaceDefaultRoute(index int, gw net.IP) error
}

type rtnlOps struct{}

func (rtnlOps) links() ([]netLink, error) {
	ifs, err := net.Interfaces()
	out := make([]netLink, 0, len(ifs))
	for _, i := range ifs {
		out = append(out, netLink{index: i.Index, name: i.Name, mac: i.HardwareAddr.String()})
	}
	return out, err
}

func (rtnlOps) addrs(index int) ([]net.IPNet, error) {
	ifc, err := net.InterfaceByIndex(index)
	if err != nil {
		return nil, err
	}
	as, err := ifc.Addrs()
	var out []net.IPNet
	for _, a := range as {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			out = append(out, net.IPNet{IP: n.IP.To4(), Mask: n.Mask})
		}
	}
	return out, err
}

func (rtnlOps) linkUp(index int) error                         { return linkUp(index) }
func (rtnlOps) addAddr(index int, ip net.IP, prefix int) error { return addAddr(index, ip, prefix) }
func (rtnlOps) delAddr(index int, ip net.IP, prefix int) error { return delAddr(index, ip, prefix) }
func (rtnlOps) replaceDefaultRoute(index int, gw net.IP) error { return replaceDefaultRoute(index, gw) }

func rtattr(typ uint16, data []byte) []byte {
	l := 4 + len(data)
	b := make([]byte, (l+3)&^3)
	binary.LittleEndian.PutUint16(b[0:], uint16(l))
	binary.LittleEndian.PutUint16(b[2:], typ)
	copy(b[4:], data)
	return b
}

// rtnl sends one request with NLM_F_ACK and returns the kernel's error, if any.
func rtnl(typ uint16, flags uint16, body []byte) error {
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, syscall.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return err
	}
	msg := make([]byte, syscall.NLMSG_HDRLEN+len(body))
	binary.LittleEndian.PutUint32(msg[0:], uint32(len(msg)))
	binary.LittleEndian.PutUint16(msg[4:], typ)
	binary.LittleEndian.PutUint16(msg[6:], flags|syscall.NLM_F_REQUEST|syscall.NLM_F_ACK)
	binary.LittleEndian.PutUint32(msg[8:], 1)
	copy(msg[syscall.NLMSG_HDRLEN:], body)
	if err := syscall.Sendto(fd, msg, 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	n, _, err := syscall.Recvfrom(fd, buf, 0)
	if err != nil {
		return err
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if m.Header.Type == syscall.NLMSG_ERROR && len(m.Data) >= 4 {
			if code := int32(binary.LittleEndian.Uint32(m.Data[0:4])); code != 0 && syscall.Errno(-code) != syscall.EEXIST {
				return syscall.Errno(-code)
			}
		}
	}
	return nil
}

func linkUp(index int) error {
	var ifi syscall.IfInfomsg
	ifi.Family = syscall.AF_UNSPEC
	ifi.Index = int32(index)
	ifi.Flags = syscall.IFF_UP
	ifi.Change = syscall.IFF_UP
	b := (*[syscall.SizeofIfInfomsg]byte)(unsafe.Pointer(&ifi))[:]
	return rtnl(syscall.RTM_NEWLINK, 0, b)
}

func addrMsg(index int, ip net.IP, prefix int) []byte {
	ifa := syscall.IfAddrmsg{Family: syscall.AF_INET, Prefixlen: uint8(prefix), Index: uint32(index)}
	b := append([]byte(nil), (*[syscall.SizeofIfAddrmsg]byte)(unsafe.Pointer(&ifa))[:]...)
	b = append(b, rtattr(syscall.IFA_LOCAL, ip.To4())...)
	return append(b, rtattr(syscall.IFA_ADDRESS, ip.To4())...)
}

func addAddr(index int, ip net.IP, prefix int) error {
	return rtnl(syscall.RTM_NEWADDR, syscall.NLM_F_CREATE|syscall.NLM_F_EXCL, addrMsg(index, ip, prefix))
}

func delAddr(index int, ip net.IP, prefix int) error {
	return rtnl(syscall.RTM_DELADDR, 0, addrMsg(index, ip, prefix))
}

// replaceDefaultRoute sets the main table's one default route, whatever it was before.
func replaceDefaultRoute(index int, gw net.IP) error {
	rt := syscall.RtMsg{Family: syscall.AF_INET, Table: syscall.RT_TABLE_MAIN, Protocol: syscall.RTPROT_BOOT,
		Scope: syscall.RT_SCOPE_UNIVERSE, Type: syscall.RTN_UNICAST}
	b := append([]byte(nil), (*[syscall.SizeofRtMsg]byte)(unsafe.Pointer(&rt))[:]...)
	b = append(b, rtattr(syscall.RTA_GATEWAY, gw.To4())...)
	oif := make([]byte, 4)
	binary.LittleEndian.PutUint32(oif, uint32(index))
	b = append(b, rtattr(syscall.RTA_OIF, oif)...)
	return rtnl(syscall.RTM_NEWROUTE, syscall.NLM_F_CREATE|syscall.NLM_F_REPLACE, b)
}
