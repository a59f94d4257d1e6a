package main

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Mirror of packages/contract/src/guest-protocol.ts (version 1). protocol_test.go parses the
// TypeScript at test time so that a change on either side without the other fails a test.

const (
	ProtocolVersion  = 1
	FrameMagic       = "HG"
	FrameHeaderBytes = 11
	MaxFrameBody     = 1024*1024 + 5
	DataChunkBytes   = 256 * 1024
	// StreamWindowBytes is the credit each stream starts with per direction when the session
	// negotiated CreditFeature (HELLO features and WELCOME capabilities both list it).
	StreamWindowBytes = 2 * 1024 * 1024
	CreditFeature     = "credit"
	// IdentityFullFeature (WELCOME capabilities): the identity op takes entropy, users, env and
	// renewMachineId too (IDENTITY_FULL_FEATURE in the contract).
	IdentityFullFeature = "identity.full"
	// AppFeature (WELCOME capabilities): the agent serves app.status, app.logs and app.control.
	AppFeature = "app"
	// FsSyncFeature (WELCOME capabilities): the agent serves fs.sync, which writes every dirty
	// page of the guest's filesystems to its disks (the host asks before it kills the VMM).
	FsSyncFeature = "fs.sync"
	// TCPFeature (WELCOME capabilities): the agent serves tcp.connect, a TCP connection to a
	// guest-local server relayed over the stream (TCP_FEATURE in the contract).
	TCPFeature = "tcp"
)

// Frame types.
const (
	FrameHello    uint8 = 1
	FrameWelcome  uint8 = 2
	FrameRequest  uint8 = 3
	FrameResult   uint8 = 4
	FrameStdin    uint8 = 5
	FrameStdinEOF uint8 = 6
	FrameStdout   uint8 = 7
	FrameStderr   uint8 = 8
	FrameEvent    uint8 = 9
	FrameControl  uint8 = 10
	FramePing     uint8 = 11
	FramePong     uint8 = 12
	FrameWindow   uint8 = 13 // u32 BE credit increment for the stream's data frames
)

// FrameTypeNames maps the TypeScript FrameType keys to their numbers (checked by the test).
var FrameTypeNames = map[string]uint8{
	"HELLO": FrameHello, "WELCOME": FrameWelcome, "REQUEST": FrameRequest, "RESULT": FrameResult,
	"STDIN": FrameStdin, "STDIN_EOF": FrameStdinEOF, "STDOUT": FrameStdout, "STDERR": FrameStderr,
	"EVENT": FrameEvent, "CONTROL": FrameControl, "PING": FramePing, "PONG": FramePong,
	"WINDOW": FrameWindow,
}

// Error codes (GuestErrorCode).
const (
	ErrBadRequest      = "BAD_REQUEST"
	ErrUnauthenticated = "UNAUTHENTICATED"
	ErrUnknownOp       = "UNKNOWN_OP"
	ErrNotFound        = "NOT_FOUND"
	ErrExists          = "EXISTS"
	ErrNotDir          = "NOT_DIR"
	ErrIsDir           = "IS_DIR"
	ErrPathEscape      = "PATH_ESCAPE"
	ErrTooLarge        = "TOO_LARGE"
	ErrPermission      = "PERMISSION"
	ErrIO              = "IO"
	ErrProcessNotFound = "PROCESS_NOT_FOUND"
	ErrSpawnFailed     = "SPAWN_FAILED"
	ErrInternal        = "INTERNAL"
	ErrConnectFailed   = "CONNECT_FAILED"
)

var ErrorCodes = []string{ErrBadRequest, ErrUnauthenticated, ErrUnknownOp, ErrNotFound, ErrExists,
	ErrNotDir, ErrIsDir, ErrPathEscape, ErrTooLarge, ErrPermission, ErrIO, ErrProcessNotFound,
	ErrSpawnFailed, ErrInternal, ErrConnectFailed}

// Ops (the discriminator of GuestRequest).
const (
	OpExec        = "exec"
	OpPs          = "ps"
	OpAttach      = "attach"
	OpSignal      = "signal"
	OpWriteStdin  = "write-stdin"
	OpCloseStdin  = "close-stdin"
	OpFsStat      = "fs.stat"
	OpFsList      = "fs.list"
	OpFsMkdir     = "fs.mkdir"
	OpFsMove      = "fs.move"
	OpFsRemove    = "fs.remove"
	OpFsRead      = "fs.read"
	OpFsWrite     = "fs.write"
	OpMetrics     = "metrics"
	OpInfo        = "info"
	OpTimeSync    = "time.sync"
	OpFsSync      = "fs.sync"
	OpShutdown    = "shutdown"
	OpHealth      = "health"
	OpIdentity    = "identity"
	OpPersonalize = "personalize"
	OpAppStatus   = "app.status"
	OpAppLogs     = "app.logs"
	OpAppControl  = "app.control"
	OpTCPConnect  = "tcp.connect"
)

