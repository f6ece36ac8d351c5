package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// maxInstances bounds the instances of one block, so that a typo like
// count = 1e9 is a diagnostic rather than an exhausted machine.
const maxInstances = 10000

// expansion is how a block makes instances.
type expansion int

const (
	single  expansion = iota // no count or for_each: module.g.n
	counted                  // count: module.g.n[0]
	forEach                  // for_each: module.g.n["key"]
)

// instanceKey identifies one instance of a block.
type instanceKey struct {
	mode  expansion
	index int       // counted
	key   string    // forEach
	value cty.Value // forEach: each.value
}

// addrSuffix is the key as an address writes it: "", "[0]", `["daily"]`.
func (k instanceKey) addrSuffix() string {
	switch k.mode {
	case counted:
		return "[" + strconv.Itoa(k.index) + "]"
	case forEach:
		return "[" + strconv.Quote(k.key) + "]"
	}
	return ""
}

// idSuffix is the key as an id writes it: "", "[0]", "[daily]".
func (k instanceKey) idSuffix() string {
	switch k.mode {
	case counted:
		return "[" + strconv.Itoa(k.index) + "]"
	case forEach:
		return "[" + k.key + "]"
	}
	return ""
}

// matches reports whether a reference's index (a number or a string) names
// this instance.
func (k instanceKey) matches(key cty.Value) bool {
	switch {
	case key == cty.NilVal || key.IsNull() || !key.IsKnown():
		return false
	case k.mode == counted && key.Type().Equals(cty.Number):
		var i int
		return gocty.FromCtyValue(key, &i) == nil && i == k.index
	case k.mode == forEach && key.Type().Equals(cty.String):
		return key.AsString() == k.key
	}
	return false
}

// keySuffix renders a reference's index like addrSuffix.
func keySuffix(key cty.Value) string {
	switch {
	case key == cty.NilVal || key.IsNull() || !key.IsKnown():
		return ""
	case key.Type().Equals(cty.String):
		return "[" + strconv.Quote(key.AsString()) + "]"
	case key.Type().Equals(cty.Number):
		return "[" + key.AsBigFloat().Text('f', -1) + "]"
	}
	return ""
}

// expand evaluates count or for_each, with modObj as the `module` object,
// into the block's instance keys. ok is false when the instances cannot be
// known.
func (l *loader) expand(b *moduleBlock, modObj cty.Value) ([]instanceKey, bool) {
	count, forEach := b.content.Attributes["count"], b.content.Attributes["for_each"]
	if count == nil && forEach == nil {
		return []instanceKey{{mode: single}}, true
	}
	ev := &evaluator{l: l, b: b, ctx: &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": l.varObj, "local": l.localObj, "module": modObj},
		Functions: l.funcs,
	}}
	var (
		keys []instanceKey
		ok   bool
	)
	if count != nil {
		keys, ok = l.expandCount(ev, count)
	} else {
		keys, ok = l.expandForEach(ev, forEach)
	}
	b.failed = b.failed || ev.failed
	return keys, ok
}

func (l *loader) expandCount(ev *evaluator, a *hcl.Attribute) ([]instanceKey, bool) {
	v, ok := ev.value(a, cty.Number)
	if !ok {
		return nil, false
	}
	rng := rangePtr(a.Expr.Range())
	if v.IsMarked() {
		ev.add(errorDiag(rng, "Invalid count argument",
			"The count cannot be derived from a sensitive variable: the number of instances shows in plans."))
		return nil, false
	}
	var n int
	if v.IsNull() || gocty.FromCtyValue(v, &n) != nil || n < 0 || n > maxInstances {
		ev.add(errorDiag(rng, "Invalid count argument",
			"The count must be a whole number from 0 to %d, not %s.", maxInstances, describeNumber(v)))
		return nil, false
	}
	keys := make([]instanceKey, n)
	for i := range keys {
		keys[i] = instanceKey{mode: counted, index: i}
	}
	return keys, true
}

func describeNumber(v cty.Value) string {
	if v.IsNull() {
		return "null"
	}
	return v.AsBigFloat().Text('g', 10)
}

func (l *loader) expandForEach(ev *evaluator, a *hcl.Attribute) ([]instanceKey, bool) {
	v, ok := ev.value(a, cty.DynamicPseudoType)
	if !ok {
		return nil, false
	}
	rng := rangePtr(a.Expr.Range())
	ty := v.Type()
	switch {
	case v.IsMarked() || (ty.IsSetType() && v.ContainsMarked()):
		ev.add(errorDiag(rng, "Invalid for_each argument",
			"The for_each keys cannot be derived from a sensitive variable: they show in plans as instance addresses."))
		return nil, false
	case v.IsNull():
		ev.add(errorDiag(rng, "Invalid for_each argument", "The for_each argument is null; give a map or a set of strings."))
		return nil, false
	case ty.IsListType() || ty.IsTupleType():
		ev.add(errorDiag(rng, "Invalid for_each argument",
			"The for_each argument is a list, but it must be a map or a set of strings: a list's order would decide the instance keys. Convert it with toset(...)."))
		return nil, false
	case ty.IsSetType():
		if !ty.ElementType().Equals(cty.String) {
			ev.add(errorDiag(rng, "Invalid for_each argument",
				"The for_each argument is a set of %s, but it must be a map or a set of strings.", ty.ElementType().FriendlyName()))
			return nil, false
		}
	case !ty.IsMapType() && !ty.IsObjectType():
		ev.add(errorDiag(rng, "Invalid for_each argument",
			"The for_each argument is %s, but it must be a map or a set of strings, like toset([\"a\", \"b\"]) or { a = 1, b = 2 }.", describeValue(v)))
		return nil, false
	}
	if n := v.LengthInt(); n > maxInstances {
		ev.add(errorDiag(rng, "Invalid for_each argument", "The for_each argument has %d elements; a block has at most %d instances.", n, maxInstances))
		return nil, false
	}
	var keys []instanceKey
	for it := v.ElementIterator(); it.Next(); {
		k, val := it.Element()
		if ty.IsSetType() {
			k = val
		}
		if k.IsNull() {
			ev.add(errorDiag(rng, "Invalid for_each argument", "The for_each set holds a null; every key must be a string."))
			return nil, false
		}
		key := k.AsString()
		if problem := checkInstanceKey(key); problem != "" {
			ev.add(errorDiag(rng, "Invalid for_each key", "The key %q %s.", key, problem))
			return nil, false
		}
		keys = append(keys, instanceKey{mode: forEach, key: key, value: val})
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].key < keys[j].key })
	return keys, true
}

// checkInstanceKey says what is wrong with a for_each key, or "". Keys go
// into ids, which name files and directories, so some characters are out.
func checkInstanceKey(key string) string {
	if key == "" {
		return "is empty; every instance needs a name"
	}
	for _, c := range key {
		if c < 0x20 || c == 0x7f || strings.ContainsRune(`/\[]"`, c) {
			return fmt.Sprintf("holds %q: keys cannot hold control characters or any of / \\ [ ] \"", c)
		}
	}
	return ""
}
