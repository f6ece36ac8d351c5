package exec

import (
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/nexus-run/nexus/internal/kindtest"
	"github.com/nexus-run/nexus/internal/procgroup"
	"github.com/nexus-run/nexus/modules"
)

// fakeCgroupParent makes a directory that looks like a cgroup v2 group
// offering controllers (a real cgroupfs is not writable in every test
// environment; the kernel side is covered by TestCgroup_realPlacement).
func fakeCgroupParent(t *testing.T, controllers string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{"cgroup.controllers": controllers, "cgroup.subtree_control": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCreateCgroup_writesTheLimits(t *testing.T) {
	parent := fakeCgroupParent(t, "cpuset cpu io memory pids\n")
	child := filepath.Join(parent, "nexus-x")
	// cgroupfs creates the control files with the directory; so does the fake.
	if err := os.Mkdir(child, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"memory.max", "memory.swap.max", "cpu.max"} {
		os.WriteFile(filepath.Join(child, f), []byte("max\n"), 0o644)
	}
	cg, err := createCgroup(parent, "nexus-x", modules.Limits{MemoryMB: 64, CPUPercent: 150})
	if err != nil {
		t.Fatal(err)
	}
	defer cg.f.Close()
	for file, want := range map[string]string{
		"memory.max": "67108864", "memory.swap.max": "0", "cpu.max": "150000 100000",
	} {
		if b, _ := os.ReadFile(filepath.Join(child, file)); string(b) != want {
			t.Errorf("%s: got: %q, want: %q", file, b, want)
		}
	}
	// A plain file keeps only the last write; the kernel's subtree_control
	// accumulates them.
	if b, _ := os.ReadFile(filepath.Join(parent, "cgroup.subtree_control")); !strings.HasPrefix(string(b), "+") {
		t.Errorf("got: subtree_control %q, want: controllers enabled", b)
	}
}

func TestCreateCgroup_missingController(t *testing.T) {
	parent := fakeCgroupParent(t, "cpu pids\n")
	_, err := createCgroup(parent, "nexus-x", modules.Limits{MemoryMB: 64})
	if err == nil || !strings.Contains(err.Error(), "no memory controller") {
		t.Errorf("got: %v, want: an error naming the missing memory controller", err)
	}
	if _, err := os.Stat(filepath.Join(parent, "nexus-x")); err == nil {
		t.Error("got: a child group left behind, want: none")
	}
}

func TestPrepareLimits_fallsBackToRlimits(t *testing.T) {
	lim := modules.Limits{MemoryMB: 64, CPUPercent: 50}
	if cg, err := newCgroup(lim, "nexus-test-probe"); err == nil {
		cg.remove()
		t.Skip("cgroup v2 limits apply on this host")
	}
	tests := map[string]struct {
		lim      modules.Limits
		wantMode string
		wantNote string
	}{
		"no limits":        {modules.Limits{}, limitsNone, ""},
		"memory and cpu":   {lim, limitsRlimit, "cpu_percent not enforced"},
		"cpu only":         {modules.Limits{CPUPercent: 50}, limitsNone, "cpu_percent not enforced"},
		"memory only note": {modules.Limits{MemoryMB: 64}, limitsRlimit, "RLIMIT_AS"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			a := prepareLimits(tt.lim, "test/x", &osexec.Cmd{})
			if a.mode != tt.wantMode || !strings.Contains(a.note, tt.wantNote) {
				t.Errorf("got: mode %q note %q, want: mode %q, a note with %q", a.mode, a.note, tt.wantMode, tt.wantNote)
			}
		})
	}
}

// TestCgroup_realPlacement starts a process born in a real cgroup v2 group
// (CLONE_INTO_CGROUP), reads its cpu, and removes the group, which kills the
// process. It needs a writable cgroup2 mount, with or without controllers.
func TestCgroup_realPlacement(t *testing.T) {
	mountinfo, _ := os.ReadFile("/proc/self/mountinfo")
	self, _ := os.ReadFile("/proc/self/cgroup")
	mount, ok1 := parseCgroup2Mount(mountinfo)
	own, ok2 := parseOwnCgroup(self)
	if !ok1 || !ok2 {
		t.Skip("no cgroup2 mount")
	}
	cg, err := createCgroup(filepath.Join(mount, own), cgroupName("test/placement"), modules.Limits{})
	if err != nil {
		t.Skipf("cgroup2 not writable here: %v", err)
	}
	cmd := osexec.Command(helperPath, "sleep", "1h")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.fd()}
	g, err := procgroup.Start(cmd, nil, nil)
	if err != nil {
		cg.remove()
		t.Fatal(err)
	}
	p := procOf(t, g.Pid())
	if b, _ := os.ReadFile("/proc/" + strconv.Itoa(g.Pid()) + "/cgroup"); !strings.Contains(string(b), cgroupName("test/placement")) {
		t.Errorf("got: /proc/pid/cgroup %q, want: the process in its group", b)
	}
	if _, err := cg.cpuSeconds(); err != nil {
		t.Errorf("cpu.stat: %v", err)
	}
	if err := cg.remove(); err != nil {
		t.Fatal(err)
	}
	kindtest.Eventually(t, p.gone, "the process outlived its cgroup's removal")
	<-g.Done()
	if _, err := os.Stat(cg.dir); !os.IsNotExist(err) {
		t.Errorf("got: %v, want: the group removed", err)
	}
}

