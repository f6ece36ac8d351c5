package config

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// valueMark is the type of the cty marks the loader puts on values.
type valueMark string

// sensitive marks every value derived from a sensitive variable. Marks
// follow values through expressions and functions; the loader removes them
// from a module's config, recording their paths in Module.SensitivePaths.
const sensitive valueMark = "sensitive"

// variable is a declared input variable and, once assignVariables ran, its
// value.
type variable struct {
	name        string
	block       *hcl.Block
	typ         cty.Type
	defaults    *typeexpr.Defaults
	description string
	sensitive   bool
	def         *hcl.Attribute
	defVal      cty.Value
	badDefault  bool // the default is invalid, and said so
	validations []*validation

	// raw is the winning assignment before conversion, rawRange the
	// expression it came from (nil for the environment and -var), source
	// a phrase naming where it came from.
	raw      cty.Value
	rawRange *hcl.Range
	source   string
	// value is converted and marked, or unknown when there is no valid
	// value (so that what depends on it is skipped without more errors).
	value cty.Value
}

// validation is a variable's validation block.
type validation struct {
	block     *hcl.Block
	condition *hcl.Attribute
	message   *hcl.Attribute
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "validation"}},
}

var validationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "condition", Required: true}, {Name: "error_message", Required: true}},
}

// declareVariable decodes a variable block.
func (l *loader) declareVariable(b *hcl.Block) {
	name := b.Labels[0]
	if !validName(name) {
		l.diags = l.diags.Append(errorDiag(rangePtr(b.LabelRanges[0]), "Invalid variable name",
			"%q is not a valid variable name: use letters, digits, '_' and '-', starting with a letter, so that var.<name> can refer to it.", name))
		return
	}
	if first, dup := l.variables[name]; dup {
		l.diags = l.diags.Append(errorDiag(rangePtr(b.DefRange), "Duplicate variable",
			"A variable named %q was already declared at %s. Variable names must be unique within a topology.", name, position(first.block.DefRange)))
		return
	}
	v := &variable{name: name, block: b, typ: cty.DynamicPseudoType}
	l.variables[name] = v
	content, diags := b.Body.Content(variableSchema)
	l.diags = l.diags.Extend(diags)
	if a := content.Attributes["type"]; a != nil {
		ty, defaults, diags := typeexpr.TypeConstraintWithDefaults(a.Expr)
		l.diags = l.diags.Extend(diags)
		if !diags.HasErrors() {
			v.typ, v.defaults = ty, defaults
		}
	}
	if a := content.Attributes["description"]; a != nil {
		v.description, _ = l.staticString(a)
	}
	if a := content.Attributes["sensitive"]; a != nil {
		v.sensitive, _ = l.staticBool(a)
	}
	if a := content.Attributes["default"]; a != nil {
		l.declareDefault(v, a)
	}
	for _, vb := range content.Blocks {
		l.declareValidation(v, vb)
	}
}

func (l *loader) declareDefault(v *variable, a *hcl.Attribute) {
	val, diags := a.Expr.Value(nil)
	l.diags = l.diags.Extend(diags)
	if diags.HasErrors() {
		v.badDefault = true
		return
	}
	if v.defaults != nil {
		val = v.defaults.Apply(val)
	}
	conv, err := convert.Convert(val, v.typ)
	if err != nil {
		v.badDefault = true
		l.diags = l.diags.Append(errorDiag(rangePtr(a.Expr.Range()), "Invalid default value for variable",
			"This default value is not a %s: %s.", typeexpr.TypeString(v.typ), err))
		return
	}
	v.def, v.defVal = a, conv
}

func (l *loader) declareValidation(v *variable, b *hcl.Block) {
	content, diags := b.Body.Content(validationSchema)
	l.diags = l.diags.Extend(diags)
	cond, msg := content.Attributes["condition"], content.Attributes["error_message"]
	if cond == nil || msg == nil {
		return
	}
	refersToSelf := false
	for _, t := range cond.Expr.Variables() {
		if t.RootName() != "var" || len(t) < 2 {
			continue
		}
		if attr, ok := t[1].(hcl.TraverseAttr); ok && attr.Name == v.name {
			refersToSelf = true
		}
	}
	if !refersToSelf {
		l.diags = l.diags.Append(errorDiag(rangePtr(cond.Expr.Range()), "Invalid variable validation condition",
			"The condition of a validation rule must refer to the variable it checks, var.%s.", v.name))
		return
	}
	v.validations = append(v.validations, &validation{block: b, condition: cond, message: msg})
}

