package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"log"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unsafe"
)

// ioctls of random(4): credit bytes to the input pool, and force the kernel's generator to reseed
// from it (a VM booted ahead of time, or restored from a snapshot, still runs on the generator
// state it had then; another VM from the same snapshot would read the same bytes).
const (
	rndAddEntropy = 0x40085203 // _IOW('R', 0x03, int[2])
	rndReseedCrng = 0x5207     // _IO('R', 0x07)
)

// personalize makes a VM booted ahead of time (a warm pool's) into the VM a user asked for: its
// name, env for later execs, users, the host's clock, fresh entropy and a new machine-id.
func (a *Agent) personalize(req *Request) (map[string]interface{}, error) {
	if req.UnixMs == nil || *req.UnixMs <= 0 {
		return nil, gerr(ErrBadRequest, "unixMs is required")
	}
	if !validHostname.MatchString(req.Hostname) {
		return nil, gerr(ErrBadRequest, "invalid hostname %q", req.Hostname)
	}
	seed, err := base64.StdEncoding.DecodeString(req.Entropy)
	if err != nil || len(seed) < 32 {
		return nil, gerr(ErrBadRequest, "entropy must be base64 of at least 32 bytes")
	}
	clock, err := a.timeSync(req)
	if err != nil {
		return nil, err
	}
	live := a.root == "/"
	if live {
		if err := reseedRandom(seed); err != nil {
			return nil, gerr(ErrIO, "re-seeding the random generator: %v", err)
		}
	}
	if err := applyHostname(a.root, req.Hostname, live); err != nil {
		return nil, gerr(ErrIO, "hostname: %v", err)
	}
	for _, u := range req.Users {
		if err := applyUser(a.root, u); err != nil {
			return nil, gerr(ErrIO, "user %s: %v", u.Name, err)
		}
	}
	machineID, err := renewMachineID(a.root)
	if err != nil {
		return nil, gerr(ErrIO, "machine-id: %v", err)
	}
	cfg := GuestBootConfig{}
	if a.cfg != nil {
		cfg = *a.cfg
	}
	cfg.Hostname = req.Hostname
	cfg.Env = req.Env
	if cfg.Env == nil {
		cfg.Env = map[string]string{}
	}
	cfg.Users = req.Users
	// A new config value, never a change to the one running execs may be reading.
	a.cfg = &cfg
	log.Printf("personalized as %s", req.Hostname)
	return map[string]interface{}{"adjustedMs": clock["adjustedMs"], "machineId": machineID}, nil
}

// reseedRandom credits the host's bytes to the input pool and makes the generator reseed now.
func reseedRandom(seed []byte) error {
	f, err := os.OpenFile("/dev/urandom", os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	// struct rand_pool_info { int entropy_count; int buf_size; __u32 buf[]; }
	buf := make([]byte, 8+len(seed))
	binary.LittleEndian.PutUint32(buf[0:], uint32(len(seed)*8))
	binary.LittleEndian.PutUint32(buf[4:], uint32(len(seed)))
	copy(buf[8:], seed)
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), rndAddEntropy, uintptr(unsafe.Pointer(&buf[0]))); e != 0 {
		return e
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), rndReseedCrng, 0); e != 0 {
		return e
	}
	return nil
}

// renewMachineID writes a fresh id when the image has a non-empty /etc/machine-id (an empty or
// missing one is left for systemd to fill at boot); true when it wrote one.
func renewMachineID(root string) (bool, error) {
	path := filepath.Join(root, "etc/machine-id")
	b, err := os.ReadFile(path)
	if err != nil || strings.TrimSpace(string(b)) == "" {
		return false, nil
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return false, err
	}
	return true, atomicWrite(path, []byte(hex.EncodeToString(id)+"\n"), 0o444)
}
