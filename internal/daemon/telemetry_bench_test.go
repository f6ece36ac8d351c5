package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nexus-run/nexus/config/configtest"
	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/internal/builtin"
	"github.com/nexus-run/nexus/internal/daemoncfg"
	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/internal/telemetry"
)

// BenchmarkMetrics_render1000 serves GET /metrics, through the daemon's own
// handler, with 1,000 started `target` modules in its runtime: the
// per-module collector, the transition counters of their 3,000
// transitions, the Go and process collectors, gathered and encoded as the
// text exposition format (and gzipped, as Prometheus asks for it). Target:
// under 10 ms a scrape.
func BenchmarkMetrics_render1000(b *testing.B) {
	h := startTeleDaemon(b, teleOptions{logLevel: "error"})
	var src strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&src, "module \"bench\" \"t%04d\" {\n  kind = \"target\"\n}\n", i)
	}
	h.mustApply("", src.String())
	handler := h.d.routes()
	for _, enc := range []string{"text", "gzip"} {
		b.Run(enc, func(b *testing.B) {
			var size int
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				if enc == "gzip" {
					req.Header.Set("Accept-Encoding", "gzip")
				}
				w := &countingWriter{header: http.Header{}, status: http.StatusOK}
				handler.ServeHTTP(w, req)
				if w.status != http.StatusOK {
					b.Fatalf("GET /metrics: %d", w.status)
				}
				size = w.n
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/scrape")
			b.ReportMetric(float64(size), "bytes/scrape")
		})
	}
	if n := strings.Count(scrapeText(b, handler), "nexus_module_up{"); n != 1000 {
		b.Fatalf("got: %d nexus_module_up series\nwant: 1000", n)
	}
}

