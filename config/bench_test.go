package config_test

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/nexus-run/nexus/config"
	"github.com/nexus-run/nexus/config/configtest"
	"github.com/nexus-run/nexus/internal/builtin"
)

// BenchmarkLoad loads generated random DAGs of target modules (depends_on
// edges) and of exec modules (config references). heap-MB is the live heap
// right after a load, with the Config still referenced; peak-rss-MB is the
// process's resident high-water mark so far (an upper bound on the load's
// peak, since it includes what ran before); cpu-ms/op is the
// process's CPU time per load (all threads, GC included), which a busy
// machine does not inflate the way it does ns/op.
func BenchmarkLoad(b *testing.B) {
	for _, gen := range []struct {
		name string
		fn   func(int, int64) map[string][]byte
	}{
		{"depends_on", configtest.GenerateDAG},
		{"refs", configtest.GenerateRefDAG},
	} {
		for _, n := range []int{1000, 10000} {
			b.Run(fmt.Sprintf("%s/n=%d", gen.name, n), func(b *testing.B) {
				files := gen.fn(n, 1)
				opts := config.Options{Registry: builtin.Registry(), Env: map[string]string{}}
				var cfg *config.Config
				b.ReportAllocs()
				cpu0 := cpuTime()
				for b.Loop() {
					c, diags := config.Load("", files, opts)
					if diags.HasErrors() {
						b.Fatalf("got: %v\nwant: no errors", diags)
					}
					cfg = c
				}
				b.StopTimer()
				b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
				if len(cfg.Modules) != n {
					b.Fatalf("got: %d modules\nwant: %d", len(cfg.Modules), n)
				}
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MB")
				b.ReportMetric(float64(peakRSS())/(1<<20), "peak-rss-MB")
				runtime.KeepAlive(cfg)
			})
		}
	}
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is the process's maximum resident set size, in bytes.
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss << 10 // kilobytes on Linux
}
