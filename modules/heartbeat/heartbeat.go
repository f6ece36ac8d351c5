package heartbeat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nexus-run/nexus/internal/periodic"
	"github.com/nexus-run/nexus/modules"
)

type settings struct {
	Target        string  `json:"target"`
	Interval      string  `json:"interval"`
	Timeout       string  `json:"timeout"`
	APIKey        string  `json:"api_key"`
	DegradedAfter float64 `json:"degraded_after"`
}

// config is a checked settings.
type config struct {
	target            string
	interval, timeout time.Duration
	apiKey            string
	degradedAfter     int
}

func validate(c modules.Config) error {
	_, err := decode(c)
	return err
}

func decode(c modules.Config) (config, error) {
	var s settings
	if err := c.Decode(&s); err != nil {
		return config{}, err
	}
	u, err := url.Parse(s.Target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return config{}, fmt.Errorf("target %q must be an http:// or https:// URL", s.Target)
	}
	cfg := config{target: s.Target, apiKey: s.APIKey, degradedAfter: int(s.DegradedAfter)}
	for _, d := range []struct {
		name, val string
		dst       *time.Duration
	}{{"interval", s.Interval, &cfg.interval}, {"timeout", s.Timeout, &cfg.timeout}} {
		v, err := time.ParseDuration(d.val)
		if err != nil || v <= 0 {
			return config{}, fmt.Errorf("%s %q must be a positive duration like \"10s\"", d.name, d.val)
		}
		*d.dst = v
	}
	if s.DegradedAfter < 1 {
		return config{}, fmt.Errorf("degraded_after must be at least 1")
	}
	return cfg, nil
}

// sharedClient is the HTTP client of every heartbeat module in the process.
// It does not follow redirects: a beat answered with a redirect failed.
var sharedClient = sync.OnceValue(func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 16
	return &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
})

// New returns a heartbeat module sending through the process's shared
// transport.
func New() modules.Module { return &Heartbeat{client: sharedClient()} }

// Heartbeat is the heartbeat kind's module. Its methods are safe for
// concurrent use.
type Heartbeat struct {
	mc       *modules.Context
	client   *http.Client
	beats    prometheus.Counter
	duration prometheus.Observer
	loop     *periodic.Loop // nil when not started

	mu          sync.Mutex
	cfg         config
	seq         uint64
	started     time.Time
	lastBeat    time.Time // when the last beat went out; zero before the first
	failures    int       // consecutive
	lastErr     string
	lastSuccess time.Time
}

// blob is what the module saves on stop.
type blob struct {
	Seq uint64 `json:"seq"`
}

// Init checks the config and creates the module's metrics.
func (h *Heartbeat) Init(_ context.Context, mc *modules.Context) error {
	h.mc = mc
	cfg, err := decode(mc.Config())
	if err != nil {
		return err
	}
	h.cfg = cfg
	h.beats = mc.Metrics().Counter("beats_total", "Heartbeat beats sent, successful or not.")
	h.duration = mc.Metrics().Histogram("beat_duration_seconds", "Duration of heartbeat beats.", nil)
	return nil
}

// Load resumes the sequence from the saved blob.
func (h *Heartbeat) Load(context.Context) error {
	b := h.mc.Blob()
	if len(b) == 0 {
		return nil
	}
	var saved blob
	if err := json.Unmarshal(b, &saved); err != nil {
		h.mc.Logger().Warn("saved heartbeat state unreadable; the sequence restarts at 1", "error", err)
		return nil
	}
	h.mu.Lock()
	h.seq = saved.Seq
	h.mu.Unlock()
	return nil
}

// Start sends the first beat at once and then one every interval.
func (h *Heartbeat) Start(context.Context) error {
	cfg, err := decode(h.mc.Config())
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.cfg, h.started, h.lastBeat = cfg, time.Now(), time.Time{}
	h.failures, h.lastErr = 0, ""
	h.mu.Unlock()
	h.loop = periodic.Start(h.mc, "beat", h.next, h.beat)
	return nil
}

