package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/nexus-run/nexus/internal/periodic"
	"github.com/nexus-run/nexus/modules"
)

type settings struct {
	HTTP         string  `json:"http"`
	TCP          string  `json:"tcp"`
	Interval     string  `json:"interval"`
	Timeout      string  `json:"timeout"`
	ExpectStatus float64 `json:"expect_status"`
}

// config is a checked settings.
type config struct {
	http, tcp         string
	interval, timeout time.Duration
	expectStatus      int // 0: any 2xx
}

func (c config) kind() string {
	if c.http != "" {
		return "http"
	}
	return "tcp"
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
	cfg := config{http: s.HTTP, tcp: s.TCP, expectStatus: int(s.ExpectStatus)}
	switch {
	case (s.HTTP == "") == (s.TCP == ""):
		return config{}, errors.New("set exactly one of http and tcp")
	case s.HTTP != "":
		if u, err := url.Parse(s.HTTP); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return config{}, fmt.Errorf("http %q must be an http:// or https:// URL", s.HTTP)
		}
	default:
		if _, port, err := net.SplitHostPort(s.TCP); err != nil || port == "" {
			return config{}, fmt.Errorf("tcp %q must be host:port, like \"127.0.0.1:5432\"", s.TCP)
		}
	}
	for _, d := range []struct {
		name, val string
		dst       *time.Duration
	}{{"interval", s.Interval, &cfg.interval}, {"timeout", s.Timeout, &cfg.timeout}} {
		v, err := time.ParseDuration(d.val)
		if err != nil || v <= 0 {
			return config{}, fmt.Errorf("%s %q must be a positive duration like \"5s\"", d.name, d.val)
		}
		*d.dst = v
	}
	if s.ExpectStatus != 0 && (s.ExpectStatus < 100 || s.ExpectStatus > 599 || float64(cfg.expectStatus) != s.ExpectStatus) {
		return config{}, fmt.Errorf("expect_status %v must be an HTTP status code, like 204", s.ExpectStatus)
	}
	return cfg, nil
}

// sharedClient is the HTTP client of every probe in the process: no
// keep-alive (each check meets the endpoint as a new client would) and no
// redirects.
var sharedClient = sync.OnceValue(func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DisableKeepAlives = true
	return &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
})

// New returns a probe module.
func New() modules.Module { return &Probe{client: sharedClient()} }

// Probe is the probe kind's module. Its methods are safe for concurrent use.
type Probe struct {
	mc     *modules.Context
	client *http.Client
	loop   *periodic.Loop // nil when not started

	mu      sync.Mutex
	cfg     config
	checked time.Time // when the last check started; zero before the first
	recheck bool      // check at once: the config changed
	latency time.Duration
	lastErr error // of the last check; nil when it succeeded
}

// Init checks the config.
func (p *Probe) Init(_ context.Context, mc *modules.Context) error {
	p.mc = mc
	_, err := decode(mc.Config())
	return err
}

// Load does nothing.
func (p *Probe) Load(context.Context) error { return nil }

// Start checks the endpoint once, then every interval. An endpoint that is
// down does not fail Start.
func (p *Probe) Start(ctx context.Context) error {
	cfg, err := decode(p.mc.Config())
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.cfg, p.checked, p.lastErr = cfg, time.Time{}, nil
	p.mu.Unlock()
	checkCtx, cancel := startCheckContext(ctx)
	p.check(checkCtx)
	cancel()
	p.loop = periodic.Start(p.mc, "check", p.next, p.check)
	return nil
}

// startCheckContext bounds Start's own check to half the time Start has
// left, so that an endpoint slower than that makes the probe down rather
// than Start fail.
func startCheckContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(context.WithoutCancel(ctx), time.Now().Add(time.Until(dl)/2))
}

func (p *Probe) next(now time.Time) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.checked.IsZero() || p.recheck {
		return now
	}
	return p.checked.Add(p.cfg.interval)
}

// check checks the endpoint once and records the outcome.
func (p *Probe) check(ctx context.Context) {
	p.mu.Lock()
	cfg := p.cfg
	p.recheck = false // a Reconfigure from now on asks for another check
	p.mu.Unlock()
	start := time.Now()
	aborted := false
	err := p.mc.Track(ctx, "check", func(ctx context.Context) error {
		err := p.probe(ctx, cfg)
		aborted = err != nil && errors.Is(ctx.Err(), context.Canceled) // stopping, not down
		if aborted {
			return nil
		}
		return err
	})
	if aborted {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	first := p.checked.IsZero()
	wasUp := !first && p.lastErr == nil
	p.checked, p.latency, p.lastErr = start, time.Since(start), err
	switch {
	case err != nil && (wasUp || first):
		p.mc.Logger().Warn("endpoint down", "check", cfg.kind(), "error", err)
	case err == nil && !wasUp:
		p.mc.Logger().Info("endpoint up", "check", cfg.kind(), "latency_ms", p.latency.Milliseconds())
	}
}

func (p *Probe) probe(ctx context.Context, cfg config) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	if cfg.tcp != "" {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", cfg.tcp)
		if err != nil {
			return err
		}
		return conn.Close()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.http, nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case cfg.expectStatus != 0 && resp.StatusCode != cfg.expectStatus:
		return fmt.Errorf("endpoint answered %s, want %d", resp.Status, cfg.expectStatus)
	case cfg.expectStatus == 0 && (resp.StatusCode < 200 || resp.StatusCode > 299):
		return fmt.Errorf("endpoint answered %s, want a 2xx", resp.Status)
	}
	return nil
}

// Stop stops the checks.
func (p *Probe) Stop(ctx context.Context) error {
	if p.loop == nil {
		return nil
	}
	if err := p.loop.Stop(ctx); err != nil {
		return err
	}
	p.loop = nil
	return nil
}

// Unload does nothing.
func (p *Probe) Unload(context.Context) error { return nil }

// Reconfigure applies every field in place and checks again at once; until
// then the health of the last check stands.
func (p *Probe) Reconfigure(_ context.Context, c modules.Config) error {
	cfg, err := decode(c)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.cfg, p.recheck = cfg, true
	p.mu.Unlock()
	if p.loop != nil {
		p.loop.Wake()
	}
	return nil
}

// Health is healthy and ready while the last check succeeded, unhealthy and
// not ready otherwise; always live.
func (p *Probe) Health(context.Context) modules.Health {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := modules.Health{Status: modules.StatusHealthy, Ready: true, Live: true, Details: map[string]string{"check": p.cfg.kind()}}
	if p.checked.IsZero() {
		h.Status, h.Ready = modules.StatusUnhealthy, false
		h.Details["last_check"] = "none yet"
		return h
	}
	h.Details["last_check"] = p.checked.UTC().Format(time.RFC3339Nano)
	h.Details["latency"] = p.latency.String()
	if p.lastErr != nil {
		h.Status, h.Ready = modules.StatusUnhealthy, false
		h.Details["last_error"] = p.lastErr.Error()
	}
	return h
}

var (
	_ modules.Module       = (*Probe)(nil)
	_ modules.Reconfigurer = (*Probe)(nil)
)
