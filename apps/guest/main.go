// hearth-guest is the agent inside every Hearth VM: it authenticates the host over a virtio-serial
// port or vsock and runs commands, moves files and reports metrics for it.
package main

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

var version = "dev" // set by build.sh with -X main.version

type Agent struct {
	cfg    *GuestBootConfig
	cfgErr string // why every HELLO is refused when cfg is nil
	root   string // filesystem root for /etc lookups: "/" except in tests
	procs  *procTable
	app    *appSupervisor // the image's own process when the agent is PID 1, else nil
	cpu    cpuState
	// How long the link reader waits for a stream's consumer that is stdinQueueBytes behind.
	stdinStall time.Duration
	// Side effects on the whole machine, replaceable so tests never touch the host's clock/power.
	settime  func(tv *syscall.Timeval) error
	poweroff func(reboot bool)
	syncfs   func()
	warm     *warmer // a process start after the first session opens (warmup.go)
}

func newAgent(cfg *GuestBootConfig, root string) *Agent {
	return &Agent{cfg: cfg, root: root, procs: newProcTable(), stdinStall: defaultStdinStall,
		settime: syscall.Settimeofday, poweroff: powerOff, syncfs: syscall.Sync, warm: newWarmer()}
}

func main() {
	if isDHCPScript() {
		os.Exit(runDHCPScript())
	}
	log.SetFlags(0)
	log.SetPrefix("hearth-guest: ")
	showVersion := flag.Bool("version", false, "print the version and exit")
	listen := flag.String("listen", "", "unix:/path — serve on a Unix socket (development and tests)")
	config := flag.String("config", configPath, "boot config file")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}
	explicitConfig := false
	flag.Visit(func(f *flag.Flag) { explicitConfig = explicitConfig || f.Name == "config" })
	if *listen == "" {
		// The host times the boot by this line (kernel vs agent setup); one short line per start.
		if f, err := os.OpenFile("/dev/console", os.O_WRONLY|syscall.O_NOCTTY, 0); err == nil {
			fmt.Fprintf(f, "hearth-guest: agent up (%.2fs)\n", uptimeSec())
			f.Close()
		}
	}
	if os.Getpid() == 1 {
		setupPid1()
	}
	// The config disk is read while the NICs are set up: the read waits on the VMM's block
	// device, the NICs on netlink, and both sit on the boot path.
	type loaded struct {
		cfg *GuestBootConfig
		err error
	}
	cfgDone := make(chan loaded, 1)
	go func() {
		cfg, err := loadBootConfig("/", *config, explicitConfig)
		cfgDone <- loaded{cfg, err}
	}()
	if os.Getpid() != 1 && *listen == "" {
		// Under an init, which may have set up eth0 from hearth.ip; the other NICs are ours. With
		// -listen this is a development host, whose network is none of our business.
		setupNetwork("/")
	}
	l := <-cfgDone
	cfg, err := l.cfg, l.err
	a := newAgent(cfg, "/")
	if err != nil {
		a.cfgErr = err.Error()
		log.Printf("no usable boot config, every session will be refused: %v", err)
	} else {
		applySetup("/", cfg, true)
		// Only as PID 1: an agent respawned by an init must not start a second copy of the app.
		if cfg.App != nil && os.Getpid() == 1 {
			a.app = startApp(cfg.App)
		}
	}
	notifyReady()
	if *listen == "" {
		// After the setup's own writes, at the lowest priority: the session comes first.
		go growRoot("/")
	}
	if err := a.serve(*listen); err != nil {
		log.Fatal(err)
	}
}

// kmsgWriter sends log lines to the kernel log at info level: `dmesg` shows them, while the
// serial console (where a user may be logging in) stays quiet under the usual `quiet` cmdline.
type kmsgWriter struct{ f *os.File }

