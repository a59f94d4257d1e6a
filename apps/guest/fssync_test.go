package main

import "testing"

// fs.sync runs sync(2) before it answers, and the WELCOME says the agent serves it.
func TestFsSync(t *testing.T) {
	a := testAgent(t)
	synced := 0
	a.syncfs = func() { synced++ }
	c := dial(t, a).login()
	if !contains(Capabilities, FsSyncFeature) {
		t.Fatalf("capabilities lack %q: %v", FsSyncFeature, Capabilities)
	}
	r := c.mustOK(map[string]interface{}{"op": "fs.sync"}).result
	if synced != 1 {
		t.Fatalf("sync ran %d times before the RESULT, want 1", synced)
	}
	if _, ok := r["tookMs"].(float64); !ok {
		t.Fatalf("fs.sync result: %v", r)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
