package main

import (
	"encoding/base64"
	"fmt"
	"log"
	"net"
	"strings"
	"syscall"
	"unsafe"
)

// IdentityNIC is one NIC of a VM restored from a snapshot: found by the MAC it had when the
// snapshot was taken (From), it takes this VM's MAC and address. Device order is kept, so Index
// names the usual interface (ethN) of a guest that changed its MAC itself.
type IdentityNIC struct {
	From    string  `json:"from"`
	MAC     string  `json:"mac"`
	Address *string `json:"address"` // "ip/prefix", or null: no static address
	Gateway *string `json:"gateway"`
	Index   int     `json:"index"`
}

// identityNet configures the NICs; tests replace it with a recorder.
var identityNet identityOps = rtnlOps{}

// identityOps is what taking an identity asks of the kernel; tests record it instead.
type identityOps interface {
	netOps
	setLinkUp(index int, up bool) error
	setMAC(index int, mac net.HardwareAddr) error
}

func (rtnlOps) setLinkUp(index int, up bool) error { return setLinkFlags(index, up, nil) }
func (rtnlOps) setMAC(index int, mac net.HardwareAddr) error {
	return setLinkFlags(index, false, mac)
}

// setLinkFlags brings a link up or down, or (mac set) changes its hardware address only.
func setLinkFlags(index int, up bool, mac net.HardwareAddr) error {
	var ifi syscall.IfInfomsg
	ifi.Family = syscall.AF_UNSPEC
	ifi.Index = int32(index)
	b := []byte(nil)
	if mac != nil {
		b = append(b, (*[syscall.SizeofIfInfomsg]byte)(unsafe.Pointer(&ifi))[:]...)
		b = append(b, rtattr(syscall.IFLA_ADDRESS, mac)...)
		return rtnl(syscall.RTM_NEWLINK, 0, b)
	}
	ifi.Change = syscall.IFF_UP
	if up {
		ifi.Flags = syscall.IFF_UP
	}
	b = append(b, (*[syscall.SizeofIfInfomsg]byte)(unsafe.Pointer(&ifi))[:]...)
	return rtnl(syscall.RTM_NEWLINK, 0, b)
}

// opIdentity makes the guest the VM it now is, in one request: a VM restored from a snapshot (a
// clone, a snapshot pool's VM) or booted ahead of time (a warm pool's, at hand-out). Each part is
// applied when present: fresh host entropy (credited, then the kernel's generator reseeded: every
// VM restored from one snapshot starts on the same generator state), the host's clock, the
// hostname, each NIC's MAC and address, users, env for later execs, and a new machine-id. Entropy
// goes first so nothing after it runs on the shared state. `personalize`, the op's old name, is
// still served for host agents from before the merge, with the fields it always required.
func (a *Agent) opIdentity(req *Request) (map[string]interface{}, error) {
	strict := req.Op == OpPersonalize
	if strict && (req.UnixMs == nil || *req.UnixMs <= 0) {
		return nil, gerr(ErrBadRequest, "unixMs is required")
	}
	if (strict || req.Hostname != "") && !validHostname.MatchString(req.Hostname) {
		return nil, gerr(ErrBadRequest, "invalid hostname %q", req.Hostname)
	}
	var seed []byte
	if strict || req.Entropy != "" {
		b, err := base64.StdEncoding.DecodeString(req.Entropy)
		if err != nil || len(b) < 32 {
			return nil, gerr(ErrBadRequest, "entropy must be base64 of at least 32 bytes")
		}
		seed = b
	}
	live := a.root == "/"
	if seed != nil && live {
		if err := reseedRandom(seed); err != nil {
			return nil, gerr(ErrIO, "re-seeding the random generator: %v", err)
		}
	}
	out := map[string]interface{}{"machineId": false}
	if req.UnixMs != nil && *req.UnixMs > 0 {
		clock, err := a.timeSync(req)
		if err != nil {
			return nil, gerr(ErrIO, "setting the clock: %v", err)
		}
		out["adjustedMs"] = clock["adjustedMs"]
	}
	if req.Hostname != "" {
		// The kernel's hostname only on a real guest (tests run with a scratch root).
		// Unsynced here, synced once after the answer: a hand-out waits for none of it.
		if err := applyHostname(a.root, req.Hostname, live); err != nil {
			return nil, gerr(ErrIO, "setting the hostname: %v", err)
		}
	}
	if err := applyIdentityNICs(identityNet, req.Nics); err != nil {
		return nil, err
	}
	for _, u := range req.Users {
		if err := applyUser(a.root, u); err != nil {
			return nil, gerr(ErrIO, "user %s: %v", u.Name, err)
		}
	}
	if strict || req.RenewMachineID {
		wrote, err := renewMachineID(a.root)
		if err != nil {
			return nil, gerr(ErrIO, "machine-id: %v", err)
		}
		out["machineId"] = wrote
	}
	if req.Hostname != "" || req.Env != nil || req.Users != nil {
		cfg := GuestBootConfig{}
		if a.cfg != nil {
			cfg = *a.cfg
		}
		if req.Hostname != "" {
			cfg.Hostname = req.Hostname
		}
		if req.Env != nil {
			cfg.Env = req.Env
		}
		if req.Users != nil {
			cfg.Users = req.Users
		}
		// A new config value, never a change to the one running execs may be reading.
		a.cfg = &cfg
	}
	if req.Hostname != "" {
		log.Printf("took identity %s", req.Hostname)
		if live {
			go a.syncfs()
		}
	}
	return out, nil
}

