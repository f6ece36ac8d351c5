package audit

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

// FuzzVerify feeds Verify arbitrary files: it must never panic, and what it
// accepts Read must parse completely.
func FuzzVerify(f *testing.F) {
	var log bytes.Buffer
	c := chain{}
	for i := range 3 {
		r := Record{Type: TypePlan, Outcome: OutcomeOK, Details: map[string]string{"i": string(rune('a' + i))}}
		line, next, err := c.link(&r, t0)
		if err != nil {
			f.Fatal(err)
		}
		log.Write(line)
		log.WriteByte('\n')
		c = next
	}
	f.Add(log.Bytes())
	f.Add([]byte("\n"))
	f.Add([]byte(`{"seq":1}` + "\n"))
	f.Add(log.Bytes()[:log.Len()-5])
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Verify(bytes.NewReader(data))
		if (err == nil) != rep.OK() {
			t.Fatalf("err %v but report OK=%v", err, rep.OK())
		}
		if err != nil {
			return
		}
		recs, err := Read(bytes.NewReader(data), time.Time{}, nil)
		if err != nil || len(recs) != rep.Records {
			t.Fatalf("Verify accepted %d records, Read got %d: %v", rep.Records, len(recs), err)
		}
	})
}

// FuzzChain writes records with arbitrary strings (invalid UTF-8, quotes,
// control characters, colliding keys) and checks that the chain verifies
// and reads back as written, after sanitizing.
func FuzzChain(f *testing.F) {
	f.Add("plan", "ci@company.com", "key", "value", "k2")
	f.Add("\xff", "\x00<>&\u2028", "\xfe", "\"\\", "\xfd")
	f.Add("a", "b", "k#2", "v", "k")
	f.Fuzz(func(t *testing.T, typ, principal, key, value, key2 string) {
		if typ == "" {
			typ = "x"
		}
		var buf bytes.Buffer
		c := chain{}
		var want []Record
		in := map[string]string{key: value, key2: principal, key + "\xff": typ}
		for i := range 2 {
			r := sanitize(Record{Type: typ, Outcome: OutcomeOK, Principal: principal, Module: value, Details: in})
			if i == 1 {
				r.Details = nil
			}
			line, next, err := c.link(&r, t0.Add(time.Duration(i)*time.Nanosecond))
			if err != nil {
				t.Fatal(err)
			}
			buf.Write(line)
			buf.WriteByte('\n')
			c = next
			want = append(want, r)
		}
		rep, err := Verify(bytes.NewReader(buf.Bytes()))
		if err != nil || rep.Records != 2 || rep.Head != c.head {
			t.Fatalf("Verify: %v (%+v)\n%s", err, rep, buf.Bytes())
		}
		got, err := Read(bytes.NewReader(buf.Bytes()), time.Time{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(want[0].Details) != len(in) {
			t.Fatalf("sanitize lost a detail: %q", want[0].Details)
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("record %d\ngot:  %#v\nwant: %#v", i, got[i], want[i])
			}
		}
	})
}
