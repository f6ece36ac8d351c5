package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// rehash re-encodes a record line after edit, giving it a valid Hash: what
// an attacker who knows the format does.
func rehash(t *testing.T, line []byte, edit func(*Record)) []byte {
	t.Helper()
	var r Record
	if err := json.Unmarshal(line, &r); err != nil {
		t.Fatal(err)
	}
	edit(&r)
	out, _, err := encode(&r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerify_tamper(t *testing.T) {
	l, path := openTest(t)
	appendN(t, l, 12)
	l.Close()
	clean := readLines(t, path)
	lines := func() [][]byte { // a fresh copy to mutate
		out := make([][]byte, len(clean))
		for i, ln := range clean {
			out[i] = bytes.Clone(ln)
		}
		return out
	}
	// line i is 1-based.
	del := func(ls [][]byte, i int) [][]byte { return append(ls[:i-1], ls[i:]...) }
	ins := func(ls [][]byte, i int, ln []byte) [][]byte {
		return append(ls[:i-1], append([][]byte{ln}, ls[i-1:]...)...)
	}

	tests := map[string]struct {
		tamper     func() []byte
		wantLine   int
		wantDamage Damage
		wantDetail string
	}{
		"field edited": {
			tamper: func() []byte {
				ls := lines()
				ls[6] = bytes.Replace(ls[6], []byte(`"principal":"p7"`), []byte(`"principal":"mallory"`), 1)
				return joinLines(ls)
			},
			wantLine: 7, wantDamage: DamageEdited, wantDetail: "line 7: record edited (hash mismatch)",
		},
		"details value edited": {
			tamper: func() []byte {
				ls := lines()
				ls[6] = bytes.Replace(ls[6], []byte(`"transition":"start"`), []byte(`"transition":"stop"`), 1)
				return joinLines(ls)
			},
			wantLine: 7, wantDamage: DamageEdited, wantDetail: "line 7: record edited (hash mismatch)",
		},
		"time rewritten as the same instant elsewhere": {
			tamper: func() []byte {
				ls := lines()
				ls[6] = bytes.Replace(ls[6], []byte(`T12:06:00Z`), []byte(`T14:06:00+02:00`), 1)
				return joinLines(ls)
			},
			wantLine: 7, wantDamage: DamageEdited, wantDetail: "line 7: record edited (hash mismatch)",
		},
		"whitespace added": {
			tamper: func() []byte {
				ls := lines()
				ls[3] = bytes.Replace(ls[3], []byte(`,"type"`), []byte(`, "type"`), 1)
				return joinLines(ls)
			},
			wantLine: 4, wantDamage: DamageEdited, wantDetail: "line 4: record edited (the line is not in the form nexus writes)",
		},
		"field edited and rehashed": {
			tamper: func() []byte {
				ls := lines()
				ls[6] = rehash(t, ls[6], func(r *Record) { r.Outcome = OutcomeDenied })
				return joinLines(ls)
			},
			wantLine: 8, wantDamage: DamageInserted, wantDetail: "line 8: a record was inserted (prev does not match line 7)",
		},
		"line deleted": {
			tamper:   func() []byte { return joinLines(del(lines(), 6)) },
			wantLine: 6, wantDamage: DamageDeleted, wantDetail: "line 6: a record was deleted before it (seq 5 → 7)",
		},
		"two lines deleted": {
			tamper:   func() []byte { return joinLines(del(del(lines(), 6), 6)) },
			wantLine: 6, wantDamage: DamageDeleted, wantDetail: "line 6: 2 records were deleted before it (seq 5 → 8)",
		},
		"first line deleted": {
			tamper:   func() []byte { return joinLines(del(lines(), 1)) },
			wantLine: 1, wantDamage: DamageDeleted, wantDetail: "line 1: records were deleted before it (the log starts at seq 2, not 1)",
		},
		"forged record inserted": {
			tamper: func() []byte {
				ls := lines()
				forged := rehash(t, ls[6], func(r *Record) { r.Prev = strings.Repeat("ab", 32); r.Principal = "mallory" })
				return joinLines(ins(ls, 7, forged))
			},
			wantLine: 7, wantDamage: DamageInserted, wantDetail: "line 7: a record was inserted (prev does not match line 6)",
		},
		"first record replaced": {
			tamper: func() []byte {
				ls := lines()
				ls[0] = rehash(t, ls[0], func(r *Record) { r.Prev = strings.Repeat("ab", 32) })
				return joinLines(ls)
			},
			wantLine: 1, wantDamage: DamageInserted, wantDetail: "line 1: a record was inserted (the first record's prev is not 64 zeros)",
		},
		"line duplicated": {
			tamper: func() []byte {
				ls := lines()
				return joinLines(ins(ls, 7, bytes.Clone(ls[5])))
			},
			wantLine: 7, wantDamage: DamageInserted, wantDetail: "line 7: a record was inserted or moved (seq 6 follows seq 6)",
		},
		"lines swapped": {
			tamper: func() []byte {
				ls := lines()
				ls[5], ls[6] = ls[6], ls[5]
				return joinLines(ls)
			},
			wantLine: 6, wantDamage: DamageDeleted, wantDetail: "line 6: a record was deleted before it (seq 5 → 7)",
		},
		"last line truncated": {
			tamper: func() []byte {
				data := joinLines(lines())
				return data[:len(data)-40]
			},
			wantLine: 12, wantDamage: DamageTruncated, wantDetail: "line 12: truncated",
		},
		"last newline removed": {
			tamper: func() []byte {
				data := joinLines(lines())
				return data[:len(data)-1]
			},
			wantLine: 12, wantDamage: DamageTruncated, wantDetail: "line 12: truncated",
		},
		"garbage line": {
			tamper:   func() []byte { return joinLines(ins(lines(), 3, []byte("hello"))) },
			wantLine: 3, wantDamage: DamageMalformed, wantDetail: "line 3: not a valid audit record (invalid character 'h'",
		},
		"blank line": {
			tamper:   func() []byte { return joinLines(ins(lines(), 3, nil)) },
			wantLine: 3, wantDamage: DamageMalformed, wantDetail: "line 3: empty line",
		},
		"huge line": {
			tamper:   func() []byte { return joinLines(ins(lines(), 2, bytes.Repeat([]byte("x"), MaxRecordSize+1))) },
			wantLine: 2, wantDamage: DamageMalformed, wantDetail: "line 2: longer than 1048576 bytes",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			rep, err := Verify(bytes.NewReader(tt.tamper()))
			var ce *CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got: %v, want: a *CorruptError", err)
			}
			if ce.Line != tt.wantLine || ce.Damage != tt.wantDamage || !strings.HasPrefix(ce.Error(), tt.wantDetail) {
				t.Errorf("got:  line %d, %s: %q\nwant: line %d, %s: %q", ce.Line, ce.Damage, ce.Error(), tt.wantLine, tt.wantDamage, tt.wantDetail)
			}
			if rep.Problem != ce || rep.OK() || rep.Records != tt.wantLine-1 {
				t.Errorf("Report got: %d records, problem %v; want: %d records and the error", rep.Records, rep.Problem, tt.wantLine-1)
			}
		})
	}
}

