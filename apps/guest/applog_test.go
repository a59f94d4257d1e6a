package main

import (
	"fmt"
	"strings"
	"testing"
)

func TestRingKeepsOrderAndReportsGaps(t *testing.T) {
	r := newLogRing(10 * (recordOverheadLen + 4))
	for i := 1; i <= 25; i++ {
		r.add("stdout", fmt.Sprintf("l%03d", i))
	}
	recs, gap, next, _ := r.since(1, 1<<20)
	if gap == nil || gap.From != 1 || gap.To != 15 {
		t.Fatalf("gap %+v", gap)
	}
	if len(recs) != 10 || recs[0].Seq != 16 || recs[0].Line != "l016" || recs[9].Seq != 25 || next != 26 {
		t.Fatalf("records %+v next %d", recs, next)
	}
	// Asking for what is held: no gap, exactly the rest.
	recs, gap, next, _ = r.since(20, 1<<20)
	if gap != nil || len(recs) != 6 || recs[0].Seq != 20 || next != 26 {
		t.Fatalf("since 20: %+v %+v %d", recs, gap, next)
	}
	// Caught up: nothing, and the channel fires at the next add.
	recs, _, _, ch := r.since(26, 1<<20)
	if len(recs) != 0 {
		t.Fatalf("caught up: %+v", recs)
	}
	r.add("stderr", "new")
	<-ch
	recs, _, _, _ = r.since(26, 1<<20)
	if len(recs) != 1 || recs[0].Stream != "stderr" || recs[0].T == "" {
		t.Fatalf("after add: %+v", recs)
	}
	// A byte-bounded batch still makes progress.
	recs, _, next, _ = r.since(20, 1)
	if len(recs) != 1 || next != 21 {
		t.Fatalf("batch: %d %d", len(recs), next)
	}
}

func TestLineWriterSplitsAndCutsLongLines(t *testing.T) {
	r := newLogRing(1 << 20)
	var console strings.Builder
	w := &lineWriter{ring: r, stream: "stderr", console: &console}
	long := strings.Repeat("x", maxLogLine+10)
	_, _ = w.Write([]byte("one\r\ntw"))
	_, _ = w.Write([]byte("o\n" + long + "\nend"))
	w.flush()
	recs, _, _, _ := r.since(1, 1<<20)
	var lines []string
	for _, rec := range recs {
		if rec.Stream != "stderr" {
			t.Fatalf("stream %q", rec.Stream)
		}
		lines = append(lines, rec.Line)
	}
	if len(lines) != 5 || lines[0] != "one" || lines[1] != "two" || len(lines[2]) != maxLogLine ||
		lines[3] != "xxxxxxxxxx" || lines[4] != "end" {
		t.Fatalf("lines %q", lines)
	}
	if console.String() != "one\r\ntwo\n"+long+"\nend" {
		t.Fatal("console copy differs")
	}
}

// A full ring keeps accepting lines with its memory bounded: the backing array is reused or
// reallocated to the live records, never kept growing with what was dropped.
func TestFullRingStaysBounded(t *testing.T) {
	r := newLogRing(100 * (recordOverheadLen + 4))
	for i := 0; i < 200000; i++ {
		r.add("stdout", "line")
	}
	recs, gap, next, _ := r.since(1, 1<<30)
	if len(recs) != 100 || gap == nil || gap.To != 199900 || recs[0].Seq != 199901 || next != 200001 {
		t.Fatalf("held %d from %d, gap %+v, next %d", len(recs), recs[0].Seq, gap, next)
	}
	if cap(r.recs) > 400 {
		t.Fatalf("the ring's array grew to %d records for 100 held", cap(r.recs))
	}
}
