package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const virtioPortName = "org.hearth.agent"

// serve picks the transport: -listen unix:PATH, else the virtio-serial port, else vsock. Neither
// may exist yet when the agent starts (modules load late), so it keeps looking every second.
func (a *Agent) serve(listen string) error {
	if listen != "" {
		path := strings.TrimPrefix(listen, "unix:")
		if path == listen || path == "" {
			return fmt.Errorf("-listen wants unix:/path, got %q", listen)
		}
		_ = os.Remove(path)
		ln, err := net.Listen("unix", path)
		if err != nil {
			return err
		}
		announce("unix:" + path)
		return a.acceptLoop(func() (io.ReadWriteCloser, error) { return ln.Accept() })
	}
	vsockUp, waiting := false, false
	for {
		dev, err := findVirtioPort("/sys/class/virtio-ports")
		if err == nil && dev != "" {
			f, err := os.OpenFile(dev, os.O_RDWR, 0)
			if err == nil {
				announce("virtio-serial:" + dev)
				a.serveLink(f, true) // returns only if the port itself breaks
				f.Close()
			}
			log.Printf("virtio-serial %s: %v", dev, err)
		}
		// vsock may come up first (or be a loopback-only transport), so the port scan goes on.
		if !vsockUp {
			if ln, err := listenVsock(vsockPort); err == nil {
				vsockUp = true
				announce(fmt.Sprintf("vsock:%d", vsockPort))
				go func() {
					log.Printf("vsock: %v", a.acceptLoop(func() (io.ReadWriteCloser, error) { return ln.accept() }))
				}()
			} else if !waiting {
				log.Printf("no virtio-serial port %s and no vsock (%v); retrying every second", virtioPortName, err)
				waiting = true
			}
		}
		time.Sleep(time.Second)
	}
}

// acceptLoop serves one connection at a time; a new connection replaces the current one, since
// the host only ever keeps one and an old one may be half-dead.
func (a *Agent) acceptLoop(accept func() (io.ReadWriteCloser, error)) error {
	var mu sync.Mutex
	var cur io.Closer
	for {
		c, err := accept()
		if err != nil {
			return err
		}
		mu.Lock()
		if cur != nil {
			cur.Close()
		}
		cur = c
		mu.Unlock()
		go func() {
			a.serveLink(c, false)
			c.Close()
		}()
	}
}

// findVirtioPort returns /dev/<port> for the port named org.hearth.agent, creating the device
// node from sysfs when no devtmpfs/udev made it.
func findVirtioPort(sysDir string) (string, error) {
	names, _ := filepath.Glob(filepath.Join(sysDir, "*", "name"))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil || strings.TrimSpace(string(b)) != virtioPortName {
			continue
		}
		port := filepath.Base(filepath.Dir(n))
		dev := "/dev/" + port
		if _, err := os.Stat(dev); err == nil {
			return dev, nil
		}
		mm, err := os.ReadFile(filepath.Join(filepath.Dir(n), "dev"))
		if err != nil {
			return "", err
		}
		maj, min, ok := strings.Cut(strings.TrimSpace(string(mm)), ":")
		ma, err1 := strconv.Atoi(maj)
		mi, err2 := strconv.Atoi(min)
		if !ok || err1 != nil || err2 != nil {
			return "", fmt.Errorf("bad device number %q", mm)
		}
		if err := syscall.Mknod(dev, syscall.S_IFCHR|0o600, mkdev(ma, mi)); err != nil {
			return "", err
		}
		return dev, nil
	}
	return "", nil
}

// mkdev encodes a Linux dev_t the way glibc's makedev does.
func mkdev(major, minor int) int {
	return (minor & 0xff) | ((major & 0xfff) << 8) | ((minor &^ 0xff) << 12) | ((major &^ 0xfff) << 32)
}
