package secrets_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nexus-run/nexus/internal/secrets"
	"github.com/nexus-run/nexus/internal/secrets/file"
	"github.com/nexus-run/nexus/modules"
)

// memProvider is a read-only in-memory provider that counts its calls.
type memProvider struct {
	values      map[string]string // "path" or "path#key"
	gets        atomic.Int64
	closeErr    error
	closedOrder *[]string
	name        string
}

func (m *memProvider) Get(ctx context.Context, path, key string) (string, error) {
	m.gets.Add(1)
	id := path
	if key != "" {
		id += "#" + key
	}
	v, ok := m.values[id]
	if !ok {
		return "", fmt.Errorf("%w: nothing at %q", secrets.ErrNotFound, id)
	}
	return v, nil
}

// checkingProvider adds a Checker and a Close to memProvider.
type checkingProvider struct {
	memProvider
	exists atomic.Int64
}

func (c *checkingProvider) Exists(ctx context.Context, path, key string) error {
	c.exists.Add(1)
	_, err := c.memProvider.Get(ctx, path, key)
	c.memProvider.gets.Add(-1)
	return err
}

func (c *checkingProvider) Close() error {
	*c.closedOrder = append(*c.closedOrder, c.name)
	return c.closeErr
}

func newCanary(t testing.TB) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "canary-" + hex.EncodeToString(b[:])
}

// capture returns a debug logger writing JSON into the returned buffer.
func capture() (*slog.Logger, *lockedBuffer) {
	buf := &lockedBuffer{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestSet_add(t *testing.T) {
	s := secrets.NewSet()
	p := &memProvider{}
	if err := s.Add("vault", p); err != nil {
		t.Fatalf("Add: %v", err)
	}
	tests := map[string]struct {
		name string
		p    secrets.Provider
	}{
		"duplicate":  {"vault", p},
		"upper case": {"Vault", p},
		"empty":      {"", p},
		"digit":      {"1vault", p},
		"space":      {"my vault", p},
		"nil":        {"other", nil},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if err := s.Add(tt.name, tt.p); err == nil {
				t.Errorf("Add(%q) got: nil error want: an error", tt.name)
			}
		})
	}
	for _, n := range []string{"file", "env", "vault_2", "a-b"} {
		if err := s.Add(n, p); err != nil {
			t.Errorf("Add(%q): %v", n, err)
		}
	}
	if got, want := fmt.Sprint(s.Names()), "[a-b env file vault vault_2]"; got != want {
		t.Errorf("Names got: %s want: %s", got, want)
	}
	if got, ok := s.Provider("env"); !ok || got != p {
		t.Errorf("Provider(env) got: %v, %v", got, ok)
	}
	if _, ok := s.Provider("nope"); ok {
		t.Error("Provider(nope) got: ok")
	}
}

func TestSet_resolve(t *testing.T) {
	ctx := context.Background()
	secret := newCanary(t)
	s := secrets.NewSet()
	logger, logs := capture()
	s.Logger = logger
	type read struct {
		ref modules.SecretRef
		err error
	}
	var (
		mu    sync.Mutex
		reads []read
	)
	s.OnRead = func(ctx context.Context, ref modules.SecretRef, err error) {
		mu.Lock()
		defer mu.Unlock()
		reads = append(reads, read{ref, err})
	}
	if err := s.Add("mem", &memProvider{values: map[string]string{"kv/app#api_key": secret, "plain": secret}}); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		ref     modules.SecretRef
		want    string
		wantErr error
		errText string
	}{
		"with key":         {ref: modules.SecretRef{Provider: "mem", Path: "kv/app", Key: "api_key"}, want: secret},
		"without key":      {ref: modules.SecretRef{Provider: "mem", Path: "plain"}, want: secret},
		"missing":          {ref: modules.SecretRef{Provider: "mem", Path: "kv/app", Key: "nope"}, wantErr: secrets.ErrNotFound, errText: "secret mem kv/app#nope: "},
		"unknown provider": {ref: modules.SecretRef{Provider: "vault", Path: "kv/app"}, wantErr: secrets.ErrUnknownProvider, errText: "configured: mem"},
		"dot dot":          {ref: modules.SecretRef{Provider: "mem", Path: "a/../b"}, wantErr: secrets.ErrInvalidPath},
		"empty path":       {ref: modules.SecretRef{Provider: "mem", Path: ""}, wantErr: secrets.ErrInvalidPath},
		"bad provider":     {ref: modules.SecretRef{Provider: "Mem", Path: "x"}, wantErr: secrets.ErrInvalidPath},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := s.Resolve(ctx, tt.ref)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error: %v want: %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got: %q want: %q", got, tt.want)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.errText) {
					t.Errorf("error got: %q want it to contain %q", err, tt.errText)
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error contains the secret value: %q", err)
				}
			}
		})
	}
	if len(reads) != len(tests) {
		t.Fatalf("OnRead calls got: %d want: %d", len(reads), len(tests))
	}
	for _, r := range reads {
		if r.err != nil && strings.Contains(r.err.Error(), secret) {
			t.Errorf("OnRead error contains the secret value: %v", r.err)
		}
	}
	out := logs.String()
	if !strings.Contains(out, `"msg":"secret read"`) || !strings.Contains(out, `"path":"kv/app"`) || !strings.Contains(out, `"key":"api_key"`) {
		t.Errorf("log got: %s want: debug records naming provider, path and key", out)
	}
	if strings.Contains(out, secret) {
		t.Errorf("log contains the secret value:\n%s", out)
	}
}

