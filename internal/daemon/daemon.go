package daemon

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nexus-run/nexus/internal/audit"
	"github.com/nexus-run/nexus/internal/daemoncfg"
	"github.com/nexus-run/nexus/internal/rbac"
	"github.com/nexus-run/nexus/internal/secrets"
	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/internal/telemetry"
	"github.com/nexus-run/nexus/modules"
)

// Options are what a Daemon gets from its caller rather than its config.
type Options struct {
	Logger *slog.Logger
	// Metrics is the registry the daemon registers its metrics in (its
	// own, the Go and process collectors, the modules' SDK metrics); nil
	// makes a new one. /metrics serves it and the per-module series, which
	// are kept beside it (see telemetry.Metrics).
	Metrics *prometheus.Registry
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// LookupEnv serves the env secret provider; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// StreamTimeout is how long one write of an apply stream may wait for
	// a client that stopped reading before the client counts as gone and
	// the apply is interrupted, as on a hang-up; 0 means a minute.
	StreamTimeout time.Duration
}

// Daemon is a running nexus daemon. Create it with New, run it with Run.
type Daemon struct {
	cfg  *daemoncfg.Config
	reg  *modules.Registry
	log  *slog.Logger
	now  func() time.Time
	node string
	uid  int
	// streamTimeout is Options.StreamTimeout.
	streamTimeout time.Duration
	// scrub knows every secret value the modules hold and removes them
	// from logs, audit records, state records and API answers.
	scrub *scrubber

	store   state.Store
	secrets *secrets.Set
	fp      *secrets.Fingerprinter
	seal    *sealer
	access  atomic.Pointer[access]
	audit   *audit.Log
	prom    *prometheus.Registry
	metrics *telemetry.Metrics
	// sdkMetrics takes the modules' own metrics (modules.Metrics), each
	// project's labelled with project; nil: none are kept.
	sdkMetrics prometheus.Registerer

	mu       sync.Mutex
	projects map[string]*project
	applies  sync.Map // request id → *running

	servers   []*http.Server
	serveWG   sync.WaitGroup
	bgCancel  context.CancelFunc
	bgWG      sync.WaitGroup
	ready     atomic.Bool
	startedAt time.Time
}