// staticBool evaluates an attribute that may not refer to anything to a
// non-null bool.
func (l *loader) staticBool(a *hcl.Attribute) (bool, bool) {
	v, diags := a.Expr.Value(nil)
	l.diags = l.diags.Extend(diags)
	if diags.HasErrors() {
		return false, false
	}
	v, err := convert.Convert(v, cty.Bool)
	if err != nil || v.IsNull() || !v.IsKnown() {
		l.diags = l.diags.Append(errorDiag(rangePtr(a.Expr.Range()), "Incorrect attribute value type",
			"The argument %q must be true or false.", a.Name))
		return false, false
	}
	v, _ = v.Unmark()
	return v.True(), true
}

// finish settles the variable's value: the winning assignment or the
// default, converted to its type, marked when sensitive, then validated.
func (l *loader) finishVariable(v *variable) {
	v.value = cty.DynamicVal
	if v.raw == cty.NilVal {
		if v.badDefault {
			return
		}
		if v.def == nil {
			l.diags = l.diags.Append(errorDiag(rangePtr(v.block.DefRange), "No value for required variable",
				"The variable %q has no default, so it needs a value: set it with -var %s=..., in a -var-file or *%s file, or in the environment variable NEXUS_VAR_%s.",
				v.name, v.name, AutoVarsFileSuffix, v.name))
			return
		}
		v.raw, v.rawRange, v.source = v.defVal, rangePtr(v.def.Expr.Range()), "its default"
	}
	if !v.raw.IsWhollyKnown() {
		return // its assignment failed, and said so
	}
	val := v.raw
	if v.defaults != nil {
		val = v.defaults.Apply(val)
	}
	val, err := convert.Convert(val, v.typ)
	if err != nil {
		l.diags = l.diags.Append(errorDiag(v.rawRange, "Invalid value for input variable",
			"The value from %s is not suitable for var.%s, declared at %s: %s.", v.source, v.name, position(v.block.DefRange), err))
		return
	}
	if v.sensitive {
		val = val.Mark(sensitive)
	}
	for _, rule := range v.validations {
		if !l.checkValidation(v, val, rule) {
			return
		}
	}
	v.value = val
}

// checkValidation reports whether val passes one validation rule.
func (l *loader) checkValidation(v *variable, val cty.Value, rule *validation) bool {
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{v.name: val})},
		Functions: l.funcs,
	}
	res, diags := rule.condition.Expr.Value(ctx)
	l.diags = l.diags.Extend(diags)
	if diags.HasErrors() {
		return false
	}
	res, _ = res.Unmark()
	ok, err := convert.Convert(res, cty.Bool)
	if err != nil || ok.IsNull() || !ok.IsKnown() {
		l.diags = l.diags.Append(errorDiag(rangePtr(rule.condition.Expr.Range()), "Invalid variable validation result",
			"The condition must be true or false, not %s.", describeValue(res)))
		return false
	}
	if ok.True() {
		return true
	}
	subject := v.rawRange
	if subject == nil {
		subject = rangePtr(rule.condition.Expr.Range())
	}
	l.diags = l.diags.Append(errorDiag(subject, "Invalid value for variable",
		"%s\n\nThis was checked by the validation rule at %s.", l.validationMessage(rule, ctx), position(rule.condition.Range)))
	return false
}

// validationMessage evaluates a rule's error_message, which must not reveal
// a sensitive value.
func (l *loader) validationMessage(rule *validation, ctx *hcl.EvalContext) string {
	msg, diags := rule.message.Expr.Value(ctx)
	l.diags = l.diags.Extend(diags)
	if diags.HasErrors() {
		return "The value is invalid (its error_message could not be evaluated)."
	}
	if msg.IsMarked() {
		return "The value is invalid (its error_message refers to a sensitive value, so it is not shown)."
	}
	msg, err := convert.Convert(msg, cty.String)
	if err != nil || msg.IsNull() || !msg.IsKnown() {
		l.diags = l.diags.Append(errorDiag(rangePtr(rule.message.Expr.Range()), "Invalid validation error message",
			"The error_message must be a string."))
		return "The value is invalid."
	}
	return msg.AsString()
}

// output is the variable as Config.Variables shows it: unmarked, null when
// it has no valid value.
func (v *variable) output() *Variable {
	val := v.value
	if val == cty.NilVal || !val.IsWhollyKnown() {
		val = cty.NullVal(v.typ)
	}
	val, _ = val.UnmarkDeep()
	return &Variable{Name: v.name, Type: v.typ, Description: v.description, Sensitive: v.sensitive, Value: val, DeclRange: v.block.DefRange}
}

// describeValue names a value's kind for a diagnostic, never its content.
func describeValue(v cty.Value) string {
	switch {
	case v == cty.NilVal:
		return "nothing"
	case v.IsNull():
		return "null"
	case !v.IsKnown():
		return "an unknown value"
	}
	return "a " + v.Type().FriendlyName()
}
