package audit

import (
	"reflect"
	"testing"
)

// TestBody_mirrorsRecord guards the hash's definition: body must hold
// Record's fields, tags and order, without Hash.
func TestBody_mirrorsRecord(t *testing.T) {
	rt, bt := reflect.TypeFor[Record](), reflect.TypeFor[body]()
	if bt.NumField() != rt.NumField()-1 || rt.Field(rt.NumField()-1).Name != "Hash" {
		t.Fatalf("got: body with %d fields, want: Record's %d minus Hash (last)", bt.NumField(), rt.NumField())
	}
	for i := range bt.NumField() {
		r, b := rt.Field(i), bt.Field(i)
		if r.Name != b.Name || r.Type != b.Type || r.Tag != b.Tag {
			t.Errorf("field %d got: %s %s %q, want: %s %s %q", i, b.Name, b.Type, b.Tag, r.Name, r.Type, r.Tag)
		}
	}
}

func TestChain_link(t *testing.T) {
	var c chain
	r1 := Record{Type: TypePlan, Outcome: OutcomeOK}
	line1, c1, err := c.link(&r1, t0)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Seq != 1 || r1.Prev != GenesisPrev || c1.head != (Head{Seq: 1, Hash: r1.Hash}) || c1.prev != lineHash(line1) {
		t.Errorf("first link got: %+v, chain %+v", r1, c1)
	}
	if c != (chain{}) {
		t.Errorf("link changed its receiver")
	}
	r2 := Record{Type: TypePlan, Outcome: OutcomeOK}
	if _, c2, _ := c1.link(&r2, t0); r2.Seq != 2 || r2.Prev != lineHash(line1) || c2.head.Seq != 2 {
		t.Errorf("second link got: %+v", r2)
	}
}
