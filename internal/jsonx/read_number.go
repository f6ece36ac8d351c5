package jsonx

import "strconv"

// Number reads a number and returns its literal text.
func (r *Reader) Number() string {
	c := r.peek()
	if c != '-' && !isDigit(c) {
		if r.err == nil {
			r.Errorf("expected a number, found %s", r.found())
		}
		return ""
	}
	start, i := r.i, r.i
	if c == '-' {
		i++
	}
	switch {
	case i < len(r.s) && r.s[i] == '0':
		i++
	case i < len(r.s) && '1' <= r.s[i] && r.s[i] <= '9':
		for i++; i < len(r.s) && isDigit(r.s[i]); i++ {
		}
	default:
		r.i = i
		r.Errorf("invalid character %s in numeric literal", r.found())
		return ""
	}
	if i < len(r.s) && r.s[i] == '.' {
		i++
		if i >= len(r.s) || !isDigit(r.s[i]) {
			r.i = i
			r.Errorf("invalid character %s after decimal point in numeric literal", r.found())
			return ""
		}
		for ; i < len(r.s) && isDigit(r.s[i]); i++ {
		}
	}
	if i < len(r.s) && (r.s[i] == 'e' || r.s[i] == 'E') {
		i++
		if i < len(r.s) && (r.s[i] == '+' || r.s[i] == '-') {
			i++
		}
		if i >= len(r.s) || !isDigit(r.s[i]) {
			r.i = i
			r.Errorf("invalid character %s in exponent of numeric literal", r.found())
			return ""
		}
		for ; i < len(r.s) && isDigit(r.s[i]); i++ {
		}
	}
	r.i = i
	return r.s[start:i]
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// Int reads a number that must be an integer fitting an int.
func (r *Reader) Int() int {
	n := r.Number()
	if r.err != nil {
		return 0
	}
	v, err := strconv.ParseInt(n, 10, strconv.IntSize)
	if err != nil {
		r.Errorf("cannot read number %s as an int", n)
	}
	return int(v)
}

// Uint64 reads a number that must be an integer fitting a uint64.
func (r *Reader) Uint64() uint64 {
	n := r.Number()
	if r.err != nil {
		return 0
	}
	v, err := strconv.ParseUint(n, 10, 64)
	if err != nil {
		r.Errorf("cannot read number %s as a uint64", n)
	}
	return v
}

// Float64 reads a number that must fit a float64.
func (r *Reader) Float64() float64 {
	n := r.Number()
	if r.err != nil {
		return 0
	}
	v, err := strconv.ParseFloat(n, 64)
	if err != nil {
		r.Errorf("cannot read number %s as a float64", n)
	}
	return v
}
