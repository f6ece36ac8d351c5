package views

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/hashicorp/hcl/v2"
)

// Diagnostics writes diagnostics for a human: severity, summary, the
// file:line:col, a source snippet with the subject underlined, and detail.
func Diagnostics(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File, width uint, color bool) error {
	if width == 0 {
		width = 100
	}
	return hcl.NewDiagnosticTextWriter(w, files, width, color).WriteDiagnostics(diags)
}

// JSONDiagnostic is one diagnostic in the shape of Terraform's
// `validate -json`.
type JSONDiagnostic struct {
	Severity string       `json:"severity"`
	Summary  string       `json:"summary"`
	Detail   string       `json:"detail,omitempty"`
	Range    *JSONRange   `json:"range,omitempty"`
	Snippet  *JSONSnippet `json:"snippet,omitempty"`
}

// JSONRange is a source range; lines and columns start at 1, bytes at 0.
type JSONRange struct {
	Filename string  `json:"filename"`
	Start    JSONPos `json:"start"`
	End      JSONPos `json:"end"`
}

// JSONPos is a position in a source file.
type JSONPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// JSONSnippet is the source around a diagnostic's subject.
type JSONSnippet struct {
	Context              *string `json:"context"`
	Code                 string  `json:"code"`
	StartLine            int     `json:"start_line"`
	HighlightStartOffset int     `json:"highlight_start_offset"`
	HighlightEndOffset   int     `json:"highlight_end_offset"`
	Values               []any   `json:"values"`
}

// JSONValidate is the document `nexus validate -json` prints.
type JSONValidate struct {
	FormatVersion string           `json:"format_version"`
	Valid         bool             `json:"valid"`
	ErrorCount    int              `json:"error_count"`
	WarningCount  int              `json:"warning_count"`
	Diagnostics   []JSONDiagnostic `json:"diagnostics"`
}

// NewJSONDiagnostics converts diagnostics, with snippets from files.
func NewJSONDiagnostics(diags hcl.Diagnostics, files map[string]*hcl.File) []JSONDiagnostic {
	out := make([]JSONDiagnostic, 0, len(diags))
	for _, d := range diags {
		jd := JSONDiagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			jd.Severity = "warning"
		}
		if d.Subject != nil {
			jd.Range = jsonRange(*d.Subject)
			jd.Snippet = snippet(d, files)
		}
		out = append(out, jd)
	}
	return out
}

// ValidateJSON writes the validate document.
func ValidateJSON(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File) error {
	doc := JSONValidate{FormatVersion: "1.0", Diagnostics: NewJSONDiagnostics(diags, files)}
	for _, d := range diags {
		if d.Severity == hcl.DiagWarning {
			doc.WarningCount++
		} else {
			doc.ErrorCount++
		}
	}
	doc.Valid = doc.ErrorCount == 0
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func jsonRange(r hcl.Range) *JSONRange {
	return &JSONRange{
		Filename: r.Filename,
		Start:    JSONPos{Line: r.Start.Line, Column: r.Start.Column, Byte: r.Start.Byte},
		End:      JSONPos{Line: r.End.Line, Column: r.End.Column, Byte: r.End.Byte},
	}
}

// snippet extracts the lines the subject covers (and the context range's,
// when it starts earlier), as Terraform's JSON diagnostics do.
func snippet(d *hcl.Diagnostic, files map[string]*hcl.File) *JSONSnippet {
	f := files[d.Subject.Filename]
	if f == nil || len(f.Bytes) == 0 {
		return nil
	}
	src := f.Bytes
	subj := *d.Subject
	r := subj
	if d.Context != nil && d.Context.Filename == subj.Filename {
		r = hcl.RangeOver(*d.Context, subj)
	}
	start := lineStart(src, min(r.Start.Byte, len(src)))
	end := lineEnd(src, min(r.End.Byte, len(src)))
	code := string(src[start:end])
	s := &JSONSnippet{
		Code:                 code,
		StartLine:            r.Start.Line,
		HighlightStartOffset: clamp(subj.Start.Byte-start, 0, len(code)),
		HighlightEndOffset:   clamp(subj.End.Byte-start, 0, len(code)),
		Values:               []any{},
	}
	if ctx := enclosingHeader(src, start); ctx != "" {
		s.Context = &ctx
	}
	return s
}

func lineStart(src []byte, i int) int {
	if j := bytes.LastIndexByte(src[:i], '\n'); j >= 0 {
		return j + 1
	}
	return 0
}

func lineEnd(src []byte, i int) int {
	if j := bytes.IndexByte(src[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(src)
}

// enclosingHeader finds the nearest preceding top-level block header line
// (one that starts at column 1 and ends with "{"), like Terraform's context.
func enclosingHeader(src []byte, before int) string {
	lines := bytes.Split(src[:before], []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		l := bytes.TrimRight(lines[i], " \t\r")
		if len(l) > 0 && l[0] != ' ' && l[0] != '\t' && l[0] != '#' && bytes.HasSuffix(l, []byte("{")) {
			return string(bytes.TrimSpace(bytes.TrimSuffix(l, []byte("{"))))
		}
	}
	return ""
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }
