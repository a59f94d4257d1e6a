package main

import "testing"

func TestParseIPArg(t *testing.T) {
	c := parseIPArg("console=ttyS0 hearth.ip=10.1.2.3/24,10.1.2.1,10.1.2.1 init=/usr/sbin/hearth-guest")
	if c == nil || c.addr.String() != "10.1.2.3" || c.prefix != 24 || c.gateway.String() != "10.1.2.1" || c.dns != "10.1.2.1" {
		t.Fatalf("%+v", c)
	}
	if c := parseIPArg("hearth.ip=10.0.0.9/16"); c == nil || c.gateway != nil || c.prefix != 16 {
		t.Fatalf("no gateway: %+v", c)
	}
	for _, bad := range []string{"", "hearth.ip=nonsense", "hearth.ip=fe80::1/64,,"} {
		if parseIPArg(bad) != nil {
			t.Fatalf("%q parsed", bad)
		}
	}
}
