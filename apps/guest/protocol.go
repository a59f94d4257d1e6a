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
)

var ErrorCodes = []string{ErrBadRequest, ErrUnauthenticated, ErrUnknownOp, ErrNotFound, ErrExists,
	ErrNotDir, ErrIsDir, ErrPathEscape, ErrTooLarge, ErrPermission, ErrIO, ErrProcessNotFound,
	ErrSpawnFailed, ErrInternal}

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
	OpShutdown    = "shutdown"
	OpHealth      = "health"
	OpIdentity    = "identity"
	OpPersonalize = "personalize"
)

var Ops = []string{OpExec, OpPs, OpAttach, OpSignal, OpWriteStdin, OpCloseStdin, OpFsStat, OpFsList,
	OpFsMkdir, OpFsMove, OpFsRemove, OpFsRead, OpFsWrite, OpMetrics, OpInfo, OpTimeSync, OpShutdown,
	OpHealth, OpIdentity, OpPersonalize}

var Capabilities = []string{"exec", "pty", "files", "metrics", "time.sync", "shutdown", "identity", IdentityFullFeature, CreditFeature}

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
type Decoder struct {
	buf     []byte
	Synced  bool
	Skipped int
}

func (d *Decoder) Reset() { d.buf = nil; d.Synced = false }

func knownType(t uint8) bool { return t >= FrameHello && t <= FrameWindow }

// Push appends bytes and returns the complete frames; on error the frames before it are returned too.
func (d *Decoder) Push(chunk []byte) ([]Frame, error) {
	d.buf = append(d.buf, chunk...)
	var out []Frame
	for {
		if !d.Synced {
			at := indexMagic(d.buf)
			if at < 0 {
				keep := 0
				if n := len(d.buf); n > 0 && d.buf[n-1] == FrameMagic[0] {
					keep = 1
				}
				d.Skipped += len(d.buf) - keep
				d.buf = append(d.buf[:0], d.buf[len(d.buf)-keep:]...)
				return out, nil
			}
			d.Skipped += at
			d.buf = d.buf[at:]
		}
		if len(d.buf) < FrameHeaderBytes {
			return out, nil
		}
		if string(d.buf[:2]) != FrameMagic {
			return out, fmt.Errorf("%w: frame without magic", ErrFrame)
		}
		n := binary.BigEndian.Uint32(d.buf[2:])
		typ := d.buf[10]
		if n < 5 || n > MaxFrameBody || !knownType(typ) {
			if !d.Synced {
				// A false magic inside junk: skip it and keep looking.
				d.buf = d.buf[1:]
				d.Skipped++
				continue
			}
			if !knownType(typ) {
				return out, fmt.Errorf("%w: unknown frame type %d", ErrFrame, typ)
			}
			return out, fmt.Errorf("%w: frame length %d outside 5..%d", ErrFrame, n, MaxFrameBody)
		}
		if uint32(len(d.buf)) < 6+n {
			return out, nil
		}
		payload := append([]byte(nil), d.buf[FrameHeaderBytes:6+n]...)
		out = append(out, Frame{Stream: binary.BigEndian.Uint32(d.buf[6:]), Type: typ, Payload: payload})
		d.buf = d.buf[6+n:]
		d.Synced = true
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
