package main

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// AF_VSOCK with raw syscalls: package syscall has no sockaddr for it, and syscall.Accept4 would
// refuse the unknown address family of the peer, so the address is built by hand and accept4 is
// called with no address buffer.

const (
	afVsock    = 40
	vmaddrCID  = 0xFFFFFFFF // VMADDR_CID_ANY
	vsockPort  = 1024
	sockaddrVM = 16
)

type rawSockaddrVM struct {
	family   uint16
	reserved uint16
	port     uint32
	cid      uint32
	zero     [4]uint8
}

type vsockListener struct{ fd int }

func listenVsock(port uint32) (*vsockListener, error) {
	fd, err := syscall.Socket(afVsock, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("vsock socket: %w", err)
	}
	sa := rawSockaddrVM{family: afVsock, port: port, cid: vmaddrCID}
	if _, _, e := syscall.RawSyscall(syscall.SYS_BIND, uintptr(fd), uintptr(unsafe.Pointer(&sa)), sockaddrVM); e != 0 {
		syscall.Close(fd)
		return nil, fmt.Errorf("vsock bind port %d: %w", port, e)
	}
	if err := syscall.Listen(fd, 8); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("vsock listen: %w", err)
	}
	return &vsockListener{fd: fd}, nil
}

// accept blocks (on its own OS thread) until the host connects.
func (l *vsockListener) accept() (*os.File, error) {
	for {
		nfd, _, e := syscall.Syscall6(syscall.SYS_ACCEPT4, uintptr(l.fd), 0, 0, syscall.SOCK_CLOEXEC, 0, 0)
		if e == syscall.EINTR || e == syscall.ECONNABORTED {
			continue
		}
		if e != 0 {
			return nil, fmt.Errorf("vsock accept: %w", e)
		}
		// Non-blocking so the runtime poller serves it and Close interrupts a pending Read.
		_ = syscall.SetNonblock(int(nfd), true)
		return os.NewFile(nfd, "vsock"), nil
	}
}
