package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/modules"
	"github.com/nexus-run/nexus/modules/target"
)

// behaviour scripts one test module, by address.
type behaviour struct {
	initErr     error
	startErr    error
	startPanic  bool
	startBlock  chan struct{} // Start ignores ctx and waits for it to close
	blockFrom   int           // … from this start on (0: from the first)
	goPanic     bool
	exitAtStart func(start int) (exit bool, err error) // the worker returns at once when exit
	exits       chan error                             // else the worker returns what it receives
	healthPanic bool
	health      func() modules.Health
	reconfErr   error
}

// lab holds the test modules' behaviours and records what they saw.
type lab struct {
	mu         sync.Mutex
	behaviours map[string]*behaviour
	calls      []string            // "<method> <address>", in order
	starts     map[string]int      // Start calls by address
	tokens     map[string][]string // config.token seen at each start and reconfigure
}

func newLab() *lab {
	return &lab{behaviours: map[string]*behaviour{}, starts: map[string]int{}, tokens: map[string][]string{}}
}

func (l *lab) set(addr string, b *behaviour) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.behaviours[addr] = b
}

func (l *lab) behaviour(addr string) *behaviour {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.behaviours[addr]; b != nil {
		return b
	}
	return &behaviour{}
}

func (l *lab) record(method, addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, method+" "+addr)
}

func (l *lab) callsOf(method string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, c := range l.calls {
		if m, addr, _ := strings.Cut(c, " "); m == method {
			out = append(out, addr)
		}
	}
	return out
}

func (l *lab) seen(addr string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.tokens[addr]...)
}

func (l *lab) noteToken(addr string, cfg modules.Config) {
	var c struct {
		Token string `json:"token"`
	}
	_ = cfg.Decode(&c)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tokens[addr] = append(l.tokens[addr], c.Token)
}

// fake is the test kind: it does what its behaviour says.
type fake struct {
	lab *lab
	mc  *modules.Context
	b   *behaviour
}

func (f *fake) Init(_ context.Context, mc *modules.Context) error {
	f.mc, f.b = mc, f.lab.behaviour(mc.Address())
	f.lab.record("init", mc.Address())
	return f.b.initErr
}

func (f *fake) Load(context.Context) error { f.lab.record("load", f.mc.Address()); return nil }

func (f *fake) Start(context.Context) error {
	addr := f.mc.Address()
	f.lab.record("start", addr)
	f.lab.noteToken(addr, f.mc.Config())
	f.lab.mu.Lock()
	f.lab.starts[addr]++
	n := f.lab.starts[addr]
	f.lab.mu.Unlock()
	b := f.b
	switch {
	case b.startPanic:
		panic("start exploded")
	case b.startBlock != nil && n >= b.blockFrom:
		<-b.startBlock
	case b.startErr != nil:
		return b.startErr
	}
	f.mc.Go("worker", func(ctx context.Context) error {
		if b.goPanic {
			panic("worker exploded")
		}
		if b.exitAtStart != nil {
			if exit, err := b.exitAtStart(n); exit {
				return err
			}
		}
		select {
		case err := <-b.exits:
			return err
		case <-ctx.Done():
			return nil
		}
	})
	return nil
}

// Usage counts the measurements asked of the module.
func (f *fake) Usage() modules.Usage {
	f.lab.record("usage", f.mc.Address())
	return modules.Usage{MemoryMB: 1}
}

func (f *fake) Stop(context.Context) error   { f.lab.record("stop", f.mc.Address()); return nil }
func (f *fake) Unload(context.Context) error { f.lab.record("unload", f.mc.Address()); return nil }

func (f *fake) Health(context.Context) modules.Health {
	if f.b.healthPanic {
		panic("health exploded")
	}
	if f.b.health != nil {
		return f.b.health()
	}
	return modules.Healthy("")
}

func (f *fake) Reconfigure(_ context.Context, cfg modules.Config) error {
	f.lab.record("reconfigure", f.mc.Address())
	if f.b.reconfErr != nil {
		return f.b.reconfErr
	}
	f.lab.noteToken(f.mc.Address(), cfg)
	return nil
}

var (
	_ modules.Module       = (*fake)(nil)
	_ modules.Reconfigurer = (*fake)(nil)
)

func fakeManifest() modules.Manifest {
	return modules.Manifest{Kind: "fake", Version: "1.0.0", Config: modules.Schema{Attributes: map[string]*modules.Attribute{
		"token": {Type: cty.String},
		"list":  {Type: cty.List(cty.String)},
		"env":   {Type: cty.Map(cty.String)},
	}}}
}

// memSecrets is an in-memory SecretResolver counting its reads.
type memSecrets struct {
	mu     sync.Mutex
	values map[string]string // SecretRef.String() → value
	reads  int
}

func (m *memSecrets) Resolve(_ context.Context, ref modules.SecretRef) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	v, ok := m.values[ref.String()]
	if !ok {
		return "", fmt.Errorf("secret %s: not found", ref)
	}
	return v, nil
}

