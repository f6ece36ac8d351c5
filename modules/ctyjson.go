package modules

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/nexus-run/nexus/internal/jsonx"
)

// decodeValue reads a value of type ty as ctyjson.Unmarshal does, accepting
// and refusing exactly what it does, but on a jsonx.Reader: several times
// faster, and able to check a text without building its value (build
// false: the result is then cty.NilVal). Checking and decoding take the
// same path, so a text that checks also decodes. Problems are recorded in
// r.
func decodeValue(r *jsonx.Reader, ty cty.Type, build bool) cty.Value {
	if r.Null() {
		if build {
			return cty.NullVal(ty)
		}
		return cty.NilVal
	}
	// Elements of a dynamic type may differ in type, which the collection
	// constructors refuse: build them to compare, even when only checking.
	switch {
	case ty == cty.DynamicPseudoType:
		return decodeDynamic(r, build)
	case ty.IsPrimitiveType():
		return decodePrimitive(r, ty, build)
	case ty.IsListType(), ty.IsSetType():
		return decodeSequence(r, ty, build || ty.ElementType().HasDynamicTypes())
	case ty.IsMapType():
		return decodeMap(r, ty.ElementType(), build || ty.ElementType().HasDynamicTypes())
	case ty.IsTupleType():
		return decodeTuple(r, ty.TupleElementTypes(), build)
	case ty.IsObjectType():
		return decodeObject(r, ty.AttributeTypes(), build)
	}
	r.Fail(fmt.Errorf("unsupported type %s", ty.FriendlyName()))
	return cty.NilVal
}

func decodePrimitive(r *jsonx.Reader, ty cty.Type, build bool) cty.Value {
	kind := r.Kind()
	switch ty {
	case cty.Bool:
		switch kind {
		case jsonx.Bool:
			return cty.BoolVal(r.Bool())
		case jsonx.String:
			v, err := convert.Convert(cty.StringVal(r.String()), cty.Bool)
			if err != nil {
				r.Fail(err)
			}
			return v
		}
		r.Fail(fmt.Errorf("bool is required"))
	case cty.Number:
		var text string
		switch kind {
		case jsonx.Number:
			text = r.Number()
			if !build && !strings.ContainsAny(text, "eE") {
				return cty.NilVal // a decimal literal always parses
			}
		case jsonx.String:
			text = r.String()
		default:
			r.Fail(fmt.Errorf("number is required"))
			return cty.NilVal
		}
		v, err := cty.ParseNumberVal(text)
		if err != nil {
			r.Fail(err)
		}
		return v
	case cty.String:
		switch kind {
		case jsonx.String:
			if !build {
				r.Skip() // any string will do: check it without unescaping
				return cty.NilVal
			}
			return cty.StringVal(r.String())
		case jsonx.Number:
			return cty.StringVal(r.Number())
		case jsonx.Bool:
			return cty.StringVal(fmt.Sprint(r.Bool()))
		}
		r.Fail(fmt.Errorf("string is required"))
	}
	return cty.NilVal
}

// decodeSequence reads a list or a set.
func decodeSequence(r *jsonx.Reader, ty cty.Type, build bool) cty.Value {
	ety := ty.ElementType()
	if !r.BeginArray() {
		return cty.NilVal
	}
	var vals []cty.Value
	for r.More() {
		v := decodeValue(r, ety, build)
		if build {
			vals = append(vals, v)
		}
	}
	if !build || r.Err() != nil {
		return cty.NilVal
	}
	if !sameTypes(r, vals) {
		return cty.NilVal
	}
	switch {
	case ty.IsListType() && len(vals) == 0:
		return cty.ListValEmpty(ety)
	case ty.IsListType():
		return cty.ListVal(vals)
	case len(vals) == 0:
		return cty.SetValEmpty(ety)
	}
	return cty.SetVal(vals)
}

func decodeMap(r *jsonx.Reader, ety cty.Type, build bool) cty.Value {
	if !r.BeginObject() {
		return cty.NilVal
	}
	var vals map[string]cty.Value
	if build {
		vals = map[string]cty.Value{}
	}
	for r.More() {
		k := r.Key()
		v := decodeValue(r, ety, build)
		if build {
			vals[k] = v
		}
	}
	if !build || r.Err() != nil {
		return cty.NilVal
	}
	if len(vals) == 0 {
		return cty.MapValEmpty(ety)
	}
	list := make([]cty.Value, 0, len(vals))
	for _, v := range vals {
		list = append(list, v)
	}
	if !sameTypes(r, list) {
		return cty.NilVal
	}
	return cty.MapVal(vals)
}

