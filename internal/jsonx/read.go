package jsonx

import (
	"fmt"
	"strconv"
	"strings"
)

// maxDepth is how deeply arrays and objects may nest, as in encoding/json.
const maxDepth = 10000

// Kind is the kind of the next JSON value.
type Kind byte

// The kinds of JSON values; Invalid is anything else (the end of the
// input, a stray delimiter, an error already recorded).
const (
	Invalid Kind = iota
	Null
	Bool
	Number
	String
	Array
	Object
)

// SyntaxError is a JSON text that does not parse, or a value of the wrong
// kind where the caller expected another.
type SyntaxError struct {
	Offset int // byte offset in the input
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("json: %s at offset %d", e.Msg, e.Offset) }

// Reader decodes one JSON text from a string, value by value, as the
// caller asks for them. The first problem is recorded (see Err) and every
// later call does nothing and returns a zero value, so a decoder reads on
// and checks Err once at the end.
//
// Objects and arrays are read with a loop:
//
//	r.BeginObject()
//	for r.More() {
//		switch r.Key() {
//		case "name":
//			name = r.String()
//		default:
//			r.Skip()
//		}
//	}
type Reader struct {
	s       string
	i       int
	closers []byte // the closing delimiters of the open objects and arrays
	first   bool   // the next More is the first of its object or array
	err     error
}

// NewReader returns a Reader of s.
func NewReader(s string) *Reader { return &Reader{s: s} }

// NewReaderAt returns a Reader of s that starts at byte offset off, for
// decoding parts of one text in parallel.
func NewReaderAt(s string, off int) *Reader { return &Reader{s: s, i: min(max(off, 0), len(s))} }

// SkipTo moves past a value that another Reader of the same text has read
// (and checked): off is the offset right after it.
func (r *Reader) SkipTo(off int) {
	if r.err == nil {
		r.i = min(max(off, r.i), len(r.s))
	}
}

// Next reads the next byte after whitespace, which must be one of want
// (such as ",}" after an object member), and returns it; otherwise it
// records a problem and returns 0.
func (r *Reader) Next(want string) byte {
	c := r.peek()
	if r.err != nil {
		return 0
	}
	if r.i < len(r.s) && strings.IndexByte(want, c) >= 0 {
		r.i++
		return c
	}
	r.Errorf("invalid character %s, expected one of %q", r.found(), want)
	return 0
}

// Err returns the first problem met, or nil.
func (r *Reader) Err() error { return r.err }

// Offset returns the byte offset of the next unread byte.
func (r *Reader) Offset() int { return r.i }

// Errorf records a problem at the current offset, unless one is recorded.
func (r *Reader) Errorf(format string, args ...any) {
	if r.err == nil {
		r.err = &SyntaxError{Offset: r.i, Msg: fmt.Sprintf(format, args...)}
	}
}

// Fail records err (a decoder's own problem with a value) unless a problem
// is recorded already.
func (r *Reader) Fail(err error) {
	if r.err == nil && err != nil {
		r.err = err
	}
}

func (r *Reader) skipSpace() {
	for r.i < len(r.s) {
		switch r.s[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek returns the next byte after whitespace, or 0 at the end or after an
// error.
func (r *Reader) peek() byte {
	if r.err != nil {
		return 0
	}
	r.skipSpace()
	if r.i >= len(r.s) {
		return 0
	}
	return r.s[r.i]
}

// found describes the next byte for error messages.
func (r *Reader) found() string {
	if r.i >= len(r.s) {
		return "end of input"
	}
	return strconv.QuoteRune(rune(r.s[r.i]))
}

// Kind returns the kind of the next value without reading it.
func (r *Reader) Kind() Kind {
	switch c := r.peek(); {
	case c == 'n':
		return Null
	case c == 't' || c == 'f':
		return Bool
	case c == '-' || '0' <= c && c <= '9':
		return Number
	case c == '"':
		return String
	case c == '[':
		return Array
	case c == '{':
		return Object
	}
	return Invalid
}

// End checks that only whitespace follows what was read.
func (r *Reader) End() error {
	if r.peek(); r.err == nil && r.i < len(r.s) {
		r.Errorf("invalid character %s after top-level value", r.found())
	}
	return r.err
}

// literal consumes word if the input continues with it.
func (r *Reader) literal(word string) bool {
	if strings.HasPrefix(r.s[r.i:], word) {
		r.i += len(word)
		return true
	}
	r.Errorf("invalid literal, expected %q", word)
	return false
}

// Null reads a null and reports true if the next value is null; otherwise
// it reads nothing and reports false.
func (r *Reader) Null() bool {
	if r.peek() != 'n' {
		return false
	}
	return r.literal("null")
}

// Bool reads true or false.
func (r *Reader) Bool() bool {
	switch r.peek() {
	case 't':
		return r.literal("true")
	case 'f':
		r.literal("false")
		return false
	}
	r.Errorf("expected a boolean, found %s", r.found())
	return false
}

// BeginObject reads the '{' of an object, reporting false when the next
// value is not one.
func (r *Reader) BeginObject() bool { return r.begin('{', '}', "an object") }

// BeginArray reads the '[' of an array, reporting false when the next
// value is not one.
func (r *Reader) BeginArray() bool { return r.begin('[', ']', "an array") }

func (r *Reader) begin(open, close byte, what string) bool {
	if r.peek() != open {
		r.Errorf("expected %s, found %s", what, r.found())
		return false
	}
	if len(r.closers) >= maxDepth {
		r.Errorf("exceeded max depth")
		return false
	}
	r.i++
	r.closers = append(r.closers, close)
	r.first = true
	return true
}

// More reports whether the object or array being read has another member
// (or element), reading the ',' before it; at the end it reads the closing
// '}' (or ']') and reports false.
func (r *Reader) More() bool {
	c := r.peek()
	if r.err != nil || len(r.closers) == 0 {
		r.Errorf("More outside an object or array")
		return false
	}
	closer := r.closers[len(r.closers)-1]
	first := r.first
	r.first = false
	switch {
	case c == closer:
		r.i++
		r.closers = r.closers[:len(r.closers)-1]
		return false
	case first && c != 0:
		return true
	case !first && c == ',':
		r.i++
		return true
	}
	r.Errorf("invalid character %s, expected ',' or %q", r.found(), closer)
	return false
}

// Key reads an object member's name and the ':' after it.
func (r *Reader) Key() string {
	k := r.String()
	if r.peek() != ':' {
		r.Errorf("invalid character %s after object key", r.found())
		return ""
	}
	r.i++
	return k
}

// Skip reads the next value, whatever it is, checking its syntax.
func (r *Reader) Skip() {
	switch r.Kind() {
	case Null:
		r.literal("null")
	case Bool:
		r.Bool()
	case Number:
		r.Number()
	case String:
		r.skipString()
	case Array:
		r.BeginArray()
		for r.More() {
			r.Skip()
		}
	case Object:
		r.BeginObject()
		for r.More() {
			r.skipString()
			if r.peek() != ':' {
				r.Errorf("invalid character %s after object key", r.found())
				return
			}
			r.i++
			r.Skip()
		}
	default:
		if r.err == nil {
			r.Errorf("expected a value, found %s", r.found())
		}
	}
}

// SkipSpace skips whitespace and returns the offset of the next byte: with
// Since, it gives the text of values read in between.
func (r *Reader) SkipSpace() int {
	r.skipSpace()
	return r.i
}

// Since returns the input from offset from to the next unread byte, or ""
// after an error.
func (r *Reader) Since(from int) string {
	if r.err != nil || from > r.i {
		return ""
	}
	return r.s[from:r.i]
}

// Raw reads the next value and returns its text, syntax checked.
func (r *Reader) Raw() string {
	r.skipSpace()
	start := r.i
	r.Skip()
	if r.err != nil {
		return ""
	}
	return r.s[start:r.i]
}