func (h *Heartbeat) next(now time.Time) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lastBeat.IsZero() {
		return now
	}
	return h.lastBeat.Add(h.cfg.interval)
}

// beat sends one beat and records how it went.
func (h *Heartbeat) beat(ctx context.Context) {
	now := time.Now()
	h.mu.Lock()
	h.seq++
	h.lastBeat = now
	cfg := h.cfg
	body, err := json.Marshal(struct {
		Module        string  `json:"module"`
		Node          string  `json:"node"`
		Seq           uint64  `json:"seq"`
		TS            string  `json:"ts"`
		UptimeSeconds float64 `json:"uptime_seconds"`
	}{h.mc.ID(), h.mc.Node(), h.seq, now.UTC().Format(time.RFC3339Nano), now.Sub(h.started).Seconds()})
	h.mu.Unlock()
	if err != nil {
		panic(err) // strings and numbers always marshal
	}
	aborted := false
	err = h.mc.Track(ctx, "beat", func(ctx context.Context) error {
		err := h.send(ctx, cfg, body)
		// Stopping interrupted the beat: that says nothing of the target.
		aborted = err != nil && errors.Is(ctx.Err(), context.Canceled)
		if aborted {
			return nil
		}
		return err
	})
	h.beats.Inc()
	h.duration.Observe(time.Since(now).Seconds())
	if !aborted {
		h.record(cfg, err)
	}
}

func (h *Heartbeat) send(ctx context.Context, cfg config, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if cfg.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+cfg.apiKey)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return err // a *url.Error, which never shows the password of a URL
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("target answered %s", resp.Status)
	}
	return nil
}

// record updates the health after a beat, logging when it changes.
func (h *Heartbeat) record(cfg config, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		if h.failures >= cfg.degradedAfter {
			h.mc.Logger().Info("heartbeat recovered", "failed_beats", h.failures)
		}
		h.failures, h.lastErr, h.lastSuccess = 0, "", time.Now()
		return
	}
	h.failures++
	h.lastErr = err.Error()
	if h.failures == cfg.degradedAfter {
		h.mc.Logger().Warn("heartbeat degraded", "consecutive_failures", h.failures, "error", err)
	} else {
		h.mc.Logger().Debug("beat failed", "consecutive_failures", h.failures, "error", err)
	}
}

// Stop stops the beats and saves the sequence in the blob.
func (h *Heartbeat) Stop(ctx context.Context) error {
	if h.loop != nil {
		if err := h.loop.Stop(ctx); err != nil {
			return err
		}
		h.loop = nil
	}
	h.mu.Lock()
	b, _ := json.Marshal(blob{Seq: h.seq})
	h.mu.Unlock()
	h.mc.SaveBlob(b)
	return nil
}

// Unload does nothing.
func (h *Heartbeat) Unload(context.Context) error { return nil }

// Reconfigure applies every field in place, keeping the sequence; a new
// interval reschedules the next beat at once.
func (h *Heartbeat) Reconfigure(_ context.Context, c modules.Config) error {
	cfg, err := decode(c)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.cfg = cfg
	h.mu.Unlock()
	if h.loop != nil {
		h.loop.Wake()
	}
	return nil
}

// Health is ready and live once started; degraded after degraded_after
// consecutive failed beats.
func (h *Heartbeat) Health(context.Context) modules.Health {
	h.mu.Lock()
	defer h.mu.Unlock()
	hl := modules.Health{Status: modules.StatusHealthy, Ready: true, Live: true, Details: map[string]string{
		"seq":                  strconv.FormatUint(h.seq, 10),
		"consecutive_failures": strconv.Itoa(h.failures),
	}}
	if h.failures >= h.cfg.degradedAfter {
		hl.Status = modules.StatusDegraded
	}
	if h.lastErr != "" {
		hl.Details["last_error"] = h.lastErr
	}
	if !h.lastSuccess.IsZero() {
		hl.Details["last_success"] = h.lastSuccess.UTC().Format(time.RFC3339Nano)
	}
	return hl
}

var (
	_ modules.Module       = (*Heartbeat)(nil)
	_ modules.Reconfigurer = (*Heartbeat)(nil)
)