// TestVerify_lastLinesDeleted shows what the file alone cannot: deleting
// the last records leaves a valid chain. Comparing the verified head with
// the head the daemon published detects it.
func TestVerify_lastLinesDeleted(t *testing.T) {
	l, path := openTest(t)
	appendN(t, l, 12)
	published := l.Head()
	l.Close()
	ls := readLines(t, path)
	rep, err := Verify(bytes.NewReader(joinLines(ls[:10])))
	if err != nil {
		t.Fatalf("got: %v, want: a valid (shorter) chain", err)
	}
	if rep.Records != 10 || rep.Head == published {
		t.Errorf("got: %d records, head %+v; want: 10 records and a head other than the published %+v", rep.Records, rep.Head, published)
	}
}

func TestVerify_empty(t *testing.T) {
	rep, err := Verify(strings.NewReader(""))
	if err != nil || !rep.OK() || rep.Records != 0 || rep.Head != (Head{}) {
		t.Errorf("got: %+v, %v; want: an intact empty log", rep, err)
	}
}

func TestVerify_readError(t *testing.T) {
	boom := errors.New("disk on fire")
	_, err := Verify(&failingReader{data: []byte("x"), err: boom})
	if !errors.Is(err, boom) || errors.Is(err, ErrCorrupt) {
		t.Errorf("got: %v, want: the read error, not corruption", err)
	}
}