var Ops = []string{OpExec, OpPs, OpAttach, OpSignal, OpWriteStdin, OpCloseStdin, OpFsStat, OpFsList,
	OpFsMkdir, OpFsMove, OpFsRemove, OpFsRead, OpFsWrite, OpMetrics, OpInfo, OpTimeSync, OpFsSync,
	OpShutdown, OpHealth, OpIdentity, OpPersonalize, OpAppStatus, OpAppLogs, OpAppControl, OpTCPConnect, OpFsWatch}

var Capabilities = []string{"exec", "pty", "files", "metrics", "time.sync", "shutdown", "identity", IdentityFullFeature, CreditFeature, AppFeature, FsSyncFeature, TCPFeature, FsMetaFeature, FsWatchFeature}

type Frame struct {
	Stream  uint32
	Type    uint8
	Payload []byte
}

// EncodeFrame builds magic | len | stream | type | payload.
func EncodeFrame(stream uint32, typ uint8, payload []byte) []byte {
	b := make([]byte, FrameHeaderBytes+len(payload))
	copy(b, FrameMagic)
	binary.BigEndian.PutUint32(b[2:], uint32(len(payload)+5))
	binary.BigEndian.PutUint32(b[6:], stream)
	b[10] = typ
	copy(b[FrameHeaderBytes:], payload)
	return b
}

var ErrFrame = errors.New("frame error")

// Decoder is the incremental parser of guest-codec.ts. Until the first good frame it skips junk up
// to the next magic (left-overs of an earlier host connection); after that a malformed header is
// an error and the caller drops the session and Resets, which makes it resync on the magic again.
//
// Each payload byte is copied once, from the pushed chunk into the frame's own payload: a
// virtio-serial read returns at most one page, so a 256 KiB STDIN frame arrives in 64 pieces, and
// under an emulated CPU a second copy of every upload byte (joining the pieces first) costs as
// much as the rest of the guest's work on it. Only header bytes split across pushes are joined.
type Decoder struct {
	buf     []byte // a partial header, or junk being scanned while unsynced
	cur     *Frame // the frame whose payload is being filled
	fill    int
	Synced  bool
	Skipped int
}

func (d *Decoder) Reset() { d.buf, d.cur, d.fill, d.Synced = nil, nil, 0, false }

func knownType(t uint8) bool { return t >= FrameHello && t <= FrameWindow }

// Push takes the next bytes and returns the complete frames; on error the frames before it are
// returned too. Returned payloads are never reused by the decoder; chunk may be reused at once.
func (d *Decoder) Push(chunk []byte) ([]Frame, error) {
	var out []Frame
	data := chunk
	if len(d.buf) > 0 && d.cur == nil {
		data = append(d.buf, chunk...)
	}
	d.buf = nil
	// keep saves what could not be parsed yet (a partial header, or junk) for the next push.
	keep := func(rest []byte) { d.buf = append([]byte(nil), rest...) }
	for {
		if d.cur != nil {
			n := copy(d.cur.Payload[d.fill:], data)
			d.fill += n
			data = data[n:]
			if d.fill < len(d.cur.Payload) {
				return out, nil
			}
			out = append(out, *d.cur)
			d.cur, d.fill = nil, 0
			d.Synced = true
		}
		if !d.Synced {
			at := indexMagic(data)
			if at < 0 {
				k := 0
				if n := len(data); n > 0 && data[n-1] == FrameMagic[0] {
					k = 1
				}
				d.Skipped += len(data) - k
				keep(data[len(data)-k:])
				return out, nil
			}
			d.Skipped += at
			data = data[at:]
		}
		if len(data) < FrameHeaderBytes {
			keep(data)
			return out, nil
		}
		if string(data[:2]) != FrameMagic {
			return out, fmt.Errorf("%w: frame without magic", ErrFrame)
		}
		n := binary.BigEndian.Uint32(data[2:])
		typ := data[10]
		if n < 5 || n > MaxFrameBody || !knownType(typ) {
			if !d.Synced {
				// A false magic inside junk: skip it and keep looking.
				data = data[1:]
				d.Skipped++
				continue
			}
			if !knownType(typ) {
				return out, fmt.Errorf("%w: unknown frame type %d", ErrFrame, typ)
			}
			return out, fmt.Errorf("%w: frame length %d outside 5..%d", ErrFrame, n, MaxFrameBody)
		}
		if !d.Synced && uint32(len(data)) < 6+n {
			// Not synced yet: a frame is believed only once it is whole (a false magic in junk
			// could announce any length), so its bytes are kept and scanned again.
			keep(data)
			return out, nil
		}
		d.cur = &Frame{Stream: binary.BigEndian.Uint32(data[6:]), Type: typ, Payload: make([]byte, n-5)}
		data = data[FrameHeaderBytes:]
	}
}

func indexMagic(b []byte) int {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == FrameMagic[0] && b[i+1] == FrameMagic[1] {
			return i
		}
	}
	return -1
}
