// Command hearth-extents prints where a file holds data, as the kernel reports it through
// lseek(SEEK_DATA) and lseek(SEEK_HOLE): first "size N", then one "OFFSET LENGTH" line per data
// extent. Holes are left out. A page written with zeros is data, not a hole: only what was never
// written is a hole, which is what a Firecracker diff memory file relies on (Node.js has no
// SEEK_DATA, so the Firecracker driver runs this to merge diff snapshots onto their base).
package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"syscall"
)

// Linux whence values; the syscall package names neither.
const (
	seekData = 3
	seekHole = 4
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: hearth-extents FILE")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "hearth-extents:", err)
		os.Exit(1)
	}
}

func run(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	fd := int(f.Fd())
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(out, "size %d\n", size)
	for off := int64(0); off < size; {
		data, err := syscall.Seek(fd, off, seekData)
		if errors.Is(err, syscall.ENXIO) {
			break // no data after off
		}
		if err != nil {
			return fmt.Errorf("SEEK_DATA at %d: %w", off, err)
		}
		hole, err := syscall.Seek(fd, data, seekHole)
		if err != nil {
			return fmt.Errorf("SEEK_HOLE at %d: %w", data, err)
		}
		fmt.Fprintf(out, "%d %d\n", data, hole-data)
		off = hole
	}
	return out.Flush()
}
