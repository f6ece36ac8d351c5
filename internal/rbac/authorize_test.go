package rbac

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
)

// moduleNeeds builds n module needs, each with the four permissions of a
// create of a heartbeat-like module.
func moduleNeeds(n int) []Need {
	needs := []Need{{Permissions: []string{"apply"}}}
	for i := range n {
		needs = append(needs, Need{
			Module:      fmt.Sprintf("group/mod%03d", i),
			Permissions: []string{"module.load", "module.start", "heartbeat.send", "module.reconfigure"},
		})
	}
	return needs
}

func TestPolicy_authorize(t *testing.T) {
	p := testPolicy(t)
	fifty := moduleNeeds(50)
	fifty[37].Permissions = append(fifty[37].Permissions, "probe.check")

	tests := map[string]struct {
		principal   string
		needs       []Need
		wantMissing []Missing // nil: allowed
		wantUnknown bool
	}{
		"all granted": {
			principal: "ci@company.com",
			needs:     moduleNeeds(50),
		},
		"no needs": {
			principal: "mallory",
		},
		"one permission of one module among fifty": {
			principal:   "ci@company.com",
			needs:       fifty,
			wantMissing: []Missing{{Module: "group/mod036", Permission: "probe.check"}},
		},
		"unknown principal": {
			principal: "mallory",
			needs:     []Need{{Permissions: []string{"apply"}}, {Module: "a/b", Permissions: []string{"module.load"}}},
			wantMissing: []Missing{
				{Permission: "apply"},
				{Module: "a/b", Permission: "module.load"},
			},
			wantUnknown: true,
		},
		"principal without roles": {
			principal:   "unix:1001",
			needs:       []Need{{Permissions: []string{"plan"}}},
			wantMissing: []Missing{{Permission: "plan"}},
		},
		"sorted and without duplicates": {
			principal: "unix:1000",
			needs: []Need{
				{Module: "z/z", Permissions: []string{"module.stop", "module.start", "module.stop"}},
				{Module: "a/a", Permissions: []string{"status.read", "module.load"}},
				{Permissions: []string{"apply"}},
				{Module: "a/a", Permissions: []string{"module.load"}},
			},
			wantMissing: []Missing{
				{Permission: "apply"},
				{Module: "a/a", Permission: "module.load"},
				{Module: "z/z", Permission: "module.start"},
				{Module: "z/z", Permission: "module.stop"},
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			err := p.Authorize(tt.principal, tt.needs)
			if tt.wantMissing == nil {
				if err != nil {
					t.Fatalf("got: %v, want: nil", err)
				}
				return
			}
			if !errors.Is(err, ErrPermissionDenied) {
				t.Fatalf("got: %v, want: ErrPermissionDenied", err)
			}
			var denied *DeniedError
			if !errors.As(err, &denied) {
				t.Fatalf("got: %T, want: *DeniedError", err)
			}
			if !reflect.DeepEqual(denied.Missing, tt.wantMissing) {
				t.Errorf("Missing got: %+v, want: %+v", denied.Missing, tt.wantMissing)
			}
			if denied.Principal != tt.principal || denied.Unknown != tt.wantUnknown {
				t.Errorf("got: principal %q unknown %v, want: %q %v", denied.Principal, denied.Unknown, tt.principal, tt.wantUnknown)
			}
		})
	}
}

func TestDeniedError_message(t *testing.T) {
	tests := map[string]struct {
		err  *DeniedError
		want string
	}{
		"grouped by module": {
			err: &DeniedError{Principal: "ci", Missing: []Missing{
				{Permission: "apply"},
				{Module: "synapse/bus", Permission: "module.load"},
				{Module: "synapse/bus", Permission: "module.start"},
				{Module: "vitals/heartbeat", Permission: "heartbeat.send"},
			}},
			want: `permission denied for principal "ci": missing apply; module.load, module.start for synapse/bus; heartbeat.send for vitals/heartbeat`,
		},
		"unknown principal": {
			err:  &DeniedError{Principal: "mallory", Unknown: true, Missing: []Missing{{Permission: "plan"}}},
			want: `permission denied for principal "mallory" (not declared in the daemon config): missing plan`,
		},
		"empty permission name": {
			err:  &DeniedError{Principal: "ci", Missing: []Missing{{Module: "a/b", Permission: ""}}},
			want: `permission denied for principal "ci": missing "" for a/b`,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got:  %s\nwant: %s", got, tt.want)
			}
		})
	}
}

// BenchmarkAuthorize_100modules authorizes an apply of 100 modules with
// four permissions each; the target is under 50µs/op.
func BenchmarkAuthorize_100modules(b *testing.B) {
	p := testPolicy(b)
	needs := moduleNeeds(100)
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Authorize("ci@company.com", needs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthorize_100modulesDenied is the same apply by a principal that
// lacks everything: the cost of building the full denial.
func BenchmarkAuthorize_100modulesDenied(b *testing.B) {
	p := testPolicy(b)
	needs := moduleNeeds(100)
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Authorize("unix:1001", needs); err == nil {
			b.Fatal("got: allowed, want: denied")
		}
	}
}