// scrapeText is one plain GET /metrics through h.
func scrapeText(b *testing.B, h http.Handler) string {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

// BenchmarkApply_10000_overhead applies a 10,000-module random DAG of
// `target` modules (configtest.GenerateDAG, 30,000 transitions) through
// the daemon's POST /v1/apply handler — executor, runtime, recorder with
// the file store, audit log, observer and NDJSON stream — once with the
// daemon's logging and metrics, once with neither, and reports the cost of
// the first over the second, in wall-clock and in the process's CPU time.
// The log is JSON at info, a line per transition, through the AsyncWriter
// nexus daemon logs with, into a pipe that another goroutine drains, as a
// daemon's stderr goes to journald or a container runtime (a log file on
// the state's disk would also slow the store's fsyncs, which says more
// about the disk than about logging).
//
// Each iteration runs both variants four times, in the order bare,
// observed, observed, bare, ... (the second of two runs pays for the
// first's leftovers: its files' writeback, the memory it hands back), each
// run after a sync and a garbage collection, and compares the fastest run
// of each variant (noise only ever adds time). Target: under 10 %.
func BenchmarkApply_10000_overhead(b *testing.B) {
	files := configtest.GenerateDAG(10000, 1)
	var with, without, cpuWith, cpuWithout []time.Duration
	for b.Loop() {
		for pair := range 4 {
			for _, observed := range []bool{pair%2 == 1, pair%2 == 0} {
				wall, cpu := applyOnce(b, files, observed)
				if observed {
					with, cpuWith = append(with, wall), append(cpuWith, cpu)
				} else {
					without, cpuWithout = append(without, wall), append(cpuWithout, cpu)
				}
			}
		}
	}
	b.Logf("wall observed %v, bare %v; cpu observed %v, bare %v", with, without, cpuWith, cpuWithout)
	mw, mo := slices.Min(with), slices.Min(without)
	cw, co := slices.Min(cpuWith), slices.Min(cpuWithout)
	b.ReportMetric(float64(mw.Milliseconds()), "ms-observed")
	b.ReportMetric(float64(mo.Milliseconds()), "ms-bare")
	b.ReportMetric(100*(float64(mw)/float64(mo)-1), "overhead-%")
	b.ReportMetric(float64(cw.Milliseconds()), "cpu-ms-observed")
	b.ReportMetric(float64(co.Milliseconds()), "cpu-ms-bare")
	b.ReportMetric(100*(float64(cw)/float64(co)-1), "cpu-overhead-%")
}

// applyOnce plans files with a fresh daemon and times the apply of the
// plan (wall clock and the process's CPU time); observed turns logging and
// metrics on.
func applyOnce(b *testing.B, files map[string][]byte, observed bool) (wall, cpu time.Duration) {
	b.StopTimer()
	defer b.StartTimer()
	dir := b.TempDir()
	cfg := &daemoncfg.Config{
		DataDir: filepath.Join(dir, "data"), Node: "bench", SecretCheckInterval: time.Hour,
		State:   daemoncfg.State{Type: "file", Path: filepath.Join(dir, "data", "state")},
		Secrets: []daemoncfg.Secrets{{Type: "env", Name: "env", Prefix: daemoncfg.DefaultEnvPrefix}},
		Audit:   daemoncfg.Audit{Path: filepath.Join(dir, "data", "audit.log")},
	}
	o := Options{Metrics: prometheus.NewRegistry()}
	if observed {
		pr, pw, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		drained := make(chan struct{})
		go func() { defer close(drained); _, _ = io.Copy(io.Discard, pr) }()
		logOut := telemetry.NewAsyncWriter(pw, 0) // as nexus daemon logs
		defer func() { logOut.Close(); pw.Close(); <-drained; pr.Close() }()
		if o.Logger, err = telemetry.NewLogger(logOut, "json", "info"); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	d, err := New(ctx, cfg, builtin.Registry(), o)
	if err != nil {
		b.Fatal(err)
	}
	if !observed {
		d.metrics, d.sdkMetrics = nil, nil
		if u, ok := d.store.(interface{ Unwrap() state.Store }); ok {
			d.store = u.Unwrap()
		}
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		if err := d.Shutdown(sctx); err != nil {
			b.Fatal(err)
		}
	}()
	handler := d.routes()
	var pr api.PlanResponse
	serveJSON(b, d, handler, "/v1/plan", api.PlanRequest{Dir: "dag", Files: files}, &pr)
	if pr.Plan == nil || len(pr.Plan.Changes) != 10000 {
		b.Fatalf("plan: %+v", pr.Diagnostics)
	}
	body, err := json.Marshal(api.ApplyRequest{Plan: pr.Plan, Parallelism: 10})
	if err != nil {
		b.Fatal(err)
	}
	req := asOwner(d, httptest.NewRequest(http.MethodPost, "/v1/apply", bytes.NewReader(body)))
	w := &lastLineWriter{header: http.Header{}}
	// The last run's dirty pages and garbage are not this one's to handle.
	syscall.Sync()
	runtime.GC()
	cpu0 := processCPU()
	start := time.Now()
	b.StartTimer()
	handler.ServeHTTP(w, req)
	b.StopTimer()
	wall, cpu = time.Since(start), processCPU()-cpu0
	var last api.Message
	if err := json.Unmarshal(w.last, &last); err != nil || last.Summary == nil || last.Summary.Succeeded != 10000 {
		b.Fatalf("apply: status %d, last line %s", w.status, w.last)
	}
	return wall, cpu
}

// serveJSON posts in to path through handler as the daemon's owner and
// decodes the answer into out.
func serveJSON(b *testing.B, d *Daemon, handler http.Handler, path string, in, out any) {
	body, err := json.Marshal(in)
	if err != nil {
		b.Fatal(err)
	}
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, asOwner(d, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))))
	if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
		b.Fatalf("POST %s: %d %v\n%s", path, rec.Code, err, rec.Body)
	}
}

// asOwner makes r come from the daemon's own uid over the unix socket, as
// connContext would: the admin principal.
func asOwner(d *Daemon, r *http.Request) *http.Request {
	r.Header.Set("Content-Type", "application/json")
	ctx := context.WithValue(context.WithValue(r.Context(), keyListener, "unix"), keyPeerUID, d.uid)
	return r.WithContext(ctx)
}

// countingWriter is a ResponseWriter that counts and drops the body, as a
// socket to a scraper would take it.
type countingWriter struct {
	header http.Header
	status int
	n      int
}

func (w *countingWriter) Header() http.Header         { return w.header }
func (w *countingWriter) WriteHeader(code int)        { w.status = code }
func (w *countingWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// lastLineWriter is a streaming ResponseWriter that keeps only the last
// NDJSON line.
type lastLineWriter struct {
	header  http.Header
	status  int
	partial []byte
	last    []byte
}

func (w *lastLineWriter) Header() http.Header  { return w.header }
func (w *lastLineWriter) WriteHeader(code int) { w.status = code }
func (w *lastLineWriter) Flush()               {}

func (w *lastLineWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.last = append(w.last[:0], w.partial[:i]...)
		w.partial = w.partial[i+1:]
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
