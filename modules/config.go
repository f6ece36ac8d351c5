package modules

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/nexus-run/nexus/internal/jsonx"
)

// Config is a module's decoded `config` block: a cty object conforming to the
// kind's schema. In a plan and in the state it holds secret placeholders (see
// SecretRef); the runtime hands a module its resolved Config, with the secret
// values in place.
//
// A Config is an immutable value, safe for concurrent use, and cheap to copy:
// copies share one representation. One read from JSON (a state document, a
// plan) keeps the JSON it came from, checked against its type, and decodes
// the value only when Value, Get or Decode first asks for it; the typed JSON
// encoding and the digests are likewise computed once and shared. A daemon
// loading a state of thousands of modules thus decodes none of their
// configs, and writing the state back re-encodes none.
type Config struct {
	d *configData // nil: the empty config
}

// configData is the shared representation of a Config. Each lazily computed
// part is guarded by its own sync.Once, so concurrent first uses are safe.
type configData struct {
	ty cty.Type

	// val is the value: set by NewConfig, or decoded from valueJSON on
	// first use when the config was read from JSON.
	valOnce sync.Once
	val     cty.Value

	// typeJSON and valueJSON are the typed JSON encoding MarshalJSON
	// writes: the text read, or ctyjson's encoding computed on first use.
	// canonical says whether they are ctyjson's, byte for byte.
	encOnce             sync.Once
	typeJSON, valueJSON string
	canonical           bool
	encErr              error

	digOnce sync.Once
	whole   string
	attrs   map[string]string
}

// NewConfig wraps a cty object value. A null or NilVal value is an empty config.
func NewConfig(v cty.Value) Config {
	if v == cty.NilVal || v.IsNull() || v.RawEquals(cty.EmptyObjectVal) {
		return Config{} // the common empty config (a target's) needs no work
	}
	d := &configData{ty: v.Type(), val: v}
	d.valOnce.Do(func() {})
	return Config{d: d}
}

// Value returns the config as a cty value (an object).
func (c Config) Value() cty.Value {
	if c.d == nil {
		return cty.EmptyObjectVal
	}
	d := c.d
	d.valOnce.Do(func() {
		r := jsonx.NewReader(d.valueJSON)
		v := decodeValue(r, d.ty, true)
		if err := r.End(); err != nil {
			// UnmarshalJSON checked the text with the same decoder.
			panic(fmt.Sprintf("modules: config text checked but not decodable: %v", err))
		}
		if v.IsNull() {
			v = cty.EmptyObjectVal
		}
		d.val = v
	})
	return d.val
}

// Equal reports whether two configs hold the same value (marks included).
// Copies of one Config are equal without decoding anything.
func (c Config) Equal(o Config) bool {
	if c.d == o.d {
		return true
	}
	return c.Value().RawEquals(o.Value())
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

// emptyTypeJSON is the type of the empty config, as ctyjson writes it.
const emptyTypeJSON = `["object",{}]`

// encoding returns the config's typed JSON encoding: its type and value.
func (c Config) encoding() (typ, val string, canonical bool, err error) {
	if c.d == nil {
		return emptyTypeJSON, "{}", true, nil
	}
	d := c.d
	d.encOnce.Do(func() {
		d.typeJSON, d.valueJSON, d.encErr = marshalTyped(d.val)
		d.canonical = d.encErr == nil
	})
	return d.typeJSON, d.valueJSON, d.canonical, d.encErr
}

// marshalTyped encodes v (unmarked) and its type as ctyjson does.
func marshalTyped(v cty.Value) (typ, val string, err error) {
	v, _ = v.UnmarkDeep()
	ty, err := ctyjson.MarshalType(v.Type())
	if err != nil {
		return "", "", fmt.Errorf("config: %w", err)
	}
	buf, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return "", "", fmt.Errorf("config: %w", err)
	}
	return string(ty), string(buf), nil
}

// MarshalJSON encodes the config with its type: {"type": …, "value": …}, so
// that it decodes to exactly the same value without the kind's schema at
// hand.
func (c Config) MarshalJSON() ([]byte, error) {
	return c.appendJSON(nil)
}

// appendJSON appends what MarshalJSON returns to dst.
func (c Config) appendJSON(dst []byte) ([]byte, error) {
	typ, val, _, err := c.encoding()
	if err != nil {
		return dst, err
	}
	dst = append(dst, `{"type":`...)
	dst = append(dst, typ...)
	dst = append(dst, `,"value":`...)
	dst = append(dst, val...)
	return append(dst, '}'), nil
}

// UnmarshalJSON is the inverse of MarshalJSON. It checks the value against
// its type, so that a config that reads without error has a value, but
// decodes it only when it is first used.
func (c *Config) UnmarshalJSON(buf []byte) error {
	r := jsonx.NewReader(string(buf))
	cfg := readConfig(r)
	if err := r.End(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	*c = cfg
	return nil
}

// readConfig reads a config's typed JSON from r, recording any problem
// in r. Like encoding/json reading the two fields, it ignores other keys,
// matches the two names case-insensitively, lets the last of duplicates
// win, and reads null, or an object with no type, as the empty config.
func readConfig(r *jsonx.Reader) Config {
	if r.Null() {
		return Config{}
	}
	var typ, val string
	var ty cty.Type
	checked := false // val checked against ty
	if r.BeginObject() {
		for r.More() {
			switch k := r.Key(); {
			case strings.EqualFold(k, "type"):
				typ, checked = r.Raw(), false
				ty = cty.NilType
			case strings.EqualFold(k, "value") && typ != "":
				// The usual order, type first: check the value as it is read.
				if ty == cty.NilType && !parseConfigType(r, typ, &ty) {
					return Config{}
				}
				start := r.SkipSpace()
				decodeValue(r, ty, false)
				val, checked = r.Since(start), true
			case strings.EqualFold(k, "value"):
				val, checked = r.Raw(), false
			default:
				r.Skip()
			}
		}
	}
	if r.Err() != nil || typ == "" {
		return Config{}
	}
	if ty == cty.NilType && !parseConfigType(r, typ, &ty) {
		return Config{}
	}
	if val == "" {
		r.Fail(fmt.Errorf("config value: missing"))
		return Config{}
	}
	if !checked {
		vr := jsonx.NewReader(val)
		decodeValue(vr, ty, false)
		if err := vr.End(); err != nil {
			r.Fail(fmt.Errorf("config value: %w", err))
			return Config{}
		}
	}
	if val == "null" {
		return Config{} // NewConfig's reading of a null value
	}
	d := &configData{ty: ty, typeJSON: typ, valueJSON: val}
	d.encOnce.Do(func() {})
	return Config{d: d}
}

func parseConfigType(r *jsonx.Reader, text string, ty *cty.Type) bool {
	t, err := parseType(text)
	if err != nil {
		r.Fail(fmt.Errorf("config type: %w", err))
		return false
	}
	*ty = t
	return true
}

// PlainJSON returns the config as plain JSON (no type information), as views
// and API answers show it.
func (c Config) PlainJSON() ([]byte, error) {
	v, _ := c.Value().UnmarkDeep()
	return ctyjson.Marshal(v, v.Type())
}
