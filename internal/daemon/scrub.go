package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nexus-run/nexus/internal/runtime"
	"github.com/nexus-run/nexus/modules"
)

// scrubbed replaces a secret value found where it must not be.
const scrubbed = "(sensitive value)"

// minScrubLen is the shortest value the scrubber replaces: shorter ones
// ("1", "true") would blank common words everywhere, and are no secrets.
const minScrubLen = 6

// scrubber removes secret values from what leaves the daemon: log records,
// audit records, state records and API answers. Every secret the runtime
// resolves goes through it, so it knows each value the modules hold; a
// module that puts one into an error or a log line (a target URL with an
// API key in its query, failing to connect) is caught here rather than
// trusted. It is safe for concurrent use.
type scrubber struct {
	mu     sync.Mutex
	values map[string]struct{}
	// r replaces every known value; nil while there is none.
	r atomic.Pointer[strings.Replacer]
}

// add learns a value.
func (s *scrubber) add(v string) {
	if len(v) < minScrubLen {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.values[v]; ok {
		return
	}
	if s.values == nil {
		s.values = map[string]struct{}{}
	}
	s.values[v] = struct{}{}
	pairs := make([]string, 0, 2*len(s.values))
	for v := range s.values {
		pairs = append(pairs, v, scrubbed)
	}
	s.r.Store(strings.NewReplacer(pairs...))
}

// active reports whether there is anything to scrub.
func (s *scrubber) active() bool { return s.r.Load() != nil }

// scrub returns text with every known value replaced.
func (s *scrubber) scrub(text string) string {
	r := s.r.Load()
	if r == nil || text == "" {
		return text
	}
	return r.Replace(text)
}

// scrubMap scrubs a map's values in place.
func (s *scrubber) scrubMap(m map[string]string) {
	if !s.active() {
		return
	}
	for k, v := range m {
		m[k] = s.scrub(v)
	}
}

// resolver is the runtime's secret resolver: the daemon's providers, with
// every value read taught to the scrubber.
type resolver struct {
	next runtime.SecretResolver
	s    *scrubber
}

var _ runtime.SecretResolver = resolver{}

func (r resolver) Resolve(ctx context.Context, ref modules.SecretRef) (string, error) {
	v, err := r.next.Resolve(ctx, ref)
	if err == nil {
		r.s.add(v)
	}
	return v, err
}

// scrubHandler is the daemon's log handler: the one it was given, with
// secret values scrubbed from messages and attributes.
type scrubHandler struct {
	next slog.Handler
	s    *scrubber
}

var _ slog.Handler = (*scrubHandler)(nil)

func (h *scrubHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *scrubHandler) Handle(ctx context.Context, rec slog.Record) error {
	if !h.s.active() {
		return h.next.Handle(ctx, rec)
	}
	out := slog.NewRecord(rec.Time, rec.Level, h.s.scrub(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *scrubHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.attr(a)
	}
	return &scrubHandler{next: h.next.WithAttrs(clean), s: h.s}
}

func (h *scrubHandler) WithGroup(name string) slog.Handler {
	return &scrubHandler{next: h.next.WithGroup(name), s: h.s}
}

// attr scrubs one attribute: strings, errors and anything that prints a
// known value.
func (h *scrubHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(h.s.scrub(v.String()))
	case slog.KindGroup:
		group := v.Group()
		clean := make([]slog.Attr, len(group))
		for i, g := range group {
			clean[i] = h.attr(g)
		}
		a.Value = slog.GroupValue(clean...)
	case slog.KindAny:
		if !h.s.active() {
			return a
		}
		text := fmt.Sprint(v.Any())
		if clean := h.s.scrub(text); clean != text {
			a.Value = slog.StringValue(clean)
		}
	}
	return a
}