// New opens everything the config names: the data directory, the daemon's
// key, the state store, the secret providers, the audit log and the policy.
// Any failure is returned with what to do about it, and whatever was opened
// is closed again.
func New(ctx context.Context, cfg *daemoncfg.Config, reg *modules.Registry, o Options) (_ *Daemon, err error) {
	d := &Daemon{cfg: cfg, reg: reg, log: o.Logger, now: o.Now, prom: o.Metrics, projects: map[string]*project{}, uid: os.Getuid()}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.scrub = &scrubber{}
	d.log = slog.New(&scrubHandler{next: d.log.Handler(), s: d.scrub})
	if d.now == nil {
		d.now = time.Now
	}
	d.streamTimeout = o.StreamTimeout
	if d.streamTimeout <= 0 {
		d.streamTimeout = time.Minute
	}
	if d.prom == nil {
		d.prom = prometheus.NewRegistry()
	}
	d.node = cfg.Node
	if d.node == "" {
		d.node, _ = os.Hostname()
	}
	defer func() {
		if err != nil {
			d.closeAll()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir %s: %w", cfg.DataDir, err)
	}
	key, err := secrets.LoadFingerprintKey(filepath.Join(cfg.DataDir, "daemon.key"))
	if err != nil {
		return nil, fmt.Errorf("daemon key: %w", err)
	}
	d.fp = secrets.NewFingerprinter(key)
	if d.seal, err = newSealer(key); err != nil {
		return nil, err
	}
	d.metrics = telemetry.New(d.prom, d.moduleSamples)
	d.sdkMetrics = d.prom

	// The audit log's HMAC key is derived from, not equal to, the
	// fingerprint key: an audited value's digest must not match a state
	// fingerprint.
	auditKey := sha256.Sum256(append([]byte("nexus audit\x00"), key...))
	if d.audit, err = audit.Open(cfg.Audit.Path, audit.Options{Key: auditKey[:]}); err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	if err := d.setPolicy(cfg); err != nil {
		return nil, err
	}
	if d.secrets, err = openSecrets(ctx, cfg, o.LookupEnv, d.log); err != nil {
		return nil, err
	}
	d.secrets.OnRead = d.auditSecretRead
	store, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	d.store = telemetry.InstrumentStore(store, cfg.State.Type, d.metrics)
	return d, nil
}

// access is what authentication and authorization read, swapped as one
// value on reload so that a request never sees a policy with another
// config's expiry times.
type access struct {
	policy *rbac.Policy
	// expires maps the principals with an `expires` time to it.
	expires map[string]time.Time
}

// setPolicy builds the policy from the config's roles and principals; the
// daemon's own uid is admin, and never expires.
func (d *Daemon) setPolicy(cfg *daemoncfg.Config) error {
	roles := make([]rbac.Role, len(cfg.Roles))
	for i, r := range cfg.Roles {
		roles[i] = rbac.Role{Name: r.Name, Permissions: r.Permissions}
	}
	principals := make([]rbac.Principal, len(cfg.Principals))
	expires := map[string]time.Time{}
	for i, p := range cfg.Principals {
		principals[i] = rbac.Principal{Name: p.Name, Roles: p.Roles, TokenSHA256: p.TokenSHA256}
		if !p.Expires.IsZero() && p.Name != unixPrincipal(d.uid) {
			expires[p.Name] = p.Expires
		}
	}
	p, err := rbac.NewPolicy(roles, principals)
	if err != nil {
		return fmt.Errorf("daemon config: %w", err)
	}
	d.access.Store(&access{policy: p.WithAdmin(unixPrincipal(d.uid)), expires: expires})
	return nil
}

// policy returns the policy in force.
func (d *Daemon) policy() *rbac.Policy { return d.access.Load().policy }

func unixPrincipal(uid int) string { return fmt.Sprintf("unix:%d", uid) }

// Run brings the projects' modules back, serves the API until ctx is
// cancelled, then shuts down: every module stopped in reverse dependency
// order, state persisted, listeners closed.
func (d *Daemon) Run(ctx context.Context) error {
	if err := d.Start(ctx); err != nil {
		d.closeAll()
		return err
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	return d.Shutdown(sctx)
}

// Start recovers every known project and starts the listeners and the
// background loops. The API answers while recovery goes on; /readyz says
// when every started module is ready.
func (d *Daemon) Start(ctx context.Context) error {
	d.startedAt = d.now()
	if err := d.listen(); err != nil {
		return err
	}
	d.auditEvent(ctx, audit.Record{Type: "daemon.start", Principal: unixPrincipal(d.uid), Outcome: "ok",
		Details: map[string]string{"node": d.node, "state": d.cfg.State.Type}})
	d.log.Info("daemon started", "node", d.node, "data_dir", d.cfg.DataDir, "state", d.cfg.State.Type, "listeners", d.listenerNames())
	names, err := d.knownProjects()
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := d.recoverProject(ctx, name); err != nil {
			d.log.Error("recover project", "project", name, "error", err)
		}
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.bgCancel = cancel
	d.bgWG.Add(1)
	go func() { defer d.bgWG.Done(); d.secretLoop(bg) }()
	d.ready.Store(true)
	return nil
}

// Shutdown stops every project's modules within their stop timeouts,
// persists their final state, and closes listeners, store and audit log.
func (d *Daemon) Shutdown(ctx context.Context) error {
	d.ready.Store(false)
	if d.bgCancel != nil {
		d.bgCancel()
	}
	d.bgWG.Wait()
	for _, srv := range d.servers {
		_ = srv.Shutdown(ctx)
	}
	var errs []error
	for _, p := range d.projectList() {
		if err := p.shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	d.serveWG.Wait()
	d.auditEvent(ctx, audit.Record{Type: "daemon.stop", Principal: unixPrincipal(d.uid), Outcome: outcome(errors.Join(errs...))})
	d.log.Info("daemon stopped", "uptime_seconds", d.now().Sub(d.startedAt).Seconds())
	d.closeAll()
	return errors.Join(errs...)
}

func (d *Daemon) closeAll() {
	if d.secrets != nil {
		_ = d.secrets.Close()
	}
	if d.store != nil {
		_ = d.store.Close()
	}
	if d.audit != nil {
		_ = d.audit.Close()
	}
}

// Reload applies what can change safely in a running daemon (SIGHUP): the
// roles and principals. Listeners, the store and secret providers need a
// restart; a config that changes them is logged and the rest applied.
func (d *Daemon) Reload(cfg *daemoncfg.Config) error {
	if err := d.setPolicy(cfg); err != nil {
		return err
	}
	if cfg.State != d.cfg.State || cfg.DataDir != d.cfg.DataDir {
		d.log.Warn("daemon config reloaded: state store and data dir changes need a restart")
	}
	d.log.Info("daemon config reloaded", "roles", len(cfg.Roles), "principals", len(cfg.Principals))
	return nil
}

func outcome(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// secretLoop re-checks secrets on an interval and applies on_secret_change.
func (d *Daemon) secretLoop(ctx context.Context) {
	t := time.NewTicker(d.cfg.SecretCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, p := range d.projectList() {
				if err := p.rt.CheckSecrets(ctx); err != nil {
					d.log.Warn("secret check", "project", p.name, "error", err)
				}
			}
		}
	}
}
