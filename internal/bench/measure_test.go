package bench

import "testing"

func TestCPU_accumulatesOnlyMeasuredParts(t *testing.T) {
	var c CPU
	if got := c.Total(); got != 0 {
		t.Fatalf("got: %v before Start\nwant: 0", got)
	}
	c.Start()
	x := 0
	for i := range 20_000_000 {
		x ^= i
	}
	c.Stop()
	measured := c.Total()
	if measured <= 0 {
		t.Fatalf("got: %v after a busy loop (x=%d)\nwant: > 0", measured, x)
	}
	for i := range 20_000_000 {
		x ^= i
	}
	if got := c.Total(); got != measured {
		t.Fatalf("got: %v after unmeasured work\nwant: %v (x=%d)", got, measured, x)
	}
}

func TestPeakRSS_isPositive(t *testing.T) {
	if got := PeakRSS(); got <= 0 {
		t.Fatalf("got: %d\nwant: > 0", got)
	}
}
