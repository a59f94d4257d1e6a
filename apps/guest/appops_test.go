package main

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// The app ops over the protocol: status, logs from a sequence number with a gap marker for what
// the ring dropped, a follow that sends new records and status events and ends at cancel, control.
func TestAppOpsOverTheProtocol(t *testing.T) {
	a := testAgent(t)
	c := dial(t, a).login()
	if r := c.do(map[string]interface{}{"op": OpAppStatus}); r.code() != ErrNotFound {
		t.Fatalf("no app: %v", r.result)
	}
	var sl sleepLog
	s := testSupervisor(t, &GuestApp{Argv: []string{"sh", "-c", "echo ready; while :; do sleep 1; done"}, Restart: "no"}, &sl)
	s.ring = newLogRing(5 * (recordOverheadLen + 8))
	a.app = s
	go s.run()
	waitLine(t, s, "ready")
	// The app can print before its supervisor records it as running.
	waitFor(t, s, func(st AppStatus) bool { return st.State == "running" })
	for i := 1; i <= 7; i++ {
		s.ring.add("stderr", fmt.Sprintf("err %d", i))
	}
	// Eight records, the ring holds the last five (4..8).
	r := c.mustOK(map[string]interface{}{"op": OpAppLogs, "fromSeq": 2})
	if len(r.events) != 2 || r.events[0]["type"] != "gap" || r.events[0]["from"] != 2.0 || r.events[0]["to"] != 3.0 {
		t.Fatalf("events %v", r.events)
	}
	recs := r.events[1]["records"].([]interface{})
	first := recs[0].(map[string]interface{})
	if len(recs) != 5 || first["s"] != 4.0 || first["o"] != "stderr" || first["l"] != "err 3" || r.result["nextSeq"] != 9.0 {
		t.Fatalf("records %v result %v", recs, r.result)
	}

	// Follow from 9: the status first, then a new record, then a stop's status event.
	id := c.start(map[string]interface{}{"op": OpAppLogs, "fromSeq": 9, "follow": true})
	next := func() map[string]interface{} {
		for {
			f, ok := c.recv(id, 30*time.Second)
			if !ok {
				t.Fatal("no frame")
			}
			if f.Type == FrameEvent {
				var m map[string]interface{}
				_ = json.Unmarshal(f.Payload, &m)
				return m
			}
			if f.Type == FrameResult {
				t.Fatalf("result too early: %s", f.Payload)
			}
		}
	}
	if ev := next(); ev["type"] != "status" || ev["status"].(map[string]interface{})["state"] != "running" {
		t.Fatalf("first event %v", ev)
	}
	s.ring.add("stdout", "later")
	if ev := next(); ev["type"] != "logs" || ev["records"].([]interface{})[0].(map[string]interface{})["s"] != 9.0 {
		t.Fatalf("new record %v", ev)
	}
	ctl := c.mustOK(map[string]interface{}{"op": OpAppControl, "action": "stop"})
	if ctl.result["status"].(map[string]interface{})["state"] != "stopped" {
		t.Fatalf("stop: %v", ctl.result)
	}
	for {
		ev := next()
		if ev["type"] != "status" {
			continue
		}
		if evs := ev["events"].([]interface{}); len(evs) > 0 && evs[len(evs)-1] == "stopped" {
			break
		}
	}
	// A change without a message (as when a restarted app runs again) is sent as well.
	s.update("", func(st *AppStatus) { st.State = "running" })
	for {
		ev := next()
		if ev["type"] == "status" && ev["status"].(map[string]interface{})["state"] == "running" {
			if evs := ev["events"].([]interface{}); len(evs) != 0 {
				t.Fatalf("a change without a message carries events %v", evs)
			}
			break
		}
	}
	c.sendJSON(id, FrameControl, map[string]string{"type": "cancel"})
	if res := c.wait(id, 30*time.Second); res.result["ok"] != true {
		t.Fatalf("cancel: %v", res.result)
	}
	if r := c.do(map[string]interface{}{"op": OpAppControl, "action": "jump"}); r.code() != ErrBadRequest {
		t.Fatalf("bad action: %v", r.result)
	}
}
