package heartbeat

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/internal/kindtest"
	"github.com/nexus-run/nexus/modules"
)

// received is one beat as the collector saw it.
type received struct {
	auth, contentType string
	body              struct {
		Module        string  `json:"module"`
		Node          string  `json:"node"`
		Seq           uint64  `json:"seq"`
		TS            string  `json:"ts"`
		UptimeSeconds float64 `json:"uptime_seconds"`
	}
}

// collector is a beat receiver on loopback answering with status (200 by
// default), or never answering while hang is set.
type collector struct {
	*httptest.Server
	status atomic.Int64
	hang   atomic.Bool

	mu    sync.Mutex
	beats []received
}

func newCollector(t testing.TB) *collector {
	c := &collector{}
	c.status.Store(http.StatusOK)
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b received
		b.auth, b.contentType = r.Header.Get("Authorization"), r.Header.Get("Content-Type")
		if err := json.NewDecoder(r.Body).Decode(&b.body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.beats = append(c.beats, b)
		c.mu.Unlock()
		if c.hang.Load() {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(int(c.status.Load()))
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *collector) received() []received {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]received(nil), c.beats...)
}

func (c *collector) waitBeats(t *testing.T, n int) []received {
	t.Helper()
	kindtest.Eventually(t, func() bool { return len(c.received()) >= n }, "got %d beats, want %d", len(c.received()), n)
	return c.received()
}

func newConfig(t testing.TB, target string, attrs map[string]cty.Value) modules.Config {
	if attrs == nil {
		attrs = map[string]cty.Value{}
	}
	attrs["target"] = cty.StringVal(target)
	return kindtest.Config(t, Manifest(), attrs)
}

func newHeartbeat(t *testing.T, cfg modules.Config, o modules.InstanceOptions) *modules.Instance {
	o.Spec.Kind, o.Config = "heartbeat", cfg
	return kindtest.Instance(t, New(), o)
}

func TestHeartbeat_sendsBeats(t *testing.T) {
	c := newCollector(t)
	reg := prometheus.NewRegistry()
	inst := newHeartbeat(t, newConfig(t, c.URL+"/beat", map[string]cty.Value{
		"interval": cty.StringVal("20ms"), "api_key": cty.StringVal("k-123"),
	}), modules.InstanceOptions{Metrics: modules.NewMetricsFactory(reg)})
	kindtest.Up(t, inst)
	beats := c.waitBeats(t, 3)
	for i, b := range beats[:3] {
		if b.auth != "Bearer k-123" || b.contentType != "application/json" {
			t.Errorf("beat %d: got: Authorization %q, Content-Type %q, want: the bearer key and JSON", i, b.auth, b.contentType)
		}
		if b.body.Module != "test/heartbeat" || b.body.Node != "test-node" || b.body.Seq != uint64(i+1) {
			t.Errorf("beat %d: got: %+v, want: module test/heartbeat, node test-node, seq %d", i, b.body, i+1)
		}
		if _, err := time.Parse(time.RFC3339Nano, b.body.TS); err != nil {
			t.Errorf("beat %d: ts %q: %v", i, b.body.TS, err)
		}
		if i > 0 && b.body.UptimeSeconds < beats[i-1].body.UptimeSeconds {
			t.Errorf("beat %d: got: uptime %v after %v, want: growing", i, b.body.UptimeSeconds, beats[i-1].body.UptimeSeconds)
		}
	}
	kindtest.Do(t, inst, modules.TransitionStop)
	// A beat that Stop interrupted may be counted without having arrived.
	sent := testutil.ToFloat64(inst.Context().Metrics().Counter("beats_total", ""))
	if sent < float64(len(c.received())) {
		t.Errorf("beats_total: got: %v, want: at least the %d beats received", sent, len(c.received()))
	}
	if n, err := testutil.GatherAndCount(reg, "nexus_heartbeat_beat_duration_seconds"); err != nil || n != 1 {
		t.Errorf("beat_duration_seconds: got: %d series (%v), want: 1", n, err)
	}
	if u := inst.Usage(); float64(u.RequestsTotal) != sent || u.ErrorsTotal != 0 {
		t.Errorf("got: %d requests, %d errors tracked, want: %v, 0", u.RequestsTotal, u.ErrorsTotal, sent)
	}
}

