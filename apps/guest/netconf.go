package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unsafe"
)

// As PID 1 there is no init script to bring the network up, so the agent does what the base
// image's rcS does with `ip`: lo up, then eth0 from hearth.ip=ADDR/PREFIX,GATEWAY,DNS on the kernel
// command line, over rtnetlink (stdlib only).

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
			fmt.Fprintf(os.Stderr, "hearth-guest: lo up: %v\n", err)
		}
	}
	b, _ := os.ReadFile("/proc/cmdline")
	c := parseIPArg(string(b))
	if c == nil {
		return
	}
	eth, err := net.InterfaceByName("eth0")
	if err == nil {
		err = linkUp(eth.Index)
	}
	if err == nil {
		err = addAddr(eth.Index, c.addr, c.prefix)
	}
	if err == nil && c.gateway != nil {
		err = addDefaultRoute(eth.Index, c.gateway)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "hearth-guest: configuring eth0 failed: %v\n", err)
		return
	}
	if c.dns != "" {
		_ = atomicWrite(filepath.Join(root, "etc/resolv.conf"), []byte("nameserver "+c.dns+"\n"), 0o644)
	}
	fmt.Fprintf(os.Stderr, "hearth-guest: eth0 %s/%d, gateway %v, dns %s\n", c.addr, c.prefix, c.gateway, c.dns)
}

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

func addAddr(index int, ip net.IP, prefix int) error {
	ifa := syscall.IfAddrmsg{Family: syscall.AF_INET, Prefixlen: uint8(prefix), Index: uint32(index)}
	b := append([]byte(nil), (*[syscall.SizeofIfAddrmsg]byte)(unsafe.Pointer(&ifa))[:]...)
	b = append(b, rtattr(syscall.IFA_LOCAL, ip)...)
	b = append(b, rtattr(syscall.IFA_ADDRESS, ip)...)
	return rtnl(syscall.RTM_NEWADDR, syscall.NLM_F_CREATE|syscall.NLM_F_EXCL, b)
}

func addDefaultRoute(index int, gw net.IP) error {
	rt := syscall.RtMsg{Family: syscall.AF_INET, Table: syscall.RT_TABLE_MAIN, Protocol: syscall.RTPROT_BOOT,
		Scope: syscall.RT_SCOPE_UNIVERSE, Type: syscall.RTN_UNICAST}
	b := append([]byte(nil), (*[syscall.SizeofRtMsg]byte)(unsafe.Pointer(&rt))[:]...)
	b = append(b, rtattr(syscall.RTA_GATEWAY, gw)...)
	oif := make([]byte, 4)
	binary.LittleEndian.PutUint32(oif, uint32(index))
	b = append(b, rtattr(syscall.RTA_OIF, oif)...)
	return rtnl(syscall.RTM_NEWROUTE, syscall.NLM_F_CREATE|syscall.NLM_F_EXCL, b)
}
