package main

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
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

// renewMachineID writes a fresh id (from the generator just reseeded) unless the image has an
// empty /etc/machine-id, systemd's mark to make one itself at boot (it then mounts its own over
// the file, so the file is written in place, never replaced); true when it wrote one.
func renewMachineID(root string) (bool, error) {
	path := filepath.Join(root, "etc/machine-id")
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return false, err
	}
	if err == nil && strings.TrimSpace(string(b)) == "" {
		return false, nil
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return false, err
	}
	return true, os.WriteFile(path, []byte(hex.EncodeToString(id)+"\n"), 0o444)
}
