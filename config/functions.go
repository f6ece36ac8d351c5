package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// functions returns the functions a topology may call: Terraform's set from
// the go-cty standard library, try and can from HCL, and env, file and
// secret, which read the load's Options and record what they read in
// Config.Inputs. (HCL's convert is left out: its type argument would read as
// a reference.)
func (l *loader) functions() map[string]function.Function {
	return map[string]function.Function{
		// Numbers.
		"abs": stdlib.AbsoluteFunc, "ceil": stdlib.CeilFunc, "floor": stdlib.FloorFunc, "log": stdlib.LogFunc,
		"max": stdlib.MaxFunc, "min": stdlib.MinFunc, "parseint": stdlib.ParseIntFunc, "pow": stdlib.PowFunc,
		"signum": stdlib.SignumFunc,
		// Strings.
		"chomp": stdlib.ChompFunc, "format": stdlib.FormatFunc, "formatlist": stdlib.FormatListFunc,
		"indent": stdlib.IndentFunc, "join": stdlib.JoinFunc, "lower": stdlib.LowerFunc, "upper": stdlib.UpperFunc,
		"regex": stdlib.RegexFunc, "regexall": stdlib.RegexAllFunc, "replace": replaceFunc, "split": stdlib.SplitFunc,
		"strrev": stdlib.ReverseFunc, "substr": stdlib.SubstrFunc, "title": stdlib.TitleFunc, "trim": stdlib.TrimFunc,
		"trimprefix": stdlib.TrimPrefixFunc, "trimsuffix": stdlib.TrimSuffixFunc, "trimspace": stdlib.TrimSpaceFunc,
		// Collections.
		"chunklist": stdlib.ChunklistFunc, "coalesce": coalesceFunc, "coalescelist": stdlib.CoalesceListFunc,
		"compact": stdlib.CompactFunc, "concat": stdlib.ConcatFunc, "contains": stdlib.ContainsFunc,
		"distinct": stdlib.DistinctFunc, "element": stdlib.ElementFunc, "flatten": stdlib.FlattenFunc,
		"keys": stdlib.KeysFunc, "length": lengthFunc, "lookup": stdlib.LookupFunc, "merge": stdlib.MergeFunc,
		"range": stdlib.RangeFunc, "reverse": stdlib.ReverseListFunc, "setintersection": stdlib.SetIntersectionFunc,
		"setproduct": stdlib.SetProductFunc, "setsubtract": stdlib.SetSubtractFunc, "setunion": stdlib.SetUnionFunc,
		"slice": stdlib.SliceFunc, "sort": stdlib.SortFunc, "values": stdlib.ValuesFunc, "zipmap": stdlib.ZipmapFunc,
		// Encodings and time.
		"csvdecode": stdlib.CSVDecodeFunc, "jsondecode": stdlib.JSONDecodeFunc, "jsonencode": stdlib.JSONEncodeFunc,
		"formatdate": stdlib.FormatDateFunc, "timeadd": stdlib.TimeAddFunc,
		// Types.
		"tobool": stdlib.MakeToFunc(cty.Bool), "tolist": stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap": stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)), "tonumber": stdlib.MakeToFunc(cty.Number),
		"toset": stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)), "tostring": stdlib.MakeToFunc(cty.String),
		"can": tryfunc.CanFunc, "try": tryfunc.TryFunc,
		// nexus.
		"env": l.envFunc(), "file": l.fileFunc(), "secret": l.secretFunc(),
	}
}

// replaceFunc is Terraform's replace: substr wrapped in slashes is a regular
// expression, whose replacement may use $1.
var replaceFunc = function.New(&function.Spec{
	Description: "Replaces each occurrence of substr in str; a substr like /re/ is a regular expression.",
	Params: []function.Parameter{
		{Name: "str", Type: cty.String},
		{Name: "substr", Type: cty.String},
		{Name: "replace", Type: cty.String},
	},
	Type: function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		str, substr, repl := args[0].AsString(), args[1].AsString(), args[2].AsString()
		if len(substr) > 1 && strings.HasPrefix(substr, "/") && strings.HasSuffix(substr, "/") {
			re, err := regexp.Compile(substr[1 : len(substr)-1])
			if err != nil {
				return cty.NilVal, function.NewArgErrorf(1, "invalid regular expression: %s", err)
			}
			return cty.StringVal(re.ReplaceAllString(str, repl)), nil
		}
		return cty.StringVal(strings.ReplaceAll(str, substr, repl)), nil
	},
})