func (m *memSecrets) set(ref, value string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.values[ref] = value
}

func (m *memSecrets) readCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reads
}

// events records the runtime's events.
type events struct {
	mu  sync.Mutex
	all []Event
}

func (e *events) add(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

func (e *events) list() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Event(nil), e.all...)
}

// kinds returns the kinds of addr's events other than health_changed.
func (e *events) kinds(addr string) []EventKind {
	var out []EventKind
	for _, ev := range e.list() {
		if ev.Address == addr && ev.Kind != EventHealthChanged {
			out = append(out, ev.Kind)
		}
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is one test's runtime with its lab, secrets, events and log.
type env struct {
	t       *testing.T
	rt      *Runtime
	lab     *lab
	secrets *memSecrets
	events  *events
	log     *syncBuffer
}

func newEnv(t *testing.T, tweak ...func(*Options)) *env {
	t.Helper()
	e := &env{t: t, lab: newLab(), secrets: &memSecrets{values: map[string]string{}}, events: &events{}, log: &syncBuffer{}}
	reg := modules.NewRegistry()
	reg.MustRegister(fakeManifest(), func() modules.Module { return &fake{lab: e.lab} })
	reg.MustRegister(target.Manifest(), target.New)
	o := Options{
		Registry: reg,
		Secrets:  e.secrets,
		Node:     "test-node",
		DataDir:  t.TempDir(),
		Logger:   slog.New(slog.NewJSONHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnEvent:  e.events.add,
	}
	for _, f := range tweak {
		f(&o)
	}
	e.rt = New(o)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.rt.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return e
}

// spec returns a fake module's spec at module.<group>.<name>.
func spec(addr string, opts ...func(*modules.Spec)) *modules.Spec {
	parts := strings.Split(addr, ".")
	s := &modules.Spec{
		Address: addr, ID: parts[1] + "/" + parts[2], Kind: "fake",
		Config:       modules.NewConfig(cty.EmptyObjectVal),
		DesiredState: modules.DesiredStarted,
		Restart:      modules.RestartPolicy{Policy: modules.RestartNever},
		Timeouts:     modules.Timeouts{Start: modules.Duration(10 * time.Second), Stop: modules.Duration(10 * time.Second)},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func withRestart(policy modules.RestartMode, maxAttempts int, backoff, maxBackoff time.Duration) func(*modules.Spec) {
	return func(s *modules.Spec) {
		s.Restart = modules.RestartPolicy{Policy: policy, MaxAttempts: maxAttempts, Window: modules.Duration(time.Hour),
			Backoff: modules.Duration(backoff), MaxBackoff: modules.Duration(maxBackoff)}
	}
}

func withToken(token string, refs ...modules.SecretRef) func(*modules.Spec) {
	return func(s *modules.Spec) {
		s.Config = modules.NewConfig(cty.ObjectVal(map[string]cty.Value{"token": cty.StringVal(token)}))
		s.Secrets = refs
	}
}

func withHealth(hc modules.HealthCheck) func(*modules.Spec) {
	return func(s *modules.Spec) { s.Health = &hc }
}

// create runs init, load and start.
func (e *env) create(s *modules.Spec) {
	e.t.Helper()
	for _, tr := range []modules.Transition{modules.TransitionInit, modules.TransitionLoad, modules.TransitionStart} {
		if err := e.rt.Do(context.Background(), s, tr); err != nil {
			e.t.Fatalf("%s %s: %v", tr, s.Address, err)
		}
	}
}

func (e *env) status(addr string) ModuleStatus {
	e.t.Helper()
	s, ok := e.rt.Status(addr)
	if !ok {
		e.t.Fatalf("Status(%s): not found", addr)
	}
	return s
}

// eventually polls cond until it holds, failing the test after a generous
// deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitState waits for addr to reach state.
func (e *env) waitState(addr string, want modules.State) {
	e.t.Helper()
	eventually(e.t, fmt.Sprintf("%s to be %s", addr, want), func() bool {
		s, ok := e.rt.Status(addr)
		return ok && s.State == want
	})
}

// waitFailedEvent waits for the event saying addr failed for good.
func (e *env) waitFailedEvent(addr string) {
	e.t.Helper()
	eventually(e.t, addr+" to fail for good", func() bool { return slices.Contains(e.events.kinds(addr), EventFailed) })
	if st := e.status(addr).State; st != modules.StateFailed {
		e.t.Errorf("state after the failed event got: %s, want: failed", st)
	}
}

// waitEvents waits until addr has n events other than health_changed.
func (e *env) waitEvents(addr string, n int) []EventKind {
	e.t.Helper()
	eventually(e.t, fmt.Sprintf("%d events of %s", n, addr), func() bool { return len(e.events.kinds(addr)) >= n })
	return e.events.kinds(addr)
}

var errBoom = errors.New("boom")
