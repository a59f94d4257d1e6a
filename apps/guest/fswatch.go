package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"unsafe"
)

// FsWatchFeature (WELCOME capabilities): the agent serves fs.watch, a directory's changes by
// inotify (FS_WATCH_FEATURE in the contract).
const FsWatchFeature = "fs.watch"

// OpFsWatch streams a directory's changes: an EVENT {type: "watching"} once the watches are set,
// then one EVENT {type: "change", name, op} per change (name relative to the directory, op one of
// create, write, remove, rename, chmod) until a CONTROL cancel, which ends it with an ok RESULT.
const OpFsWatch = "fs.watch"

const watchMask = syscall.IN_CREATE | syscall.IN_MODIFY | syscall.IN_DELETE | syscall.IN_MOVED_FROM |
	syscall.IN_MOVED_TO | syscall.IN_ATTRIB | syscall.IN_DELETE_SELF | syscall.IN_MOVE_SELF

// The agent's fs.write goes through a temporary sibling renamed over the target (writeRaw):
// watchers see the target's change, not the temp file.
var agentTemp = regexp.MustCompile(`^\.(.+)\.hearth-\d+$`)

type change struct{ name, op string }

// pendingTemp is an agent temp file between its creation and its rename over the target.
type pendingTemp struct {
	existed bool // the target was there when the temp file was made: a rewrite, not a create
	wrote   bool
}

type dirWatch struct {
	root      string
	recursive bool
	fd        int // for InotifyAddWatch: f.Fd() would make the descriptor blocking again
	f         *os.File
	mu        sync.Mutex
	dirs      map[int32]string
	temps     map[string]*pendingTemp
	moved     map[uint32]*pendingTemp // by rename cookie: a temp file moved away, awaiting its MOVED_TO
}

// newDirWatch watches root (and, recursive, every directory under it, and those made later).
func newDirWatch(root string, recursive bool) (*dirWatch, error) {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return nil, err
	}
	// A non-blocking descriptor goes through Go's poller: Close wakes a pending Read.
	w := &dirWatch{root: root, recursive: recursive, fd: fd, f: os.NewFile(uintptr(fd), "inotify"),
		dirs: map[int32]string{}, temps: map[string]*pendingTemp{}, moved: map[uint32]*pendingTemp{}}
	if err := w.add(root, true); err != nil {
		w.f.Close()
		return nil, err
	}
	return w, nil
}

func (w *dirWatch) Close() error { return w.f.Close() }

// add watches dir, and with recursive its subdirectories (symlinks are not followed). Only the
// root's failure is an error: a subdirectory may vanish or be unreadable.
func (w *dirWatch) add(dir string, root bool) error {
	wd, err := syscall.InotifyAddWatch(w.fd, dir, watchMask|syscall.IN_ONLYDIR|syscall.IN_DONT_FOLLOW)
	if err != nil {
		if root {
			return err
		}
		return nil
	}
	w.mu.Lock()
	w.dirs[int32(wd)] = dir
	w.mu.Unlock()
	if !w.recursive {
		return nil
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	for _, de := range des {
		if de.IsDir() {
			_ = w.add(filepath.Join(dir, de.Name()), false)
		}
	}
	return nil
}

func (w *dirWatch) rel(p string) string {
	r, err := filepath.Rel(w.root, p)
	if err != nil {
		return p
	}
	return r
}

// run reads events until the descriptor is closed (nil) or fails; each change goes to emit.
func (w *dirWatch) run(emit func(change) error) error {
	buf := make([]byte, 64*1024)
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return nil
			}
			return err
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := ""
			if ev.Len > 0 {
				raw := buf[off+syscall.SizeofInotifyEvent : off+syscall.SizeofInotifyEvent+int(ev.Len)]
				name = strings.TrimRight(string(raw), "\x00")
			}
			off += syscall.SizeofInotifyEvent + int(ev.Len)
			for _, c := range w.translate(ev.Wd, ev.Mask, ev.Cookie, name) {
				if err := emit(c); err != nil {
					return err
				}
			}
		}
	}
}