// coalesceFunc is Terraform's coalesce: the first argument that is neither
// null nor an empty string.
var coalesceFunc = function.New(&function.Spec{
	Description: "Returns the first argument that is not null or an empty string.",
	VarParam: &function.Parameter{
		Name: "vals", Type: cty.DynamicPseudoType, AllowUnknown: true, AllowDynamicType: true, AllowNull: true,
	},
	Type: func(args []cty.Value) (cty.Type, error) {
		return stdlib.CoalesceFunc.ReturnTypeForValues(args)
	},
	Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
		for _, a := range args {
			if !a.IsKnown() {
				return cty.UnknownVal(retType), nil
			}
			if a.IsNull() {
				continue
			}
			v, err := convert.Convert(a, retType)
			if err != nil {
				return cty.NilVal, err
			}
			if v.Type().Equals(cty.String) && v.AsString() == "" {
				continue
			}
			return v, nil
		}
		return cty.NilVal, errors.New("no argument is non-null and non-empty")
	},
})

// lengthFunc is Terraform's length: characters of a string, elements of a
// collection.
var lengthFunc = function.New(&function.Spec{
	Description: "Returns the number of characters of a string or elements of a list, set, map, tuple or object.",
	Params: []function.Parameter{
		{Name: "value", Type: cty.DynamicPseudoType, AllowDynamicType: true, AllowUnknown: true},
	},
	Type: func(args []cty.Value) (cty.Type, error) {
		ty := args[0].Type()
		if ty == cty.DynamicPseudoType || ty.Equals(cty.String) || ty.IsCollectionType() || ty.IsTupleType() || ty.IsObjectType() {
			return cty.Number, nil
		}
		return cty.NilType, function.NewArgErrorf(0, "value must be a string, a collection, a tuple or an object")
	},
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v := args[0]
		switch {
		case !v.IsKnown() && v.Type() == cty.DynamicPseudoType:
			return cty.UnknownVal(cty.Number), nil
		case v.Type().Equals(cty.String):
			return stdlib.Strlen(v)
		}
		return v.Length(), nil
	},
})

// envFunc is env(name): a variable of Options.Env (or the process
// environment). An unset variable is an error; try() makes it optional.
func (l *loader) envFunc() function.Function {
	return function.New(&function.Spec{
		Description: "Returns the value of an environment variable.",
		Params:      []function.Parameter{{Name: "name", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name := args[0].AsString()
			v, ok := l.lookupEnv(name)
			if !ok {
				return cty.NilVal, function.NewArgErrorf(0,
					"the environment variable %q is not set; to make it optional, wrap the call: try(env(%q), \"default\")", name, name)
			}
			l.recordEnv(name, v)
			return cty.StringVal(v), nil
		},
	})
}

func (l *loader) lookupEnv(name string) (string, bool) {
	if l.opts.Env != nil {
		v, ok := l.opts.Env[name]
		return v, ok
	}
	return os.LookupEnv(name)
}

// fileFunc is file(path): a UTF-8 file's content, read with
// Options.ReadFile or from disk relative to the config directory.
func (l *loader) fileFunc() function.Function {
	return function.New(&function.Spec{
		Description: "Returns the content of a UTF-8 text file, relative to the configuration directory.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			path := args[0].AsString()
			src, err := l.readFile(path)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				return cty.NilVal, function.NewArgErrorf(0, "there is no file %q (a relative path is relative to the configuration directory)", path)
			case err != nil:
				return cty.NilVal, function.NewArgErrorf(0, "cannot read %q: %s", path, err)
			}
			if !utf8.Valid(src) {
				return cty.NilVal, function.NewArgErrorf(0, "%q is not UTF-8 text; file() reads text files only", path)
			}
			if l.cfg.Inputs.Files == nil {
				l.cfg.Inputs.Files = make(map[string][]byte)
			}
			l.cfg.Inputs.Files[path] = src
			return cty.StringVal(string(src)), nil
		},
	})
}

func (l *loader) readFile(path string) ([]byte, error) {
	if l.opts.ReadFile != nil {
		return l.opts.ReadFile(path)
	}
	if path == "" {
		return nil, fmt.Errorf("the path is empty")
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(l.dir, path)
	}
	return os.ReadFile(path)
}
