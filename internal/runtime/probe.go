package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/nexus-run/nexus/modules"
)

// prober runs the checks of `health` blocks. It is shared by all modules of
// a runtime and safe for concurrent use.
type prober struct {
	client *http.Client
	dialer net.Dialer
}

func newProber() *prober {
	return &prober{client: &http.Client{
		// A check talks to the module directly: no proxy, no connection
		// kept between checks (as Kubernetes probes), no redirect followed
		// (a 3xx answer is up).
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// probe runs hc's check once, bounded by ctx (which carries the check's
// timeout). dir is the directory an exec check runs in.
func (p *prober) probe(ctx context.Context, hc *modules.HealthCheck, id, dir string) error {
	var err error
	switch {
	case hc.HTTP != "":
		err = p.http(ctx, hc.HTTP)
	case hc.TCP != "":
		err = p.tcp(ctx, hc.TCP)
	case len(hc.Exec) > 0:
		err = p.exec(ctx, hc.Exec, id, dir)
	default:
		return errors.New("the health block sets none of http, tcp and exec")
	}
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s: no answer within %s", checkName(hc), hc.Timeout)
	}
	return err
}

func (p *prober) http(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("http check: %w", err)
	}
	req.Header.Set("User-Agent", "nexus-health-check")
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("http check: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("http check: GET %s answered %s", url, resp.Status)
	}
	return nil
}

func (p *prober) tcp(ctx context.Context, addr string) error {
	conn, err := p.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("tcp check: %w", err)
	}
	return conn.Close()
}

// checkEnv is the environment of an exec check: enough to find and run a
// program, and none of the daemon's other variables (which may hold its
// own credentials).
func checkEnv(id string) []string {
	env := []string{"NEXUS_MODULE_ID=" + id}
	for _, k := range []string{"PATH", "HOME", "USER", "LANG", "TZ", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func (p *prober) exec(ctx context.Context, argv []string, id, dir string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = dir, checkEnv(id)
	out := &tailBuffer{max: 512}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, killed whole at the timeout, so a check that
	// forks cannot outlive it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if err == nil {
		return nil
	}
	msg := strings.TrimSpace(out.String())
	if msg != "" {
		return fmt.Errorf("exec check %q: %w: %s", argv[0], err, msg)
	}
	return fmt.Errorf("exec check %q: %w", argv[0], err)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return t.buf.String() }
