package hello_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/examples/custom-module/hello"
	"github.com/nexus-run/nexus/modules"
)

func config(listen, message string) modules.Config {
	return modules.NewConfig(cty.ObjectVal(map[string]cty.Value{
		"listen":  cty.StringVal(listen),
		"message": cty.StringVal(message),
	}))
}

// TestHello_servesAndReconfigures drives the kind through its lifecycle the
// way the daemon does, without one: start, greet, change the message in
// place, stop.
func TestHello_servesAndReconfigures(t *testing.T) {
	reg := modules.NewRegistry()
	reg.MustRegister(hello.Manifest(), hello.New)
	manifest, factory, err := reg.Lookup("hello")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config("127.0.0.1:0", "hi")
	if err := manifest.Validate(cfg); err != nil {
		t.Fatal(err)
	}
	inst := modules.NewInstance(factory(), modules.InstanceOptions{
		Spec:   modules.Spec{Address: "module.web.hello", ID: "web/hello", Kind: "hello", Timeouts: modules.DefaultTimeouts},
		Config: cfg,
	})
	ctx := context.Background()
	if h := inst.Health(ctx); h.Ready {
		t.Errorf("got: ready before start: %+v", h)
	}
	for _, tr := range []modules.Transition{modules.TransitionInit, modules.TransitionLoad, modules.TransitionStart} {
		if err := inst.Do(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	h := inst.Health(ctx)
	if !h.Ready {
		t.Fatalf("got: %+v\nwant: ready once started", h)
	}
	addr := strings.TrimPrefix(h.Details["detail"], "serving on ")
	if got := get(t, addr); got != "hi" {
		t.Errorf("got: %q\nwant: hi", got)
	}
	if err := inst.Reconfigure(ctx, config("127.0.0.1:0", "hello again")); err != nil {
		t.Fatal(err)
	}
	if got := get(t, addr); got != "hello again" {
		t.Errorf("after Reconfigure got: %q\nwant: hello again", got)
	}
	if req, _ := inst.Context().Counts(); req != 2 {
		t.Errorf("got: %d tracked requests\nwant: 2", req)
	}
	for _, tr := range []modules.Transition{modules.TransitionStop, modules.TransitionUnload} {
		if err := inst.Do(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := http.Get("http://" + addr + "/"); err == nil {
		t.Error("the server still answers after Stop")
	}
}

func TestManifest_validateRejectsABadAddress(t *testing.T) {
	err := hello.Manifest().Validate(config("nowhere", "x"))
	if err == nil || !strings.Contains(err.Error(), `like "127.0.0.1:9200"`) {
		t.Errorf("got: %v\nwant: an error that shows a valid address", err)
	}
}

func get(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
