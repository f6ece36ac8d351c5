package config

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// envVarPrefix starts an environment variable that assigns a variable.
const envVarPrefix = "NEXUS_VAR_"

// assignVariables gives every variable its value, later sources winning:
// default, NEXUS_VAR_<name>, *.auto.nexusvars.hcl files (sorted by name),
// Options.VarFiles in order, Options.Vars in order. It then converts and
// validates each value and builds the `var` object.
func (l *loader) assignVariables(autoVars []*hcl.File) {
	l.assignFromEnv()
	for _, f := range autoVars {
		l.assignFromFile(f)
	}
	for _, vf := range l.opts.VarFiles {
		if f, diags := l.parse(vf.Name, vf.Src, strings.HasSuffix(vf.Name, ".json")); f != nil && !diags.HasErrors() {
			l.assignFromFile(f)
		}
	}
	for _, a := range l.opts.Vars {
		l.assignFromFlag(a)
	}
	names := make([]string, 0, len(l.variables))
	for name := range l.variables {
		names = append(names, name)
	}
	sort.Strings(names)
	vals := make(map[string]cty.Value, len(names))
	for _, name := range names {
		v := l.variables[name]
		l.finishVariable(v)
		vals[name] = v.value
	}
	l.varObj = cty.ObjectVal(vals)
}

// environ returns the load's environment.
func (l *loader) environ() map[string]string {
	if l.opts.Env != nil {
		return l.opts.Env
	}
	env := make(map[string]string)
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// assignFromEnv reads NEXUS_VAR_<name>; each one read is recorded in
// Inputs.Env, so that the daemon sees the same values.
func (l *loader) assignFromEnv() {
	env := l.environ()
	keys := make([]string, 0)
	for k := range env {
		if strings.HasPrefix(k, envVarPrefix) && len(k) > len(envVarPrefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		l.recordEnv(k, env[k])
		name := strings.TrimPrefix(k, envVarPrefix)
		v, ok := l.variables[name]
		if !ok {
			l.diags = l.diags.Append(warnDiag(nil, "Value for undeclared variable",
				"The environment variable %s assigns the variable %q, which is not declared. Declare it with a variable block, or unset %s.", k, name, k))
			continue
		}
		l.assignRaw(v, env[k], "the environment variable "+k)
	}
}

// assignFromFile reads the attributes of a variable values file.
func (l *loader) assignFromFile(f *hcl.File) {
	attrs, diags := f.Body.JustAttributes()
	l.diags = l.diags.Extend(diags)
	names := make([]string, 0, len(attrs))
	for name := range attrs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		a := attrs[name]
		v, ok := l.variables[name]
		if !ok {
			l.diags = l.diags.Append(warnDiag(rangePtr(a.NameRange), "Value for undeclared variable",
				"No variable %q is declared, so this value is not used. Declare it with a variable block, or remove the assignment.%s",
				name, didYouMean(name, l.variableNames())))
			continue
		}
		val, diags := a.Expr.Value(nil)
		l.diags = l.diags.Extend(diags)
		if diags.HasErrors() {
			v.raw, v.rawRange, v.source = cty.DynamicVal, nil, ""
			continue
		}
		v.raw, v.rawRange, v.source = val, rangePtr(a.Expr.Range()), a.Expr.Range().Filename
	}
}

// assignFromFlag applies one -var.
func (l *loader) assignFromFlag(a VarAssignment) {
	v, ok := l.variables[a.Name]
	if !ok {
		l.diags = l.diags.Append(errorDiag(nil, "Value for undeclared variable",
			"A value was given with -var for the variable %q, which is not declared. Declare it with a variable block in a %s file, or drop the -var.%s",
			a.Name, FileSuffix, didYouMean(a.Name, l.variableNames())))
		return
	}
	l.assignRaw(v, a.Value, fmt.Sprintf("-var %q", a.Name))
}

// assignRaw assigns a value given as text (environment, -var): literal for a
// variable of type string or any, an HCL expression otherwise.
func (l *loader) assignRaw(v *variable, raw, source string) {
	if v.typ.Equals(cty.String) || v.typ.Equals(cty.DynamicPseudoType) {
		v.raw, v.rawRange, v.source = cty.StringVal(raw), nil, source
		return
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), fmt.Sprintf("<value for var.%s>", v.name), hcl.InitialPos)
	var val cty.Value
	if !diags.HasErrors() {
		val, diags = expr.Value(nil)
	}
	if diags.HasErrors() {
		l.diags = l.diags.Append(errorDiag(nil, "Invalid value for input variable",
			"The value from %s is not a valid expression for var.%s (%s): %s. Numbers and bools are written as is, strings in quotes, lists like [\"a\", \"b\"] and maps like { a = 1 }.",
			source, v.name, v.typ.FriendlyName(), diags[0].Error()))
		v.raw, v.rawRange, v.source = cty.DynamicVal, nil, ""
		return
	}
	v.raw, v.rawRange, v.source = val, nil, source
}

func (l *loader) variableNames() []string {
	names := make([]string, 0, len(l.variables))
	for name := range l.variables {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func (l *loader) recordEnv(k, v string) {
	if l.cfg.Inputs.Env == nil {
		l.cfg.Inputs.Env = make(map[string]string)
	}
	l.cfg.Inputs.Env[k] = v
}
