package modules

import (
	"encoding/json"
	"fmt"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// Config is a module's decoded `config` block: a cty object conforming to the
// kind's schema. In a plan and in the state it holds secret placeholders (see
// SecretRef); the runtime hands a module its resolved Config, with the secret
// values in place.
type Config struct {
	val cty.Value
}

// NewConfig wraps a cty object value. A null or NilVal value is an empty config.
func NewConfig(v cty.Value) Config {
	if v == cty.NilVal || v.IsNull() {
		v = cty.EmptyObjectVal
	}
	return Config{val: v}
}

// Value returns the config as a cty value (an object).
func (c Config) Value() cty.Value {
	if c.val == cty.NilVal {
		return cty.EmptyObjectVal
	}
	return c.val
}

// Get returns one attribute, or cty.NilVal when the config has no such attribute.
func (c Config) Get(name string) cty.Value {
	v := c.Value()
	if !v.Type().IsObjectType() || !v.Type().HasAttribute(name) {
		return cty.NilVal
	}
	return v.GetAttr(name)
}

// Decode stores the config into target, a pointer to a struct whose fields
// carry `json` tags named after the attributes. Null attributes leave the
// field at its zero value.
func (c Config) Decode(target any) error {
	v, _ := c.Value().UnmarkDeep()
	buf, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return fmt.Errorf("decode config: %w", err)
	}
	if err := json.Unmarshal(buf, target); err != nil {
		return fmt.Errorf("decode config: %w", err)
	}
	return nil
}

// MarshalJSON encodes the config with its type, so that it decodes back to
// the same cty value without the kind's schema at hand.
func (c Config) MarshalJSON() ([]byte, error) {
	v, _ := c.Value().UnmarkDeep()
	return json.Marshal(ctyjson.SimpleJSONValue{Value: v})
}

// UnmarshalJSON is the inverse of MarshalJSON.
func (c *Config) UnmarshalJSON(buf []byte) error {
	var s ctyjson.SimpleJSONValue
	if err := json.Unmarshal(buf, &s); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	*c = NewConfig(s.Value)
	return nil
}

// PlainJSON returns the config as plain JSON (no type information), as views
// and API answers show it.
func (c Config) PlainJSON() ([]byte, error) {
	v, _ := c.Value().UnmarkDeep()
	return ctyjson.Marshal(v, v.Type())
}
