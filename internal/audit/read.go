package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Read returns the records of an audit log that are not older than since
// (the zero time: all) and for which filter returns true (nil: all), in file
// order. It parses records but does not check the chain; Verify does that.
// At the first line it cannot parse, or a cut-off last line, it returns the
// records read so far together with a *CorruptError naming the line.
func Read(r io.Reader, since time.Time, filter func(Record) bool) ([]Record, error) {
	var out []Record
	lr := newLineReader(r)
	for {
		line, complete, err := lr.next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, readError(err, lr.n)
		}
		if !complete {
			return out, &CorruptError{Line: lr.n, Damage: DamageTruncated, Detail: "truncated"}
		}
		var rec Record
		if err := json.Unmarshal(line, &rec); err != nil {
			return out, &CorruptError{Line: lr.n, Damage: DamageMalformed, Detail: fmt.Sprintf("not a valid audit record (%v)", err)}
		}
		if rec.Time.Before(since) || filter != nil && !filter(rec) {
			continue
		}
		out = append(out, rec)
	}
}
