package main

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// The app's output, line by line, for the host: each line of stdout and stderr becomes a record
// with a timestamp and a sequence number (1, 2, … per boot) in a ring bounded in bytes. The host
// follows the ring from a sequence number; when it asks for records the ring dropped already it
// gets a gap marker saying which, never a silent hole.

const (
	// maxLogLine cuts longer lines: the rest continues as a new record.
	maxLogLine = 16 * 1024
	// defaultRingBytes bounds the ring (line bytes plus a per-record overhead).
	defaultRingBytes  = 4 << 20
	recordOverheadLen = 64
)

// logRecord is one line of output. T is the time it was read (RFC 3339, nanoseconds).
type logRecord struct {
	Seq    uint64 `json:"s"`
	T      string `json:"t"`
	Stream string `json:"o"` // "stdout" or "stderr"
	Line   string `json:"l"`
}

type logRing struct {
	mu      sync.Mutex
	recs    []logRecord // oldest first
	bytes   int
	max     int
	next    uint64 // the sequence number of the next record
	changed chan struct{}
	now     func() time.Time
}

func newLogRing(max int) *logRing {
	return &logRing{max: max, next: 1, changed: make(chan struct{}), now: time.Now}
}

func recordSize(r *logRecord) int { return len(r.Line) + recordOverheadLen }

func (r *logRing) add(stream, line string) {
	r.mu.Lock()
	rec := logRecord{Seq: r.next, T: r.now().UTC().Format(time.RFC3339Nano), Stream: stream, Line: line}
	r.next++
	r.recs = append(r.recs, rec)
	r.bytes += recordSize(&rec)
	drop := 0
	for r.bytes > r.max && drop < len(r.recs)-1 {
		r.bytes -= recordSize(&r.recs[drop])
		drop++
	}
	if drop > 0 {
		// Reslice rather than copy: a full ring drops a record at nearly every add, and copying
		// the whole ring each time made a chatty app wait milliseconds per line. The dropped
		// records are cleared so that their lines can be freed before the next reallocation.
		for i := 0; i < drop; i++ {
			r.recs[i] = logRecord{}
		}
		r.recs = r.recs[drop:]
	}
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// logGap says that records From..To (inclusive) were asked for but are no longer held.
type logGap struct {
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
}

// since returns up to maxBytes of records from sequence number `from` on, a gap when the ring no
// longer holds `from`, the sequence number to ask for next, and a channel closed at the next add.
func (r *logRing) since(from uint64, maxBytes int) ([]logRecord, *logGap, uint64, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if from < 1 {
		from = 1
	}
	first := r.next
	if len(r.recs) > 0 {
		first = r.recs[0].Seq
	}
	var gap *logGap
	if from < first {
		gap = &logGap{From: from, To: first - 1}
		from = first
	}
	var out []logRecord
	size := 0
	if from < r.next {
		for _, rec := range r.recs[from-first:] {
			if len(out) > 0 && size+recordSize(&rec) > maxBytes {
				break
			}
			out = append(out, rec)
			size += recordSize(&rec)
		}
	}
	return out, gap, from + uint64(len(out)), r.changed
}

// tail returns the last n lines, oldest first (a failed app's reason quotes them).
func (r *logRing) tail(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n > len(r.recs) {
		n = len(r.recs)
	}
	out := make([]string, 0, n)
	for _, rec := range r.recs[len(r.recs)-n:] {
		out = append(out, rec.Line)
	}
	return out
}

// lineWriter turns one output pipe into records: whole lines (without their newline), long lines
// cut at maxLogLine. A copy of the bytes goes to console when set.
type lineWriter struct {
	ring    *logRing
	stream  string
	console io.Writer
	mu      sync.Mutex
	buf     []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.console != nil {
		_, _ = w.console.Write(p)
	}
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	for len(w.buf) >= maxLogLine {
		w.emit(w.buf[:maxLogLine])
		w.buf = w.buf[maxLogLine:]
	}
	if len(w.buf) == 0 {
		w.buf = nil
	}
	return len(p), nil
}

func (w *lineWriter) emit(line []byte) {
	for len(line) > maxLogLine {
		w.ring.add(w.stream, string(line[:maxLogLine]))
		line = line[maxLogLine:]
	}
	w.ring.add(w.stream, string(bytes.TrimSuffix(line, []byte("\r"))))
}

// flush records a last line that had no newline (the process ended).
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(w.buf)
		w.buf = nil
	}
}
