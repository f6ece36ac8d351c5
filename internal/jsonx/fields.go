package jsonx

import "strings"

// The helpers below decode struct fields the way encoding/json does: null
// leaves a scalar as it is and sets a slice or map to nil.

// ReadString reads a string into p; null leaves p as it is.
func (r *Reader) ReadString(p *string) {
	if !r.Null() {
		*p = r.String()
	}
}

// ReadBool reads a bool into p; null leaves p as it is.
func (r *Reader) ReadBool(p *bool) {
	if !r.Null() {
		*p = r.Bool()
	}
}

// ReadInt reads an int into p; null leaves p as it is.
func (r *Reader) ReadInt(p *int) {
	if !r.Null() {
		*p = r.Int()
	}
}

// ReadUint64 reads a uint64 into p; null leaves p as it is.
func (r *Reader) ReadUint64(p *uint64) {
	if !r.Null() {
		*p = r.Uint64()
	}
}

// ReadFloat64 reads a float64 into p; null leaves p as it is.
func (r *Reader) ReadFloat64(p *float64) {
	if !r.Null() {
		*p = r.Float64()
	}
}

// ReadStrings reads an array of strings into p, a null element as "";
// null sets p to nil.
func (r *Reader) ReadStrings(p *[]string) {
	if r.Null() {
		*p = nil
		return
	}
	if !r.BeginArray() {
		return
	}
	out := []string{}
	for r.More() {
		var s string
		r.ReadString(&s)
		out = append(out, s)
	}
	*p = out
}

// ReadStringMap reads an object of strings into p, a null value as "";
// null sets p to nil.
func (r *Reader) ReadStringMap(p *map[string]string) {
	if r.Null() {
		*p = nil
		return
	}
	if !r.BeginObject() {
		return
	}
	out := map[string]string{}
	for r.More() {
		k := r.Key()
		var s string
		r.ReadString(&s)
		out[k] = s
	}
	*p = out
}

// ReadObject reads an object's members with member, which decodes the
// member named key and reports false for a name it does not know. A name
// that is no exact match is tried again as the first of names it equals
// ignoring case, as encoding/json matches struct fields; members still
// unknown are skipped. Null reads nothing and reports false.
func (r *Reader) ReadObject(names []string, member func(key string) bool) bool {
	if r.Null() || !r.BeginObject() {
		return false
	}
	for r.More() {
		key := r.Key()
		if member(key) {
			continue
		}
		if folded := foldName(key, names); folded != key && member(folded) {
			continue
		}
		r.Skip()
	}
	return true
}

// foldName returns the name of names that key matches: itself when it is
// one, else the first that equals it ignoring case, else key.
func foldName(key string, names []string) string {
	for _, n := range names {
		if n == key {
			return key
		}
	}
	for _, n := range names {
		if strings.EqualFold(n, key) {
			return n
		}
	}
	return key
}