func TestSet_check(t *testing.T) {
	ctx := context.Background()
	s := secrets.NewSet()
	var closed []string
	plain := &memProvider{values: map[string]string{"a": "v"}}
	checking := &checkingProvider{memProvider: memProvider{values: map[string]string{"a": "v"}, closedOrder: &closed}}
	var onRead atomic.Int64
	s.OnRead = func(context.Context, modules.SecretRef, error) { onRead.Add(1) }
	if err := s.Add("plain", plain); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("checking", checking); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx, modules.SecretRef{Provider: "plain", Path: "a"}); err != nil {
		t.Errorf("Check plain: %v", err)
	}
	if plain.gets.Load() != 1 {
		t.Errorf("plain Get calls got: %d want: 1 (Check falls back to Get)", plain.gets.Load())
	}
	if err := s.Check(ctx, modules.SecretRef{Provider: "checking", Path: "a"}); err != nil {
		t.Errorf("Check checking: %v", err)
	}
	if checking.exists.Load() != 1 || checking.gets.Load() != 0 {
		t.Errorf("checking calls got: exists=%d get=%d want: exists=1 get=0", checking.exists.Load(), checking.gets.Load())
	}
	err := s.Check(ctx, modules.SecretRef{Provider: "checking", Path: "b", Key: "k"})
	if !errors.Is(err, secrets.ErrNotFound) || !strings.Contains(err.Error(), "secret checking b#k") {
		t.Errorf("Check missing got: %v want: ErrNotFound naming the reference", err)
	}
	if err := s.Check(ctx, modules.SecretRef{Provider: "nope", Path: "b"}); !errors.Is(err, secrets.ErrUnknownProvider) {
		t.Errorf("Check unknown provider got: %v want: ErrUnknownProvider", err)
	}
	if onRead.Load() != 0 {
		t.Errorf("OnRead calls got: %d want: 0 (a check is not a read)", onRead.Load())
	}
}