func TestHeartbeat_noAPIKeyNoAuthorization(t *testing.T) {
	c := newCollector(t)
	inst := newHeartbeat(t, newConfig(t, c.URL, nil), modules.InstanceOptions{})
	kindtest.Up(t, inst)
	if b := c.waitBeats(t, 1)[0]; b.auth != "" {
		t.Errorf("got: Authorization %q, want: none", b.auth)
	}
}

func TestHeartbeat_degradesAndRecovers(t *testing.T) {
	tests := map[string]func(c *collector){
		"error status": func(c *collector) { c.status.Store(http.StatusServiceUnavailable) },
		"redirect":     func(c *collector) { c.status.Store(http.StatusFound) },
		"hanging":      func(c *collector) { c.hang.Store(true) },
	}
	for name, fail := range tests {
		t.Run(name, func(t *testing.T) {
			c := newCollector(t)
			fail(c)
			var logs bytes.Buffer
			inst := newHeartbeat(t, newConfig(t, c.URL, map[string]cty.Value{
				"interval": cty.StringVal("10ms"), "timeout": cty.StringVal("100ms"),
				"degraded_after": cty.NumberIntVal(2), "api_key": cty.StringVal("very-secret-key"),
			}), modules.InstanceOptions{Logger: slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			kindtest.Up(t, inst)
			var h modules.Health
			kindtest.Eventually(t, func() bool { h = kindtest.Health(inst); return h.Status == modules.StatusDegraded },
				"got: %+v, want: degraded", h)
			if n, _ := strconv.Atoi(h.Details["consecutive_failures"]); n < 2 || h.Details["last_error"] == "" || !h.Ready {
				t.Errorf("got: %+v, want: ready, at least 2 consecutive failures and the last error", h)
			}
			c.hang.Store(false)
			c.status.Store(http.StatusNoContent)
			kindtest.Eventually(t, func() bool { h = kindtest.Health(inst); return h.Status == modules.StatusHealthy },
				"got: %+v, want: healthy again", h)
			if h.Details["last_success"] == "" || h.Details["last_error"] != "" {
				t.Errorf("got: %v, want: a last success and no error", h.Details)
			}
			if _, errs := inst.Context().Counts(); errs < 2 {
				t.Errorf("got: %d errors tracked, want: at least 2", errs)
			}
			kindtest.Do(t, inst, modules.TransitionStop)
			if strings.Contains(logs.String(), "very-secret-key") {
				t.Errorf("got: the api key in the logs:\n%s", logs.String())
			}
		})
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func TestHeartbeat_reconfigureInPlace(t *testing.T) {
	first, second := newCollector(t), newCollector(t)
	inst := newHeartbeat(t, newConfig(t, first.URL, map[string]cty.Value{"interval": cty.StringVal("1h")}), modules.InstanceOptions{})
	kindtest.Up(t, inst)
	first.waitBeats(t, 1)
	err := inst.Reconfigure(context.Background(), newConfig(t, second.URL, map[string]cty.Value{
		"interval": cty.StringVal("20ms"), "api_key": cty.StringVal("rotated"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	beats := second.waitBeats(t, 2)
	if beats[0].body.Seq != 2 || beats[1].body.Seq != 3 || beats[0].auth != "Bearer rotated" {
		t.Errorf("got: seq %d, %d with %q, want: 2, 3 (the sequence goes on) with the new key",
			beats[0].body.Seq, beats[1].body.Seq, beats[0].auth)
	}
	if n := len(first.received()); n != 1 {
		t.Errorf("got: %d beats at the old target, want: 1", n)
	}
	if err := inst.Reconfigure(context.Background(), newConfig(t, "ftp://nope", nil)); err == nil {
		t.Error("got: a non-http target accepted, want: an error")
	}
}

func TestHeartbeat_seqSurvivesStopAndLoad(t *testing.T) {
	c := newCollector(t)
	cfg := newConfig(t, c.URL, map[string]cty.Value{"interval": cty.StringVal("10ms")})
	inst := newHeartbeat(t, cfg, modules.InstanceOptions{})
	kindtest.Up(t, inst)
	c.waitBeats(t, 2)
	kindtest.Do(t, inst, modules.TransitionStop, modules.TransitionUnload)
	before := c.received()
	var saved blob
	if err := json.Unmarshal(inst.Context().Blob(), &saved); err != nil {
		t.Fatalf("saved blob %q: %v", inst.Context().Blob(), err)
	}
	// A beat that Stop interrupted used a number without arriving.
	if last := before[len(before)-1].body.Seq; saved.Seq < last {
		t.Fatalf("got: saved seq %d, want: at least the last received, %d", saved.Seq, last)
	}

	// A new daemon: a new instance handed the blob from the state. Its
	// beats go on from the saved number; none is a repeat.
	again := newHeartbeat(t, cfg, modules.InstanceOptions{Blob: inst.Context().Blob()})
	kindtest.Up(t, again)
	seen := map[uint64]bool{}
	kindtest.Eventually(t, func() bool {
		clear(seen)
		for _, b := range c.received() {
			if seen[b.body.Seq] {
				t.Fatalf("got: seq %d twice, want: the sequence resumed, not restarted", b.body.Seq)
			}
			seen[b.body.Seq] = true
		}
		return seen[saved.Seq+1] && seen[saved.Seq+2]
	}, "no beats %d and %d after the reload", saved.Seq+1, saved.Seq+2)
}

func TestDecode_rejectsBadConfig(t *testing.T) {
	tests := map[string]struct {
		attrs map[string]cty.Value
		want  string
	}{
		"not a URL":           {map[string]cty.Value{"target": cty.StringVal("localhost:80")}, "http:// or https://"},
		"bad interval":        {map[string]cty.Value{"target": cty.StringVal("http://x"), "interval": cty.StringVal("10")}, `interval "10"`},
		"negative timeout":    {map[string]cty.Value{"target": cty.StringVal("http://x"), "timeout": cty.StringVal("-1s")}, "timeout"},
		"zero degraded_after": {map[string]cty.Value{"target": cty.StringVal("http://x"), "degraded_after": cty.NumberIntVal(0)}, "degraded_after"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			err := validate(kindtest.Config(t, Manifest(), tt.attrs))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got: %v, want: an error containing %q", err, tt.want)
			}
		})
	}
}

// BenchmarkHeartbeat_idleHeap measures the heap an idle heartbeat module
// holds: 1,000 started modules that have sent their first beat and wait for
// the next an hour away. Target: under 50 KB of heap a module.
func BenchmarkHeartbeat_idleHeap(b *testing.B) {
	const n = 1000
	c := newCollector(b)
	cfg := newConfig(b, c.URL, map[string]cty.Value{"interval": cty.StringVal("1h"), "api_key": cty.StringVal("k")})
	metrics := modules.NewMetricsFactory(prometheus.NewRegistry())
	logger := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		insts := make([]*modules.Instance, n)
		for i := range insts {
			insts[i] = modules.NewInstance(New(), modules.InstanceOptions{
				Spec:   modules.Spec{ID: "bench/hb" + strconv.Itoa(i), Kind: "heartbeat", Timeouts: modules.DefaultTimeouts},
				Config: cfg, Node: "bench", Logger: logger, Metrics: metrics,
			})
			for _, tr := range []modules.Transition{modules.TransitionInit, modules.TransitionLoad, modules.TransitionStart} {
				if err := insts[i].Do(ctx, tr); err != nil {
					b.Fatal(err)
				}
			}
		}
		deadline := time.Now().Add(kindtest.Timeout)
		for len(c.received()) < n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/n, "B/module")
		// Goroutine stacks are not heap; report them beside it.
		b.ReportMetric(float64(int64(after.StackInuse)-int64(before.StackInuse))/n, "stack-B/module")
		for _, inst := range insts {
			inst.Do(ctx, modules.TransitionStop)
		}
		c.mu.Lock()
		c.beats = nil
		c.mu.Unlock()
		runtime.KeepAlive(insts)
	}
}
