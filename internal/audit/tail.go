package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// readChain reads the last line of an open log and returns the chain that
// the next record continues. An empty file is the start of a new chain.
func readChain(f *os.File) (chain, error) {
	st, err := f.Stat()
	if err != nil {
		return chain{}, err
	}
	if !st.Mode().IsRegular() {
		return chain{}, fmt.Errorf("not a regular file (%s)", st.Mode())
	}
	size := st.Size()
	if size == 0 {
		return chain{}, nil
	}
	line, complete, err := lastLine(f, size)
	var ce *CorruptError
	switch {
	case errors.Is(err, errLineTooLong):
		ce = tooLong(0)
	case err != nil:
		return chain{}, err
	case !complete:
		ce = &CorruptError{Damage: DamageTruncated, Detail: "truncated (the last write was cut off)"}
	}
	var r Record
	if ce == nil {
		r, ce = parseLine(line, 0)
	}
	if ce == nil && r.Seq == 0 {
		ce = &CorruptError{Damage: DamageInserted, Detail: "a record was inserted (seq 0; nexus numbers records from 1)"}
	}
	if ce == nil {
		return chain{head: Head{Seq: r.Seq, Hash: r.Hash}, prev: lineHash(line)}, nil
	}
	// Name the line: count the newlines before it.
	n, err := countLines(f, size)
	if err != nil {
		return chain{}, err
	}
	if complete {
		n-- // the last newline ends the bad line itself
	}
	ce.Line = n + 1
	return chain{}, ce
}

// lastLine reads backwards from the end of f to the start of its last line,
// and returns that line without its newline and whether it had one.
func lastLine(f io.ReaderAt, size int64) (line []byte, complete bool, err error) {
	const chunk = 64 << 10
	end := size
	var last [1]byte
	if _, err := f.ReadAt(last[:], size-1); err != nil {
		return nil, false, err
	}
	if last[0] == '\n' {
		complete = true
		end--
	}
	var tail []byte
	for start := end; start > 0; {
		n := min(chunk, start)
		buf := make([]byte, n)
		if _, err := f.ReadAt(buf, start-n); err != nil {
			return nil, false, err
		}
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			tail = append(buf[i+1:], tail...)
			break
		}
		tail = append(buf, tail...)
		start -= n
		if len(tail) > MaxRecordSize {
			return nil, complete, errLineTooLong
		}
	}
	if len(tail) > MaxRecordSize {
		return nil, complete, errLineTooLong
	}
	return tail, complete, nil
}

// countLines counts the newlines in the first size bytes of f. Open needs it
// only to name a damaged line.
func countLines(f io.ReaderAt, size int64) (int, error) {
	buf := make([]byte, 256<<10)
	n := 0
	for off := int64(0); off < size; {
		m, err := f.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		n += bytes.Count(buf[:m], []byte{'\n'})
		off += int64(m)
		if err != nil && !(errors.Is(err, io.EOF) && off >= size) {
			return 0, err
		}
	}
	return n, nil
}