// sameTypes reports whether the values of a collection have one type, as
// the cty constructors require (values of a dynamic element type may not),
// recording a problem in r when they do not.
func sameTypes(r *jsonx.Reader, vals []cty.Value) bool {
	for _, v := range vals[min(1, len(vals)):] {
		if !v.Type().Equals(vals[0].Type()) {
			r.Fail(fmt.Errorf("inconsistent collection element types (%s, %s)", vals[0].Type().FriendlyName(), v.Type().FriendlyName()))
			return false
		}
	}
	return true
}

func decodeTuple(r *jsonx.Reader, etys []cty.Type, build bool) cty.Value {
	if !r.BeginArray() {
		return cty.NilVal
	}
	var vals []cty.Value
	n := 0
	for r.More() {
		if n >= len(etys) {
			r.Fail(fmt.Errorf("too many tuple elements (need %d)", len(etys)))
			return cty.NilVal
		}
		v := decodeValue(r, etys[n], build)
		if build {
			vals = append(vals, v)
		}
		n++
	}
	switch {
	case r.Err() != nil:
		return cty.NilVal
	case n != len(etys):
		r.Fail(fmt.Errorf("not enough tuple elements (need %d)", len(etys)))
		return cty.NilVal
	case !build:
		return cty.NilVal
	case n == 0:
		return cty.EmptyTupleVal
	}
	return cty.TupleVal(vals)
}

func decodeObject(r *jsonx.Reader, atys map[string]cty.Type, build bool) cty.Value {
	if !r.BeginObject() {
		return cty.NilVal
	}
	var vals map[string]cty.Value
	if build {
		vals = make(map[string]cty.Value, len(atys))
	}
	for r.More() {
		k := r.Key()
		aty, ok := atys[k]
		if !ok {
			if r.Err() == nil {
				r.Fail(fmt.Errorf("unsupported attribute %q", k))
			}
			return cty.NilVal
		}
		v := decodeValue(r, aty, build)
		if build {
			vals[k] = v
		}
	}
	if !build || r.Err() != nil {
		return cty.NilVal
	}
	for k, aty := range atys {
		if _, ok := vals[k]; !ok {
			vals[k] = cty.NullVal(aty)
		}
	}
	if len(vals) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(vals)
}

// decodeDynamic reads a value of a dynamic type: {"value": …, "type": …}.
func decodeDynamic(r *jsonx.Reader, build bool) cty.Value {
	if !r.BeginObject() {
		return cty.NilVal
	}
	var typ, val string
	var haveType, haveValue bool
	for r.More() {
		switch k := r.Key(); k {
		case "type":
			typ, haveType = r.Raw(), true
		case "value":
			val, haveValue = r.Raw(), true
		default:
			if r.Err() == nil {
				r.Fail(fmt.Errorf("invalid key %q in dynamically-typed value", k))
			}
			return cty.NilVal
		}
	}
	switch {
	case r.Err() != nil:
		return cty.NilVal
	case !haveType:
		r.Fail(fmt.Errorf("missing type in dynamically-typed value"))
		return cty.NilVal
	case !haveValue:
		r.Fail(fmt.Errorf("missing value in dynamically-typed value"))
		return cty.NilVal
	}
	ty, err := parseType(typ)
	if err != nil {
		r.Fail(fmt.Errorf("failed to decode type for dynamic value: %w", err))
		return cty.NilVal
	}
	vr := jsonx.NewReader(val)
	v := decodeValue(vr, ty, build)
	r.Fail(vr.End())
	return v
}

// unmarshalType is ctyjson.UnmarshalType with its panics (cty panics on
// some malformed types, such as an optional attribute the object does not
// declare) turned into errors: the text comes from plans and states.
func unmarshalType(text string) (ty cty.Type, err error) {
	defer func() {
		if p := recover(); p != nil {
			ty, err = cty.NilType, fmt.Errorf("invalid type: %v", p)
		}
	}()
	return ctyjson.UnmarshalType([]byte(text))
}

// typeCacheMax bounds the type cache. Specs of one kind share a config
// type, so a few distinct types serve thousands of modules.
const typeCacheMax = 4096

// typeCache memoises parseType: the type JSON text → its cty.Type. Parsing
// a type with ctyjson costs more than checking the value it describes.
// Types are immutable and the mapping is a pure function of the text, so
// sharing it process-wide changes nothing but speed.
var typeCache struct {
	m sync.Map // string → cty.Type
	n atomic.Int64
}

// parseType decodes a cty type from its JSON, as ctyjson.UnmarshalType.
func parseType(text string) (cty.Type, error) {
	if ty, ok := typeCache.m.Load(text); ok {
		return ty.(cty.Type), nil
	}
	ty, err := unmarshalType(text)
	if err != nil {
		return cty.NilType, err
	}
	if typeCache.n.Load() < typeCacheMax {
		if _, loaded := typeCache.m.LoadOrStore(strings.Clone(text), ty); !loaded {
			typeCache.n.Add(1)
		}
	}
	return ty, nil
}
