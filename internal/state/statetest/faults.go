package statetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nexus-run/nexus/internal/state"
)

// LockRace starts two helper processes (see Helper) that race for one
// project's lock: exactly one must win, and the loser's error must name the
// winner. The winner is then SIGKILLed, and the lock must be free again
// within freeWithin (0: at once, on the first try). env configures the
// helpers' store.
func LockRace(t *testing.T, open Open, helperTest string, freeWithin time.Duration, env ...string) {
	project := "lockrace-" + uuid.NewString()[:8]
	s := store(t, open)
	children := []*Child{
		StartHelper(t, helperTest, "lock", project, append(env, envLockID+"=id-0")...),
		StartHelper(t, helperTest, "lock", project, append(env, envLockID+"=id-1")...),
	}
	lines := []string{children[0].Line(t, time.Minute), children[1].Line(t, time.Minute)}
	winner := -1
	for i, l := range lines {
		if l == "locked" {
			if winner >= 0 {
				t.Fatalf("both helpers took the lock")
			}
			winner = i
		} else if !strings.HasPrefix(l, "refused ") {
			t.Fatalf("helper %d said %q, want \"locked\" or \"refused <error>\"", i, l)
		}
	}
	if winner < 0 {
		t.Fatalf("neither helper took the lock:\n%s\n%s", lines[0], lines[1])
	}
	won, lost := children[winner], lines[1-winner]
	who := fmt.Sprintf("helper-%d", won.Pid())
	if !strings.Contains(lost, who) || !strings.Contains(lost, fmt.Sprintf("id-%d", winner)) {
		t.Fatalf("the loser's error does not name the holder:\ngot:  %s\nwant: %s and id-%d in it", lost, who, winner)
	}
	holder, err := s.LockHolder(ctx(t), project)
	if err != nil || holder.Who != who {
		t.Fatalf("LockHolder while a helper holds the lock:\ngot:  %+v, %v\nwant: held by %s", holder, err, who)
	}
	won.Kill()
	info := lockInfo("id-parent", "apply")
	if err := state.WaitLock(ctx(t), s, project, info, freeWithin); err != nil {
		t.Fatalf("Lock after the holder was killed (allowed %s): %v", freeWithin, err)
	}
	if err := s.Unlock(ctx(t), project, info.ID); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
}

// KilledWriter runs a helper process writing an endless stream of Applies
// and Puts (see WriteAt), SIGKILLs it at a random point, and checks that
// the stored document is exactly the last acknowledged write (or the one
// after it, which may have landed without its acknowledgement being
// printed); rounds times, each helper going on from where the last died.
func KilledWriter(t *testing.T, open Open, helperTest string, rounds int, env ...string) {
	project := "killedwriter-" + uuid.NewString()[:8]
	lineage := uuid.NewString()
	if err := store(t, open).Put(ctx(t), StreamDocument(project, lineage), 0, "push"); err != nil {
		t.Fatalf("Put: %v", err)
	}
	last := uint64(1)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for round := range rounds {
		w := StartHelper(t, helperTest, "writer", project, append(env, envLineage+"="+lineage)...)
		w.WaitAck(t, last+5+uint64(rng.IntN(60)), 2*time.Minute)
		w.Kill()
		acked := w.LastAck()
		s := open(t)
		got, err := s.Get(ctx(t), project)
		if err != nil {
			t.Fatalf("round %d: Get after the writer was killed at ack %d: %v", round, acked, err)
		}
		if got.Serial != acked && got.Serial != acked+1 {
			t.Fatalf("round %d: serial after the kill:\ngot:  %d\nwant: %d (the last ack) or %d", round, got.Serial, acked, acked+1)
		}
		if d := Diff(got, ExpectedAt(project, lineage, got.Serial)); d != "" {
			t.Fatalf("round %d: document at serial %d is not what the writer wrote: %s", round, got.Serial, d)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		last = got.Serial
	}
	s := store(t, open)
	if err := WriteAt(ctx(t), s, project, lineage, last+1); err != nil {
		t.Fatalf("write after the kills: %v", err)
	}
	wantDoc(t, "after the kills", mustGet(t, s, project), ExpectedAt(project, lineage, last+1))
}

// Outage is one stop and start of a store's server in ServerRestarted.
type Outage struct {
	// At is the serial the writer reaches before the server stops.
	At uint64
	// Name says how the server stopped, for messages ("SIGKILL").
	Name        string
	Stop, Start func()
}

// ServerRestarted streams writes (Puts and Applies, see WriteAt) through s
// to serial 120 while the server behind it stops and starts once per
// outage: while it is down each write fails naming the server and not as a
// conflict, and so does a Get; once it is back the same write succeeds, the
// document read is never half-written and holds every serial acknowledged
// before the stop. names is how the store's errors name the server, as in
// `state of "restarted" in <names>` ("redis 127.0.0.1:6380").
func ServerRestarted(t *testing.T, s state.Store, names string, outages ...Outage) {
	t.Helper()
	ctx := context.Background()
	project, lineage := "restarted", uuid.NewString()
	if err := s.Put(ctx, StreamDocument(project, lineage), 0, "push"); err != nil {
		t.Fatal(err)
	}
	const last = 120
	var (
		serial   atomic.Uint64
		failures atomic.Int64
		wg       sync.WaitGroup
	)
	serial.Store(1)
	wg.Go(func() {
		for n := uint64(2); n <= last; n++ {
			for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
				err := WriteAt(ctx, s, project, lineage, n)
				if err == nil {
					break
				}
				failures.Add(1)
				if errors.Is(err, state.ErrSerialConflict) || !strings.Contains(err.Error(), fmt.Sprintf("state of %q in %s", project, names)) {
					t.Errorf("write %d failed unclearly or as a conflict: %v", n, err)
					return
				}
				if time.Now().After(deadline) {
					t.Errorf("write %d still fails after a minute: %v", n, err)
					return
				}
			}
			serial.Store(n)
		}
	})
	for _, o := range outages {
		waitFor(t, fmt.Sprintf("the writer to reach serial %d", o.At), func() bool { return serial.Load() >= o.At || t.Failed() })
		o.Stop()
		acknowledged := serial.Load()
		before := failures.Load()
		waitFor(t, "a write to fail while the server is down", func() bool { return failures.Load() > before || t.Failed() })
		if _, err := s.Get(ctx, project); err == nil || !strings.Contains(err.Error(), names) {
			t.Fatalf("Get while the server is down:\ngot:  %v\nwant: an error naming %s", err, names)
		}
		o.Start()
		got, err := s.Get(ctx, project)
		if err != nil {
			t.Fatalf("Get after the %s restart: %v", o.Name, err)
		}
		if got.Serial < acknowledged {
			t.Fatalf("after the %s restart: serial %d, but serial %d was acknowledged before the server stopped", o.Name, got.Serial, acknowledged)
		}
		if d := Diff(got, ExpectedAt(project, lineage, got.Serial)); d != "" {
			t.Fatalf("document at serial %d after the %s restart is half-written: %s", got.Serial, o.Name, d)
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("%d writes failed while the server was down and were retried", failures.Load())
	got, err := s.Get(ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(got, ExpectedAt(project, lineage, last)); d != "" {
		t.Fatalf("document after the stream: %s", d)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
