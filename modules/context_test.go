package modules_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nexus-run/nexus/modules"
)

// nextExit waits for the instance's next exit.
func nextExit(t *testing.T, inst *modules.Instance) error {
	t.Helper()
	select {
	case err := <-inst.Exits():
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("no exit reported")
		return nil
	}
}

func TestContext_goExits(t *testing.T) {
	errWorker := errors.New("disk full")
	tests := map[string]struct {
		worker  func(context.Context) error
		wantErr string // "" for a clean exit
		wantIs  error
	}{
		"clean exit":  {func(context.Context) error { return nil }, "", nil},
		"error exit":  {func(context.Context) error { return errWorker }, "worker: disk full", errWorker},
		"panic":       {func(context.Context) error { panic("worker exploded") }, "worker: module panicked: worker exploded", modules.ErrPanic},
		"nil pointer": {func(context.Context) error { var m map[string]int; m["x"]++; return nil }, "assignment to entry in nil map", modules.ErrPanic},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			inst := newInstance(&scripted{worker: tt.worker}, "")
			walk(t, inst, initLoadStart...)
			err := nextExit(t, inst)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got: %v, want: a clean exit", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, tt.wantIs)):
				t.Errorf("got: %v, want: %q wrapping %v", err, tt.wantErr, tt.wantIs)
			}
			walk(t, inst, modules.TransitionStop)
		})
	}
}

func TestContext_goEndsAtStopWithoutAnExit(t *testing.T) {
	var stopped atomic.Bool
	inst := newInstance(&scripted{worker: func(ctx context.Context) error {
		<-ctx.Done()
		time.Sleep(20 * time.Millisecond) // Stop waits for this
		stopped.Store(true)
		return errors.New("cancelled")
	}}, "")
	walk(t, inst, initLoadStart...)
	walk(t, inst, modules.TransitionStop)
	if !stopped.Load() {
		t.Error("Stop returned before the goroutine ended")
	}
	select {
	case err := <-inst.Exits():
		t.Errorf("an exit was reported for a goroutine ended by Stop: %v", err)
	default:
	}
}

func TestContext_goThatIgnoresStopTimesOut(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	inst := newInstance(&scripted{worker: func(context.Context) error { <-release; return nil }}, "")
	walk(t, inst, initLoadStart...)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := inst.Do(ctx, modules.TransitionStop)
	if !errors.Is(err, modules.ErrTimeout) || inst.State() != modules.StateFailed {
		t.Errorf("got: %v in %s, want: ErrTimeout, failed", err, inst.State())
	}
}

func TestContext_goOutsideStartPanics(t *testing.T) {
	inst := newInstance(&scripted{}, "")
	walk(t, inst, modules.TransitionInit)
	defer func() {
		if p := recover(); p == nil || !strings.Contains(p.(string), `Context.Go("late") called outside Start`) {
			t.Errorf("got: %v, want: a panic naming the misuse", p)
		}
	}()
	inst.Context().Go("late", func(context.Context) error { return nil })
}

func TestContext_trackCounts(t *testing.T) {
	inst := newInstance(&scripted{}, "")
	walk(t, inst, initLoadStart...)
	mc := inst.Context()
	boom := errors.New("boom")
	for i := range 5 {
		err := mc.Track(context.Background(), "op", func(context.Context) error {
			if i%2 == 0 {
				return boom
			}
			return nil
		})
		if (i%2 == 0) != errors.Is(err, boom) {
			t.Errorf("call %d returned %v", i, err)
		}
	}
	if req, errs := mc.Counts(); req != 5 || errs != 3 {
		t.Errorf("counts got: %d requests, %d errors; want: 5, 3", req, errs)
	}
	if u := inst.Usage(); u.RequestsTotal != 5 || u.ErrorsTotal != 3 {
		t.Errorf("usage got: %+v, want: 5 requests, 3 errors", u)
	}
}

// usageModule reports its own cpu and memory.
type usageModule struct{ scripted }

func (*usageModule) Usage() modules.Usage { return modules.Usage{CPUSeconds: 1.5, MemoryMB: 12} }

var _ modules.UsageReporter = (*usageModule)(nil)

func TestInstance_usageMergesTheModulesOwn(t *testing.T) {
	inst := newInstance(&usageModule{}, "")
	walk(t, inst, initLoadStart...)
	_ = inst.Context().Track(context.Background(), "op", func(context.Context) error { return nil })
	if u := inst.Usage(); u.CPUSeconds != 1.5 || u.MemoryMB != 12 || u.RequestsTotal != 1 {
		t.Errorf("got: %+v, want: cpu 1.5, memory 12, 1 request", u)
	}
}
