package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type fakeMount struct {
	sysMounter
	done []string
}

func (f *fakeMount) mount(dev, target string, ro bool) error {
	f.done = append(f.done, dev+" "+target+" "+map[bool]string{true: "ro", false: "rw"}[ro])
	return nil
}

func TestMountsFindDisksBySerial(t *testing.T) {
	sys := t.TempDir()
	for name, serial := range map[string]string{"vda": "root", "vdb": "vol-data", "vdc": "vol-conf"} {
		_ = os.MkdirAll(filepath.Join(sys, "block", name), 0o755)
		_ = os.WriteFile(filepath.Join(sys, "block", name, "serial"), []byte(serial+"\n"), 0o644)
	}
	_ = os.MkdirAll(filepath.Join(sys, "block", "loop0"), 0o755) // no serial file
	root := t.TempDir()
	m := &fakeMount{sysMounter: sysMounter{sys: sys, dev: "/dev"}}
	err := mountAll(m, []AppMount{
		{Serial: "vol-data", Target: filepath.Join(root, "var/lib/data")},
		{Serial: "vol-conf", Target: filepath.Join(root, "etc/conf"), ReadOnly: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "/dev/vdb " + root + "/var/lib/data rw|/dev/vdc " + root + "/etc/conf ro"
	if strings.Join(m.done, "|") != want {
		t.Fatalf("mounts %q", m.done)
	}
	if fi, err := os.Stat(filepath.Join(root, "var/lib/data")); err != nil || !fi.IsDir() {
		t.Fatal("target not created")
	}
	// A serial no disk has: the app does not start, its state says why.
	var sl sleepLog
	s := testSupervisor(t, &GuestApp{Argv: []string{"true"}, Restart: "always",
		Mounts: []AppMount{{Serial: "vol-missing", Target: filepath.Join(root, "x")}}}, &sl)
	s.mounts = m
	s.run() // returns: nothing to supervise
	st, _, _ := s.status(^uint64(0))
	if st.State != "failed" || !strings.Contains(*st.Reason, `no disk with serial "vol-missing"`) || st.Pid != nil {
		t.Fatalf("%+v", st)
	}
}
