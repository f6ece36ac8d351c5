package logfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("log file closed")

// Permissions of created log directories and files: process output may hold
// anything, so only the daemon's user and group may read it.
const (
	dirMode  = 0o750
	fileMode = 0o640
)

// Writer appends to a log file and rotates it by size: when the next write
// would take the file past maxSize bytes, path is renamed to path.1 (path.1
// to path.2 and so on), at most maxFiles rotated files are kept, and writing
// goes on in a new, empty path. No file is ever larger than maxSize.
//
// Writer is safe for concurrent use; concurrent writes are serialised, so a
// single Write of a line is never interleaved with another.
type Writer struct {
	path string

	mu       sync.Mutex
	maxSize  int64
	maxFiles int
	f        *os.File // nil once closed
	size     int64
}

var _ io.WriteCloser = (*Writer)(nil)

// Open opens (creating it and its directory when needed) the log file at
// path for appending. maxSize must be at least 1 byte; maxFiles is the number
// of rotated files kept (0 keeps none: a full file is simply started over).
func Open(path string, maxSize int64, maxFiles int) (*Writer, error) {
	if err := checkLimits(maxSize, maxFiles); err != nil {
		return nil, fmt.Errorf("open log %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, fileMode)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open log: %w", err)
	}
	return &Writer{path: path, maxSize: maxSize, maxFiles: maxFiles, f: f, size: st.Size()}, nil
}

func checkLimits(maxSize int64, maxFiles int) error {
	if maxSize < 1 || maxFiles < 0 {
		return fmt.Errorf("max size %d must be at least 1 byte and max files %d at least 0", maxSize, maxFiles)
	}
	return nil
}

// Path returns the path of the live (not rotated) file.
func (w *Writer) Path() string { return w.path }

// SetLimits changes the rotation limits; they apply from the next Write.
// Rotated files beyond the new maxFiles are removed at the next rotation.
func (w *Writer) SetLimits(maxSize int64, maxFiles int) error {
	if err := checkLimits(maxSize, maxFiles); err != nil {
		return fmt.Errorf("log %s: %w", w.path, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.maxSize, w.maxFiles = maxSize, maxFiles
	return nil
}

// Write appends p, rotating first (and as often as needed) so that no file
// exceeds the maximum size. A p that does not fit in the current file is cut
// at its last newline that fits; a line longer than the room left goes whole
// into the next file, and a line longer than a whole file is cut at the size.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return 0, ErrClosed
	}
	written := 0
	for {
		room := w.maxSize - w.size
		if int64(len(p)) <= room {
			n, err := w.write(p)
			return written + n, err
		}
		if n := cut(p, room, w.size == 0); n > 0 {
			m, err := w.write(p[:n])
			written += m
			if err != nil {
				return written, err
			}
			p = p[n:]
		}
		if err := w.rotate(); err != nil {
			return written, err
		}
	}
}

// cut returns how many bytes of p (which does not fit) to write before
// rotating: up to the last newline within room, else all of room when the
// file is empty (a line longer than a file), else nothing.
func cut(p []byte, room int64, empty bool) int {
	if room <= 0 {
		return 0
	}
	if i := bytes.LastIndexByte(p[:room], '\n'); i >= 0 {
		return i + 1
	}
	if empty {
		return int(room)
	}
	return 0
}

func (w *Writer) write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("write log %s: %w", w.path, err)
	}
	return n, nil
}

// rotate shifts path → path.1 → path.2 …, drops what is beyond maxFiles and
// starts a new path. When a rename fails it still reopens path, so that
// output keeps flowing into an oversized file rather than being lost.
func (w *Writer) rotate() error {
	errClose := w.f.Close()
	w.f = nil
	errShift := w.shift()
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, fileMode)
	if err != nil {
		return fmt.Errorf("rotate log %s: %w", w.path, errors.Join(errClose, errShift, err))
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("rotate log %s: %w", w.path, err)
	}
	w.f, w.size = f, st.Size()
	if err := errors.Join(errClose, errShift); err != nil {
		return fmt.Errorf("rotate log %s: %w", w.path, err)
	}
	return nil
}

func (w *Writer) shift() error {
	if err := w.prune(); err != nil {
		return err
	}
	if w.maxFiles == 0 {
		return ignoreNotExist(os.Remove(w.path))
	}
	for i := w.maxFiles - 1; i >= 1; i-- {
		if err := ignoreNotExist(os.Rename(w.numbered(i), w.numbered(i+1))); err != nil {
			return err
		}
	}
	return ignoreNotExist(os.Rename(w.path, w.numbered(1)))
}

// prune removes rotated files numbered maxFiles and above, making room for
// the shift (and cleaning up after maxFiles was lowered).
func (w *Writer) prune() error {
	matches, err := filepath.Glob(w.path + ".*")
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range matches {
		n, err := strconv.Atoi(strings.TrimPrefix(m, w.path+"."))
		if err != nil || n < max(w.maxFiles, 1) {
			continue
		}
		errs = append(errs, ignoreNotExist(os.Remove(m)))
	}
	return errors.Join(errs...)
}

func (w *Writer) numbered(i int) string { return w.path + "." + strconv.Itoa(i) }

func ignoreNotExist(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Close closes the file. Later writes fail with ErrClosed; Close is
// idempotent.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return fmt.Errorf("close log %s: %w", w.path, err)
	}
	return nil
}

// ConfigLimits converts the `log_max_size_mb` and `log_max_files` config
// attributes of a kind (exec, schedule) to Open's limits: at least 1 KiB,
// and a whole number of files, at least 1. The error is written for the
// config's author.
func ConfigLimits(sizeMB, files float64) (maxSize int64, maxFiles int, err error) {
	if !(sizeMB > 0) || files < 1 || files != math.Trunc(files) {
		return 0, 0, errors.New("log_max_size_mb must be positive and log_max_files a whole number, at least 1")
	}
	return max(int64(sizeMB*(1<<20)), 1<<10), int(files), nil
}
