package file

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/nexus-run/nexus/internal/state"
)

// appendHistory appends one line to history.ndjson. It is not synced and
// its errors are dropped: history is an account for humans, and the write it
// describes has already landed; a crash may lose its last lines.
func (p *project) appendHistory(h state.HistoryEntry) {
	line, err := json.Marshal(h)
	if err != nil {
		return
	}
	f, err := os.OpenFile(p.path(historyName), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.Write(append(line, '\n'))
}

// trimHistory rewrites history.ndjson with its last HistoryLimit lines when
// it holds more. Like appendHistory it is best effort.
func (p *project) trimHistory() {
	path := p.path(historyName)
	buf, err := os.ReadFile(path)
	if err != nil {
		return
	}
	lines := bytes.SplitAfter(buf, []byte{'\n'})
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	if len(lines) <= p.opts.HistoryLimit {
		return
	}
	keep := bytes.Join(lines[len(lines)-p.opts.HistoryLimit:], nil)
	tmp, err := writeTemp(p.dir, historyName+".tmp-*", keep)
	if err != nil {
		return
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
	}
}

// readHistory returns up to n entries of history.ndjson, newest first. A
// line that does not parse is skipped: history never blocks a reader.
func (p *project) readHistory(n int) ([]state.HistoryEntry, error) {
	buf, err := os.ReadFile(p.path(historyName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p.path(historyName), err)
	}
	var out []state.HistoryEntry
	for _, line := range bytes.Split(buf, []byte{'\n'}) {
		var h state.HistoryEntry
		if len(line) == 0 || json.Unmarshal(line, &h) != nil {
			continue
		}
		out = append(out, h)
	}
	slices.Reverse(out)
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out, nil
}
