package periodic_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nexus-run/nexus/internal/kindtest"
	"github.com/nexus-run/nexus/internal/periodic"
	"github.com/nexus-run/nexus/modules"
)

// ticker is a module whose loop calls tick when due() says.
type ticker struct {
	modules.Base
	mc    *modules.Context
	loop  *periodic.Loop
	calls atomic.Int64
	due   atomic.Pointer[func(time.Time) time.Time]
	// block makes tick wait for its context, to test that Stop cancels it.
	block    atomic.Bool
	canceled atomic.Bool
}

func (m *ticker) Init(_ context.Context, mc *modules.Context) error { m.mc = mc; return nil }

func (m *ticker) Start(context.Context) error {
	m.loop = periodic.Start(m.mc, "tick", func(now time.Time) time.Time { return (*m.due.Load())(now) }, m.tick)
	return nil
}

func (m *ticker) Stop(ctx context.Context) error { return m.loop.Stop(ctx) }

func (m *ticker) tick(ctx context.Context) {
	m.calls.Add(1)
	if m.block.Load() {
		<-ctx.Done()
		m.canceled.Store(true)
	}
}

func (m *ticker) setDue(f func(time.Time) time.Time) { m.due.Store(&f) }

func newTicker(t *testing.T, block bool, due func(time.Time) time.Time) (*ticker, *modules.Instance) {
	m := &ticker{}
	m.block.Store(block)
	m.setDue(due)
	inst := kindtest.Instance(t, m, modules.InstanceOptions{Spec: modules.Spec{Kind: "ticker"}})
	kindtest.Up(t, inst)
	return m, inst
}

func TestLoop_callsWhenDue(t *testing.T) {
	m, _ := newTicker(t, false, func(now time.Time) time.Time { return now.Add(time.Millisecond) })
	kindtest.Eventually(t, func() bool { return m.calls.Load() >= 5 }, "got: %d calls, want: at least 5", m.calls.Load())
}

func TestLoop_wakeRecomputesTheNextTime(t *testing.T) {
	m, _ := newTicker(t, false, func(time.Time) time.Time { return time.Time{} }) // never
	if got := m.calls.Load(); got != 0 {
		t.Fatalf("got: %d calls with no next time, want: 0", got)
	}
	m.setDue(func(now time.Time) time.Time {
		if m.calls.Load() > 0 {
			return time.Time{}
		}
		return now
	})
	m.loop.Wake()
	kindtest.Eventually(t, func() bool { return m.calls.Load() == 1 }, "got: %d calls after Wake, want: 1", m.calls.Load())
}

func TestLoop_stopCancelsACallInProgress(t *testing.T) {
	m, inst := newTicker(t, true, func(now time.Time) time.Time { return now })
	kindtest.Eventually(t, func() bool { return m.calls.Load() >= 1 }, "no call")
	kindtest.Do(t, inst, modules.TransitionStop)
	if !m.canceled.Load() {
		t.Error("got: Stop returned with the call still running, want: its context cancelled and the call awaited")
	}
	if err := m.loop.Stop(context.Background()); err != nil {
		t.Errorf("second Stop: got: %v, want: nil", err)
	}
}
