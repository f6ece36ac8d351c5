package telemetry

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/nexus-run/nexus/modules"
)

// oddSamples are modules whose labels need every escape of the text
// format, in two projects, in every state.
func oddSamples() []ModuleSample {
	return []ModuleSample{
		{Project: "default", ID: "g/a", Kind: "target", State: modules.StateStarted, Ready: true},
		{Project: "default", ID: `odd/quote"back\slash`, Kind: "exec", State: modules.StateFailed, Restarts: 3,
			Usage: modules.Usage{CPUSeconds: 1.25, MemoryMB: 12.5, RequestsTotal: 7, ErrorsTotal: 2}},
		{Project: "line\nbreak", ID: "g/a", Kind: "heartbeat", State: modules.StateStopped,
			Usage: modules.Usage{CPUSeconds: 1e-9, MemoryMB: 123456.75, RequestsTotal: 1 << 40}},
		{Project: "ünïcode", ID: "tasks/report[daily run]", Kind: "schedule", State: modules.StateLoaded},
	}
}

func newTestMetrics(t *testing.T, samples []ModuleSample) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := New(reg, func() []ModuleSample { return samples })
	m.Transition("default", "g/a", modules.TransitionInit, time.Millisecond, nil)
	m.Transition("default", "g/a", modules.TransitionStart, time.Millisecond, nil)
	m.Transition("default", `odd/quote"back\slash`, modules.TransitionStart, time.Second, errors.New("boom"))
	m.Transition("default", `odd/quote"back\slash`, modules.TransitionStart, time.Second, errors.New("boom"))
	m.Transition("gone", "never/ran", modules.TransitionInit, time.Second, errors.New("init failed"))
	return m, reg
}

func scrape(t *testing.T, h http.Handler, header map[string]string, query string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics"+query, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics%s: %d\n%s", query, rec.Code, rec.Body)
	}
	return rec
}

// series flattens the nexus_module_* families into sorted
// "name{labels} value" lines, for comparing two sources of them.
func series(mfs map[string]*dto.MetricFamily) []string {
	var out []string
	for name, mf := range mfs {
		if !strings.HasPrefix(name, "nexus_module_") || name == "nexus_module_transition_duration_seconds" {
			continue
		}
		out = append(out, fmt.Sprintf("# %s %s %q", name, mf.GetType(), mf.GetHelp()))
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
			}
			sort.Strings(labels)
			v := m.GetGauge().GetValue()
			if m.Counter != nil {
				v = m.GetCounter().GetValue()
			}
			out = append(out, fmt.Sprintf("%s{%s} %v", name, strings.Join(labels, ","), v))
		}
	}
	sort.Strings(out)
	return out
}

func parseText(t *testing.T, body string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v\n%s", err, body)
	}
	return mfs
}

func TestHandler_fastTextMatchesGenericPath(t *testing.T) {
	m, _ := newTestMetrics(t, oddSamples())
	rec := scrape(t, m.Handler(), nil, "")
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("got: Content-Type %q\nwant: the text format", ct)
	}
	fast := series(parseText(t, rec.Body.String()))
	gathered, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	generic := map[string]*dto.MetricFamily{}
	for _, mf := range gathered {
		generic[mf.GetName()] = mf
	}
	want := series(generic)
	if strings.Join(fast, "\n") != strings.Join(want, "\n") {
		t.Errorf("got (fast path):\n%s\nwant (client_golang):\n%s", strings.Join(fast, "\n"), strings.Join(want, "\n"))
	}
	// 9 families; 4 modules × 13 series; 4 transition counters.
	if n := len(want); n != 9+4*13+4 {
		t.Errorf("got: %d lines\nwant: %d", n, 9+4*13+4)
	}
}

func TestHandler_lintClean(t *testing.T) {
	m, _ := newTestMetrics(t, oddSamples())
	m.ApplyDone(ApplyOK, time.Second)
	m.ApplyRefused(ApplyDenied)
	m.Authz(true)
	m.Request("GET /v1/status", 200)
	m.StoreCall("file", "apply", "ok", time.Millisecond)
	problems, err := testutil.GatherAndLint(m.Gatherer())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint (generic path): %s: %s", p.Metric, p.Text)
	}
	body := scrape(t, m.Handler(), nil, "").Body.String()
	problems, err = promlint.New(strings.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint (served text): %s: %s", p.Metric, p.Text)
	}
}

