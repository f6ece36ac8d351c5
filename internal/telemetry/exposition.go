package telemetry

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// Why a hand-written writer: the per-module series are most of /metrics
// (16 a module: 1,000 modules make 16,000 series), and client_golang's
// generic path (const metrics, consistency checks, sorting, then expfmt)
// costs several microseconds a series, far over the 10 ms budget of a
// 1,000-module scrape. The writer below emits the very series Collect
// produces, in the text format expfmt writes (same escaping, same number
// formatting, labels in name order); a test parses both and compares them.
// Anything but a plain text scrape (protobuf, OpenMetrics, name[] filters)
// takes the generic path.

// handler serves /metrics.
type handler struct {
	reg     prometheus.Gatherer
	mods    *moduleMetrics
	generic http.Handler
}

// ServeHTTP answers a scrape: plain text the fast way, anything else
// through promhttp.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	format := expfmt.Negotiate(r.Header)
	if format.FormatType() != expfmt.TypeTextPlain || r.URL.Query().Has("name[]") {
		h.generic.ServeHTTP(w, r)
		return
	}
	mfs, err := h.reg.Gather()
	if err != nil {
		http.Error(w, "An error has occurred while serving metrics:\n\n"+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", string(format))
	w.Header().Add("Vary", "Accept")
	w.Header().Add("Vary", "Accept-Encoding")
	var out io.Writer = w
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		w.Header().Set("Content-Encoding", "gzip")
		gz := gzipPool.Get().(*gzip.Writer)
		gz.Reset(w)
		defer func() { _ = gz.Close(); gzipPool.Put(gz) }()
		out = gz
	}
	bw := bufioPool.Get().(*bufio.Writer)
	bw.Reset(out)
	defer bufioPool.Put(bw)
	enc := expfmt.NewEncoder(bw, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return // the client went away; nothing more to say
		}
	}
	h.mods.writeText(bw)
	_ = bw.Flush()
}

var (
	// BestSpeed: a scrape's text compresses about 20 times at that level
	// too, for a third of the default level's CPU.
	gzipPool  = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return w }}
	bufioPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}
)

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(name) != "gzip" {
			continue
		}
		q, ok := strings.CutPrefix(strings.TrimSpace(params), "q=")
		if !ok {
			return true
		}
		v, err := strconv.ParseFloat(q, 64)
		return err == nil && v > 0
	}
	return false
}

// writeText writes every per-module series in the text exposition format,
// modules in the source's order, a family at a time. Each line is built in
// the writer's free buffer and written at once.
func (m *moduleMetrics) writeText(w *bufio.Writer) {
	samples := m.source()
	// Each module's label block, escaped once: kind="…",module="…",project="…".
	labels := make([][]byte, len(samples))
	for i := range samples {
		s := &samples[i]
		b := appendLabel(nil, "kind", s.Kind)
		b = appendLabel(append(b, ','), "module", s.ID)
		labels[i] = appendLabel(append(b, ','), "project", s.Project)
	}
	writeHeader(w, stateName, stateHelp, prometheus.GaugeValue)
	for i := range samples {
		for _, st := range ModuleStates {
			line := append(w.AvailableBuffer(), stateName...)
			line = append(append(line, '{'), labels[i]...)
			line = append(append(append(line, `,state="`...), st...), `"} `...)
			line = appendFloat(line, b2f(samples[i].State == st))
			w.Write(append(line, '\n'))
		}
	}
	for _, g := range m.gauges {
		writeHeader(w, g.name, g.help, g.typ)
		for i := range samples {
			line := append(w.AvailableBuffer(), g.name...)
			line = append(append(append(line, '{'), labels[i]...), "} "...)
			line = appendFloat(line, g.value(&samples[i]))
			w.Write(append(line, '\n'))
		}
	}
	m.writeTransitions(w, samples)
}

// writeTransitions writes the transition counters: those of the sampled
// modules in their order, then those of modules the runtime no longer (or
// never) held, such as one whose init failed, sorted.
func (m *moduleMetrics) writeTransitions(w *bufio.Writer, samples []ModuleSample) {
	m.mu.Lock()
	if len(m.counts) == 0 {
		m.mu.Unlock()
		return
	}
	counted := make([]countedModule, 0, len(m.counts))
	seen := make(map[moduleKey]bool, len(samples))
	for i := range samples {
		k := moduleKey{samples[i].Project, samples[i].ID}
		if c := m.counts[k]; c != nil && !seen[k] {
			seen[k] = true
			counted = append(counted, countedModule{k, *c})
		}
	}
	first := len(counted)
	for k, c := range m.counts {
		if !seen[k] {
			counted = append(counted, countedModule{k, *c})
		}
	}
	m.mu.Unlock()
	sortCounted(counted[first:])

	writeHeader(w, transitionsName, transitionsHelp, prometheus.CounterValue)
	var head []byte
	for _, c := range counted {
		head = appendLabel(head[:0], "module", c.key.module)
		head = appendLabel(append(head, ','), "project", c.key.project)
		for i, t := range transitions {
			for r, result := range []string{"ok", "error"} {
				n := c.counts[i][r]
				if n == 0 {
					continue
				}
				line := append(w.AvailableBuffer(), transitionsName...)
				line = append(append(line, '{'), head...)
				line = append(append(append(line, `,result="`...), result...), `",transition="`...)
				line = append(append(line, t...), `"} `...)
				line = strconv.AppendUint(line, n, 10)
				w.Write(append(line, '\n'))
			}
		}
	}
}

func writeHeader(w *bufio.Writer, name, help string, typ prometheus.ValueType) {
	kind := "gauge"
	if typ == prometheus.CounterValue {
		kind = "counter"
	}
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, helpEscaper.Replace(help), name, kind)
}

// appendLabel appends name="value" with the value escaped as the text
// format wants: backslash, newline and double quote.
func appendLabel(b []byte, name, value string) []byte {
	b = append(append(b, name...), `="`...)
	for i := 0; i < len(value); i++ {
		switch c := value[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '\n':
			b = append(b, `\n`...)
		case '"':
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// helpEscaper escapes HELP text as the text format wants: backslash and
// newline.
var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

// appendFloat formats v as expfmt does.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case v == 1:
		return append(b, '1')
	case v == 0:
		return append(b, '0')
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, +1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}
