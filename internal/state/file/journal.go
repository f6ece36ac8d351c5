package file

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nexus-run/nexus/internal/jsonx"
	"github.com/nexus-run/nexus/internal/state"
)

// entry is one journal line: a Change and the serial it made.
type entry struct {
	Serial  uint64          `json:"serial"`
	Lineage string          `json:"lineage"`
	Time    time.Time       `json:"time"`
	Set     []*state.Module `json:"set,omitempty"`
	Delete  []string        `json:"delete,omitempty"`

	offset int64 // where the line starts, for error messages
}

// appendEntry appends e's journal line (without the newline). Records are
// written by the state codec, so a line costs what its records cost.
func appendEntry(b []byte, e *entry) ([]byte, error) {
	b = append(b, `{"serial":`...)
	b = strconv.AppendUint(b, e.Serial, 10)
	b = append(b, `,"lineage":`...)
	b = jsonx.AppendString(b, e.Lineage)
	b = append(b, `,"time":`...)
	b, err := jsonx.AppendTime(b, e.Time)
	if err != nil {
		return nil, err
	}
	if len(e.Set) > 0 {
		b = append(b, `,"set":[`...)
		for i, m := range e.Set {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = state.AppendModule(b, m); err != nil {
				return nil, fmt.Errorf("module %q: %w", m.Spec.Address, err)
			}
		}
		b = append(b, ']')
	}
	if len(e.Delete) > 0 {
		b = append(b, `,"delete":`...)
		b = jsonx.AppendStrings(b, e.Delete)
	}
	return append(b, '}'), nil
}

var entryNames = []string{"serial", "lineage", "time", "set", "delete"}

// decodeEntry reads one journal line into e. The records share line's
// memory.
func decodeEntry(line string, e *entry) error {
	r := jsonx.NewReader(line)
	r.ReadObject(entryNames, func(key string) bool {
		switch key {
		case "serial":
			r.ReadUint64(&e.Serial)
		case "lineage":
			r.ReadString(&e.Lineage)
		case "time":
			if raw := r.Raw(); r.Err() == nil && raw != "null" {
				r.Fail(e.Time.UnmarshalJSON([]byte(raw)))
			}
		case "set":
			e.Set = nil
			if r.Null() || !r.BeginArray() {
				return true
			}
			e.Set = []*state.Module{}
			for r.More() {
				e.Set = append(e.Set, state.ReadModule(r))
			}
		case "delete":
			r.ReadStrings(&e.Delete)
		default:
			return false
		}
		return true
	})
	return r.End()
}

// check reports whether e may be replayed over doc. An entry at or below
// doc's serial is stale (it survived a compaction that crashed before
// emptying the journal), which is fine only before any fresh entry.
func (e *entry) check(doc *state.State, replayedAny bool) error {
	switch {
	case e.Lineage != doc.Lineage:
		return fmt.Errorf("%w: entry of lineage %s over a document of lineage %s", state.ErrCorrupt, e.Lineage, doc.Lineage)
	case e.Serial <= doc.Serial && replayedAny, e.Serial > doc.Serial+1:
		return fmt.Errorf("%w: entry serial %d does not follow serial %d", state.ErrCorrupt, e.Serial, doc.Serial)
	}
	if err := state.CheckChange(state.Change{Set: e.Set, Delete: e.Delete}); err != nil {
		return fmt.Errorf("%w: %v", state.ErrCorrupt, err)
	}
	return nil
}

// readJournal reads the complete lines of the journal from byte off on. A
// last line with no newline is a torn, unacknowledged append: it is left
// out, and end (the offset after the last complete line) says where it
// starts. A missing journal is an error wrapping fs.ErrNotExist.
func readJournal(path string, off int64) (entries []*entry, end int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	buf, err := io.ReadAll(io.NewSectionReader(f, off, 1<<62))
	if err != nil {
		return nil, 0, err
	}
	end = off
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			return entries, end, nil
		}
		line := buf[:i]
		e := &entry{offset: end}
		if err := decodeEntry(string(line), e); err != nil {
			return nil, 0, fmt.Errorf("%w: line at byte %d: %v", state.ErrCorrupt, end, err)
		}
		entries = append(entries, e)
		end += int64(i) + 1
		buf = buf[i+1:]
	}
}

// appendJournal appends one line and syncs it. A torn tail left by a crash
// is cut first, so the new line starts on a line boundary.
func (p *project) appendJournal(line []byte, snap *snapshot) (fileID, error) {
	path := p.path(journalName)
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fileID{}, err
	}
	defer f.Close()
	if statErr != nil {
		// A new file: its directory entry must be durable too.
		if err := syncDir(p.dir); err != nil {
			return fileID{}, err
		}
	}
	if snap.torn {
		if err := f.Truncate(snap.journalOff); err != nil {
			return fileID{}, fmt.Errorf("cut torn line of %s: %w", path, err)
		}
	}
	if _, err := f.Write(line); err != nil {
		return fileID{}, fmt.Errorf("append to %s: %w", path, err)
	}
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return fileID{}, fmt.Errorf("sync %s: %w", path, err)
	}
	return statID(path)
}
