package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

func configImage(t *testing.T, path, doc string) {
	t.Helper()
	b := make([]byte, 4096)
	copy(b, configDiskMagic)
	binary.BigEndian.PutUint32(b[8:], uint32(len(doc)))
	copy(b[12:], doc)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func fakeBlock(t *testing.T, root, name, serial, ro string) {
	t.Helper()
	dir := filepath.Join(root, "sys/block", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if serial != "" {
		_ = os.WriteFile(filepath.Join(dir, "serial"), []byte(serial+"\n"), 0o644)
	}
	_ = os.WriteFile(filepath.Join(dir, "ro"), []byte(ro+"\n"), 0o644)
	_ = os.MkdirAll(filepath.Join(root, "dev"), 0o755)
}

func TestConfigDiskFoundBySerialAndRead(t *testing.T) {
	root := t.TempDir()
	fakeBlock(t, root, "vda", "", "0")
	fakeBlock(t, root, "vdb", "vol_abc", "1")
	fakeBlock(t, root, "vdc", configDiskSerial, "1")
	_ = os.WriteFile(filepath.Join(root, "dev/vdb"), []byte("not a config disk"), 0o600)
	configImage(t, filepath.Join(root, "dev/vdc"), `{"secret":"s3","hostname":"h1","users":[],"env":{"A":"1"}}`)
	dev := findConfigDisk(root)
	if dev != filepath.Join(root, "dev/vdc") {
		t.Fatalf("found %q", dev)
	}
	c, err := loadBootConfig(root, filepath.Join(root, "etc/hearth/guest.json"), false)
	if err != nil || c.Secret != "s3" || c.Hostname != "h1" || c.Env["A"] != "1" {
		t.Fatalf("config %+v, %v", c, err)
	}
}

func TestConfigDiskFoundByMagicWithoutSerial(t *testing.T) {
	root := t.TempDir()
	fakeBlock(t, root, "vda", "", "0")
	fakeBlock(t, root, "vdb", "", "1")
	configImage(t, filepath.Join(root, "dev/vdb"), `{"secret":"fc","hostname":"h","users":[],"env":{}}`)
	if dev := findConfigDisk(root); dev != filepath.Join(root, "dev/vdb") {
		t.Fatalf("found %q", dev)
	}
}

func TestConfigDiskRejectsGarbage(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x")
	b := make([]byte, 4096)
	copy(b, configDiskMagic)
	binary.BigEndian.PutUint32(b[8:], 1<<30)
	_ = os.WriteFile(p, b, 0o600)
	if _, err := readConfigDisk(p); err == nil {
		t.Fatal("an oversized length was accepted")
	}
	_ = os.WriteFile(p, []byte("HEARTHC"), 0o600)
	if _, err := readConfigDisk(p); err == nil {
		t.Fatal("a short disk was accepted")
	}
	root := t.TempDir()
	if _, err := loadBootConfig(root, filepath.Join(root, "none.json"), false); err == nil {
		t.Fatal("no config was accepted")
	}
}
