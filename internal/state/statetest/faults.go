package statetest

import (
	"fmt"
	"math/rand/v2"
	"strings"
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
