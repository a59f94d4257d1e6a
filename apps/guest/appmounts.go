package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// The app's volumes: each is a virtio disk the host attached with a serial number; it is found
// by that serial under /sys/block and mounted (ext4) at its target before the app first starts.

type mounter interface {
	// device returns the block device whose serial is `serial`.
	device(serial string) (string, error)
	mount(dev, target string, readOnly bool) error
}

type sysMounter struct{ sys, dev string }

func (m sysMounter) device(serial string) (string, error) {
	entries, err := os.ReadDir(filepath.Join(m.sys, "block"))
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(m.sys, "block", e.Name(), "serial"))
		if err == nil && strings.TrimSpace(string(b)) == serial {
			return filepath.Join(m.dev, e.Name()), nil
		}
	}
	return "", fmt.Errorf("no disk with serial %q", serial)
}

func (m sysMounter) mount(dev, target string, readOnly bool) error {
	var flags uintptr = syscall.MS_NOATIME
	if readOnly {
		flags |= syscall.MS_RDONLY
	}
	return syscall.Mount(dev, target, "ext4", flags, "")
}

func mountAll(m mounter, mounts []AppMount) error {
	for _, mt := range mounts {
		dev, err := m.device(mt.Serial)
		if err != nil {
			return fmt.Errorf("volume %s at %s: %v", mt.Serial, mt.Target, err)
		}
		if err := os.MkdirAll(mt.Target, 0o755); err != nil {
			return fmt.Errorf("volume %s: creating %s: %v", mt.Serial, mt.Target, err)
		}
		if err := m.mount(dev, mt.Target, mt.ReadOnly); err != nil {
			return fmt.Errorf("volume %s: mounting %s at %s: %v", mt.Serial, dev, mt.Target, err)
		}
	}
	return nil
}