func TestHandler_negotiation(t *testing.T) {
	m, _ := newTestMetrics(t, oddSamples())
	h := m.Handler()

	t.Run("gzip", func(t *testing.T) {
		rec := scrape(t, h, map[string]string{"Accept-Encoding": "br;q=1, gzip;q=0.8"}, "")
		if rec.Header().Get("Content-Encoding") != "gzip" {
			t.Fatalf("got: Content-Encoding %q\nwant: gzip", rec.Header().Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		got := series(parseText(t, string(plain)))
		want := series(parseText(t, scrape(t, h, nil, "").Body.String()))
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("got (gzip):\n%s\nwant (identity):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("gzip refused", func(t *testing.T) {
		rec := scrape(t, h, map[string]string{"Accept-Encoding": "gzip;q=0"}, "")
		if rec.Header().Get("Content-Encoding") != "" {
			t.Errorf("got: Content-Encoding %q\nwant: none", rec.Header().Get("Content-Encoding"))
		}
	})
	t.Run("protobuf", func(t *testing.T) {
		rec := scrape(t, h, map[string]string{"Accept": "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"}, "")
		if ct := rec.Header().Get("Content-Type"); !strings.Contains(ct, "protobuf") {
			t.Fatalf("got: Content-Type %q\nwant: protobuf", ct)
		}
		var found bool
		dec := expfmt.NewDecoder(rec.Body, expfmt.NewFormat(expfmt.TypeProtoDelim))
		for {
			var mf dto.MetricFamily
			if err := dec.Decode(&mf); err != nil {
				break
			}
			found = found || mf.GetName() == "nexus_module_state"
		}
		if !found {
			t.Errorf("got: no nexus_module_state in the protobuf answer\nwant: the per-module series there too")
		}
	})
	t.Run("name filter", func(t *testing.T) {
		body := scrape(t, h, nil, "?name[]=nexus_module_up").Body.String()
		mfs := parseText(t, body)
		if len(mfs) != 1 || mfs["nexus_module_up"] == nil || len(mfs["nexus_module_up"].GetMetric()) != 4 {
			t.Errorf("got:\n%s\nwant: only nexus_module_up's 4 series", body)
		}
	})
}

func TestMetrics_forgetModuleDropsItsCounters(t *testing.T) {
	m, _ := newTestMetrics(t, nil)
	m.ForgetModule("default", "g/a")
	body := scrape(t, m.Handler(), nil, "").Body.String()
	if strings.Contains(body, `module="g/a"`) {
		t.Errorf("got:\n%s\nwant: no series of the forgotten module", body)
	}
	if !strings.Contains(body, `nexus_module_transitions_total{module="never/ran",project="gone",result="error",transition="init"} 1`) {
		t.Errorf("got:\n%s\nwant: the other modules' counters", body)
	}
}

func TestMetrics_nilRecordsNothing(t *testing.T) {
	var m *Metrics
	m.Transition("p", "m", modules.TransitionInit, time.Second, nil)
	m.ForgetModule("p", "m")
	m.ApplyDone(ApplyOK, time.Second)
	m.ApplyRefused(ApplyDenied)
	m.Authz(false)
	m.Request("GET /", 200)
	m.StoreCall("file", "get", "ok", time.Second)
	if mfs, err := m.Gatherer().Gather(); err != nil || len(mfs) != 0 {
		t.Errorf("got: %d families, %v\nwant: none", len(mfs), err)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("got: %d\nwant: 404 from a daemon without metrics", rec.Code)
	}
}

func TestMetrics_daemonSeries(t *testing.T) {
	m, reg := newTestMetrics(t, nil)
	m.ApplyDone(ApplyOK, 2*time.Second)
	m.ApplyDone(ApplyError, time.Second)
	m.ApplyRefused(ApplyStale)
	m.Authz(true)
	m.Authz(false)
	m.Authz(false)
	m.Request("POST /v1/apply", 200)
	m.Request("POST /v1/apply", 403)
	want := `
# HELP nexus_applies_total Applies, by result (ok, error, interrupted; denied, stale, locked for those refused before they started).
# TYPE nexus_applies_total counter
nexus_applies_total{result="error"} 1
nexus_applies_total{result="ok"} 1
nexus_applies_total{result="stale"} 1
# HELP nexus_authz_decisions_total Authorization decisions, by decision (allow, deny).
# TYPE nexus_authz_decisions_total counter
nexus_authz_decisions_total{decision="allow"} 1
nexus_authz_decisions_total{decision="deny"} 2
# HELP nexus_api_requests_total API requests, by route and status code.
# TYPE nexus_api_requests_total counter
nexus_api_requests_total{code="200",route="POST /v1/apply"} 1
nexus_api_requests_total{code="403",route="POST /v1/apply"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "nexus_applies_total", "nexus_authz_decisions_total", "nexus_api_requests_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.applyDuration); n != 1 {
		t.Errorf("got: %d apply duration series\nwant: 1", n)
	}
	if got, err := testutil.GatherAndCount(reg, "go_goroutines", "process_cpu_seconds_total"); err != nil || got != 2 {
		t.Errorf("got: %d Go and process series (%v)\nwant: both collectors registered", got, err)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                   false,
		"gzip":               true,
		"deflate, gzip":      true,
		"gzip;q=0":           false,
		"gzip; q=0.5":        true,
		"identity":           false,
		"x-gzip":             false,
		"br;q=1, gzip;q=0.1": true,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q): got: %v\nwant: %v", header, got, want)
		}
	}
}
