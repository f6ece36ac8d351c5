package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nexus-run/nexus/internal/state"
)

// File names inside a project directory.
const (
	docName     = "state.json"
	backupName  = "state.json.backup"
	journalName = "journal.ndjson"
	historyName = "history.ndjson"
	lockName    = "lock"
)

// project is one project's directory as seen by one Store.
type project struct {
	name, dir string
	opts      Options

	// mu serializes this Store's operations on the project; the directory
	// flock (see do) serializes writers across Stores and processes.
	mu    sync.Mutex
	cache *snapshot // last document read or written; nil when unknown
	lock  *heldLock // the lock this Store holds; nil when none
}

// snapshot is a decoded document plus what identifies the files it came
// from, so a later operation can tell whether another writer moved on.
type snapshot struct {
	doc        *state.State // private: never handed out, only clones of it
	docID      fileID
	journalID  fileID // the journal as last seen
	journalOff int64  // bytes of the journal replayed: always a line boundary
	torn       bool   // bytes follow journalOff: a torn, uncommitted last line
	entries    int    // journal entries replayed
}

// fileID identifies a file's content well enough to detect a rewrite:
// renames change the inode, appends the size, every write the times.
type fileID struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64
}

func statID(path string) (fileID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fileID{}, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	return fileID{
		dev: uint64(st.Dev), ino: st.Ino, size: st.Size,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(),
	}, nil
}

func (p *project) path(name string) string { return filepath.Join(p.dir, name) }

// do runs fn holding p.mu and a flock on the project directory: shared for
// readers, exclusive for writers. Writers create the directory.
func (p *project) do(ctx context.Context, write bool, fn func() error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if write {
		if err := os.MkdirAll(p.dir, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", p.dir, err)
		}
	}
	fd, err := unix.Open(p.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		p.cache = nil
		return state.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", p.dir, err)
	}
	defer unix.Close(fd)
	how := unix.LOCK_SH
	if write {
		how = unix.LOCK_EX
	}
	if err := flockWait(ctx, fd, how); err != nil {
		return fmt.Errorf("lock %s: %w", p.dir, err)
	}
	// Closing fd releases the flock.
	return fn()
}

// flockWait takes a flock, polling so that ctx can cancel the wait: the
// holder is another writer, which holds it for one write.
func flockWait(ctx context.Context, fd, how int) error {
	backoff := time.Millisecond
	for {
		err := unix.Flock(fd, how|unix.LOCK_NB)
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, 50*time.Millisecond)
	}
}

// refresh brings p.cache up to date with the files, replaying only the new
// journal lines when state.json is unchanged. Any error clears the cache.
func (p *project) refresh() (*snapshot, error) {
	snap, err := p.refreshCache()
	if err != nil {
		p.cache = nil
		return nil, err
	}
	p.cache = snap
	return snap, nil
}

func (p *project) refreshCache() (*snapshot, error) {
	docPath, jPath := p.path(docName), p.path(journalName)
	docID, err := statID(docPath)
	if errors.Is(err, unix.ENOENT) {
		return nil, p.missingDocument()
	}
	if err != nil {
		return nil, err
	}
	jID, err := statID(jPath)
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return nil, err
	}
	if c := p.cache; c != nil && c.docID == docID {
		switch {
		case jID == c.journalID:
			return c, nil
		case jID.ino == c.journalID.ino && jID.size > c.journalID.size:
			// Appended by another writer (a hand edit that grows the
			// file lands here too, and fails to parse at the cut).
			return c, p.replayJournal(c, jID)
		}
	}
	buf, err := os.ReadFile(docPath)
	if err != nil {
		return nil, err
	}
	doc, err := state.Decode(buf)
	if err != nil {
		return nil, p.corrupt(docName, err)
	}
	if doc.Project != p.name {
		return nil, p.corrupt(docName, fmt.Errorf("%w: document of project %q", state.ErrCorrupt, doc.Project))
	}
	snap := &snapshot{doc: doc, docID: docID}
	if jID.size > 0 {
		if err := p.replayJournal(snap, jID); err != nil {
			return nil, err
		}
	}
	return snap, nil
}

// missingDocument tells ErrNotFound from a journal with no document under it.
func (p *project) missingDocument() error {
	entries, _, err := readJournal(p.path(journalName), 0)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return p.corrupt(journalName, err)
	}
	if len(entries) > 0 {
		return p.corrupt(journalName, fmt.Errorf("%w: %s has %d entries but %s is missing", state.ErrCorrupt, journalName, len(entries), docName))
	}
	return state.ErrNotFound
}

// corrupt wraps a read error with the file it came from and what to do.
func (p *project) corrupt(name string, err error) error {
	return fmt.Errorf("%s: %w; nexus will not write this project's state until the file is repaired or restored (the previous document is in %s)",
		p.path(name), err, backupName)
}

// replayJournal applies the journal lines after snap.journalOff to snap.doc.
func (p *project) replayJournal(snap *snapshot, jID fileID) error {
	entries, end, err := readJournal(p.path(journalName), snap.journalOff)
	if err != nil {
		return p.corrupt(journalName, err)
	}
	for _, e := range entries {
		if err := e.check(snap.doc, snap.entries > 0); err != nil {
			return p.corrupt(journalName, fmt.Errorf("line at byte %d: %w", e.offset, err))
		}
		if e.Serial <= snap.doc.Serial {
			continue // written before a compaction that crashed before emptying the journal
		}
		snap.doc.Apply(state.Change{Set: e.Set, Delete: e.Delete})
		snap.doc.Serial = e.Serial
		snap.entries++
	}
	snap.journalID, snap.journalOff, snap.torn = jID, end, end < jID.size
	return nil
}
