package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/modules"
)

// schemaFor returns the body schema of a kind's config block, its
// attributes sorted by name. Required attributes are checked by config,
// which can point at the right block.
func (l *loader) schemaFor(m modules.Manifest) *hcl.BodySchema {
	if s, ok := l.kindSchema[m.Kind]; ok {
		return s
	}
	s := &hcl.BodySchema{}
	for _, name := range m.Config.Names() {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: name})
	}
	l.kindSchema[m.Kind] = s
	return s
}

// decodeConfigBlock checks a config block's attributes against the kind's
// schema ("Unsupported argument", with a suggestion). A kind the registry
// lacks (with AllowUnknownKinds) takes any attributes; a missing or invalid
// kind leaves the block unchecked.
func (l *loader) decodeConfigBlock(b *moduleBlock, nb *hcl.Block) hcl.Attributes {
	switch {
	case b.manifest.Kind != "":
		content, diags := nb.Body.Content(l.schemaFor(b.manifest))
		l.report(b, diags...)
		return content.Attributes
	case b.kind != "" && l.opts.AllowUnknownKinds:
		attrs, diags := nb.Body.JustAttributes()
		l.report(b, diags...)
		return attrs
	}
	return nil
}

// config evaluates the instance's config block against the kind's schema:
// each attribute converted to its type, defaults filled, nulls for the rest.
// The result keeps sensitive marks. It is cty.NilVal when the config has
// errors or depends on something that failed.
func (e *evaluator) config() cty.Value {
	b := e.b
	if b.manifest.Kind == "" {
		return e.schemalessConfig()
	}
	attrs := b.manifest.Config.Attributes
	vals := make(map[string]cty.Value, len(attrs))
	for _, as := range e.l.schemaFor(b.manifest).Attributes { // sorted: diagnostics in a stable order
		name, attr := as.Name, attrs[as.Name]
		a := b.configAttrs[name]
		if a != nil {
			v, ok := e.value(a, attr.Type)
			if !ok {
				continue
			}
			if !v.IsNull() {
				vals[name] = v
				continue
			}
		}
		switch {
		case attr.Required && a != nil:
			e.add(errorDiag(rangePtr(a.Expr.Range()), "Invalid value",
				"The argument %q is required by kind %q and cannot be null.", name, b.kind))
		case attr.Required:
			e.add(e.missingArgument(name))
		case attr.Default != cty.NilVal:
			vals[name] = attr.Default
		default:
			vals[name] = cty.NullVal(attr.Type)
		}
	}
	if e.failed || e.unknown {
		return cty.NilVal
	}
	return cty.ObjectVal(vals)
}

func (e *evaluator) missingArgument(name string) *hcl.Diagnostic {
	b := e.b
	if b.config == nil {
		return errorDiag(rangePtr(b.block.DefRange), "Missing required argument",
			"The argument %q is required by kind %q, but the module block has no config block. Add one: config { %s = ... }.", name, b.kind, name)
	}
	return errorDiag(rangePtr(b.config.DefRange), "Missing required argument",
		"The argument %q is required by kind %q, but no definition was found in this config block.", name, b.kind)
}

// schemalessConfig evaluates the config of a kind the registry lacks.
func (e *evaluator) schemalessConfig() cty.Value {
	vals := make(map[string]cty.Value, len(e.b.configAttrs))
	for name, a := range e.b.configAttrs {
		if v, ok := e.value(a, cty.DynamicPseudoType); ok {
			vals[name] = v
		}
	}
	if e.failed || e.unknown {
		return cty.NilVal
	}
	return cty.ObjectVal(vals)
}

// validateConfig runs the kind's own check on the decoded config and
// reports whether it passed.
func (e *evaluator) validateConfig(c modules.Config, addr string) bool {
	m := e.b.manifest
	if m.Validate == nil {
		return true
	}
	err := callValidate(m.Validate, c)
	if err == nil {
		return true
	}
	subject := e.b.block.DefRange
	if e.b.config != nil {
		subject = e.b.config.DefRange
	}
	e.add(errorDiag(rangePtr(subject), fmt.Sprintf("Invalid %s config", m.Kind),
		"The config of %s is not valid: %s.", addr, strings.TrimSuffix(err.Error(), ".")))
	return false
}

// callValidate calls a kind's Validate, turning a panic into an error: a bug
// in one kind must not take down the daemon planning for everyone.
func callValidate(validate func(modules.Config) error, c modules.Config) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the kind's validation failed unexpectedly (%v); report this to the kind's authors", p)
		}
	}()
	return validate(c)
}
