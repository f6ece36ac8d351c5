package config_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// TestLoad_functions calls every function the language promises, each
// through a config attribute, and checks its result.
func TestLoad_functions(t *testing.T) {
	calls := map[string]string{
		"abs":             `abs(-3) == 3`,
		"ceil":            `ceil(1.2) == 2`,
		"floor":           `floor(1.8) == 1`,
		"log":             `log(8, 2) == 3`,
		"max":             `max(1, 5, 3) == 5`,
		"min":             `min(4, 2) == 2`,
		"parseint":        `parseint("ff", 16) == 255`,
		"pow":             `pow(2, 10) == 1024`,
		"signum":          `signum(-7) == -1`,
		"chomp":           `chomp("a\n") == "a"`,
		"format":          `format("%s-%03d", "a", 7) == "a-007"`,
		"formatlist":      `formatlist("x%s", ["a", "b"]) == tolist(["xa", "xb"])`,
		"indent":          `indent(2, "a\nb") == "a\n  b"`,
		"join":            `join(",", ["a", "b"]) == "a,b"`,
		"lower":           `lower("AB") == "ab"`,
		"upper":           `upper("ab") == "AB"`,
		"regex":           `regex("[0-9]+", "ab12") == "12"`,
		"regexall":        `length(regexall("[0-9]", "1a2")) == 2`,
		"replace":         `replace("a-b-c", "-", "+") == "a+b+c" && replace("a1b22", "/[0-9]+/", "#") == "a#b#"`,
		"split":           `split(",", "a,b") == tolist(["a", "b"])`,
		"strrev":          `strrev("abc") == "cba"`,
		"substr":          `substr("hello", 1, 3) == "ell"`,
		"title":           `title("hello world") == "Hello World"`,
		"trim":            `trim("?!a!?", "!?") == "a"`,
		"trimprefix":      `trimprefix("nexus-a", "nexus-") == "a"`,
		"trimsuffix":      `trimsuffix("a.hcl", ".hcl") == "a"`,
		"trimspace":       `trimspace("  a ") == "a"`,
		"chunklist":       `length(chunklist([1, 2, 3], 2)) == 2`,
		"coalesce":        `coalesce(null, "", "b") == "b"`,
		"coalescelist":    `coalescelist([], ["b"]) == ["b"]`,
		"compact":         `compact(["a", "", "b"]) == tolist(["a", "b"])`,
		"concat":          `concat(["a"], ["b"]) == ["a", "b"]`,
		"contains":        `contains(["a", "b"], "b")`,
		"distinct":        `distinct(["a", "a", "b"]) == tolist(["a", "b"])`,
		"element":         `element(["a", "b"], 3) == "b"`,
		"flatten":         `flatten([["a"], ["b", "c"]]) == ["a", "b", "c"]`,
		"keys":            `keys({ b = 1, a = 2 }) == ["a", "b"]`,
		"length":          `length("héllo") == 5 && length([1, 2]) == 2 && length({ a = 1 }) == 1`,
		"lookup":          `lookup({ a = "x" }, "b", "d") == "d"`,
		"merge":           `merge({ a = 1 }, { b = 2 }) == { a = 1, b = 2 }`,
		"range":           `range(3) == tolist([0, 1, 2])`,
		"reverse":         `reverse(["a", "b"]) == ["b", "a"]`,
		"setintersection": `setintersection(toset(["a", "b"]), toset(["b"])) == toset(["b"])`,
		"setproduct":      `length(setproduct(["a", "b"], ["c", "d"])) == 4`,
		"setsubtract":     `setsubtract(toset(["a", "b"]), toset(["a"])) == toset(["b"])`,
		"setunion":        `setunion(toset(["a"]), toset(["b"])) == toset(["a", "b"])`,
		"slice":           `slice(["a", "b", "c"], 1, 3) == ["b", "c"]`,
		"sort":            `sort(["b", "a"]) == tolist(["a", "b"])`,
		"values":          `values({ b = 2, a = 1 }) == [1, 2]`,
		"zipmap":          `zipmap(["a"], [1]) == { a = 1 }`,
		"csvdecode":       `csvdecode("a,b\n1,2")[0].b == "2"`,
		"jsondecode":      `jsondecode("{\"a\": [1]}").a[0] == 1`,
		"jsonencode":      `jsonencode({ a = 1 }) == "{\"a\":1}"`,
		"formatdate":      `formatdate("YYYY-MM-DD", "2024-03-05T10:00:00Z") == "2024-03-05"`,
		"timeadd":         `timeadd("2024-01-01T00:00:00Z", "1h") == "2024-01-01T01:00:00Z"`,
		"tobool":          `tobool("true")`,
		"tolist":          `tolist(toset(["a"])) == tolist(["a"])`,
		"tomap":           `tomap({ a = "b" })["a"] == "b"`,
		"tonumber":        `tonumber("5") == 5`,
		"toset":           `length(toset(["a", "a"])) == 1`,
		"tostring":        `tostring(5) == "5"`,
		"can":             `can(regex("^a", "a")) && !can(regex("^b", "a"))`,
		"try":             `try(jsondecode("{"), "fallback") == "fallback"`,
		"env":             `env("NEXUS_TEST") == "set"`,
		"file":            `file("motd.txt") == "hello"`,
		"secret":          `secret("vault", "kv/a", "k") == "⟦secret:vault:kv/a#k⟧"`,
	}
	names := make([]string, 0, len(calls))
	for name := range calls {
		names = append(names, name)
	}
	sort.Strings(names)
	var env strings.Builder
	for _, name := range names {
		fmt.Fprintf(&env, "      %s = tostring(%s)\n", strings.ToUpper(name), calls[name])
	}
	src := "module \"fn\" \"all\" {\n  kind = \"exec\"\n  config {\n    command = [\"true\"]\n    env = {\n" + env.String() + "    }\n  }\n}\n"
	opts := testOptions()
	opts.Env = map[string]string{"NEXUS_TEST": "set"}
	opts.ReadFile = func(string) ([]byte, error) { return []byte("hello"), nil }
	m := mustModule(t, mustLoad(t, src, opts), "module.fn.all")
	got := m.Spec.Config.Get("env")
	for _, name := range names {
		if v := got.Index(cty.StringVal(strings.ToUpper(name))); v.AsString() != "true" {
			t.Errorf("got: %s() check %s is %s\nwant: true", name, calls[name], v.AsString())
		}
	}
}
