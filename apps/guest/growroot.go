package main

import (
	"bufio"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// EXT4_IOC_RESIZE_FS: _IOW('f', 16, __u64).
const ext4IocResizeFs = 0x40086610

// growRoot grows the mounted ext4 root to fill its block device when the host made the disk
// bigger than the image (the host never runs resize2fs on a VM's disk). The kernel resizes online;
// a filesystem that already fills the device is left as it is.
func growRoot(root string) {
	dev, err := rootDevice(root)
	if err != nil {
		log.Printf("grow root: %v", err)
		return
	}
	b, err := os.ReadFile(filepath.Join(root, "sys/dev/block", dev, "size"))
	if err != nil {
		log.Printf("grow root: size of %s: %v", dev, err)
		return
	}
	sectors, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(root, &st); err != nil || st.Type != 0xEF53 || st.Bsize <= 0 {
		return // not ext2/3/4
	}
	blocks := sectors * 512 / uint64(st.Bsize)
	if err := resizeFs(root, blocks); err != nil {
		log.Printf("grow root to %d blocks: %v", blocks, err)
	}
}

func resizeFs(mountpoint string, blocks uint64) error {
	f, err := os.Open(mountpoint)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), ext4IocResizeFs, uintptr(unsafe.Pointer(&blocks))); e != 0 {
		return e
	}
	return nil
}

// rootDevice is the "major:minor" of the filesystem mounted on /, from mountinfo.
func rootDevice(root string) (string, error) {
	f, err := os.Open(filepath.Join(root, "proc/self/mountinfo"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	found := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && fields[4] == "/" {
			found = fields[2] // the last mount on / wins
		}
	}
	if found == "" {
		return "", fmt.Errorf("no root mount in mountinfo")
	}
	return found, nil
}
