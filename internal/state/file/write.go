package file

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nexus-run/nexus/internal/state"
)

// apply performs Store.Apply under the project's write lock.
func (p *project) apply(prev uint64, c state.Change) error {
	snap, err := p.refresh()
	created := errors.Is(err, state.ErrNotFound)
	cur := state.New(p.name)
	switch {
	case created:
	case err != nil:
		return err
	default:
		cur = snap.doc
	}
	if cur.Serial != prev {
		return fmt.Errorf("%w: stored serial %d, want %d", state.ErrSerialConflict, cur.Serial, prev)
	}
	e := entry{Serial: prev + 1, Lineage: cur.Lineage, Time: time.Now().UTC(), Set: c.Set, Delete: c.Delete}
	line, err := appendEntry(nil, &e)
	if err != nil {
		return fmt.Errorf("encode change: %w", err)
	}
	// The cached document must not share records with the caller, who may
	// change them after we return: it keeps copies. It is changed in place
	// (a copy of a large document per write would cost more than the
	// write), so the cache is dropped first, until the write has landed.
	p.cache = nil
	own := make([]*state.Module, len(c.Set))
	for i, m := range c.Set {
		own[i] = m.Clone()
	}
	next := cur
	next.Apply(state.Change{Set: own, Delete: c.Delete})
	next.Serial = prev + 1
	if created || p.compactDue(snap, next) {
		return p.writeFull(next, "apply")
	}
	jID, err := p.appendJournal(append(line, '\n'), snap)
	if err != nil {
		return err
	}
	snap.doc, snap.journalID, snap.journalOff, snap.torn = next, jID, jID.size, false
	snap.entries++
	p.cache = snap
	p.appendHistory(state.HistoryEntry{Serial: next.Serial, Lineage: next.Lineage, Time: e.Time, Modules: len(next.Modules), Reason: "apply"})
	return nil
}

// compactDue reports whether the journal has outgrown the document.
func (p *project) compactDue(snap *snapshot, next *state.State) bool {
	limit := max(p.opts.CompactMin, p.opts.CompactFactor*len(next.Modules))
	return snap.entries >= limit || snap.journalOff >= p.opts.CompactMaxSize
}

// writeFull writes doc as state.json atomically, keeps the replaced file as
// the backup and empties the journal. On success the cache holds doc when
// it is private to the store (an Apply's), and is cleared otherwise.
func (p *project) writeFull(doc *state.State, reason string) error {
	p.cache = nil
	buf, err := state.Encode(doc)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	docPath := p.path(docName)
	if err := p.removeTemps(); err != nil {
		return err
	}
	tmp, err := writeTemp(p.dir, docName+".tmp-*", buf)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // a no-op once renamed
	if err := p.keepBackup(); err != nil {
		return err
	}
	if err := os.Rename(tmp, docPath); err != nil {
		return fmt.Errorf("replace %s: %w", docPath, err)
	}
	// The new document must be durable before the journal it subsumes is
	// emptied, or a crash could lose the journal's changes.
	if err := syncDir(p.dir); err != nil {
		return err
	}
	jID, err := p.emptyJournal()
	if err != nil {
		return err
	}
	docID, err := statID(docPath)
	if err != nil {
		return err
	}
	if reason == "apply" {
		p.cache = &snapshot{doc: doc, docID: docID, journalID: jID}
	}
	p.appendHistory(state.HistoryEntry{Serial: doc.Serial, Lineage: doc.Lineage, Time: time.Now().UTC(), Modules: len(doc.Modules), Reason: reason})
	p.trimHistory()
	return nil
}

// keepBackup makes the current state.json (if any) the backup, by a hard
// link renamed over the old backup: state.json itself is never missing.
func (p *project) keepBackup() error {
	docPath, tmp := p.path(docName), p.path(backupName+".tmp")
	if _, err := os.Lstat(docPath); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	_ = os.Remove(tmp)
	if err := os.Link(docPath, tmp); err != nil {
		return fmt.Errorf("back up %s: %w", docPath, err)
	}
	if err := os.Rename(tmp, p.path(backupName)); err != nil {
		return fmt.Errorf("back up %s: %w", docPath, err)
	}
	return nil
}

// emptyJournal truncates (or creates) the journal and syncs it.
func (p *project) emptyJournal() (fileID, error) {
	path := p.path(journalName)
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fileID{}, err
	}
	defer f.Close()
	if err := f.Truncate(0); err != nil {
		return fileID{}, fmt.Errorf("empty %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fileID{}, fmt.Errorf("sync %s: %w", path, err)
	}
	if statErr != nil {
		if err := syncDir(p.dir); err != nil {
			return fileID{}, err
		}
	}
	return statID(path)
}

// removeTemps deletes temp files a crashed writer left behind.
func (p *project) removeTemps() error {
	olds, err := filepath.Glob(filepath.Join(p.dir, "*.tmp-*"))
	if err != nil {
		return err
	}
	for _, o := range olds {
		if err := os.Remove(o); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove stale %s: %w", o, err)
		}
	}
	return nil
}

// writeTemp writes buf to a new synced temp file in dir and returns its path.
func writeTemp(dir, pattern string, buf []byte) (string, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", fmt.Errorf("create temp file in %s: %w", dir, err)
	}
	name := f.Name()
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		os.Remove(name)
		return "", err
	}
	_, err = f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", fmt.Errorf("write %s: %w", name, err)
	}
	return name, nil
}

// syncDir fsyncs a directory, making renames and new entries in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
