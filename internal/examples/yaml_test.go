package examples_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// go.mod has no YAML library, so the CI workflows are checked with this
// parser of the subset they use: block mappings and sequences by
// indentation, literal and folded block scalars, flow sequences, quoted and
// plain scalars, comments. Anything else (anchors, aliases, tags, flow
// mappings, multi-line plain scalars, several documents, tabs) is an error:
// the check refuses what it does not understand rather than guessing.
// Scalars stay strings. Where python3 with PyYAML is installed, the tree is
// also compared with PyYAML's.

type yamlParser struct {
	lines []string
	i     int
}

// parseYAML parses src into map[string]any, []any, string and nil values.
func parseYAML(src string) (any, error) {
	p := &yamlParser{lines: strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")}
	for n, l := range p.lines {
		if strings.HasPrefix(strings.TrimLeft(l, " "), "\t") {
			return nil, fmt.Errorf("line %d: a tab in the indentation", n+1)
		}
		if l == "---" || l == "..." {
			return nil, fmt.Errorf("line %d: several documents are not supported", n+1)
		}
	}
	v, err := p.node(0)
	if err != nil {
		return nil, err
	}
	if p.skipBlank(); p.i < len(p.lines) {
		return nil, p.errorf("unexpected content at indentation %d", indentOf(p.lines[p.i]))
	}
	return v, nil
}

func (p *yamlParser) errorf(format string, args ...any) error {
	return fmt.Errorf("line %d: %s", p.i+1, fmt.Sprintf(format, args...))
}

func indentOf(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }

func isBlank(l string) bool {
	t := strings.TrimSpace(l)
	return t == "" || strings.HasPrefix(t, "#")
}

func (p *yamlParser) skipBlank() {
	for p.i < len(p.lines) && isBlank(p.lines[p.i]) {
		p.i++
	}
}

// node parses the block at the next non-blank line, whose indentation must
// be at least min.
func (p *yamlParser) node(min int) (any, error) {
	p.skipBlank()
	if p.i >= len(p.lines) || indentOf(p.lines[p.i]) < min {
		return nil, nil
	}
	ind := indentOf(p.lines[p.i])
	if t := strings.TrimSpace(p.lines[p.i]); t == "-" || strings.HasPrefix(t, "- ") {
		return p.sequence(ind)
	}
	return p.mapping(ind)
}

func (p *yamlParser) mapping(ind int) (any, error) {
	m := map[string]any{}
	for {
		p.skipBlank()
		if p.i >= len(p.lines) || indentOf(p.lines[p.i]) < ind {
			return m, nil
		}
		if indentOf(p.lines[p.i]) > ind {
			return nil, p.errorf("unexpected indentation")
		}
		content := strings.TrimSpace(p.lines[p.i])
		if strings.HasPrefix(content, "- ") {
			return nil, p.errorf("a sequence item where a mapping key was expected")
		}
		key, rest, ok := splitKey(content)
		if !ok {
			return nil, p.errorf("expected \"key: value\", got %q", content)
		}
		if _, dup := m[key]; dup {
			return nil, p.errorf("duplicate key %q", key)
		}
		p.i++
		v, err := p.value(rest, ind, true)
		if err != nil {
			return nil, err
		}
		m[key] = v
	}
}

func (p *yamlParser) sequence(ind int) (any, error) {
	var s []any
	for {
		p.skipBlank()
		if p.i >= len(p.lines) || indentOf(p.lines[p.i]) < ind {
			return s, nil
		}
		t := strings.TrimSpace(p.lines[p.i])
		if indentOf(p.lines[p.i]) > ind || !(t == "-" || strings.HasPrefix(t, "- ")) {
			if indentOf(p.lines[p.i]) == ind {
				return s, nil // the parent mapping's next key
			}
			return nil, p.errorf("unexpected indentation in a sequence")
		}
		content := strings.TrimSpace(strings.TrimPrefix(t, "-"))
		if _, _, isMap := splitKey(content); isMap && !strings.HasPrefix(content, "|") && !strings.HasPrefix(content, ">") {
			// "- key: value" starts a mapping indented past the dash.
			p.lines[p.i] = strings.Repeat(" ", ind+2) + content
			v, err := p.mapping(ind + 2)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
			continue
		}
		p.i++
		v, err := p.value(content, ind, false)
		if err != nil {
			return nil, err
		}
		s = append(s, v)
	}
}

// value parses what follows "key:" or "- " on a line at indentation ind.
func (p *yamlParser) value(rest string, ind int, inMapping bool) (any, error) {
	rest = stripComment(rest)
	switch {
	case rest == "":
		p.skipBlank()
		if p.i < len(p.lines) && inMapping && indentOf(p.lines[p.i]) == ind && strings.HasPrefix(strings.TrimSpace(p.lines[p.i]), "- ") {
			return p.sequence(ind) // "key:\n- item", a sequence at the key's indentation
		}
		return p.node(ind + 1)
	case rest[0] == '|' || rest[0] == '>':
		return p.blockScalar(rest, ind)
	case rest[0] == '[':
		return flowSequence(rest)
	case strings.ContainsAny(rest[:1], "{&*!%@`"):
		return nil, p.errorf("%q: flow mappings, anchors, aliases, tags and reserved indicators are not supported", rest)
	}
	s, err := scalar(rest)
	if err != nil {
		return nil, fmt.Errorf("line %d: %w", p.i, err)
	}
	if p.i < len(p.lines) && !isBlank(p.lines[p.i]) && indentOf(p.lines[p.i]) > ind && !strings.HasPrefix(strings.TrimSpace(p.lines[p.i]), "- ") && inMapping {
		return nil, p.errorf("a multi-line plain scalar: use a block scalar (|) instead")
	}
	return s, nil
}

// blockScalar reads the lines of a | or > scalar.
func (p *yamlParser) blockScalar(header string, ind int) (any, error) {
	chomp := strings.TrimLeft(header[1:], " ")
	if chomp != "" && chomp != "-" && chomp != "+" {
		return nil, p.errorf("block scalar header %q: only |, |-, |+, > and their chomping are supported", header)
	}
	var lines []string
	content := -1
	for ; p.i < len(p.lines); p.i++ {
		l := p.lines[p.i]
		if strings.TrimSpace(l) == "" {
			lines = append(lines, "")
			continue
		}
		if indentOf(l) <= ind {
			break
		}
		if content < 0 {
			content = indentOf(l)
		}
		if indentOf(l) < content {
			return nil, p.errorf("a block scalar line less indented than its first line")
		}
		lines = append(lines, l[content:])
	}
	body := strings.Join(lines, "\n")
	trimmed := strings.TrimRight(body, "\n")
	if header[0] == '>' {
		trimmed = foldLines(trimmed)
	}
	switch chomp {
	case "-":
		return trimmed, nil
	case "+":
		return body + "\n", nil
	}
	if trimmed == "" {
		return "", nil
	}
	return trimmed + "\n", nil
}

// foldLines joins the lines of a folded scalar: a single newline becomes a
// space, blank lines stay newlines.
func foldLines(s string) string {
	var b strings.Builder
	for i, para := range strings.Split(s, "\n\n") {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(strings.ReplaceAll(para, "\n", " "))
	}
	return b.String()
}

// splitKey splits "key: value" (or "key:"), with a plain or quoted key.
func splitKey(content string) (key, rest string, ok bool) {
	if content == "" {
		return "", "", false
	}
	if content[0] == '"' || content[0] == '\'' {
		end := closingQuote(content)
		if end < 0 || end+1 >= len(content) || content[end+1] != ':' {
			return "", "", false
		}
		k, err := scalar(content[:end+1])
		if err != nil {
			return "", "", false
		}
		after := content[end+2:]
		if after != "" && after[0] != ' ' {
			return "", "", false
		}
		return k, strings.TrimSpace(after), true
	}
	for i := 0; i < len(content); i++ {
		if content[i] == ' ' && i+1 < len(content) && content[i+1] == '#' {
			break // a comment starts before any colon
		}
		if content[i] == ':' && (i+1 == len(content) || content[i+1] == ' ') {
			return content[:i], strings.TrimSpace(content[i+1:]), i > 0
		}
	}
	return "", "", false
}

// closingQuote returns the index of the quote that closes s's first one.
func closingQuote(s string) int {
	q := s[0]
	for i := 1; i < len(s); i++ {
		switch {
		case q == '"' && s[i] == '\\':
			i++
		case q == '\'' && s[i] == '\'' && i+1 < len(s) && s[i+1] == '\'':
			i++
		case s[i] == q:
			return i
		}
	}
	return -1
}

// stripComment removes a trailing " # comment" outside quotes. Text after
// a quoted scalar that is not a comment is kept, for scalar to refuse.
func stripComment(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	if s[0] == '"' || s[0] == '\'' {
		end := closingQuote(s)
		if end < 0 {
			return s
		}
		if after := strings.TrimSpace(s[end+1:]); after == "" || strings.HasPrefix(after, "#") {
			return s[:end+1]
		}
		return s
	}
	if i := strings.Index(s, " #"); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}

// scalar decodes a quoted or plain scalar.
func scalar(s string) (string, error) {
	switch s[0] {
	case '"':
		if closingQuote(s) != len(s)-1 {
			return "", fmt.Errorf("%q: text after a quoted scalar", s)
		}
		var out string
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			return "", fmt.Errorf("%q: an escape this check does not know: %w", s, err)
		}
		return out, nil
	case '\'':
		if closingQuote(s) != len(s)-1 {
			return "", fmt.Errorf("%q: text after a quoted scalar", s)
		}
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'"), nil
	}
	if strings.Contains(s, ": ") || strings.HasSuffix(s, ":") {
		return "", fmt.Errorf("%q: a plain scalar holding \": \" is read as a mapping; quote it or use a block scalar", s)
	}
	return s, nil
}

