package main

import (
	"encoding/json"
	"fmt"
)

// JSON payloads of guest-protocol.ts: field names exactly as the zod schemas (protocol_test.go
// compares them).

type Hello struct {
	Protocol int    `json:"protocol"`
	Secret   string `json:"secret"`
	// Features the host speaks (CreditFeature); absent from hosts that predate them.
	Features []string `json:"features,omitempty"`
}

type Welcome struct {
	Protocol     int      `json:"protocol"`
	AgentVersion string   `json:"agentVersion"`
	Hostname     string   `json:"hostname"`
	BootID       string   `json:"bootId"`
	Pid          int      `json:"pid"`
	UptimeSec    float64  `json:"uptimeSec"`
	Capabilities []string `json:"capabilities"`
}

type PtySize struct {
	Cols int `json:"cols"`
	Rows int `json:"rows"`
}

// Request is the union of every GuestRequest variant's fields.
type Request struct {
	Op        string            `json:"op"`
	Argv      []string          `json:"argv"`
	Command   *string           `json:"command"`
	Env       map[string]string `json:"env"`
	Cwd       string            `json:"cwd"`
	User      string            `json:"user"`
	Stdin     bool              `json:"stdin"`
	TimeoutMs int64             `json:"timeoutMs"`
	Pty       *PtySize          `json:"pty"`
	Tag       *string           `json:"tag"`
	ProcessID string            `json:"processId"`
	Replay    bool              `json:"replay"`
	Signal    string            `json:"signal"`
	Data      *string           `json:"data"`
	Path      string            `json:"path"`
	Depth     int               `json:"depth"`
	Parents   bool              `json:"parents"`
	From      string            `json:"from"`
	To        string            `json:"to"`
	Recursive bool              `json:"recursive"`
	Format    string            `json:"format"`
	Mode      *int64            `json:"mode"`
	MaxBytes  int64             `json:"maxBytes"`
	UnixMs    *float64          `json:"unixMs"`
	Reboot    bool              `json:"reboot"`
	// fs.write: the file's user metadata (FsMetaFeature)
	Meta map[string]string `json:"meta"`
	// identity (a restore, a pool's hand-out; also under its old name, personalize)
	Hostname       string        `json:"hostname"`
	Nics           []IdentityNIC `json:"nics"`
	Users          []BootUser    `json:"users"`
	Entropy        string        `json:"entropy"`
	RenewMachineID bool          `json:"renewMachineId"`
	// app.logs and app.control
	FromSeq   uint64 `json:"fromSeq"`
	FromEvent uint64 `json:"fromEvent"`
	Follow    bool   `json:"follow"`
	Action    string `json:"action"`
	// tcp.connect
	Host string `json:"host"`
	Port int    `json:"port"`
}

type GuestError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *GuestError) Error() string { return e.Code + ": " + e.Message }

func gerr(code, format string, a ...interface{}) *GuestError {
	return &GuestError{Code: code, Message: fmt.Sprintf(format, a...)}
}

type ExecExit struct {
	ExitCode   *int    `json:"exitCode"`
	Signal     *string `json:"signal"`
	TimedOut   bool    `json:"timedOut"`
	DurationMs int64   `json:"durationMs"`
}

type FileStat struct {
	Path       string `json:"path"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Size       int64  `json:"size"`
	Mode       uint32 `json:"mode"`
	Mtime      string `json:"mtime"`
	LinkTarget string `json:"linkTarget,omitempty"`
	// User metadata of a file or directory (FsMetaFeature), absent when it has none.
	Meta map[string]string `json:"meta,omitempty"`
}

type MemoryMetrics struct {
	TotalBytes     uint64 `json:"totalBytes"`
	AvailableBytes uint64 `json:"availableBytes"`
	UsedBytes      uint64 `json:"usedBytes"`
}

type DiskMetrics struct {
	Path       string `json:"path"`
	TotalBytes uint64 `json:"totalBytes"`
	UsedBytes  uint64 `json:"usedBytes"`
	// Bytes read from and written to the VM's disks since boot (all whole disks).
	ReadBytes  uint64 `json:"readBytes"`
	WriteBytes uint64 `json:"writeBytes"`
}

type NetMetrics struct {
	Name    string `json:"name"`
	RxBytes uint64 `json:"rxBytes"`
	TxBytes uint64 `json:"txBytes"`
}

type GuestMetrics struct {
	CPUPercent    float64       `json:"cpuPercent"`
	Memory        MemoryMetrics `json:"memory"`
	Load          [3]float64    `json:"load"`
	Processes     int           `json:"processes"`
	UptimeSec     float64       `json:"uptimeSec"`
	Disk          DiskMetrics   `json:"disk"`
	Network       []NetMetrics  `json:"network"`
	AgentRssBytes uint64        `json:"agentRssBytes"`
}

type GuestIP struct {
	Iface   string `json:"iface"`
	MAC     string `json:"mac,omitempty"` // how the host finds a DHCP NIC's address
	Address string `json:"address"`
	Prefix  int    `json:"prefix"`
}

type GuestInfo struct {
	Hostname     string    `json:"hostname"`
	IPs          []GuestIP `json:"ips"`
	AgentVersion string    `json:"agentVersion"`
	Kernel       string    `json:"kernel"`
	TimeMs       int64     `json:"timeMs"`
}

type GuestProcess struct {
	ProcessID string   `json:"processId"`
	Pid       int      `json:"pid"`
	Argv      []string `json:"argv"`
	Tag       *string  `json:"tag"`
	Pty       bool     `json:"pty"`
	StartedAt string   `json:"startedAt"`
	Running   bool     `json:"running"`
	ExitCode  *int     `json:"exitCode"`
	Signal    *string  `json:"signal"`
}

type BootUser struct {
	Name         string   `json:"name"`
	PasswordHash *string  `json:"passwordHash"`
	SSHKeys      []string `json:"sshKeys"`
}

type GuestBootConfig struct {
	Secret   string            `json:"secret"`
	Hostname string            `json:"hostname"`
	Users    []BootUser        `json:"users"`
	Env      map[string]string `json:"env"`
	App      *GuestApp         `json:"app,omitempty"`
	// cloud-init user data from the API, handed to cloud-init as the NoCloud seed's user-data.
	UserData string `json:"userData,omitempty"`
}

// resultOK merges extra fields into {ok:true}.
func resultOK(fields map[string]interface{}) []byte {
	m := map[string]interface{}{"ok": true}
	for k, v := range fields {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return b
}

func resultErr(e *GuestError) []byte {
	b, _ := json.Marshal(map[string]interface{}{"ok": false, "error": e})
	return b
}
