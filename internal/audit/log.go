package audit

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Errors returned (wrapped) by Open and Append.
var (
	// ErrClosed: Append after Close.
	ErrClosed = errors.New("audit log is closed")
	// ErrLocked: another process (or another Log in this one) has the
	// file open for writing.
	ErrLocked = errors.New("audit log is in use")
)

// Options configure a Log.
type Options struct {
	// Key is the HMAC-SHA256 key of Sensitive, at least 16 bytes; the
	// daemon keeps it beside its other secrets so that fingerprints compare
	// across restarts. When nil, Open makes a random key, and fingerprints
	// compare only among records written through that Log.
	Key []byte
	// Now is the clock that stamps records; nil means time.Now.
	Now func() time.Time
}

// minKeyLen is the shortest HMAC key Open accepts.
const minKeyLen = 16

// maxBatch caps how many records share one write and fsync.
const maxBatch = 1024

// Log appends records to an audit log file. Its methods are safe for
// concurrent use. One goroutine, started by Open and stopped by Close,
// writes every record.
type Log struct {
	path string
	f    *os.File
	key  []byte
	now  func() time.Time

	// mu guards closed, and is held for reading while Append hands a
	// request to the writer so that Close never closes reqs under a sender.
	mu     sync.RWMutex
	closed bool
	reqs   chan *request
	done   chan struct{} // closed when the writer returns

	headMu sync.Mutex
	head   Head

	// Owned by the writer goroutine.
	chain chain
	buf   []byte
	err   error // sticky: the first failed write or fsync
}

// request is one Append waiting for the writer.
type request struct {
	rec    Record
	result chan error // buffered: the writer never blocks on it
}

// Open opens the audit log at path for appending, creating it (mode 0600,
// and missing directories 0700) when it does not exist; the mode of an
// existing file is left alone. It takes an exclusive lock on the file (an
// error wrapping ErrLocked when held) and reads the last line to continue
// the chain. A damaged last line (cut off, unparsable or edited) is an error
// wrapping a *CorruptError that names the line: Open never truncates or
// repairs a log. Open checks only the last line; use Verify for the rest.
func Open(path string, opts Options) (*Log, error) {
	key := opts.Key
	if key == nil {
		key = make([]byte, 32)
		_, _ = rand.Read(key) // never fails; see crypto/rand.Read
	}
	if len(key) < minKeyLen {
		return nil, fmt.Errorf("open audit log %s: the HMAC key is %d bytes; use at least %d random bytes", path, len(key), minKeyLen)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	l := &Log{path: path, f: f, key: bytesClone(key), now: now}
	if err := l.prepare(dir); err != nil {
		f.Close()
		return nil, err
	}
	l.reqs = make(chan *request, maxBatch)
	l.done = make(chan struct{})
	go l.run()
	return l, nil
}

// prepare locks the file, makes its directory entry durable and reads the
// chain's end.
func (l *Log) prepare(dir string) error {
	if err := flock(l.f); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("open audit log %s: %w by another process or Log (another nexus daemon with the same data dir?)", l.path, ErrLocked)
		}
		return fmt.Errorf("lock audit log %s: %w", l.path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("open audit log %s: %w", l.path, err)
	}
	c, err := readChain(l.f)
	if err != nil {
		var ce *CorruptError
		if errors.As(err, &ce) {
			ce.Path = l.path
			return fmt.Errorf("%w; nexus never rewrites an audit log: inspect it with `nexus audit verify %s`, then repair the last line or move the file aside to start a new chain", ce, l.path)
		}
		return fmt.Errorf("read audit log %s: %w", l.path, err)
	}
	l.chain, l.head = c, c.head
	return nil
}

func flock(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var lockErr error
	if err := rc.Control(func(fd uintptr) { lockErr = unix.Flock(int(fd), unix.LOCK_EX|unix.LOCK_NB) }); err != nil {
		return err
	}
	return lockErr
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func bytesClone(b []byte) []byte { return append([]byte(nil), b...) }

// Path returns the file the log writes.
func (l *Log) Path() string { return l.path }

// Head returns the seq and hash of the last record written and fsynced (the
// zero Head for an empty log). Publish it so that deleting the last lines of
// the file can be detected.
func (l *Log) Head() Head {
	l.headMu.Lock()
	defer l.headMu.Unlock()
	return l.head
}

// Sensitive returns the value's keyed fingerprint, "hmac-sha256:<hex>", for
// records that must identify a sensitive value without revealing it.
func (l *Log) Sensitive(value string) string {
	mac := hmac.New(sha256.New, l.key)
	mac.Write([]byte(value))
	return "hmac-sha256:" + hex.EncodeToString(mac.Sum(nil))
}

// Append writes r and returns once its line is fsynced. It fills Seq, Time,
// Prev and Hash, overwriting what the caller set; Type and Outcome are
// required. Invalid UTF-8 is replaced by U+FFFD. Concurrent Appends share
// one write and fsync.
//
// When ctx ends before the log took the record, nothing is written. When it
// ends while the record is being written, Append returns ctx's error but the
// record may still reach the file. After a failed write or fsync every
// Append fails: the daemon should stop doing audited work.
func (l *Log) Append(ctx context.Context, r Record) error {
	if r.Type == "" || r.Outcome == "" {
		return fmt.Errorf("%w: type and outcome are required (got type %q, outcome %q)", ErrInvalidRecord, r.Type, r.Outcome)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("audit %s: %w", r.Type, err)
	}
	req := &request{rec: sanitize(r), result: make(chan error, 1)}
	if err := l.send(ctx, req); err != nil {
		return fmt.Errorf("audit %s: %w", r.Type, err)
	}
	select {
	case err := <-req.result:
		return err
	case <-ctx.Done():
		return fmt.Errorf("audit %s: %w while waiting for the write (the record may still be written)", r.Type, ctx.Err())
	}
}

// send hands req to the writer.
func (l *Log) send(ctx context.Context, req *request) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	select {
	case l.reqs <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes the records already handed to the log, stops its writer and
// closes the file. Appends after Close fail with ErrClosed. Closing twice is
// a no-op.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.reqs)
	l.mu.Unlock()
	<-l.done
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("close audit log %s: %w", l.path, err)
	}
	return nil
}
