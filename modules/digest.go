package modules

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"

	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/internal/jsonx"
)

// Digests returns the digest of the whole config and one per attribute, each
// "sha256:<hex>" over the value's typed JSON. Secrets take part only as their
// placeholders, so a digest changes when a reference changes, never when a
// secret's value rotates (fingerprints catch that).
//
// The digests are computed once per Config (copies share them); the map is
// the caller's own (nil for the empty config).
func (c Config) Digests() (whole string, attrs map[string]string) {
	if c.d == nil {
		return emptyDigest, nil
	}
	d := c.d
	d.digOnce.Do(func() { d.whole, d.attrs = c.computeDigests() })
	return d.whole, maps.Clone(d.attrs)
}

// emptyDigest is the digest of the empty config.
var emptyDigest = digestText(emptyTypeJSON, "{}")

// computeDigests hashes the config's canonical typed JSON: ctyjson's
// encoding, in which each attribute's value and type appear as they would
// on their own. A config read from JSON may hold other text for the same
// value (whitespace, key order), so its value is encoded anew.
func (c Config) computeDigests() (string, map[string]string) {
	typ, val, canonical, err := c.encoding()
	if err == nil && !canonical {
		typ, val, err = marshalTyped(c.Value())
	}
	if err != nil {
		// Unknown values never reach a digest: config evaluation rejects them.
		panic(fmt.Sprintf("digest: %v", err))
	}
	whole := digestText(typ, val)
	ty := c.d.ty
	if !ty.IsObjectType() || val == "null" {
		return whole, nil
	}
	vals, types := members(val), members(typeAttrs(typ))
	attrs := make(map[string]string, len(ty.AttributeTypes()))
	for name, aty := range ty.AttributeTypes() {
		if aty == cty.DynamicPseudoType {
			// ctyjson writes a value of dynamic type (only null can be)
			// as itself, with no type.
			attrs[name] = digestBytes([]byte(vals[name]))
			continue
		}
		attrs[name] = digestText(types[name], vals[name])
	}
	return whole, attrs
}

// digestText is the digest of a value whose ctyjson encoding is val and
// whose type's is typ: what ctyjson.Marshal(v, cty.DynamicPseudoType) writes.
func digestText(typ, val string) string {
	buf := make([]byte, 0, len(`{"value":,"type":}`)+len(typ)+len(val))
	buf = append(buf, `{"value":`...)
	buf = append(buf, val...)
	buf = append(buf, `,"type":`...)
	buf = append(buf, typ...)
	buf = append(buf, '}')
	return digestBytes(buf)
}

func digestBytes(buf []byte) string {
	sum := sha256.Sum256(buf)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// typeAttrs returns the attribute types of an object type's JSON,
// ["object",{…}] (or with a third element naming optional attributes).
func typeAttrs(typ string) string {
	r := jsonx.NewReader(typ)
	r.BeginArray()
	r.More()
	r.Skip() // "object"
	r.More()
	return r.Raw()
}

// members returns the raw text of each member of a JSON object.
func members(obj string) map[string]string {
	r := jsonx.NewReader(obj)
	out := map[string]string{}
	r.BeginObject()
	for r.More() {
		k := r.Key()
		out[k] = r.Raw()
	}
	if r.Err() != nil {
		panic(fmt.Sprintf("digest: canonical config JSON does not read back: %v", r.Err()))
	}
	return out
}
