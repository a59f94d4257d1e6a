package main

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Whatever the agent itself was started with (a background job ignores SIGINT and SIGQUIT), the
// commands it runs start with the default dispositions, so a signal sent to them acts.
func TestChildrenStartWithDefaultSignals(t *testing.T) {
	c := dial(t, testAgent(t)).login()
	r := c.mustOK(map[string]interface{}{"op": "exec", "argv": []string{"grep", "SigIgn", "/proc/self/status"}})
	fields := strings.Fields(string(r.stdout))
	if len(fields) != 2 {
		t.Fatalf("no SigIgn line: %q", r.stdout)
	}
	mask, err := strconv.ParseUint(fields[1], 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGPIPE} {
		if mask&(1<<(uint(s)-1)) != 0 {
			t.Errorf("the command started with %v ignored (SigIgn %s)", s, fields[1])
		}
	}
}