// flowSequence decodes "[a, "b", c]" of scalars.
func flowSequence(s string) (any, error) {
	if !strings.HasSuffix(s, "]") {
		return nil, fmt.Errorf("%q: a flow sequence must end on its line", s)
	}
	inner := strings.TrimSpace(s[1 : len(s)-1])
	out := []any{}
	if inner == "" {
		return out, nil
	}
	var parts []string
	start, quote := 0, byte(0)
	for i := 0; i < len(inner); i++ {
		c := inner[i]
		switch {
		case quote != 0 && c == '\\' && quote == '"':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
		case quote == 0 && (c == '[' || c == '{'):
			return nil, fmt.Errorf("%q: nested flow collections are not supported", s)
		case quote == 0 && c == ',':
			parts = append(parts, inner[start:i])
			start = i + 1
		}
	}
	parts = append(parts, inner[start:])
	for _, part := range parts {
		v, err := scalar(strings.TrimSpace(part))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// pyYAML parses src with python3's PyYAML, as JSON with scalars turned to
// strings; ok is false when python3 or PyYAML is missing.
func pyYAML(t *testing.T, src string) (v any, ok bool) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		return nil, false
	}
	const prog = `import sys, json
try:
    import yaml
except ImportError:
    sys.exit(3)
def s(v):
    if isinstance(v, dict): return {("true" if k is True else str(k)): s(x) for k, x in v.items()}
    if isinstance(v, list): return [s(x) for x in v]
    if v is None: return None
    if isinstance(v, bool): return "true" if v else "false"
    return str(v)
json.dump(s(yaml.safe_load(sys.stdin)), sys.stdout)`
	cmd := exec.Command(py, "-c", prog)
	cmd.Stdin = strings.NewReader(src)
	out, err := cmd.Output()
	if ee, isExit := err.(*exec.ExitError); isExit && ee.ExitCode() == 3 {
		return nil, false
	}
	if err != nil {
		t.Fatalf("PyYAML cannot parse it: %v\n%s", err, errText(err))
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	return v, true
}

func errText(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

func TestParseYAML_subset(t *testing.T) {
	tests := map[string]struct {
		src  string
		want any
	}{
		"mapping and sequence": {
			src:  "a: 1\nb:\n  - x\n  - \"y z\"\nc: [p, 'q r']\n",
			want: map[string]any{"a": "1", "b": []any{"x", "y z"}, "c": []any{"p", "q r"}},
		},
		"sequence of mappings": {
			src:  "steps:\n  - name: one\n    run: echo 1 # a comment\n  - uses: actions/checkout@v4\n",
			want: map[string]any{"steps": []any{map[string]any{"name": "one", "run": "echo 1"}, map[string]any{"uses": "actions/checkout@v4"}}},
		},
		"block scalars": {
			src:  "lit: |\n  a\n    b\n\n  c\nstrip: |-\n  x\nfold: >\n  one\n  two\n",
			want: map[string]any{"lit": "a\n  b\n\nc\n", "strip": "x", "fold": "one two\n"},
		},
		"keys with colons and null": {
			src:  "nexus:check:\n  stage: check\nempty:\n",
			want: map[string]any{"nexus:check": map[string]any{"stage": "check"}, "empty": nil},
		},
		"sequence at the key's indentation": {
			src:  "k:\n- a\n- b\nz: 1\n",
			want: map[string]any{"k": []any{"a", "b"}, "z": "1"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := parseYAML(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got: %#v\nwant: %#v", got, tt.want)
			}
			if py, ok := pyYAML(t, tt.src); ok && !reflect.DeepEqual(normalize(got), py) {
				t.Errorf("PyYAML disagrees:\ngot: %#v\npy:  %#v", normalize(got), py)
			}
		})
	}
}

func TestParseYAML_refusesWhatItDoesNotUnderstand(t *testing.T) {
	for name, src := range map[string]string{
		"colons in a plain item": "script:\n  - jq '{a: .b, c: .d}' x\n",
		"tab indentation":        "a:\n\t- b\n",
		"anchor":                 "a: &x 1\nb: *x\n",
		"bad indentation":        "a: 1\n   b: 2\n",
		"multi-line plain":       "a: one\n  two\n",
		"duplicate key":          "a: 1\na: 2\n",
		"two documents":          "a: 1\n---\nb: 2\n",
	} {
		t.Run(name, func(t *testing.T) {
			if v, err := parseYAML(src); err == nil {
				t.Errorf("got: %#v and no error\nwant: an error", v)
			}
		})
	}
}

// normalize turns a parsed tree into JSON's shapes, for comparison with
// PyYAML's output.
func normalize(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// FuzzParseYAML checks that the parser never panics and that what it
// accepts survives a JSON round trip.
func FuzzParseYAML(f *testing.F) {
	for _, name := range []string{"github-actions.yml", "gitlab-ci.yml"} {
		src, err := os.ReadFile(filepath.Join(example("ci"), name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(src))
	}
	f.Add("a: [b, 'c', \"d\"]\nk: |-\n  x\n- y\n")
	f.Fuzz(func(t *testing.T, src string) {
		v, err := parseYAML(src)
		if err != nil {
			return
		}
		if _, err := json.Marshal(v); err != nil {
			t.Errorf("accepted a tree JSON cannot encode: %v", err)
		}
	})
}
