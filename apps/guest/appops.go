package main

import (
	"os"
	"reflect"
	"syscall"
)

// The app ops: app.status, app.logs (records from a sequence number, optionally following, with
// status events) and app.control. An agent without an app answers NOT_FOUND.

// logBatchBytes bounds the records in one EVENT frame.
const logBatchBytes = 64 * 1024

// startApp supervises the configured app; its output goes to the serial console too unless the
// app's `console` is false.
func startApp(app *GuestApp) *appSupervisor {
	var out *os.File = os.Stdout
	if f, err := os.OpenFile("/dev/console", os.O_WRONLY|syscall.O_NOCTTY, 0); err == nil {
		out = f
	}
	s := newAppSupervisor("/", app, newLossyWriter(out, 256*1024))
	go s.run()
	return s
}

func (a *Agent) appOrFail(st *stream) *appSupervisor {
	if a.app == nil {
		st.fail(gerr(ErrNotFound, "this VM has no app (it boots an init, or its image has no command)"))
	}
	return a.app
}

func (a *Agent) opAppStatus(st *stream) {
	if s := a.appOrFail(st); s != nil {
		status, _, _ := s.status(^uint64(0))
		st.ok(map[string]interface{}{"status": status})
	}
}

func (a *Agent) opAppControl(st *stream, req *Request) {
	s := a.appOrFail(st)
	if s == nil {
		return
	}
	if err := s.control(req.Action, req.Signal); err != nil {
		st.fail(fsErr(err))
		return
	}
	status, _, _ := s.status(^uint64(0))
	st.ok(map[string]interface{}{"status": status})
}

// opAppLogs sends EVENT frames: {"type":"status","status":…,"events":[…],"eventSeq":n} first and at every
// change (follow only), {"type":"gap","from":…,"to":…} for records no longer held, and
// {"type":"logs","records":[…]}. Without follow it ends with the RESULT {"nextSeq"} once it sent
// what the ring holds; with follow it ends when the host sends CONTROL cancel or leaves.
func (a *Agent) opAppLogs(st *stream, req *Request) {
	s := a.appOrFail(st)
	if s == nil {
		return
	}
	next := req.FromSeq
	if next < 1 {
		next = 1
	}
	// Events (human messages) after the host's last one; it passes 0 on a boot it has not seen.
	lastEvt := req.FromEvent
	// A change of state without a message (running again after a restart's back-off, a health
	// result) must reach the host too, so the last status sent is compared, not only the events.
	var sent *AppStatus
	for {
		var statusCh <-chan struct{}
		if req.Follow {
			status, evs, ch := s.status(lastEvt)
			statusCh = ch
			if sent == nil || len(evs) > 0 || !reflect.DeepEqual(*sent, status) {
				msgs := []string{}
				for _, e := range evs {
					msgs = append(msgs, e.msg)
					lastEvt = e.n
				}
				ev := map[string]interface{}{"type": "status", "status": status, "events": msgs, "eventSeq": lastEvt}
				if st.event(ev) != nil {
					return
				}
				sent = &status
			}
		}
		recs, gap, nextSeq, ringCh := s.ring.since(next, logBatchBytes)
		if gap != nil {
			if st.event(map[string]interface{}{"type": "gap", "from": gap.From, "to": gap.To}) != nil {
				return
			}
		}
		if len(recs) > 0 {
			if st.event(map[string]interface{}{"type": "logs", "records": recs}) != nil {
				return
			}
			next = nextSeq
			continue
		}
		next = nextSeq
		if !req.Follow {
			st.ok(map[string]interface{}{"nextSeq": next})
			return
		}
		select {
		case <-ringCh:
		case <-statusCh:
		case <-st.in.ctlSig:
			if st.cancelled() {
				st.ok(map[string]interface{}{"nextSeq": next})
				return
			}
		case <-st.closed:
			return
		case <-st.s.done:
			return
		}
	}
}
