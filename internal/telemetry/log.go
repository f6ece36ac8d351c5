package telemetry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"golang.org/x/term"
)

// NewLogger returns the daemon's logger writing to w: JSON when format is
// "json", text when "text", and when format is "" text if w is a terminal
// and JSON otherwise (a daemon under systemd or in a container logs JSON).
// level is debug, info, warn or error. Records logged with a context carry
// the attributes WithLogAttrs put in it. When w can be flushed (an
// AsyncWriter), each record at warn or above is flushed before the call
// that logged it returns.
func NewLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.ToLower(level))); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	switch format {
	case "json":
		h = slog.NewJSONHandler(w, opts)
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "":
		if isTerminal(w) {
			h = slog.NewTextHandler(w, opts)
		} else {
			h = slog.NewJSONHandler(w, opts)
		}
	default:
		return nil, fmt.Errorf("--log-format %q: use json or text", format)
	}
	if f, ok := w.(flusher); ok {
		h = flushHandler{Handler: h, f: f}
	}
	return slog.New(ContextHandler(h)), nil
}

// isTerminal reports whether w, or the writer it wraps, is a terminal.
func isTerminal(w io.Writer) bool {
	for {
		switch v := w.(type) {
		case *os.File:
			return term.IsTerminal(int(v.Fd()))
		case interface{ Unwrap() io.Writer }:
			w = v.Unwrap()
		default:
			return false
		}
	}
}

// flusher is a writer that can be flushed.
type flusher interface{ Flush() error }

// flushHandler flushes its writer after each record at warn or above.
type flushHandler struct {
	slog.Handler
	f flusher
}

var _ slog.Handler = flushHandler{}

// Handle hands r on, then flushes when r is a warning or an error.
func (h flushHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := h.f.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h flushHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushHandler{Handler: h.Handler.WithAttrs(attrs), f: h.f}
}

func (h flushHandler) WithGroup(name string) slog.Handler {
	return flushHandler{Handler: h.Handler.WithGroup(name), f: h.f}
}

type logAttrsKey struct{}

// WithLogAttrs returns a context whose log records carry attrs too, after
// those already in ctx: the daemon puts an API request's principal and
// request_id in its context, so that every transition the request performs
// is logged with them. Only handlers wrapped by ContextHandler (every
// logger NewLogger makes) read them.
func WithLogAttrs(ctx context.Context, attrs ...slog.Attr) context.Context {
	prev, _ := ctx.Value(logAttrsKey{}).([]slog.Attr)
	return context.WithValue(ctx, logAttrsKey{}, append(slices.Clip(prev), attrs...))
}

// ContextHandler wraps h so that a record logged with a context carries the
// attributes WithLogAttrs put in that context.
func ContextHandler(h slog.Handler) slog.Handler {
	if c, ok := h.(contextHandler); ok {
		return c
	}
	return contextHandler{h}
}

type contextHandler struct{ slog.Handler }

var _ slog.Handler = contextHandler{}

// Handle adds the attributes ctx carries to r and hands it on.
func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if attrs, ok := ctx.Value(logAttrsKey{}).([]slog.Attr); ok && len(attrs) > 0 {
		r = r.Clone()
		r.AddAttrs(attrs...)
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}
