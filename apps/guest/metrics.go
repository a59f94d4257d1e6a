package main

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type cpuSample struct{ idle, total uint64 }

// cpuState remembers the previous /proc/stat reading so cpuPercent covers the time between calls.
type cpuState struct {
	mu   sync.Mutex
	last *cpuSample
}

func readCPU() (cpuSample, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuSample{}, false
	}
	line := strings.SplitN(string(b), "\n", 2)[0]
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return cpuSample{}, false
	}
	var s cpuSample
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		if i >= 8 { // guest and guest_nice are already counted in user and nice
			break
		}
		s.total += n
		if i == 3 || i == 4 { // idle, iowait
			s.idle += n
		}
	}
	return s, true
}

func (c *cpuState) percent() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	prev := c.last
	if prev == nil {
		if s, ok := readCPU(); ok {
			prev = &s
		}
		time.Sleep(100 * time.Millisecond)
	}
	cur, ok := readCPU()
	if !ok || prev == nil {
		return 0
	}
	c.last = &cur
	dt := float64(cur.total - prev.total)
	if dt <= 0 {
		return 0
	}
	return 100 * (dt - float64(cur.idle-prev.idle)) / dt
}

func uptimeSec() float64 {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// kvFile reads "Key: value kB" files (/proc/meminfo, /proc/self/status) into bytes.
func kvFile(path string, keys ...string) map[string]uint64 {
	out := map[string]uint64{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		for _, want := range keys {
			if k == want {
				fs := strings.Fields(v)
				if len(fs) > 0 {
					n, _ := strconv.ParseUint(fs[0], 10, 64)
					if len(fs) > 1 && fs[1] == "kB" {
						n *= 1024
					}
					out[k] = n
				}
			}
		}
	}
	return out
}

func countProcs() int {
	ents, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err == nil && e.IsDir() {
			n++
		}
	}
	return n
}

func netStats() []NetMetrics {
	out := []NetMetrics{}
	b, err := os.ReadFile("/proc/net/dev")
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		f := strings.Fields(rest)
		if !ok || name == "lo" || len(f) < 9 {
			continue
		}
		rx, _ := strconv.ParseUint(f[0], 10, 64)
		tx, _ := strconv.ParseUint(f[8], 10, 64)
		out = append(out, NetMetrics{Name: name, RxBytes: rx, TxBytes: tx})
	}
	return out
}

// wholeDisk matches whole disks in /proc/diskstats (vda, sdb, nvme0n1), not their partitions,
// so that no byte is counted twice.
var wholeDisk = regexp.MustCompile(`^((vd|sd|xvd)[a-z]+|nvme[0-9]+n[0-9]+)$`)

// diskIO sums the sectors read and written (512 bytes each, whatever the device's block size)
// of the whole disks in /proc/diskstats text.
func diskIO(text string) (read, written uint64) {
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 10 || !wholeDisk.MatchString(f[2]) {
			continue
		}
		r, _ := strconv.ParseUint(f[5], 10, 64)
		w, _ := strconv.ParseUint(f[9], 10, 64)
		read += r * 512
		written += w * 512
	}
	return read, written
}

func (a *Agent) metrics() GuestMetrics {
	m := GuestMetrics{CPUPercent: a.cpu.percent(), Processes: countProcs(), UptimeSec: uptimeSec(),
		Network: netStats(), Disk: DiskMetrics{Path: "/"}}
	if b, err := os.ReadFile("/proc/diskstats"); err == nil {
		m.Disk.ReadBytes, m.Disk.WriteBytes = diskIO(string(b))
	}
	mem := kvFile("/proc/meminfo", "MemTotal", "MemAvailable")
	m.Memory = MemoryMetrics{TotalBytes: mem["MemTotal"], AvailableBytes: mem["MemAvailable"]}
	if m.Memory.TotalBytes > m.Memory.AvailableBytes {
		m.Memory.UsedBytes = m.Memory.TotalBytes - m.Memory.AvailableBytes
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		for i := 0; i < 3 && i < len(f); i++ {
			m.Load[i], _ = strconv.ParseFloat(f[i], 64)
		}
	}
	var sfs syscall.Statfs_t
	if syscall.Statfs("/", &sfs) == nil {
		bs := uint64(sfs.Bsize)
		m.Disk.TotalBytes = sfs.Blocks * bs
		m.Disk.UsedBytes = (sfs.Blocks - sfs.Bfree) * bs
	}
	m.AgentRssBytes = kvFile("/proc/self/status", "VmRSS")["VmRSS"]
	return m
}
