package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// errLineTooLong is returned by lineReader.next for a line longer than
// MaxRecordSize.
var errLineTooLong = errors.New("line too long")

// lineReader splits an audit log into lines of at most MaxRecordSize bytes,
// telling a whole line (ending in a newline) from a cut-off last one.
type lineReader struct {
	br   *bufio.Reader
	n    int    // number of the line last returned, 1-based
	long []byte // reused when a line spans buffer fills
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next line without its newline, and whether it had one.
// The line is valid until the next call. At the end it returns io.EOF.
func (lr *lineReader) next() (line []byte, complete bool, err error) {
	lr.long = lr.long[:0]
	for {
		frag, err := lr.br.ReadSlice('\n')
		switch {
		case err == nil:
			lr.n++
			if len(lr.long) == 0 {
				line = frag[:len(frag)-1]
			} else {
				lr.long = append(lr.long, frag[:len(frag)-1]...)
				line = lr.long
			}
			if len(line) > MaxRecordSize {
				return nil, false, errLineTooLong
			}
			return line, true, nil
		case errors.Is(err, bufio.ErrBufferFull):
			lr.long = append(lr.long, frag...)
			if len(lr.long) > MaxRecordSize {
				lr.n++
				return nil, false, errLineTooLong
			}
		case errors.Is(err, io.EOF):
			lr.long = append(lr.long, frag...)
			if len(lr.long) == 0 {
				return nil, false, io.EOF
			}
			lr.n++
			if len(lr.long) > MaxRecordSize {
				return nil, false, errLineTooLong
			}
			return lr.long, false, nil
		default:
			return nil, false, err
		}
	}
}

// parseLine decodes a whole line and checks that it is intact on its own:
// valid JSON, Hash matching the content, and in the canonical form Append
// writes. It does not look at the chain. line is the line's number for the
// error.
func parseLine(line []byte, n int) (Record, *CorruptError) {
	var r Record
	if err := json.Unmarshal(line, &r); err != nil {
		detail := fmt.Sprintf("not a valid audit record (%v)", err)
		if len(bytes.TrimSpace(line)) == 0 {
			detail = "empty line; the log has no blank lines"
		}
		return r, &CorruptError{Line: n, Damage: DamageMalformed, Detail: detail}
	}
	canonical, hash, err := encode(&r)
	if err != nil {
		return r, &CorruptError{Line: n, Damage: DamageMalformed, Detail: fmt.Sprintf("not a valid audit record (%v)", err)}
	}
	if r.Hash != hash {
		return r, &CorruptError{Line: n, Damage: DamageEdited, Detail: "record edited (hash mismatch)"}
	}
	if !bytes.Equal(canonical, line) {
		return r, &CorruptError{Line: n, Damage: DamageEdited, Detail: "record edited (the line is not in the form nexus writes)"}
	}
	return r, nil
}

// readError is the error for a lineReader failure on line n.
func readError(err error, n int) error {
	if errors.Is(err, errLineTooLong) {
		return tooLong(n)
	}
	return fmt.Errorf("read audit log line %d: %w", n+1, err)
}

// tooLong is the error for line n, longer than any record nexus writes.
func tooLong(n int) *CorruptError {
	return &CorruptError{Line: n, Damage: DamageMalformed, Detail: fmt.Sprintf("longer than %d bytes; not a record nexus wrote", MaxRecordSize)}
}
