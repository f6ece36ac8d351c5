package audit

import (
	"errors"
	"fmt"
	"io"
)

// ErrCorrupt is matched (errors.Is) by every *CorruptError.
var ErrCorrupt = errors.New("audit log is damaged or was tampered with")

// Damage says what kind of problem a line has.
type Damage int

// The kinds of damage Verify tells apart.
const (
	// DamageMalformed: the line is not a JSON audit record.
	DamageMalformed Damage = iota + 1
	// DamageTruncated: the last line has no newline; the file was cut off
	// in the middle of a record.
	DamageTruncated
	// DamageEdited: the record's content does not match its hash, or its
	// bytes are not the form nexus writes.
	DamageEdited
	// DamageDeleted: records are missing before this line.
	DamageDeleted
	// DamageInserted: the line does not follow the previous one: a record
	// was inserted, moved, or the previous line was rewritten.
	DamageInserted
)

var damageNames = map[Damage]string{
	DamageMalformed: "malformed", DamageTruncated: "truncated", DamageEdited: "edited",
	DamageDeleted: "deleted", DamageInserted: "inserted",
}

// String names the damage: "edited", "deleted", ...
func (d Damage) String() string {
	if s, ok := damageNames[d]; ok {
		return s
	}
	return fmt.Sprintf("Damage(%d)", int(d))
}

// CorruptError is the first bad line of an audit log.
type CorruptError struct {
	// Path is the log file, when known (Open sets it; Verify reads a stream).
	Path string
	// Line is the 1-based line number.
	Line   int
	Damage Damage
	// Detail says what is wrong: "record edited (hash mismatch)".
	Detail string
}

// Error renders "line 7: record edited (hash mismatch)", prefixed with the
// file when known.
func (e *CorruptError) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("audit log %s: line %d: %s", e.Path, e.Line, e.Detail)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Detail)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Report is what Verify found.
type Report struct {
	// Records counts the intact records before the first problem: all of
	// them when the log is intact.
	Records int
	// Head is the last intact record; the zero Head for none. Compare it
	// with a head the daemon published to detect deleted last lines.
	Head Head
	// Problem is the first bad line; nil when the whole log is intact.
	Problem *CorruptError
}

// OK reports whether the whole log verified.
func (r Report) OK() bool { return r.Problem == nil }

// Verify reads an audit log to its end and checks every line: that it is
// whole, valid JSON in canonical form, that its Hash matches its content,
// that its Seq is one more than the previous record's, and that its Prev is
// the hash of the previous line. It stops at the first bad line and returns
// it both in the Report and as the error (a *CorruptError); any other error
// is a failure to read r. An empty log is intact.
func Verify(r io.Reader) (Report, error) {
	var rep Report
	lr := newLineReader(r)
	prev := chain{}
	for {
		line, complete, err := lr.next()
		if errors.Is(err, io.EOF) {
			return rep, nil
		}
		if err != nil {
			err = readError(err, lr.n)
			if ce, ok := err.(*CorruptError); ok {
				rep.Problem = ce
			}
			return rep, err
		}
		r, ce := checkLine(line, complete, lr.n, prev)
		if ce != nil {
			rep.Problem = ce
			return rep, ce
		}
		rep.Records++
		rep.Head = Head{Seq: r.Seq, Hash: r.Hash}
		prev = chain{head: rep.Head, prev: lineHash(line)}
	}
}

// checkLine checks line number n against the chain before it and returns
// its record.
func checkLine(line []byte, complete bool, n int, prev chain) (Record, *CorruptError) {
	if !complete {
		return Record{}, &CorruptError{Line: n, Damage: DamageTruncated, Detail: "truncated"}
	}
	r, ce := parseLine(line, n)
	if ce != nil {
		return r, ce
	}
	return r, checkLink(r, n, prev)
}

// checkLink checks that record r, on line n, follows the chain prev.
func checkLink(r Record, n int, prev chain) *CorruptError {
	want := prev.head.Seq + 1
	switch {
	case r.Seq == 0:
		return &CorruptError{Line: n, Damage: DamageInserted, Detail: "a record was inserted (seq 0; nexus numbers records from 1)"}
	case n == 1 && r.Seq > 1:
		return &CorruptError{Line: n, Damage: DamageDeleted, Detail: fmt.Sprintf("records were deleted before it (the log starts at seq %d, not 1)", r.Seq)}
	case r.Seq == want+1:
		return &CorruptError{Line: n, Damage: DamageDeleted, Detail: fmt.Sprintf("a record was deleted before it (seq %d → %d)", prev.head.Seq, r.Seq)}
	case r.Seq > want:
		return &CorruptError{Line: n, Damage: DamageDeleted, Detail: fmt.Sprintf("%d records were deleted before it (seq %d → %d)", r.Seq-want, prev.head.Seq, r.Seq)}
	case r.Seq < want:
		return &CorruptError{Line: n, Damage: DamageInserted, Detail: fmt.Sprintf("a record was inserted or moved (seq %d follows seq %d)", r.Seq, prev.head.Seq)}
	}
	wantPrev := prev.prev
	if n == 1 {
		wantPrev = GenesisPrev
	}
	if r.Prev != wantPrev {
		if n == 1 {
			return &CorruptError{Line: n, Damage: DamageInserted, Detail: "a record was inserted (the first record's prev is not 64 zeros)"}
		}
		return &CorruptError{Line: n, Damage: DamageInserted, Detail: fmt.Sprintf("a record was inserted (prev does not match line %d)", n-1)}
	}
	return nil
}

var _ error = (*CorruptError)(nil)
