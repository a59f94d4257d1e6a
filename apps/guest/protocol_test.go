package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const tsPath = "../../packages/contract/src/guest-protocol.ts"

// The protocol's schemas, with the guest's reports (metrics, info, processes) kept beside it.
var tsPaths = []string{tsPath, "../../packages/contract/src/guest-reports.ts"}

func readTS(t *testing.T) string {
	var all strings.Builder
	for _, p := range tsPaths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("the TypeScript contract is the source of truth: %v", err)
		}
		all.Write(b)
		all.WriteString("\n")
	}
	return all.String()
}

// evalProduct evaluates the small integer expressions the contract uses ("1024 * 1024 + 5").
func evalProduct(t *testing.T, expr string) int {
	sum := 0
	for _, term := range strings.Split(expr, "+") {
		prod := 1
		for _, f := range strings.Split(term, "*") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				t.Fatalf("cannot evaluate %q", expr)
			}
			prod *= n
		}
		sum += prod
	}
	return sum
}

func tsConst(t *testing.T, src, name string) string {
	m := regexp.MustCompile(`export const ` + name + ` = ([^;]+);`).FindStringSubmatch(src)
	if m == nil {
		t.Fatalf("%s not found in %s", name, tsPath)
	}
	return m[1]
}

// tsBlock returns the text between the brace/paren that follows `start` and its match.
func tsBlock(t *testing.T, src, start string) string {
	i := strings.Index(src, start)
	if i < 0 {
		t.Fatalf("%q not found", start)
	}
	i += len(start)
	depth := 1
	for j := i; j < len(src); j++ {
		switch src[j] {
		case '{', '(', '[':
			depth++
		case '}', ')', ']':
			depth--
			if depth == 0 {
				return src[i:j]
			}
		}
	}
	t.Fatalf("unbalanced block after %q", start)
	return ""
}

// topKeys lists the keys at nesting depth 0 of an object body.
func topKeys(body string) []string {
	var keys []string
	body = regexp.MustCompile(`(?s)/\*.*?\*/|//[^\n]*`).ReplaceAllString(body, "")
	depth := 0
	re := regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:`)
	start := 0
	for j := 0; j <= len(body); j++ {
		if j == len(body) || (body[j] == ',' && depth == 0) {
			part := body[start:j]
			if m := re.FindStringSubmatch(part); m != nil {
				keys = append(keys, m[1])
			}
			start = j + 1
			continue
		}
		switch body[j] {
		case '{', '(', '[':
			depth++
		case '}', ')', ']':
			depth--
		}
	}
	sort.Strings(keys)
	return keys
}

func jsonTags(v interface{}) []string {
	var out []string
	rt := reflect.TypeOf(v)
	for i := 0; i < rt.NumField(); i++ {
		out = append(out, strings.Split(rt.Field(i).Tag.Get("json"), ",")[0])
	}
	sort.Strings(out)
	return out
}

func TestConstantsMatchContract(t *testing.T) {
	src := readTS(t)
	if v := evalProduct(t, tsConst(t, src, "GUEST_PROTOCOL_VERSION")); v != ProtocolVersion {
		t.Errorf("version %d != %d", v, ProtocolVersion)
	}
	if v := evalProduct(t, tsConst(t, src, "FRAME_HEADER_BYTES")); v != FrameHeaderBytes {
		t.Errorf("header %d != %d", v, FrameHeaderBytes)
	}
	if v := evalProduct(t, tsConst(t, src, "MAX_FRAME_BODY")); v != MaxFrameBody {
		t.Errorf("max body %d != %d", v, MaxFrameBody)
	}
	if v := evalProduct(t, tsConst(t, src, "DATA_CHUNK_BYTES")); v != DataChunkBytes {
		t.Errorf("chunk %d != %d", v, DataChunkBytes)
	}
	if m := tsConst(t, src, "FRAME_MAGIC"); m != "'"+FrameMagic+"'" {
		t.Errorf("magic %s", m)
	}
	types := map[string]uint8{}
	for _, m := range regexp.MustCompile(`([A-Z_]+):\s*(\d+)`).FindAllStringSubmatch(tsBlock(t, src, "export const FrameType = {"), -1) {
		n, _ := strconv.Atoi(m[2])
		types[m[1]] = uint8(n)
	}
	if !reflect.DeepEqual(types, FrameTypeNames) {
		t.Errorf("frame types %v != %v", types, FrameTypeNames)
	}
	for name, n := range FrameTypeNames {
		if !knownType(n) {
			t.Errorf("decoder refuses %s", name)
		}
	}
	var codes []string
	for _, m := range regexp.MustCompile(`'([A-Z_]+)'`).FindAllStringSubmatch(tsBlock(t, src, "GuestErrorCode = z.enum(["), -1) {
		codes = append(codes, m[1])
	}
	if !reflect.DeepEqual(sorted(codes), sorted(ErrorCodes)) {
		t.Errorf("error codes %v != %v", codes, ErrorCodes)
	}
	union := tsBlock(t, src, "GuestRequest = z.discriminatedUnion('op', [")
	var ops []string
	for _, m := range regexp.MustCompile(`op: z\.literal\('([^']+)'\)`).FindAllStringSubmatch(src, -1) {
		ops = append(ops, m[1])
	}
	if !reflect.DeepEqual(sorted(ops), sorted(Ops)) {
		t.Errorf("ops %v != %v", sorted(ops), sorted(Ops))
	}
	// Every request field (from ExecRequest and the inline variants) must be a Request json tag.
	reqTags := map[string]bool{}
	for _, k := range jsonTags(Request{}) {
		reqTags[k] = true
	}
	bodies := []string{tsBlock(t, src, "ExecRequest = z.object({"), tsBlock(t, src, "const identityFields = {")}
	for _, part := range strings.Split(union, "z.object({")[1:] {
		bodies = append(bodies, part)
	}
	for _, b := range bodies {
		b = regexp.MustCompile(`(?s)/\*.*?\*/|//[^\n]*`).ReplaceAllString(b, "")
		for _, k := range regexp.MustCompile(`(?m)(?:^|[{,])\s*([a-zA-Z]+):`).FindAllStringSubmatch(b, -1) {
			if k[1] == "cols" || k[1] == "rows" {
				continue // nested pty object (PtySize)
			}
			if !reqTags[k[1]] {
				t.Errorf("request field %q missing from Request", k[1])
			}
		}
	}
}

