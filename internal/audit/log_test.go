package audit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLog_roundTrip(t *testing.T) {
	l, path := openTest(t)
	if got := l.Head(); got != (Head{}) {
		t.Errorf("Head of an empty log got: %+v, want: zero", got)
	}
	details := map[string]string{"b": "2", "a": "1 <&> \"quoted\"\n", "token": l.Sensitive("s3cret")}
	in := Record{
		Seq: 99, Hash: "forged", Prev: "forged", Time: time.Unix(1, 0), // overwritten
		Type: TypeApply, Principal: "ci@company.com", RequestID: "r-1", Outcome: OutcomeOK, Module: "vitals/heartbeat", Details: details,
	}
	if err := l.Append(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(context.Background(), Record{Type: TypeDaemonStop, Outcome: OutcomeOK}); err != nil {
		t.Fatal(err)
	}
	details["b"] = "changed after Append" // the log kept its own copy

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := Read(f, time.Time{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got: %d records, want: 2", len(got))
	}
	want := Record{
		Seq: 1, Time: t0, Type: TypeApply, Principal: "ci@company.com", RequestID: "r-1", Outcome: OutcomeOK, Module: "vitals/heartbeat",
		Details: map[string]string{"b": "2", "a": "1 <&> \"quoted\"\n", "token": l.Sensitive("s3cret")}, Prev: GenesisPrev, Hash: got[0].Hash,
	}
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("record 1\ngot:  %+v\nwant: %+v", got[0], want)
	}
	if got[1].Seq != 2 || got[1].Prev != lineHash(readLines(t, path)[0]) || !got[1].Time.Equal(t0.Add(time.Minute)) {
		t.Errorf("record 2 got: seq %d prev %s time %s, want: seq 2, prev the hash of line 1, time t0+1m", got[1].Seq, got[1].Prev, got[1].Time)
	}
	rep := verifyFile(t, path)
	if rep.Records != 2 || rep.Head != l.Head() || rep.Head != (Head{Seq: 2, Hash: got[1].Hash}) {
		t.Errorf("Verify got: %+v, want: 2 records, head %+v", rep, l.Head())
	}
}

func TestLog_lineFormat(t *testing.T) {
	l, path := openTest(t)
	if err := l.Append(context.Background(), Record{Type: TypePlan, Principal: "unix:1000", Outcome: OutcomeOK}); err != nil {
		t.Fatal(err)
	}
	line := string(readLines(t, path)[0])
	wantBody := `{"seq":1,"time":"2025-03-01T12:00:00Z","type":"plan","principal":"unix:1000","outcome":"ok","prev":"` + GenesisPrev + `"`
	if !strings.HasPrefix(line, wantBody+`,"hash":"`) {
		t.Fatalf("got:  %s\nwant: %s,\"hash\":...}", line, wantBody)
	}
	// Hash is the SHA-256 of the line without its hash member.
	if got, want := line, wantBody+`,"hash":"`+lineHash([]byte(wantBody+"}"))+`"}`; got != want {
		t.Errorf("got:  %s\nwant: %s", got, want)
	}
}

func TestLog_continuesAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	clock := newFakeClock()
	for round := range 3 {
		l, err := Open(path, Options{Key: testKey, Now: clock.Now})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if got, want := l.Head().Seq, uint64(3*round); got != want {
			t.Errorf("round %d: Head after Open got: seq %d, want: %d", round, got, want)
		}
		appendN(t, l, 3)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Errorf("second Close got: %v, want: nil", err)
		}
	}
	if rep := verifyFile(t, path); rep.Records != 9 || rep.Head.Seq != 9 {
		t.Errorf("got: %+v, want: 9 intact records", rep)
	}
}

func TestOpen_permissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "log", "nexus")
	path := filepath.Join(dir, "audit.log")
	l, err := Open(path, Options{Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	appendN(t, l, 1)
	for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700 | os.ModeDir, filepath.Dir(dir): 0o700 | os.ModeDir} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want {
			t.Errorf("%s got: %s, want: %s", p, st.Mode(), want)
		}
	}
}

func TestOpen_locked(t *testing.T) {
	l, path := openTest(t)
	if _, err := Open(path, Options{Key: testKey}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open got: %v, want: ErrLocked", err)
	}
	l.Close()
	l2, err := Open(path, Options{Key: testKey})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	l2.Close()
}

func TestOpen_key(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	if _, err := Open(path, Options{Key: []byte("short")}); err == nil || !strings.Contains(err.Error(), "at least 16") {
		t.Errorf("short key got: %v, want: an error asking for 16 bytes", err)
	}
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := l.Sensitive("x"); !strings.HasPrefix(got, "hmac-sha256:") || got == l.Sensitive("y") {
		t.Errorf("random key: got: %s", got)
	}
}