func TestSet_writeAndList(t *testing.T) {
	ctx := context.Background()
	store, err := file.New(filepath.Join(t.TempDir(), "secrets"))
	if err != nil {
		t.Fatal(err)
	}
	s := secrets.NewSet()
	logger, logs := capture()
	s.Logger = logger
	if err := s.Add("file", store); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("ro", &memProvider{}); err != nil {
		t.Fatal(err)
	}
	secret := newCanary(t)
	ref := modules.SecretRef{Provider: "file", Path: "bus/token"}
	if err := s.Put(ctx, ref, secret); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := s.Put(ctx, modules.SecretRef{Provider: "file", Path: "db", Key: "password"}, secret); err != nil {
		t.Fatalf("Put with key: %v", err)
	}
	got, err := s.Resolve(ctx, ref)
	if err != nil || got != secret {
		t.Fatalf("Resolve after Put got: %q, %v", got, err)
	}
	paths, err := s.List(ctx, "file", "")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if fmt.Sprint(paths) != "[bus/token db]" {
		t.Errorf("List got: %v want: [bus/token db]", paths)
	}
	if err := s.Delete(ctx, ref); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := s.Check(ctx, ref); !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("Check after Delete got: %v want: ErrNotFound", err)
	}
	if err := s.Put(ctx, modules.SecretRef{Provider: "ro", Path: "x"}, "v"); !errors.Is(err, secrets.ErrUnsupported) {
		t.Errorf("Put to a read-only provider got: %v want: ErrUnsupported", err)
	}
	if err := s.Delete(ctx, modules.SecretRef{Provider: "ro", Path: "x"}); !errors.Is(err, secrets.ErrUnsupported) {
		t.Errorf("Delete on a read-only provider got: %v want: ErrUnsupported", err)
	}
	if _, err := s.List(ctx, "ro", ""); !errors.Is(err, secrets.ErrUnsupported) {
		t.Errorf("List on a provider without List got: %v want: ErrUnsupported", err)
	}
	if _, err := s.List(ctx, "nope", ""); !errors.Is(err, secrets.ErrUnknownProvider) {
		t.Errorf("List on an unknown provider got: %v want: ErrUnknownProvider", err)
	}
	if err := s.Put(ctx, modules.SecretRef{Provider: "nope", Path: "x"}, secret); !errors.Is(err, secrets.ErrUnknownProvider) {
		t.Errorf("Put to an unknown provider got: %v want: ErrUnknownProvider", err)
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("log contains the secret value:\n%s", logs)
	}
	if !strings.Contains(logs.String(), `"msg":"secret written"`) {
		t.Errorf("log got: %s want: a \"secret written\" record", logs)
	}
}

func TestSet_closeInReverseOrder(t *testing.T) {
	var closed []string
	boom := errors.New("boom")
	s := secrets.NewSet()
	for _, name := range []string{"first", "second", "third"} {
		p := &checkingProvider{memProvider: memProvider{name: name, closedOrder: &closed}}
		if name == "second" {
			p.closeErr = boom
		}
		if err := s.Add(name, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Add("plain", &memProvider{}); err != nil {
		t.Fatal(err)
	}
	err := s.Close()
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), `"second"`) {
		t.Errorf("Close got: %v want: the error of provider \"second\"", err)
	}
	if got := fmt.Sprint(closed); got != "[third second first]" {
		t.Errorf("close order got: %s want: [third second first]", got)
	}
}

func TestSet_concurrentResolve(t *testing.T) {
	s := secrets.NewSet()
	if err := s.Add("mem", &memProvider{values: map[string]string{"a": "v"}}); err != nil {
		t.Fatal(err)
	}
	var reads atomic.Int64
	s.OnRead = func(context.Context, modules.SecretRef, error) { reads.Add(1) }
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if v, err := s.Resolve(context.Background(), modules.SecretRef{Provider: "mem", Path: "a"}); err != nil || v != "v" {
					t.Errorf("Resolve got: %q, %v", v, err)
					return
				}
				_ = s.Names()
			}
		}()
	}
	wg.Wait()
	if reads.Load() != 800 {
		t.Errorf("OnRead calls got: %d want: 800", reads.Load())
	}
}

func BenchmarkSet_resolveFile(b *testing.B) {
	store, err := file.New(filepath.Join(b.TempDir(), "secrets"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	s := secrets.NewSet()
	if err := s.Add("file", store); err != nil {
		b.Fatal(err)
	}
	plain := modules.SecretRef{Provider: "file", Path: "bus/token"}
	keyed := modules.SecretRef{Provider: "file", Path: "db", Key: "password"}
	if err := s.Put(ctx, plain, newCanary(b)); err != nil {
		b.Fatal(err)
	}
	if err := s.Put(ctx, keyed, newCanary(b)); err != nil {
		b.Fatal(err)
	}
	for name, ref := range map[string]modules.SecretRef{"plain": plain, "key": keyed} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Resolve(ctx, ref); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func ExampleSet() {
	dir, err := os.MkdirTemp("", "nexus-secrets-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	store, err := file.New(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	set := secrets.NewSet()
	if err := set.Add("file", store); err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	ref := modules.SecretRef{Provider: "file", Path: "bus/token"}
	_ = set.Put(ctx, ref, "s3cr3t")
	v, _ := set.Resolve(ctx, ref)
	fmt.Println(v == "s3cr3t")
	_, err = set.Resolve(ctx, modules.SecretRef{Provider: "vault", Path: "kv/app"})
	fmt.Println(errors.Is(err, secrets.ErrUnknownProvider))
	// Output:
	// true
	// true
}
