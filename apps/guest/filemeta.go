package main

import (
	"bytes"
	"errors"
	"strings"
	"syscall"
	"unicode/utf8"
)

// User metadata of files (E2B's envd keeps it the same way, so files written by either read the
// same): each key is an extended attribute user.e2b.<key> on the file, its value the
// attribute's value.
const (
	metaXattrPrefix = "user.e2b."
	// The kernel's limit on an attribute's whole name is 255 bytes.
	maxMetaKeyLen = 255 - len(metaXattrPrefix)
	// ext4 keeps all of an inode's attributes in one 4 KiB block: a larger set could not be
	// stored, so it is refused before anything is written.
	maxMetaTotalLen = 4096
)

// FsMetaFeature (WELCOME capabilities): fs.write takes `meta` and FileStat reports it
// (FS_META_FEATURE in the contract).
const FsMetaFeature = "fs.meta"

func validateMeta(meta map[string]string) *GuestError {
	total := 0
	for k, v := range meta {
		if k == "" {
			return gerr(ErrBadRequest, "metadata key must not be empty")
		}
		if len(k) > maxMetaKeyLen {
			return gerr(ErrBadRequest, "metadata key %q is longer than %d bytes", k, maxMetaKeyLen)
		}
		if !printableASCII(k) || !printableASCII(v) {
			return gerr(ErrBadRequest, "metadata key %q: keys and values must be printable US-ASCII", k)
		}
		total += len(metaXattrPrefix) + len(k) + len(v)
	}
	if total > maxMetaTotalLen {
		return gerr(ErrBadRequest, "metadata of %d bytes is more than the %d a file can keep", total, maxMetaTotalLen)
	}
	return nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func xattrUnsupported(err error) bool {
	return errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP)
}

// listXattrs answers the attribute names of path (following a symlink), growing the buffer
// when the list changed between sizing and reading it.
func listXattrs(path string) ([]string, error) {
	for attempt := 0; attempt < 4; attempt++ {
		n, err := syscall.Listxattr(path, nil)
		if err != nil || n == 0 {
			return nil, err
		}
		buf := make([]byte, n)
		n, err = syscall.Listxattr(path, buf)
		if errors.Is(err, syscall.ERANGE) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var names []string
		for _, name := range bytes.Split(buf[:n], []byte{0}) {
			if len(name) > 0 {
				names = append(names, string(name))
			}
		}
		return names, nil
	}
	return nil, syscall.ERANGE
}

func getXattr(path, name string) ([]byte, error) {
	for attempt := 0; attempt < 4; attempt++ {
		n, err := syscall.Getxattr(path, name, nil)
		if err != nil {
			return nil, err
		}
		buf := make([]byte, n)
		n, err = syscall.Getxattr(path, name, buf)
		if errors.Is(err, syscall.ERANGE) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
	return nil, syscall.ERANGE
}

// readMeta answers path's metadata, nil when it has none or its filesystem keeps no extended
// attributes. Attributes set by other means (setfattr) that are not UTF-8 are left out: the
// answer is JSON.
func readMeta(path string) (map[string]string, error) {
	names, err := listXattrs(path)
	if err != nil {
		if xattrUnsupported(err) {
			return nil, nil
		}
		return nil, err
	}
	var meta map[string]string
	for _, name := range names {
		if !strings.HasPrefix(name, metaXattrPrefix) {
			continue
		}
		v, err := getXattr(path, name)
		if errors.Is(err, syscall.ENODATA) {
			continue // removed in between
		}
		if err != nil {
			return nil, err
		}
		key := strings.TrimPrefix(name, metaXattrPrefix)
		if !utf8.ValidString(key) || !utf8.Valid(v) {
			continue
		}
		if meta == nil {
			meta = map[string]string{}
		}
		meta[key] = string(v)
	}
	return meta, nil
}

// writeMeta makes meta the whole metadata of path: keys it lacks are removed. A filesystem
// without user attributes (tmpfs before Linux 6.6, /proc) is a clear error when there is
// something to keep, and nothing to do otherwise.
func writeMeta(path string, meta map[string]string) error {
	if e := validateMeta(meta); e != nil {
		return e
	}
	names, err := listXattrs(path)
	if err != nil && !xattrUnsupported(err) {
		return err
	}
	for _, name := range names {
		if !strings.HasPrefix(name, metaXattrPrefix) {
			continue
		}
		if _, keep := meta[strings.TrimPrefix(name, metaXattrPrefix)]; keep {
			continue
		}
		if err := syscall.Removexattr(path, name); err != nil && !errors.Is(err, syscall.ENODATA) {
			return err
		}
	}
	for k, v := range meta {
		if err := syscall.Setxattr(path, metaXattrPrefix+k, []byte(v), 0); err != nil {
			if xattrUnsupported(err) {
				return gerr(ErrIO, "the filesystem of %s keeps no user extended attributes, so it cannot keep file metadata", path)
			}
			if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.E2BIG) {
				return gerr(ErrTooLarge, "no room for the metadata of %s: %v", path, err)
			}
			return err
		}
	}
	return nil
}
