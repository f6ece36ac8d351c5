package audit

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkLog_append measures fsynced records per second with many
// concurrent writers sharing fsyncs (group commit). The target is at least
// 10,000 records/s; run it with enough iterations to mean something:
//
//	go test -run '^$' -bench Log_append -benchtime 20000x ./internal/audit/
func BenchmarkLog_append(b *testing.B) {
	l, _ := openTest(b)
	rec := Record{
		Type: TypeTransition, Principal: "ci@company.com", RequestID: "3f1c9d1e-6a9b-4e0c-9a51-2f8f6c1f8f00",
		Outcome: OutcomeOK, Module: "vitals/heartbeat", Details: map[string]string{"transition": "start", "duration_ms": "12"},
	}
	b.SetParallelism(64) // 64 writers per CPU: a busy daemon
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Append(context.Background(), rec); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkLog_appendSerial is one writer waiting for each fsync: the floor
// group commit lifts.
func BenchmarkLog_appendSerial(b *testing.B) {
	l, _ := openTest(b)
	rec := Record{Type: TypePlan, Outcome: OutcomeOK, Principal: "unix:1000"}
	for b.Loop() {
		if err := l.Append(context.Background(), rec); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkVerify checks a 10,000-record log.
func BenchmarkVerify(b *testing.B) {
	var buf bytes.Buffer
	c := chain{}
	for i := range 10_000 {
		r := Record{Type: TypeTransition, Outcome: OutcomeOK, Module: fmt.Sprintf("m/%d", i), Details: map[string]string{"transition": "start"}}
		line, next, err := c.link(&r, t0.Add(time.Duration(i)*time.Millisecond))
		if err != nil {
			b.Fatal(err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
		c = next
	}
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		if _, err := Verify(bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}
