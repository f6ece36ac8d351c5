package jsonx

// Strings are most of the bytes of the documents nexus encodes and decodes,
// so the loops over them look at eight bytes at a time for the few that
// need attention (SWAR: SIMD within a register). The tests hold them to
// the byte-at-a-time definitions.

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// load8 returns s[i:i+8] as a little-endian word; the compiler turns the
// expression into one load.
func load8(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// hasByte reports (in the high bit of a byte) whether some byte of x is c.
func hasByte(x uint64, c byte) uint64 {
	y := x ^ (lsb * uint64(c))
	return (y - lsb) &^ y & msb
}

// hasLess reports (in the high bit of a byte) whether some byte of x is
// below n, for n <= 0x80.
func hasLess(x uint64, n byte) uint64 {
	return (x - lsb*uint64(n)) &^ x & msb
}

// readStop returns the offset from i of the first byte a string reader
// must stop at: '"', '\\' or a control character; bytes from 0x80 on are
// passed over, and high says whether there were any. It returns len(s)
// when there is none.
func readStop(s string, i int) (stop int, high bool) {
	var seen uint64
	for ; i+8 <= len(s); i += 8 {
		x := load8(s, i)
		if hasLess(x, 0x20)|hasByte(x, '"')|hasByte(x, '\\') != 0 {
			break
		}
		seen |= x
	}
	for ; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' {
			break
		}
		seen |= uint64(c)
	}
	return i, seen&msb != 0
}

// writeStop returns the offset from i of the first byte AppendString must
// look at: one it escapes, or one from 0x80 on (the start of a character
// it may escape). It returns len(s) when there is none.
func writeStop(s string, i int) int {
	for ; i+8 <= len(s); i += 8 {
		x := load8(s, i)
		// c|2 is '>' for '<' and '>'; c|4 is '&' for '"' and '&'.
		if hasLess(x, 0x20)|hasByte(x|lsb*2, '>')|hasByte(x|lsb*4, '&')|hasByte(x, '\\')|x&msb != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || !htmlSafe[c] {
			return i
		}
	}
	return i
}
