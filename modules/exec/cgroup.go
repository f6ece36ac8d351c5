package exec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nexus-run/nexus/modules"
)

// cpuPeriod is the cpu.max period, in microseconds (the kernel's default).
const cpuPeriod = 100000

// cgroup is a module's cgroup v2 child group.
type cgroup struct {
	dir string
	f   *os.File // the open directory, for CLONE_INTO_CGROUP
}

// newCgroup creates the module's cgroup with its limits under the daemon's
// own cgroup, or under that cgroup's parent (systemd's DelegateSubgroup=
// layout, where the daemon sits in a leaf of its delegated service group).
// The error says why neither can be used.
func newCgroup(lim modules.Limits, id string) (*cgroup, error) {
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	mount, ok := parseCgroup2Mount(mountinfo)
	if !ok {
		return nil, errors.New("no cgroup2 file system is mounted")
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	own, ok := parseOwnCgroup(self)
	if !ok {
		return nil, errors.New("the daemon is in no cgroup v2 group")
	}
	parents := []string{filepath.Join(mount, own)}
	if own != "/" {
		parents = append(parents, filepath.Join(mount, filepath.Dir(own)))
	}
	var first error
	for _, parent := range parents {
		cg, err := createCgroup(parent, cgroupName(id), lim)
		if err == nil {
			return cg, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// cgroupName is a cgroup directory name for a module id: readable, and
// unique thanks to a hash of the id.
func cgroupName(id string) string {
	sum := sha256.Sum256([]byte(id))
	return "nexus-" + strings.Trim(unsafeName.ReplaceAllString(id, "_"), "_") + "-" + hex.EncodeToString(sum[:4])
}

// controllers returns the controllers lim needs.
func controllers(lim modules.Limits) []string {
	var need []string
	if lim.MemoryMB > 0 {
		need = append(need, "memory")
	}
	if lim.CPUPercent > 0 {
		need = append(need, "cpu")
	}
	return need
}

// createCgroup creates parent/name with lim's limits. The controllers lim
// needs must be available in parent and are enabled for its children; the
// memory controller is enabled too when available, for accounting.
func createCgroup(parent, name string, lim modules.Limits) (*cgroup, error) {
	avail, err := os.ReadFile(filepath.Join(parent, "cgroup.controllers"))
	if err != nil {
		return nil, err
	}
	have := strings.Fields(string(avail))
	enable := controllers(lim)
	for _, c := range enable {
		if !slices.Contains(have, c) {
			return nil, fmt.Errorf("cgroup %s has no %s controller", parent, c)
		}
	}
	if lim.MemoryMB == 0 && slices.Contains(have, "memory") {
		enable = append(enable, "memory")
	}
	for _, c := range enable {
		if err := writeFile(filepath.Join(parent, "cgroup.subtree_control"), "+"+c); err != nil {
			return nil, fmt.Errorf("enable the %s controller in %s: %w", c, parent, err)
		}
	}
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	if err := setLimits(dir, lim); err != nil {
		os.Remove(dir)
		return nil, err
	}
	f, err := os.Open(dir)
	if err != nil {
		os.Remove(dir)
		return nil, err
	}
	return &cgroup{dir: dir, f: f}, nil
}

func setLimits(dir string, lim modules.Limits) error {
	if lim.MemoryMB > 0 {
		if err := writeFile(filepath.Join(dir, "memory.max"), strconv.FormatInt(int64(lim.MemoryMB)<<20, 10)); err != nil {
			return fmt.Errorf("set memory.max: %w", err)
		}
		// Without swap off, memory.max only moves the excess to swap.
		// Kernels without swap accounting have no such file.
		if err := writeFile(filepath.Join(dir, "memory.swap.max"), "0"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("set memory.swap.max: %w", err)
		}
	}
	if lim.CPUPercent > 0 {
		quota := lim.CPUPercent * cpuPeriod / 100
		if err := writeFile(filepath.Join(dir, "cpu.max"), fmt.Sprintf("%d %d", quota, cpuPeriod)); err != nil {
			return fmt.Errorf("set cpu.max: %w", err)
		}
	}
	return nil
}

// writeFile writes a cgroup control file, which exists already: it is never
// created (cgroupfs refuses that anyway).
func writeFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	return errors.Join(err, f.Close())
}

func (c *cgroup) fd() int { return int(c.f.Fd()) }

// cpuSeconds reads usage_usec from cpu.stat.
func (c *cgroup) cpuSeconds() (float64, error) {
	buf, err := os.ReadFile(filepath.Join(c.dir, "cpu.stat"))
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(buf) {
		if v, ok := bytes.CutPrefix(line, []byte("usage_usec ")); ok {
			usec, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
			return float64(usec) / 1e6, err
		}
	}
	return 0, fmt.Errorf("%s/cpu.stat has no usage_usec", c.dir)
}

// memoryBytes reads memory.current (absent without the memory controller).
func (c *cgroup) memoryBytes() (uint64, error) {
	buf, err := os.ReadFile(filepath.Join(c.dir, "memory.current"))
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(string(bytes.TrimSpace(buf)), 10, 64)
}

// remove kills every process in the cgroup, including those that left the
// process group, and removes it, waiting a few seconds for them to be gone.
func (c *cgroup) remove() error {
	c.f.Close()
	if err := writeFile(filepath.Join(c.dir, "cgroup.kill"), "1"); err != nil {
		// Before Linux 5.14 there is no cgroup.kill: kill each process.
		procs, _ := os.ReadFile(filepath.Join(c.dir, "cgroup.procs"))
		for _, f := range strings.Fields(string(procs)) {
			if pid, err := strconv.Atoi(f); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	deadline := time.Now().Add(killTimeout)
	for {
		err := os.Remove(c.dir)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("remove cgroup %s: %w", c.dir, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// killTimeout bounds the wait for killed processes to be gone.
const killTimeout = 5 * time.Second

// parseCgroup2Mount returns the mount point of the cgroup2 file system from
// /proc/self/mountinfo. Each line is "id parent major:minor root mountpoint
// options [optional fields] - fstype source superoptions", with spaces in
// paths escaped as \040.
func parseCgroup2Mount(mountinfo []byte) (string, bool) {
	for line := range strings.Lines(string(mountinfo)) {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		fields, fstype := strings.Fields(pre), strings.Fields(post)
		if len(fields) >= 5 && len(fstype) > 0 && fstype[0] == "cgroup2" {
			return unescapeMount(fields[4]), true
		}
	}
	return "", false
}

var mountEscapes = strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)

func unescapeMount(s string) string { return mountEscapes.Replace(s) }

// parseOwnCgroup returns the daemon's cgroup v2 path from /proc/self/cgroup,
// the line "0::/path".
func parseOwnCgroup(b []byte) (string, bool) {
	for line := range strings.Lines(string(b)) {
		if p, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "0::"); ok && strings.HasPrefix(p, "/") {
			return filepath.Clean(p), true
		}
	}
	return "", false
}
