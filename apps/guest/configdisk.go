package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The per-boot configuration disk the host writes from scratch before every boot (no filesystem):
// "HEARTHC1", the JSON document's length as a big-endian uint32, the document, zero padding.
// QEMU attaches it read-only with the virtio serial "hearth-config"; Firecracker has no serials,
// so a read-only disk starting with the magic is taken there.
const (
	configDiskMagic  = "HEARTHC1"
	configDiskSerial = "hearth-config"
	configDiskMax    = 4 << 20
)

// findConfigDisk returns the device node of the config disk under root (sysfs and /dev), or "".
func findConfigDisk(root string) string {
	names, _ := filepath.Glob(filepath.Join(root, "sys/block/vd*"))
	sort.Strings(names)
	var readOnly []string
	for _, n := range names {
		dev := filepath.Join(root, "dev", filepath.Base(n))
		if s, err := os.ReadFile(filepath.Join(n, "serial")); err == nil && strings.TrimSpace(string(s)) == configDiskSerial {
			return dev
		}
		if ro, err := os.ReadFile(filepath.Join(n, "ro")); err == nil && strings.TrimSpace(string(ro)) == "1" {
			readOnly = append(readOnly, dev)
		}
	}
	for _, dev := range readOnly {
		if f, err := os.Open(dev); err == nil {
			head := make([]byte, len(configDiskMagic))
			_, err := io.ReadFull(f, head)
			f.Close()
			if err == nil && string(head) == configDiskMagic {
				return dev
			}
		}
	}
	return ""
}

// readConfigDisk parses the document on a config disk (device or image file).
func readConfigDisk(path string) (*GuestBootConfig, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, len(configDiskMagic)+4)
	if _, err := io.ReadFull(f, head); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !bytes.Equal(head[:len(configDiskMagic)], []byte(configDiskMagic)) {
		return nil, fmt.Errorf("%s is not a config disk", path)
	}
	n := binary.BigEndian.Uint32(head[len(configDiskMagic):])
	if n > configDiskMax {
		return nil, fmt.Errorf("%s: config document of %d bytes is over the limit", path, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var c GuestBootConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

// loadBootConfig finds this boot's configuration: the config disk, else the file images made
// by older hosts carry (explicit -config paths are read as given).
func loadBootConfig(root, path string, explicit bool) (*GuestBootConfig, error) {
	if explicit {
		return loadConfig(path)
	}
	if dev := findConfigDisk(root); dev != "" {
		return readConfigDisk(dev)
	}
	c, err := loadConfig(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errors.New("no config disk and no " + path)
	}
	return c, err
}
