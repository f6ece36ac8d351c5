package modules

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// Digests returns the digest of the whole config and one per attribute, each
// "sha256:<hex>" over the value's typed JSON. Secrets take part only as their
// placeholders, so a digest changes when a reference changes, never when a
// secret's value rotates (fingerprints catch that).
func (c Config) Digests() (whole string, attrs map[string]string) {
	v, _ := c.Value().UnmarkDeep()
	whole = digest(v)
	if !v.Type().IsObjectType() || v.IsNull() {
		return whole, nil
	}
	attrs = make(map[string]string, len(v.Type().AttributeTypes()))
	for name := range v.Type().AttributeTypes() {
		attrs[name] = digest(v.GetAttr(name))
	}
	return whole, attrs
}

func digest(v cty.Value) string {
	buf, err := ctyjson.Marshal(v, cty.DynamicPseudoType)
	if err != nil {
		// Unknown values never reach a digest: config evaluation rejects them.
		panic(fmt.Sprintf("digest: %v", err))
	}
	sum := sha256.Sum256(buf)
	return "sha256:" + hex.EncodeToString(sum[:])
}
