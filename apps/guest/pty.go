package main

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

const (
	ioctlTIOCSPTLCK = 0x40045431
	ioctlTIOCGPTN   = 0x80045430
	ioctlTIOCSWINSZ = 0x5414
)

type winsize struct{ rows, cols, xpix, ypix uint16 }

func ioctl(fd uintptr, req uintptr, arg unsafe.Pointer) error {
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(arg)); e != 0 {
		return e
	}
	return nil
}

// openPty returns a master (non-blocking, so read deadlines work) and the slave for the child.
// The raw fd is used for the ioctls because (*os.File).Fd would switch the master to blocking.
func openPty(cols, rows int) (master, slave *os.File, err error) {
	fd, err := syscall.Open("/dev/ptmx", syscall.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	var unlock int32
	var n uint32
	ws := winsize{rows: uint16(rows), cols: uint16(cols)}
	if err = ioctl(uintptr(fd), ioctlTIOCSPTLCK, unsafe.Pointer(&unlock)); err == nil {
		if err = ioctl(uintptr(fd), ioctlTIOCGPTN, unsafe.Pointer(&n)); err == nil {
			err = ioctl(uintptr(fd), ioctlTIOCSWINSZ, unsafe.Pointer(&ws))
		}
	}
	if err == nil {
		err = syscall.SetNonblock(fd, true)
	}
	if err != nil {
		syscall.Close(fd)
		return nil, nil, fmt.Errorf("ptmx ioctl: %w", err)
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

func setWinsize(master *os.File, cols, rows int) error {
	rc, err := master.SyscallConn()
	if err != nil {
		return err
	}
	ws := winsize{rows: uint16(rows), cols: uint16(cols)}
	var ierr error
	if err := rc.Control(func(fd uintptr) { ierr = ioctl(fd, ioctlTIOCSWINSZ, unsafe.Pointer(&ws)) }); err != nil {
		return err
	}
	return ierr
}
