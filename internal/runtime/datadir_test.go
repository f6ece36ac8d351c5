package runtime

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestDirName(t *testing.T) {
	tests := map[string]string{
		"synapse/bus":            "synapse.bus",
		`tasks/report["daily"]`:  "tasks.report%5B%22daily%22%5D",
		"tasks/report[0]":        "tasks.report%5B0%5D",
		`a/b["../../etc"]`:       "a.b%5B%22%2E%2E.%2E%2E.etc%22%5D",
		"a_b/c":                  "a_b.c",
		"a/b_c":                  "a.b_c",
		"/":                      "%2f",
		"//":                     "%2f2f",
		"with space/é":           "with%20space.%C3%A9",
		strings.Repeat("x", 300): strings.Repeat("x", 183) + "~",
	}
	for id, want := range tests {
		got := dirName(id)
		if len(id) == 300 {
			if !strings.HasPrefix(got, want) || len(got) != maxDirName {
				t.Errorf("long id got: %q (%d bytes), want: cut to %d with a hash", got, len(got), maxDirName)
			}
			continue
		}
		if got != want {
			t.Errorf("dirName(%q) got: %q, want: %q", id, got, want)
		}
	}
}

func FuzzDirName(f *testing.F) {
	f.Add("synapse/bus", "synapse.bus")
	f.Add(`tasks/report["daily"]`, "tasks/report[daily]")
	f.Add("a_b/c", "a/b_c")
	f.Add("/", ".")
	f.Fuzz(func(t *testing.T, a, b string) {
		da, db := dirName(a), dirName(b)
		for _, d := range []string{da, db} {
			if d == "" || d == "." || d == ".." || strings.ContainsAny(d, "/\x00") || len(d) > maxDirName {
				t.Fatalf("dirName gave an unsafe name %q", d)
			}
		}
		if a != b && da == db && len(da) < maxDirName {
			t.Fatalf("dirName(%q) = dirName(%q) = %q", a, b, da)
		}
	})
}

func TestModuleDir(t *testing.T) {
	if got, want := moduleDir("/var/lib/nexus", "synapse/bus"), filepath.Join("/var/lib/nexus", "modules", "synapse.bus"); got != want {
		t.Errorf("got: %s, want: %s", got, want)
	}
	if got := moduleDir("", "a/b"); got != "" {
		t.Errorf("no data dir got: %q, want: none", got)
	}
}
