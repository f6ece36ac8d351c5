package modules_test

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/modules"
)

// greeter is a custom kind: it greets someone when it starts, greets again
// when its name changes in place, and runs a background worker while
// started.
type greeter struct {
	mc *modules.Context

	mu   sync.Mutex
	name string
}

type greeterSettings struct {
	Name string `json:"name"`
}

func decodeGreeter(c modules.Config) (greeterSettings, error) {
	var s greeterSettings
	if err := c.Decode(&s); err != nil {
		return s, err
	}
	if s.Name == "" {
		return s, errors.New("name must not be empty")
	}
	return s, nil
}

// greeterManifest declares the kind: its name, version, the permission
// applying it requires, and its config schema.
func greeterManifest() modules.Manifest {
	return modules.Manifest{
		Kind:        "greeter",
		Version:     "1.0.0",
		Description: "Greets someone.",
		Permissions: []string{"greeter.greet"},
		Config: modules.Schema{Attributes: map[string]*modules.Attribute{
			"name": {Type: cty.String, Default: cty.StringVal("world"), HotReload: true, Description: "Who to greet."},
		}},
		Validate: func(c modules.Config) error { _, err := decodeGreeter(c); return err },
	}
}

func (g *greeter) Init(_ context.Context, mc *modules.Context) error {
	g.mc = mc
	return nil
}

func (g *greeter) Load(context.Context) error { return nil }

func (g *greeter) Start(context.Context) error {
	s, err := decodeGreeter(g.mc.Config())
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.name = s.Name
	g.mu.Unlock()
	fmt.Println("hello,", s.Name)
	// Long-lived work goes into goroutines the module's Context owns: they
	// are cancelled and awaited when the module stops, and one returning on
	// its own would count as the module exiting.
	g.mc.Go("worker", func(ctx context.Context) error {
		<-ctx.Done()
		fmt.Println("worker stopped")
		return nil
	})
	return nil
}

func (g *greeter) Stop(context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	fmt.Println("goodbye,", g.name)
	return nil
}

func (g *greeter) Unload(context.Context) error { return nil }

// Reconfigure applies a new name in place (the schema marks it HotReload).
func (g *greeter) Reconfigure(_ context.Context, cfg modules.Config) error {
	s, err := decodeGreeter(cfg)
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.name = s.Name
	g.mu.Unlock()
	fmt.Println("hello again,", s.Name)
	return nil
}

func (g *greeter) Health(context.Context) modules.Health {
	g.mu.Lock()
	defer g.mu.Unlock()
	return modules.Healthy("greeting " + g.name)
}

var (
	_ modules.Module       = (*greeter)(nil)
	_ modules.Reconfigurer = (*greeter)(nil)
)

// A third party writes a kind as a Go type with a manifest, registers it in
// the Registry its nexus build's main creates (next to the built-in kinds),
// and the runtime drives each module of that kind through an Instance, as
// this example does by hand.
func Example_customKind() {
	reg := modules.NewRegistry()
	if err := reg.Register(greeterManifest(), func() modules.Module { return &greeter{} }); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("kinds:", reg.Kinds())

	manifest, factory, err := reg.Lookup("greeter")
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := modules.NewConfig(cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("nexus")}))
	if err := manifest.Validate(cfg); err != nil {
		fmt.Println(err)
		return
	}
	inst := modules.NewInstance(factory(), modules.InstanceOptions{
		Spec:   modules.Spec{Address: "module.demo.greeter", ID: "demo/greeter", Kind: "greeter", Timeouts: modules.DefaultTimeouts},
		Config: cfg,
	})
	ctx := context.Background()
	for _, t := range []modules.Transition{modules.TransitionInit, modules.TransitionLoad, modules.TransitionStart} {
		if err := inst.Do(ctx, t); err != nil {
			fmt.Println(err)
			return
		}
	}
	h := inst.Health(ctx)
	fmt.Println(h.Status, h.Ready, h.Details["detail"])

	renamed := modules.NewConfig(cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("platform team")}))
	if err := inst.Reconfigure(ctx, renamed); err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range []modules.Transition{modules.TransitionStop, modules.TransitionUnload} {
		if err := inst.Do(ctx, t); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println(inst.State())
	// Output:
	// kinds: [greeter]
	// hello, nexus
	// healthy true greeting nexus
	// hello again, platform team
	// goodbye, platform team
	// worker stopped
	// unloaded
}
