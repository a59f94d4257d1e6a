package main

import "testing"

// Whole disks only: a partition's sectors are already in its disk's line.
func TestDiskIOSumsWholeDisks(t *testing.T) {
	text := `   7       0 loop0 10 0 80 1 0 0 0 0 0 4 1 0 0 0 0 0 0
 254       0 vda 1200 30 24000 500 300 10 8000 200 0 700 700 0 0 0 0 0 0
 254       1 vda1 1000 30 20000 400 300 10 8000 200 0 600 600 0 0 0 0 0 0
 254      16 vdb 10 0 100 5 20 0 400 10 0 15 15 0 0 0 0 0 0
 259       0 nvme0n1 5 0 10 1 1 0 2 1 0 2 2 0 0 0 0 0 0
 259       1 nvme0n1p1 5 0 10 1 1 0 2 1 0 2 2 0 0 0 0 0 0
`
	r, w := diskIO(text)
	if r != (24000+100+10)*512 || w != (8000+400+2)*512 {
		t.Fatalf("read %d written %d", r, w)
	}
}