// translate turns one inotify event into the changes envd reports for it, in envd's order
// (create, rename, chmod, write, remove).
func (w *dirWatch) translate(wd int32, mask, cookie uint32, name string) []change {
	if mask&syscall.IN_Q_OVERFLOW != 0 {
		return []change{{"", "overflow"}}
	}
	w.mu.Lock()
	dir, ok := w.dirs[wd]
	if mask&syscall.IN_IGNORED != 0 {
		delete(w.dirs, wd)
	}
	w.mu.Unlock()
	if !ok || mask&syscall.IN_IGNORED != 0 {
		return nil
	}
	if name == "" {
		// The watched directory itself: a subdirectory's removal or move is reported by its
		// parent's watch already, so only the root's own is.
		if dir != w.root {
			return nil
		}
		switch {
		case mask&syscall.IN_DELETE_SELF != 0:
			return []change{{".", "remove"}}
		case mask&syscall.IN_MOVE_SELF != 0:
			return []change{{".", "rename"}}
		case mask&syscall.IN_ATTRIB != 0:
			return []change{{".", "chmod"}}
		}
		return nil
	}
	p := filepath.Join(dir, name)
	if m := agentTemp.FindStringSubmatch(name); m != nil {
		return w.tempEvent(p, filepath.Join(dir, m[1]), mask, cookie)
	}
	if mask&syscall.IN_MOVED_TO != 0 {
		if t, ok := w.moved[cookie]; ok {
			// An agent write landing: the target's change as a write in place would show it.
			delete(w.moved, cookie)
			var out []change
			if !t.existed {
				out = append(out, change{w.rel(p), "create"})
			}
			if t.wrote || !t.existed {
				out = append(out, change{w.rel(p), "write"})
			}
			return out
		}
	}
	var out []change
	if mask&(syscall.IN_CREATE|syscall.IN_MOVED_TO) != 0 {
		out = append(out, change{w.rel(p), "create"})
		if w.recursive && mask&syscall.IN_ISDIR != 0 {
			// Watch the new directory, and report what was made in it before the watch was set.
			_ = w.add(p, false)
			out = append(out, w.existing(p)...)
		}
	}
	if mask&syscall.IN_MOVED_FROM != 0 {
		out = append(out, change{w.rel(p), "rename"})
	}
	if mask&syscall.IN_ATTRIB != 0 {
		out = append(out, change{w.rel(p), "chmod"})
	}
	if mask&syscall.IN_MODIFY != 0 {
		out = append(out, change{w.rel(p), "write"})
	}
	if mask&syscall.IN_DELETE != 0 {
		out = append(out, change{w.rel(p), "remove"})
	}
	return out
}

// existing reports the entries of a directory that was just made, as creates: a recursive
// watch learns of the directory only after things may have been put in it.
func (w *dirWatch) existing(dir string) []change {
	var out []change
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	for _, de := range des {
		p := filepath.Join(dir, de.Name())
		if m := agentTemp.FindStringSubmatch(de.Name()); m != nil {
			// An agent write under way: followed from here so that its rename is the target's.
			_, err := os.Lstat(filepath.Join(dir, m[1]))
			w.temps[p] = &pendingTemp{existed: err == nil, wrote: true}
			continue
		}
		out = append(out, change{w.rel(p), "create"})
		if de.IsDir() {
			out = append(out, w.existing(p)...)
		}
	}
	return out
}

// tempEvent follows an agent temp file: nothing is reported until it is renamed over its target.
func (w *dirWatch) tempEvent(temp, target string, mask, cookie uint32) []change {
	switch {
	case mask&syscall.IN_CREATE != 0:
		_, err := os.Lstat(target)
		w.temps[temp] = &pendingTemp{existed: err == nil}
	case mask&syscall.IN_MODIFY != 0:
		if t := w.temps[temp]; t != nil {
			t.wrote = true
		}
	case mask&syscall.IN_MOVED_FROM != 0:
		if t := w.temps[temp]; t != nil {
			w.moved[cookie] = t
		}
		delete(w.temps, temp)
	case mask&syscall.IN_DELETE != 0:
		delete(w.temps, temp)
	}
	return nil
}

func isCancel(payload []byte) bool {
	var ctl control
	return json.Unmarshal(payload, &ctl) == nil && ctl.Type == "cancel"
}

// opFsWatch serves OpFsWatch on its stream.
func opFsWatch(st *stream, req *Request) {
	if e := checkPath(req.Path); e != nil {
		st.fail(e)
		return
	}
	fi, err := os.Stat(req.Path)
	if err != nil {
		st.fail(fsErr(err))
		return
	}
	if !fi.IsDir() {
		st.fail(gerr(ErrNotDir, "%s is not a directory", req.Path))
		return
	}
	w, err := newDirWatch(req.Path, req.Recursive)
	if err != nil {
		st.fail(fsErr(err))
		return
	}
	if err := st.event(map[string]interface{}{"type": "watching"}); err != nil {
		w.Close()
		return
	}
	done := make(chan error, 1)
	go func() {
		done <- w.run(func(c change) error {
			if c.op == "overflow" {
				return gerr(ErrIO, "more changes than the guest's inotify queue holds: some were lost")
			}
			return st.event(map[string]interface{}{"type": "change", "name": c.name, "op": c.op})
		})
	}()
	// The host ends the watch with a CONTROL cancel, or by going away.
	go func() {
		for {
			c, err := st.nextControl()
			if err != nil || isCancel(c) {
				w.Close()
				return
			}
		}
	}()
	err = <-done
	w.Close()
	if err != nil {
		var ge *GuestError
		if errors.As(err, &ge) {
			st.fail(ge)
		} else {
			st.fail(fsErr(err))
		}
		return
	}
	st.ok(nil)
}