func applyIdentityNICs(ops identityOps, nics []IdentityNIC) error {
	if len(nics) == 0 {
		return nil
	}
	links, err := ops.links()
	if err != nil {
		return gerr(ErrIO, "listing interfaces: %v", err)
	}
	for _, n := range nics {
		link := findLink(links, n)
		if link == nil {
			return gerr(ErrNotFound, "no interface has MAC %s", n.From)
		}
		var ip net.IP
		prefix := 0
		if n.Address != nil {
			addr, ipn, err := net.ParseCIDR(*n.Address)
			if err != nil || addr.To4() == nil {
				return gerr(ErrBadRequest, "address %q is not an IPv4 address/prefix", *n.Address)
			}
			ip = addr.To4()
			prefix, _ = ipn.Mask.Size()
		}
		if err := takeNIC(ops, *link, n, ip, prefix); err != nil {
			return gerr(ErrIO, "%s: %v", link.name, err)
		}
	}
	return nil
}

func findLink(links []netLink, n IdentityNIC) *netLink {
	for i := range links {
		if strings.EqualFold(links[i].mac, n.From) {
			return &links[i]
		}
	}
	for i := range links {
		if links[i].name == fmt.Sprintf("eth%d", n.Index) {
			return &links[i]
		}
	}
	return nil
}

func takeNIC(ops identityOps, link netLink, n IdentityNIC, ip net.IP, prefix int) error {
	have, err := ops.addrs(link.index)
	if err != nil {
		return err
	}
	sameMAC := strings.EqualFold(link.mac, n.MAC)
	if sameMAC && ip == nil {
		return nil // an in-place restore of a NIC without a static address keeps its lease
	}
	if sameMAC && ip != nil && len(have) == 1 && have[0].IP.Equal(ip) {
		ones, _ := have[0].Mask.Size()
		if ones == prefix {
			if n.Gateway != nil {
				return ops.replaceDefaultRoute(link.index, net.ParseIP(*n.Gateway))
			}
			return nil
		}
	}
	if !sameMAC {
		mac, err := net.ParseMAC(n.MAC)
		if err != nil {
			return fmt.Errorf("bad MAC %q", n.MAC)
		}
		if err := ops.setLinkUp(link.index, false); err != nil {
			return err
		}
		if err := ops.setMAC(link.index, mac); err != nil {
			return err
		}
	}
	for _, h := range have {
		ones, _ := h.Mask.Size()
		if err := ops.delAddr(link.index, h.IP, ones); err != nil {
			return err
		}
	}
	if err := ops.linkUp(link.index); err != nil {
		return err
	}
	if ip != nil {
		if err := ops.addAddr(link.index, ip, prefix); err != nil {
			return err
		}
	}
	if n.Gateway != nil {
		gw := net.ParseIP(*n.Gateway)
		if gw == nil {
			return fmt.Errorf("bad gateway %q", *n.Gateway)
		}
		return ops.replaceDefaultRoute(link.index, gw)
	}
	return nil
}