func TestCgroupName_isSafeAndUnique(t *testing.T) {
	a, b := cgroupName(`tasks/report["daily"]`), cgroupName(`tasks/report["daily "]`)
	if a == b {
		t.Errorf("got: the same name %q for two ids, want: distinct", a)
	}
	if strings.ContainsAny(a, `/[]" `) || !strings.HasPrefix(a, "nexus-tasks_report_daily-") {
		t.Errorf("got: %q, want: a plain directory name", a)
	}
}

func TestParseCgroup2Mount(t *testing.T) {
	tests := map[string]struct {
		in   string
		want string
		ok   bool
	}{
		"hybrid": {
			"35 25 0:30 / /sys/fs/cgroup/memory rw,relatime shared:12 - cgroup cgroup rw,memory\n" +
				"36 25 0:31 / /sys/fs/cgroup/unified rw,relatime shared:13 - cgroup2 cgroup2 rw\n",
			"/sys/fs/cgroup/unified", true,
		},
		"escaped space": {"1 0 0:1 / /mnt/cg\\040two rw - cgroup2 none rw\n", "/mnt/cg two", true},
		"none":          {"1 0 0:1 / / rw - ext4 /dev/sda rw\n", "", false},
		"garbage":       {"- -\n\n", "", false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := parseCgroup2Mount([]byte(tt.in))
			if got != tt.want || ok != tt.ok {
				t.Errorf("got: %q, %v, want: %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseOwnCgroup(t *testing.T) {
	got, ok := parseOwnCgroup([]byte("4:memory:/x\n0::/system.slice/nexus.service\n"))
	if !ok || got != "/system.slice/nexus.service" {
		t.Errorf("got: %q, %v, want: the v2 path", got, ok)
	}
	if _, ok := parseOwnCgroup([]byte("4:memory:/x\n")); ok {
		t.Error("got: a path from a v1-only file, want: none")
	}
}

func FuzzParseCgroupFiles(f *testing.F) {
	f.Add([]byte("36 25 0:31 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n0::/a\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, ok := parseCgroup2Mount(b); ok && p == "" {
			t.Errorf("got: an empty mount point reported found")
		}
		if p, ok := parseOwnCgroup(b); ok && !strings.HasPrefix(p, "/") {
			t.Errorf("got: %q, want: an absolute cgroup path", p)
		}
	})
}