func sorted(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

func TestSchemasMatchContract(t *testing.T) {
	src := readTS(t)
	cases := []struct {
		start string
		v     interface{}
	}{
		{"export const Hello = z.object({", Hello{}},
		{"export const Welcome = z.object({", Welcome{}},
		{"export const ExecExit = z.object({", ExecExit{}},
		{"export const FileStat = z.object({", FileStat{}},
		{"export const GuestMetrics = z.object({", GuestMetrics{}},
		{"memory: z.object({", MemoryMetrics{}},
		{"disk: z.object({", DiskMetrics{}},
		{"network: z.array(z.object({", NetMetrics{}},
		{"export const GuestInfo = z.object({", GuestInfo{}},
		{"ips: z.array(\n    z.object({", GuestIP{}},
		{"export const GuestProcess = z.object({", GuestProcess{}},
		{"export const GuestBootConfig = z.object({", GuestBootConfig{}},
		{"users: z.array(\n    z.object({", BootUser{}},
		{"pty: z.object({", PtySize{}},
		{"error: z.object({", GuestError{}},
	}
	for _, c := range cases {
		ts := topKeys(tsBlock(t, src, c.start))
		if got := jsonTags(c.v); !reflect.DeepEqual(ts, got) {
			t.Errorf("%s: contract %v, Go %v", c.start, ts, got)
		}
	}
}

func TestCodecRoundTripAtEveryCut(t *testing.T) {
	a := EncodeFrame(0, FrameHello, []byte(`{"protocol":1,"secret":"s"}`))
	b := EncodeFrame(7, FrameStdout, []byte{0, 1, 2, 255})
	all := append(append([]byte(nil), a...), b...)
	for cut := 0; cut <= len(all); cut++ {
		d := &Decoder{Synced: true}
		f1, err1 := d.Push(all[:cut])
		f2, err2 := d.Push(all[cut:])
		fs := append(f1, f2...)
		if err1 != nil || err2 != nil || len(fs) != 2 {
			t.Fatalf("cut %d: %v %v %d", cut, err1, err2, len(fs))
		}
		if fs[0].Stream != 0 || fs[0].Type != FrameHello || fs[1].Stream != 7 || !bytes.Equal(fs[1].Payload, []byte{0, 1, 2, 255}) {
			t.Fatalf("cut %d: %+v", cut, fs)
		}
	}
}

func TestCodecResyncsOnJunk(t *testing.T) {
	d := &Decoder{}
	junk := []byte("HGxx\x00\x00\x00\x02garbage H")
	fs, err := d.Push(append(junk, EncodeFrame(0, FrameWelcome, []byte(`{"ok":1}`))...))
	if err != nil || len(fs) != 1 || fs[0].Type != FrameWelcome || d.Skipped == 0 || !d.Synced {
		t.Fatalf("%v %+v skipped=%d", err, fs, d.Skipped)
	}
	// A trailing 'H' split from its 'G' is kept.
	d = &Decoder{}
	fr := EncodeFrame(3, FramePing, []byte("x"))
	if fs, _ := d.Push(append([]byte("zzzH"), fr[:0]...)); len(fs) != 0 {
		t.Fatal("junk produced a frame")
	}
	if fs, _ := d.Push(append([]byte("G\x00\x00\x00\x06\x00\x00\x00\x03\x0bx"))); len(fs) != 1 || fs[0].Stream != 3 {
		t.Fatalf("split magic not kept: %+v", fs)
	}
}

func TestCodecRefusesBadFramesAfterSync(t *testing.T) {
	d := &Decoder{}
	if _, err := d.Push(EncodeFrame(0, FramePing, nil)); err != nil || !d.Synced {
		t.Fatal("first frame should sync")
	}
	big := make([]byte, 11)
	copy(big, "HG")
	binary.BigEndian.PutUint32(big[2:], MaxFrameBody+1)
	big[10] = FrameStdin
	if _, err := d.Push(big); !errors.Is(err, ErrFrame) {
		t.Fatalf("oversized frame accepted: %v", err)
	}
	d = &Decoder{Synced: true}
	bad := EncodeFrame(1, FrameEvent, []byte("{}"))
	bad[10] = 99
	if _, err := d.Push(bad); err == nil || !strings.Contains(err.Error(), "unknown frame type 99") {
		t.Fatalf("unknown type: %v", err)
	}
	d = &Decoder{Synced: true}
	if _, err := d.Push([]byte("XXXXXXXXXXXXXXX")); err == nil || !strings.Contains(err.Error(), "magic") {
		t.Fatalf("magic-less: %v", err)
	}
	// After Reset the decoder resyncs and finds the next good frame.
	d.Reset()
	fs, err := d.Push(append([]byte("XXXX"), EncodeFrame(2, FramePong, nil)...))
	if err != nil || len(fs) != 1 {
		t.Fatalf("no resync after reset: %v %v", err, fs)
	}
}

// Frames of every size, pushed in pieces of every size through one reused read buffer (as the
// link reader does): each payload arrives whole and intact, and later pushes never change it.
func TestCodecPiecesThroughAReusedBuffer(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var stream []byte
	var want [][]byte
	for _, size := range []int{0, 1, 10, 4096, 4097, DataChunkBytes, 300_000, 5} {
		p := make([]byte, size)
		rng.Read(p)
		want = append(want, p)
		stream = append(stream, EncodeFrame(uint32(len(want)), FrameStdin, p)...)
	}
	for _, maxPiece := range []int{1, 7, 4096, 65536} {
		d := &Decoder{Synced: true}
		buf := make([]byte, maxPiece)
		var got []Frame
		for rest := stream; len(rest) > 0; {
			n := copy(buf[:1+rng.Intn(maxPiece)], rest)
			rest = rest[n:]
			fs, err := d.Push(buf[:n])
			if err != nil {
				t.Fatalf("pieces of %d: %v", maxPiece, err)
			}
			got = append(got, fs...)
			for i := range buf[:n] {
				buf[i] = 0xAA // the reader reuses its buffer at once
			}
		}
		if len(got) != len(want) {
			t.Fatalf("pieces of %d: %d frames, want %d", maxPiece, len(got), len(want))
		}
		for i, f := range got {
			if f.Stream != uint32(i+1) || !bytes.Equal(f.Payload, want[i]) {
				t.Fatalf("pieces of %d: frame %d (stream %d, %d bytes) differs", maxPiece, i, f.Stream, len(f.Payload))
			}
		}
	}
}
