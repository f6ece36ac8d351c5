package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/creack/pty"
)

func TestNewLogger_formatsAndLevels(t *testing.T) {
	for name, tc := range map[string]struct {
		format, level string
		json          bool
		debug         bool
	}{
		"json":                    {format: "json", level: "info", json: true},
		"text":                    {format: "text", level: "info"},
		"default off a terminal":  {format: "", level: "info", json: true},
		"debug, upper case level": {format: "json", level: "DEBUG", json: true, debug: true},
		"warn":                    {format: "json", level: "warn", json: true},
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := NewLogger(&buf, tc.format, tc.level)
			if err != nil {
				t.Fatal(err)
			}
			l.Debug("dbg")
			l.Warn("careful", "module_id", "g/a")
			out := buf.String()
			if got := strings.Contains(out, "dbg"); got != tc.debug {
				t.Errorf("got: debug logged %v\nwant: %v\n%s", got, tc.debug, out)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			var rec map[string]any
			isJSON := json.Unmarshal([]byte(lines[len(lines)-1]), &rec) == nil
			if isJSON != tc.json {
				t.Errorf("got: JSON %v\nwant: %v\n%s", isJSON, tc.json, out)
			}
			if !strings.Contains(out, "g/a") {
				t.Errorf("got:\n%s\nwant: the module_id", out)
			}
		})
	}
}

func TestNewLogger_terminalDefaultsToText(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	l, err := NewLogger(tty, "", "info")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hello", "module_id", "g/a")
	tty.Close()
	out, _ := io.ReadAll(ptmx) // ends with EIO once the tty side is closed
	if got := string(out); !strings.Contains(got, "level=INFO msg=hello module_id=g/a") {
		t.Errorf("got: %q\nwant: a text record", got)
	}
}

func TestNewLogger_badFlagsSayWhatToUse(t *testing.T) {
	for _, tc := range []struct{ format, level, want string }{
		{"json", "loud", "--log-level \"loud\": use debug, info, warn or error"},
		{"yaml", "info", "--log-format \"yaml\": use json or text"},
	} {
		if _, err := NewLogger(&bytes.Buffer{}, tc.format, tc.level); err == nil || err.Error() != tc.want {
			t.Errorf("NewLogger(%q, %q): got: %v\nwant: %s", tc.format, tc.level, err, tc.want)
		}
	}
}

func TestWithLogAttrs_recordsCarryTheContextsAttrs(t *testing.T) {
	var buf bytes.Buffer
	l, err := NewLogger(&buf, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	ctx := WithLogAttrs(context.Background(), slog.String("principal", "ci@example.com"))
	ctx = WithLogAttrs(ctx, slog.String("request_id", "r-1"))
	l.With("project", "default").WithGroup("g").InfoContext(ctx, "in a request", "n", 1)
	l.Info("outside any request")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got:\n%s\nwant: 2 records", buf.String())
	}
	var in, out map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &in); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &out); err != nil {
		t.Fatal(err)
	}
	g, _ := in["g"].(map[string]any)
	if in["project"] != "default" || g["principal"] != "ci@example.com" || g["request_id"] != "r-1" || g["n"] != float64(1) {
		t.Errorf("got: %s\nwant: project, and the context's principal and request_id beside n", lines[0])
	}
	if _, ok := out["principal"]; ok {
		t.Errorf("got: %s\nwant: no principal outside a request", lines[1])
	}
	// Wrapping twice adds the attributes once.
	if h := ContextHandler(ContextHandler(slog.NewJSONHandler(&buf, nil))); h != ContextHandler(h) {
		t.Errorf("got: a handler wrapped again\nwant: the same handler")
	}
}
