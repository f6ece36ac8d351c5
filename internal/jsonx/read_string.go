package jsonx

import (
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// String reads a string and returns it unescaped. A string without escapes
// or invalid UTF-8 is returned as a substring of the input.
func (r *Reader) String() string {
	if r.peek() != '"' {
		r.Errorf("expected a string, found %s", r.found())
		return ""
	}
	start := r.i + 1
	i, high := readStop(r.s, start)
	switch {
	case i >= len(r.s):
		r.i = len(r.s)
		r.Errorf("unexpected end of input in string literal")
		return ""
	case r.s[i] == '\\':
		return r.unquote(start, i)
	case r.s[i] < 0x20:
		r.i = i
		r.Errorf("invalid character %s in string literal", r.found())
		return ""
	}
	// r.s[i] is the closing quote.
	if s := r.s[start:i]; !high || utf8.ValidString(s) {
		r.i = i + 1
		return s
	}
	return r.unquote(start, start)
}

// unquote decodes the string starting at start whose first byte needing
// work (an escape, invalid UTF-8) is at i, as encoding/json does.
func (r *Reader) unquote(start, i int) string {
	var b strings.Builder
	b.Grow(i - start + 16)
	b.WriteString(r.s[start:i])
	for i < len(r.s) {
		c := r.s[i]
		switch {
		case c == '"':
			r.i = i + 1
			return b.String()
		case c < 0x20:
			r.i = i
			r.Errorf("invalid character %s in string literal", r.found())
			return ""
		case c == '\\':
			if i+1 >= len(r.s) {
				i++
				break
			}
			switch e := r.s[i+1]; e {
			case '"', '\\', '/':
				b.WriteByte(e)
				i += 2
			case 'b':
				b.WriteByte('\b')
				i += 2
			case 'f':
				b.WriteByte('\f')
				i += 2
			case 'n':
				b.WriteByte('\n')
				i += 2
			case 'r':
				b.WriteByte('\r')
				i += 2
			case 't':
				b.WriteByte('\t')
				i += 2
			case 'u':
				rr := hex4(r.s[i+2:])
				if rr < 0 {
					r.i = i
					r.Errorf("invalid \\u escape in string literal")
					return ""
				}
				i += 6
				if utf16.IsSurrogate(rr) {
					if i+6 <= len(r.s) && r.s[i] == '\\' && r.s[i+1] == 'u' {
						if dec := utf16.DecodeRune(rr, hex4(r.s[i+2:])); dec != unicode.ReplacementChar {
							b.WriteRune(dec)
							i += 6
							break
						}
					}
					rr = unicode.ReplacementChar
				}
				b.WriteRune(rr)
			default:
				r.i = i
				r.Errorf("invalid escape in string literal")
				return ""
			}
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			i++
		default:
			rr, size := utf8.DecodeRuneInString(r.s[i:])
			b.WriteRune(rr) // RuneError for invalid UTF-8, as encoding/json
			i += size
		}
	}
	r.i = len(r.s)
	r.Errorf("unexpected end of input in string literal")
	return ""
}

// skipString reads a string, checking its syntax without decoding it.
func (r *Reader) skipString() {
	if r.peek() != '"' {
		r.Errorf("expected a string, found %s", r.found())
		return
	}
	for i := r.i + 1; i < len(r.s); {
		i, _ = readStop(r.s, i)
		if i >= len(r.s) {
			break
		}
		c := r.s[i]
		switch {
		case c == '"':
			r.i = i + 1
			return
		case c < 0x20:
			r.i = i
			r.Errorf("invalid character %s in string literal", r.found())
			return
		case c == '\\':
			if i+1 >= len(r.s) {
				i++
				continue
			}
			switch r.s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if hex4(r.s[i+2:]) < 0 {
					r.i = i
					r.Errorf("invalid \\u escape in string literal")
					return
				}
				i += 6
			default:
				r.i = i
				r.Errorf("invalid escape in string literal")
				return
			}
		default:
			i++
		}
	}
	r.i = len(r.s)
	r.Errorf("unexpected end of input in string literal")
}

// hex4 decodes the 4 hex digits at the start of s (what follows a "\\u"),
// or returns -1.
func hex4(s string) rune {
	if len(s) < 4 {
		return -1
	}
	var v rune
	for _, c := range []byte(s[:4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		v = v*16 + rune(c)
	}
	return v
}
