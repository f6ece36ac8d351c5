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

// typedJSON is how a Config travels in plans and state: its cty type and
// its value, so that it decodes to exactly the same value without the
// kind's schema at hand.
type typedJSON struct {
	Type  json.RawMessage `json:"type"`
	Value json.RawMessage `json:"value"`
}

// MarshalJSON encodes the config with its type.
func (c Config) MarshalJSON() ([]byte, error) {
	v, _ := c.Value().UnmarkDeep()
	ty, err := ctyjson.MarshalType(v.Type())
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	val, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return json.Marshal(typedJSON{Type: ty, Value: val})
}

// UnmarshalJSON is the inverse of MarshalJSON.
func (c *Config) UnmarshalJSON(buf []byte) error {
	var tj typedJSON
	if err := json.Unmarshal(buf, &tj); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if len(tj.Type) == 0 {
		*c = NewConfig(cty.NilVal)
		return nil
	}
	ty, err := ctyjson.UnmarshalType(tj.Type)
	if err != nil {
		return fmt.Errorf("config type: %w", err)
	}
	v, err := ctyjson.Unmarshal(tj.Value, ty)
	if err != nil {
		return fmt.Errorf("config value: %w", err)
	}
	*c = NewConfig(v)
	return nil
}

// PlainJSON returns the config as plain JSON (no type information), as views
// and API answers show it.
func (c Config) PlainJSON() ([]byte, error) {
	v, _ := c.Value().UnmarkDeep()
	return ctyjson.Marshal(v, v.Type())
}
