package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// opRead streams a file raw, or a directory (or anything with format tar) as a tar archive.
func opRead(st *stream, req *Request) {
	if e := checkPath(req.Path); e != nil {
		st.fail(e)
		return
	}
	format := req.Format
	if format == "" {
		format = "auto"
	}
	if format != "auto" && format != "raw" && format != "tar" {
		st.fail(gerr(ErrBadRequest, "format must be auto, raw or tar"))
		return
	}
	fi, err := os.Stat(req.Path)
	if err != nil {
		st.fail(fsErr(err))
		return
	}
	if format == "tar" || (format == "auto" && fi.IsDir()) {
		if st.event(map[string]interface{}{"type": "meta", "kind": "tar"}) != nil {
			return
		}
		w := &stdoutWriter{st: st}
		if err := writeTar(req.Path, w); err != nil {
			st.fail(fsErr(err))
			return
		}
		st.ok(map[string]interface{}{"bytes": w.n})
		return
	}
	if fi.IsDir() {
		st.fail(gerr(ErrIsDir, "%s is a directory", req.Path))
		return
	}
	f, err := os.Open(req.Path)
	if err != nil {
		st.fail(fsErr(err))
		return
	}
	defer f.Close()
	meta := map[string]interface{}{"type": "meta", "kind": "file", "size": fi.Size(), "mode": uint32(fi.Mode().Perm())}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		meta["mode"] = sys.Mode & 0o7777
	}
	if st.event(meta) != nil {
		return
	}
	w := &stdoutWriter{st: st}
	if _, err := io.CopyBuffer(w, f, make([]byte, DataChunkBytes)); err != nil {
		if !errors.Is(err, errGone) {
			st.fail(fsErr(err))
		}
		return
	}
	st.ok(map[string]interface{}{"bytes": w.n})
}

// input yields the stream's STDIN payloads until STDIN_EOF (io.EOF), or errGone if the session
// ends. A CONTROL cancel aborts the upload.
func (st *stream) input() ([]byte, error) {
	for {
		select {
		case f := <-st.in:
			switch f.Type {
			case FrameStdin:
				return f.Payload, nil
			case FrameStdinEOF:
				return nil, io.EOF
			case FrameControl:
				var c control
				if jsonUnmarshal(f.Payload, &c) == nil && c.Type == "cancel" {
					return nil, gerr(ErrBadRequest, "cancelled")
				}
			}
		case <-st.s.done:
			return nil, errGone
		}
	}
}

func opWrite(st *stream, req *Request) {
	if e := checkPath(req.Path); e != nil {
		st.fail(e)
		return
	}
	if req.MaxBytes < 0 {
		st.fail(gerr(ErrBadRequest, "maxBytes must be positive"))
		return
	}
	var err error
	var n int64
	switch req.Format {
	case "", "raw":
		n, err = writeRaw(st, req)
	case "tar":
		n, err = writeTarInput(st, req)
	default:
		err = gerr(ErrBadRequest, "format must be raw or tar")
	}
	if errors.Is(err, errGone) {
		return
	}
	if err != nil {
		st.fail(fsErr(err))
		return
	}
	st.ok(map[string]interface{}{"bytes": n})
}

func tooLarge(req *Request, n int64) error {
	if req.MaxBytes > 0 && n > req.MaxBytes {
		return gerr(ErrTooLarge, "more than %d bytes", req.MaxBytes)
	}
	return nil
}

// writeRaw writes to a temp file beside the target and renames it over: readers never see a
// half-written file, and a failed upload leaves nothing behind.
func writeRaw(st *stream, req *Request) (int64, error) {
	dir := filepath.Dir(req.Path)
	if req.Parents {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 0, err
		}
	}
	mode := os.FileMode(0o644)
	uid, gid := -1, -1
	if fi, err := os.Stat(req.Path); err == nil {
		if fi.IsDir() {
			return 0, gerr(ErrIsDir, "%s is a directory", req.Path)
		}
		mode = fi.Mode().Perm()
		if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(sys.Uid), int(sys.Gid)
		}
	}
	if req.Mode != nil {
		mode = os.FileMode(*req.Mode & 0o777)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(req.Path)+".hearth-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	defer tmp.Close()
	var n int64
	for {
		b, err := st.input()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
		if n += int64(len(b)); tooLarge(req, n) != nil {
			return n, tooLarge(req, n)
		}
		if _, err := tmp.Write(b); err != nil {
			return n, err
		}
	}
	if err := tmp.Chmod(mode); err != nil {
		return n, err
	}
	if uid >= 0 && os.Geteuid() == 0 {
		_ = tmp.Chown(uid, gid)
	}
	if err := tmp.Sync(); err != nil {
		return n, err
	}
	if err := tmp.Close(); err != nil {
		return n, err
	}
	return n, os.Rename(tmp.Name(), req.Path)
}

// writeTarInput feeds the stream into extractTar through a pipe, counting against maxBytes.
func writeTarInput(st *stream, req *Request) (int64, error) {
	if !req.Parents {
		if _, err := os.Stat(filepath.Dir(req.Path)); err != nil {
			return 0, err
		}
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := extractTar(pr, req.Path, req.Parents)
		pr.CloseWithError(errors.New("extraction ended"))
		done <- err
	}()
	var n int64
	for {
		b, err := st.input()
		if err == io.EOF {
			pw.Close()
			break
		}
		if err == nil {
			n += int64(len(b))
			err = tooLarge(req, n)
		}
		if err != nil {
			pw.CloseWithError(err)
			<-done
			return n, err
		}
		if _, err := pw.Write(b); err != nil {
			break // the extractor stopped; its error is the answer
		}
	}
	return n, <-done
}