func (k kmsgWriter) Write(b []byte) (int, error) {
	if _, err := k.f.Write(append([]byte("<6>"), b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// announce records that the agent came up. Inside a VM, logging moves to the kernel log from here
// on; a Unix socket means development or tests on a real host, whose kernel log is none of our business.
func announce(transport string) {
	if !strings.HasPrefix(transport, "unix:") {
		if f, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0); err == nil {
			log.SetOutput(kmsgWriter{f})
		}
	}
	log.Printf("agent %s listening on %s", version, transport)
}

func (a *Agent) dispatch(st *stream, req *Request) {
	defer func() {
		if r := recover(); r != nil {
			log.Printf("op %s panicked: %v", req.Op, r)
			st.fail(gerr(ErrInternal, "%v", r))
		}
	}()
	var res map[string]interface{}
	var err error
	switch req.Op {
	case OpExec:
		a.opExec(st, req)
		return
	case OpAttach:
		a.opAttach(st, req)
		return
	case OpFsRead:
		opRead(st, req)
		return
	case OpAppStatus:
		a.opAppStatus(st)
		return
	case OpAppLogs:
		a.opAppLogs(st, req)
		return
	case OpAppControl:
		a.opAppControl(st, req)
		return
	case OpFsWrite:
		opWrite(st, req)
		return
	case OpTCPConnect:
		a.opTCP(st, req)
		return
	case OpFsWatch:
		opFsWatch(st, req)
		return
	case OpPs:
		list := []GuestProcess{}
		for _, p := range a.procs.list() {
			list = append(list, p.info())
		}
		res = map[string]interface{}{"processes": list}
	case OpSignal, OpWriteStdin, OpCloseStdin:
		err = a.opProcess(req)
	case OpFsStat:
		res, err = opStat(req)
	case OpFsList:
		res, err = opList(req)
	case OpFsMkdir:
		res, err = opMkdir(req)
	case OpFsMove:
		res, err = opMove(req)
	case OpFsRemove:
		res, err = opRemove(req)
	case OpMetrics:
		b, _ := json.Marshal(a.metrics())
		_ = json.Unmarshal(b, &res)
	case OpInfo:
		b, _ := json.Marshal(a.info())
		_ = json.Unmarshal(b, &res)
	case OpTimeSync:
		res, err = a.timeSync(req)
	case OpFsSync:
		// sync(2) returns once the dirty pages are written: a VMM killed after this RESULT loses
		// nothing the guest's processes had written before the request.
		t0 := time.Now()
		a.syncfs()
		res = map[string]interface{}{"tookMs": time.Since(t0).Milliseconds()}
	case OpShutdown:
		st.ok(nil)
		// The RESULT must reach the host before the machine goes away.
		time.Sleep(300 * time.Millisecond)
		go a.poweroff(req.Reboot)
		return
	case OpIdentity, OpPersonalize:
		res, err = a.opIdentity(req)
	case OpHealth:
		res = map[string]interface{}{"uptimeSec": uptimeSec(), "processes": a.procs.running()}
	default:
		err = gerr(ErrUnknownOp, "unknown op %q", req.Op)
	}
	if err != nil {
		st.fail(fsErr(err))
		return
	}
	st.ok(res)
}

func (a *Agent) findProc(id string) (*process, error) {
	if id == "" {
		return nil, gerr(ErrBadRequest, "processId is required")
	}
	if p := a.procs.get(id); p != nil {
		return p, nil
	}
	return nil, gerr(ErrProcessNotFound, "no process %q", id)
}

func (a *Agent) opProcess(req *Request) error {
	p, err := a.findProc(req.ProcessID)
	if err != nil {
		return err
	}
	switch req.Op {
	case OpSignal:
		sig, ok := parseSignal(req.Signal)
		if !ok {
			return gerr(ErrBadRequest, "unknown signal %q", req.Signal)
		}
		return p.signal(sig)
	case OpWriteStdin:
		if req.Data == nil {
			return gerr(ErrBadRequest, "data is required")
		}
		b, err := base64.StdEncoding.DecodeString(*req.Data)
		if err != nil {
			return gerr(ErrBadRequest, "data is not base64: %v", err)
		}
		return p.writeStdin(b)
	default:
		return p.closeStdin()
	}
}

func (a *Agent) opAttach(st *stream, req *Request) {
	p, err := a.findProc(req.ProcessID)
	if err != nil {
		st.fail(fsErr(err))
		return
	}
	go p.consume(st, true)
	p.attach(st, req.Replay)
}

func (a *Agent) info() GuestInfo {
	host, _ := os.Hostname()
	info := GuestInfo{Hostname: host, IPs: []GuestIP{}, AgentVersion: version, TimeMs: time.Now().UnixMilli()}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		b := make([]byte, 0, len(u.Release))
		for _, c := range u.Release {
			if c == 0 {
				break
			}
			b = append(b, byte(c))
		}
		info.Kernel = string(b)
	}
	ifaces, _ := net.Interfaces()
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, ad := range addrs {
			if ipn, ok := ad.(*net.IPNet); ok {
				ones, _ := ipn.Mask.Size()
				info.IPs = append(info.IPs, GuestIP{Iface: ifc.Name, MAC: ifc.HardwareAddr.String(),
					Address: ipn.IP.String(), Prefix: ones})
			}
		}
	}
	return info
}

func (a *Agent) timeSync(req *Request) (map[string]interface{}, error) {
	if req.UnixMs == nil || *req.UnixMs <= 0 {
		return nil, gerr(ErrBadRequest, "unixMs is required")
	}
	target := int64(*req.UnixMs)
	adjusted := target - time.Now().UnixMilli()
	tv := syscall.NsecToTimeval(target * int64(time.Millisecond))
	if err := a.settime(&tv); err != nil {
		return nil, err
	}
	return map[string]interface{}{"adjustedMs": adjusted}, nil
}
