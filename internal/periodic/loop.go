package periodic

import (
	"context"
	"fmt"
	"time"

	"github.com/nexus-run/nexus/modules"
)

// Loop is one kind's periodic loop, running in a goroutine owned by the
// module's started period (modules.Context.Go). Its methods are safe for
// concurrent use.
type Loop struct {
	ctx    context.Context // cancelled by Stop or when the started period ends
	cancel context.CancelFunc
	wake   chan struct{}
	done   chan struct{}
}

// Start runs the loop in a goroutine named name, owned by mc (so it must be
// called from the module's Start). The loop asks next for the time of the
// next call, sleeps until then and calls fn; it asks again after each call
// and after each Wake. A time that is not after now calls fn at once; the
// zero time means no call until the next Wake. next may be asked any number
// of times, so it must derive the time from the kind's state without
// changing it. fn runs on the loop's
// goroutine, so calls never overlap, and its context is cancelled by Stop.
func Start(mc *modules.Context, name string, next func(now time.Time) time.Time, fn func(ctx context.Context)) *Loop {
	ctx, cancel := context.WithCancel(context.Background())
	l := &Loop{ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1), done: make(chan struct{})}
	mc.Go(name, func(runCtx context.Context) error {
		defer close(l.done)
		defer context.AfterFunc(runCtx, cancel)()
		l.run(next, fn)
		return nil
	})
	return l
}

func (l *Loop) run(next func(time.Time) time.Time, fn func(context.Context)) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		timer.Stop()
		var fire <-chan time.Time
		if at := next(time.Now()); !at.IsZero() {
			timer.Reset(max(time.Until(at), 0))
			fire = timer.C
		}
		select {
		case <-l.ctx.Done():
			return
		case <-l.wake:
		case <-fire:
			fn(l.ctx)
		}
	}
}

// Wake makes the loop ask next again now, as after a config change. It
// never blocks.
func (l *Loop) Wake() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Stop cancels the loop (and a call of fn in progress) and waits for it to
// return, bounded by ctx. Stop is idempotent.
func (l *Loop) Stop(ctx context.Context) error {
	l.cancel()
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("periodic loop still running: %w", ctx.Err())
	}
}