func TestLog_sensitive(t *testing.T) {
	l, _ := openTest(t)
	got := l.Sensitive("hunter2")
	// HMAC-SHA256(testKey, "hunter2"), computed independently with openssl:
	// printf hunter2 | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef
	want := "hmac-sha256:" + opensslHMAC
	if got != want {
		t.Errorf("got: %s, want: %s", got, want)
	}
	if strings.Contains(got, "hunter2") || got != l.Sensitive("hunter2") || got == l.Sensitive("hunter3") {
		t.Errorf("Sensitive must hide the value, be stable and tell values apart")
	}
}

func TestLog_appendRejects(t *testing.T) {
	l, path := openTest(t)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := map[string]struct {
		ctx  context.Context
		rec  Record
		want error
	}{
		"no type":        {context.Background(), Record{Outcome: OutcomeOK}, ErrInvalidRecord},
		"no outcome":     {context.Background(), Record{Type: TypePlan}, ErrInvalidRecord},
		"canceled":       {canceled, Record{Type: TypePlan, Outcome: OutcomeOK}, context.Canceled},
		"too large":      {context.Background(), Record{Type: TypePlan, Outcome: OutcomeOK, Details: map[string]string{"x": strings.Repeat("x", MaxRecordSize)}}, ErrInvalidRecord},
		"nearly too big": {context.Background(), Record{Type: TypePlan, Outcome: OutcomeOK, Details: map[string]string{"x": strings.Repeat("x", MaxRecordSize-300)}}, nil},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if err := l.Append(tt.ctx, tt.rec); !errors.Is(err, tt.want) {
				t.Errorf("got: %v, want: %v", err, tt.want)
			}
		})
	}
	appendN(t, l, 2)
	if rep := verifyFile(t, path); rep.Records != 3 {
		t.Errorf("got: %d records, want: 3 (the big one and two more)", rep.Records)
	}
	l.Close()
	if err := l.Append(context.Background(), Record{Type: TypePlan, Outcome: OutcomeOK}); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close got: %v, want: ErrClosed", err)
	}
}

func TestLog_writeFailureIsSticky(t *testing.T) {
	l, path := openTest(t)
	appendN(t, l, 2)
	head := l.Head()
	l.f.Close() // the disk goes away
	for i := range 2 {
		err := l.Append(context.Background(), Record{Type: TypePlan, Outcome: OutcomeOK})
		if err == nil || !strings.Contains(err.Error(), "accepts no more records") {
			t.Errorf("append %d after a failed write got: %v, want: the write error", i, err)
		}
	}
	if l.Head() != head {
		t.Errorf("Head moved after a failed write")
	}
	if rep := verifyFile(t, path); rep.Records != 2 {
		t.Errorf("got: %d records, want: 2", rep.Records)
	}
}

func TestLog_invalidUTF8(t *testing.T) {
	l, path := openTest(t)
	r := Record{
		Type: "plan\xff", Outcome: OutcomeOK, Principal: "a\xc3",
		Details: map[string]string{"k\xff": "v1", "k\xfe": "v2", "k\uFFFD#2": "v3", "ok": "bad\xffvalue"},
	}
	if err := l.Append(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	verifyFile(t, path)
	f, _ := os.Open(path)
	defer f.Close()
	got, err := Read(f, time.Time{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]bool{}
	for _, v := range got[0].Details {
		values[v] = true
	}
	if len(got[0].Details) != 4 || !values["v1"] || !values["v2"] || !values["v3"] || got[0].Details["ok"] != "bad\uFFFDvalue" {
		t.Errorf("got: %q, want: every value kept, invalid bytes as U+FFFD", got[0].Details)
	}
	if got[0].Type != "plan\uFFFD" || got[0].Principal != "a\uFFFD" {
		t.Errorf("got: type %q principal %q", got[0].Type, got[0].Principal)
	}
}

func TestLog_concurrentAppends(t *testing.T) {
	l, path := openTest(t)
	const writers, each = 32, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				r := Record{Type: TypeTransition, Outcome: OutcomeOK, Principal: fmt.Sprintf("w%d", w), Details: map[string]string{"i": fmt.Sprint(i)}}
				if err := l.Append(context.Background(), r); err != nil {
					errs <- err
				}
				_ = l.Head() // read the head concurrently with writes
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Append: %v", err)
	}
	rep := verifyFile(t, path)
	if rep.Records != writers*each || rep.Head != l.Head() {
		t.Errorf("got: %d records, head %+v; want: %d records, head %+v", rep.Records, rep.Head, writers*each, l.Head())
	}
}

func TestLog_closeWhileAppending(t *testing.T) {
	l, path := openTest(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 16 {
		wg.Go(func() {
			for {
				err := l.Append(context.Background(), Record{Type: TypePlan, Outcome: OutcomeOK})
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	deadline := time.Now().Add(30 * time.Second)
	for l.Head().Seq < 50 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if rep := verifyFile(t, path); rep.Records != ok {
		t.Errorf("got: %d records in the file, want: %d (every Append that returned nil)", rep.Records, ok)
	}
}