type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestOpen_damagedTail(t *testing.T) {
	tests := map[string]struct {
		tamper     func(data []byte) []byte
		wantLine   int
		wantDamage Damage
	}{
		"cut off mid-record": {func(d []byte) []byte { return d[:len(d)-30] }, 5, DamageTruncated},
		"last line edited":   {func(d []byte) []byte { return bytes.Replace(d, []byte(`"p5"`), []byte(`"p6"`), 1) }, 5, DamageEdited},
		"garbage appended":   {func(d []byte) []byte { return append(d, "garbage\n"...) }, 6, DamageMalformed},
		"blank line at end":  {func(d []byte) []byte { return append(d, '\n') }, 6, DamageMalformed},
		"partial garbage":    {func(d []byte) []byte { return append(d, "{\"seq\":"...) }, 6, DamageTruncated},
		"one huge line":      {func(d []byte) []byte { return append(d, bytes.Repeat([]byte("y"), MaxRecordSize+5)...) }, 6, DamageMalformed},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			l, path := openTest(t)
			appendN(t, l, 5)
			l.Close()
			data, _ := os.ReadFile(path)
			damaged := tt.tamper(data)
			if err := os.WriteFile(path, damaged, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(path, Options{Key: testKey})
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("got: %v, want: a *CorruptError", err)
			}
			if ce.Line != tt.wantLine || ce.Damage != tt.wantDamage || ce.Path != path {
				t.Errorf("got: line %d %s in %q, want: line %d %s in %q", ce.Line, ce.Damage, ce.Path, tt.wantLine, tt.wantDamage, path)
			}
			if !strings.Contains(err.Error(), "nexus audit verify") {
				t.Errorf("got: %v, want: advice on what to do", err)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(after, damaged) {
				t.Errorf("Open changed the damaged file")
			}
		})
	}
}

func TestRead_sinceAndFilter(t *testing.T) {
	l, path := openTest(t)
	appendN(t, l, 10) // times t0, t0+1m, ... t0+9m
	if err := l.Append(t.Context(), Record{Type: TypeDenied, Outcome: OutcomeDenied, Principal: "mallory"}); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		since   time.Time
		filter  func(Record) bool
		wantSeq []uint64
	}{
		"all":              {time.Time{}, nil, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		"since inclusive":  {t0.Add(7 * time.Minute), nil, []uint64{8, 9, 10, 11}},
		"since between":    {t0.Add(7*time.Minute + time.Second), nil, []uint64{9, 10, 11}},
		"since future":     {t0.Add(time.Hour), nil, nil},
		"filter":           {time.Time{}, func(r Record) bool { return r.Outcome == OutcomeDenied }, []uint64{11}},
		"since and filter": {t0.Add(8 * time.Minute), func(r Record) bool { return r.Type == TypeTransition }, []uint64{9, 10}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			recs, err := Read(f, tt.since, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			var got []uint64
			for _, r := range recs {
				got = append(got, r.Seq)
			}
			if !slices.Equal(got, tt.wantSeq) {
				t.Errorf("got: %v, want: %v", got, tt.wantSeq)
			}
		})
	}
}

func TestRead_partialOnDamage(t *testing.T) {
	l, path := openTest(t)
	appendN(t, l, 4)
	l.Close()
	data, _ := os.ReadFile(path)
	recs, err := Read(bytes.NewReader(data[:len(data)-10]), time.Time{}, nil)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Line != 4 || ce.Damage != DamageTruncated {
		t.Fatalf("got: %v, want: line 4 truncated", err)
	}
	if len(recs) != 3 {
		t.Errorf("got: %d records, want: the 3 before the damage", len(recs))
	}
}

func TestDamage_string(t *testing.T) {
	if got := DamageEdited.String(); got != "edited" {
		t.Errorf("got: %s, want: edited", got)
	}
	if got := Damage(42).String(); got != "Damage(42)" {
		t.Errorf("got: %s, want: Damage(42)", got)
	}
}
