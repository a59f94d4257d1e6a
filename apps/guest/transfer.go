package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// opRead streams a file raw, or a directory (or anything with format tar) as a tar archive.
// Only regular files are read raw: a device, FIFO or socket is refused with BAD_REQUEST (reading
// /dev/zero would never end, opening a FIFO would hang, opening some devices has side effects).
// A CONTROL {"type":"cancel"} stops the transfer between chunks; the stream then ends with
// RESULT ok:false, BAD_REQUEST "cancelled" (the bytes already sent are not a complete file).
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
			if !errors.Is(err, errGone) {
				st.fail(fsErr(err))
			}
			return
		}
		st.ok(map[string]interface{}{"bytes": w.n})
		return
	}
	if fi.IsDir() {
		st.fail(gerr(ErrIsDir, "%s is a directory", req.Path))
		return
	}
	if !fi.Mode().IsRegular() {
		st.fail(gerr(ErrBadRequest, "%s is not a regular file", req.Path))
		return
	}
	f, err := openRegular(req.Path)
	if err != nil {
		st.fail(fsErr(err))
		return
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		st.fail(fsErr(err))
		return
	}
	meta := map[string]interface{}{"type": "meta", "kind": "file", "size": fi.Size(), "mode": uint32(fi.Mode().Perm())}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		meta["mode"] = sys.Mode & 0o7777
	}
	if st.event(meta) != nil {
		return
	}
	w := &stdoutWriter{st: st}
	if _, err := io.CopyBuffer(w, f, make([]byte, DataChunkBytes)); err != nil {
		if errors.Is(err, errCancelled) {
			st.fail(errCancelled)
			return
		}
		if !errors.Is(err, errGone) {
			st.fail(fsErr(err))
		}
		return
	}
	st.ok(map[string]interface{}{"bytes": w.n})
}

// openRegular opens path for reading only if it is a regular file once open. O_NONBLOCK keeps
// the open itself from hanging on a FIFO swapped in after a Stat; it changes nothing for a
// regular file.
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = gerr(ErrBadRequest, "%s is not a regular file", path)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// input yields the stream's STDIN payloads until STDIN_EOF (io.EOF), errGone if the stream or
// session ends, or errOverflow. A CONTROL cancel aborts the upload.
func (st *stream) input() ([]byte, error) {
	for {
		if st.cancelled() {
			return nil, errCancelled
		}
		f, ok, err := st.in.popData()
		if err != nil {
			return nil, err
		}
		if ok {
			switch f.Type {
			case FrameStdinEOF:
				return nil, io.EOF
			case FrameStdin:
				return f.Payload, nil
			}
			continue // an in-band control (resize) means nothing to an upload
		}
		select {
		case <-st.in.dataSig:
		case <-st.in.ctlSig:
		case <-st.closed:
			return nil, errGone
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
	if e := validateMeta(req.Meta); e != nil {
		st.fail(e)
		return
	}
	if len(req.Meta) > 0 && req.Format == "tar" {
		st.fail(gerr(ErrBadRequest, "metadata is for a file, not a tar upload"))
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
	// The new inode has no attributes of the file it replaces: an upload without metadata
	// leaves the file with none, as envd does.
	if len(req.Meta) > 0 {
		if err := writeMeta(tmp.Name(), req.Meta); err != nil {
			return n, err
		}
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
