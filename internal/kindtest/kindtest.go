package kindtest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/nexus-run/nexus/modules"
)

// Timeout bounds each transition and each Eventually; it is generous because
// tests run with -race on busy machines.
const Timeout = 60 * time.Second

// Config returns the config the runtime would hand a module of manifest m
// whose block sets attrs: each attribute converted to its schema type, unset
// ones at their default or null. An attribute the schema does not know, or a
// value of the wrong type, fails the test. The kind's Validate is not run.
func Config(t testing.TB, m modules.Manifest, attrs map[string]cty.Value) modules.Config {
	t.Helper()
	for name := range attrs {
		if _, ok := m.Config.Attributes[name]; !ok {
			t.Fatalf("kind %s has no config attribute %q", m.Kind, name)
		}
	}
	obj := make(map[string]cty.Value, len(m.Config.Attributes))
	for name, a := range m.Config.Attributes {
		v, set := attrs[name]
		switch {
		case set:
			cv, err := convert.Convert(v, a.Type)
			if err != nil {
				t.Fatalf("config attribute %q: %v", name, err)
			}
			v = cv
		case a.Default != cty.NilVal:
			v = a.Default
		default:
			v = cty.NullVal(a.Type)
		}
		obj[name] = v
	}
	return modules.NewConfig(cty.ObjectVal(obj))
}

// Instance wraps m for a test: o's zero fields get an id "test/<kind>", a
// fresh data dir, the default timeouts and a logger writing to the test log.
// The module is stopped and unloaded when the test ends, if it still runs.
func Instance(t testing.TB, m modules.Module, o modules.InstanceOptions) *modules.Instance {
	t.Helper()
	if o.Spec.ID == "" {
		o.Spec.ID = "test/" + o.Spec.Kind
	}
	if o.Spec.Address == "" {
		o.Spec.Address = "module." + o.Spec.ID
	}
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	if o.Spec.Timeouts == (modules.Timeouts{}) {
		o.Spec.Timeouts = modules.DefaultTimeouts
	}
	if o.Node == "" {
		o.Node = "test-node"
	}
	if o.Logger == nil {
		o.Logger = Logger(t)
	}
	inst := modules.NewInstance(m, o)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		if st := inst.State(); st == modules.StateStarted || st == modules.StateFailed {
			inst.Do(ctx, modules.TransitionStop)
		}
		if st := inst.State(); st == modules.StateStopped || st == modules.StateLoaded {
			inst.Do(ctx, modules.TransitionUnload)
		}
	})
	return inst
}

// Do performs transitions in order, each bounded by Timeout, and fails the
// test at the first error.
func Do(t testing.TB, inst *modules.Instance, ts ...modules.Transition) {
	t.Helper()
	for _, tr := range ts {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		err := inst.Do(ctx, tr)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", tr, err)
		}
	}
}

// Up initialises, loads and starts inst.
func Up(t testing.TB, inst *modules.Instance) {
	t.Helper()
	Do(t, inst, modules.TransitionInit, modules.TransitionLoad, modules.TransitionStart)
}

// Eventually polls cond every 10ms until it holds, failing the test with the
// message after Timeout.
func Eventually(t testing.TB, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", Timeout, fmt.Sprintf(format, args...))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Health returns inst's health, bounded by Timeout.
func Health(inst *modules.Instance) modules.Health {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	return inst.Health(ctx)
}

// Logger returns a logger writing text records to the test log until the
// test ends (records after that are dropped rather than panicking).
func Logger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	mu     sync.Mutex
	t      testing.TB
	closed bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(string(p[:len(p)-1]))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
}
