package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/nexus-run/nexus/modules"
)

type scrubFakeResolver map[string]string

func (f scrubFakeResolver) Resolve(_ context.Context, ref modules.SecretRef) (string, error) {
	if v, ok := f[ref.Path]; ok {
		return v, nil
	}
	return "", errors.New("no such secret")
}

func TestScrubber_learnsFromTheResolver(t *testing.T) {
	s := &scrubber{}
	r := resolver{next: scrubFakeResolver{"api": "key-0123456789", "short": "abc"}, s: s}
	if got := s.scrub("key-0123456789"); got != "key-0123456789" {
		t.Fatalf("before any read got: %q, want: unchanged", got)
	}
	for _, path := range []string{"api", "short", "missing"} {
		_, _ = r.Resolve(context.Background(), modules.SecretRef{Provider: "file", Path: path})
	}
	tests := map[string]struct{ in, want string }{
		"a URL with the key":  {`Post "http://x/beat?k=key-0123456789": refused`, `Post "http://x/beat?k=(sensitive value)": refused`},
		"twice":               {"key-0123456789key-0123456789", "(sensitive value)(sensitive value)"},
		"a short value stays": {"abc is not scrubbed", "abc is not scrubbed"},
		"nothing to scrub":    {"connection refused", "connection refused"},
		"a prefix of the key": {"key-012345678", "key-012345678"},
		"empty":               {"", ""},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := s.scrub(tt.in); got != tt.want {
				t.Errorf("got: %q\nwant: %q", got, tt.want)
			}
		})
	}
}

type scrubStringer struct{ v string }

func (s scrubStringer) String() string { return "stringer " + s.v }

func TestScrubHandler_removesValuesFromLogRecords(t *testing.T) {
	const secret = "hunter2-very-secret"
	var buf bytes.Buffer
	s := &scrubber{}
	log := slog.New(&scrubHandler{next: slog.NewJSONHandler(&buf, nil), s: s}).With("module_id", "app/beat")
	log.Info("before the value is known: " + secret)
	s.add(secret)
	log.With("bound", "x "+secret).WithGroup("g").Info("beat failed to "+secret,
		"error", fmt.Errorf("post http://x/?k=%s: refused", secret),
		"url", "http://x/?k="+secret,
		"n", 3,
		"thing", scrubStringer{secret},
		slog.Group("nested", "inner", secret),
	)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got: %d lines\n%s", len(lines), buf.String())
	}
	if strings.Contains(lines[1], secret) {
		t.Errorf("got: %s\nwant: no secret value", lines[1])
	}
	for _, want := range []string{`"module_id":"app/beat"`, `"n":3`, `"msg":"beat failed to (sensitive value)"`, `"inner":"(sensitive value)"`, `"thing":"stringer (sensitive value)"`} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("got: %s\nwant: it to hold %s", lines[1], want)
		}
	}
}

// BenchmarkScrubHandler measures a log record through the scrubbing
// handler with no secret known (the fast path) and with 20 known.
func BenchmarkScrubHandler(b *testing.B) {
	for _, known := range []int{0, 20} {
		b.Run(fmt.Sprintf("secrets=%d", known), func(b *testing.B) {
			s := &scrubber{}
			for i := range known {
				s.add(fmt.Sprintf("secret-value-%04d", i))
			}
			log := slog.New(&scrubHandler{next: slog.NewJSONHandler(io.Discard, nil), s: s}).With("project", "default")
			err := errors.New(`Post "http://127.0.0.1:1/beat": connection refused`)
			b.ReportAllocs()
			for b.Loop() {
				log.Info("transition", "module_id", "app/beat", "transition", "start", "duration_ms", 12, "error", err)
			}
		})
	}
}
