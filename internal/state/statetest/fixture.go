package statetest

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/modules"
	"github.com/zclconf/go-cty/cty"
)

// epoch is the fixed base time of fixtures, so documents are reproducible
// from their serial alone (fault tests rebuild what a killed writer wrote).
var epoch = time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC)

// Module returns a module record for address module.<group>.m<i> with every
// field set, its values derived from i and rev: two calls with the same
// arguments return equal records, and a different rev changes most fields.
func Module(i int, rev uint64) *state.Module {
	addr := Address(i)
	started := epoch.Add(time.Duration(rev) * time.Second)
	stopped := started.Add(90 * time.Minute)
	secret := modules.SecretRef{Provider: "vault", Path: fmt.Sprintf("kv/app%d", i%7), Key: "api_key"}
	cfg := modules.NewConfig(cty.ObjectVal(map[string]cty.Value{
		"command":  cty.ListVal([]cty.Value{cty.StringVal("./bin/worker"), cty.StringVal(fmt.Sprintf("--shard=%d", i))}),
		"env":      cty.MapVal(map[string]cty.Value{"LISTEN": cty.StringVal(fmt.Sprintf("127.0.0.1:%d", 9000+i%1000)), "TOKEN": cty.StringVal(secret.Placeholder())}),
		"interval": cty.StringVal(fmt.Sprintf("%ds", 1+rev%60)),
		"replicas": cty.NumberIntVal(int64(i%5 + 1)),
		"verbose":  cty.BoolVal(rev%2 == 0),
	}))
	whole, attrs := cfg.Digests()
	return &state.Module{
		Spec: modules.Spec{
			Address:        addr,
			ID:             fmt.Sprintf("g%d/m%d", i%10, i),
			Kind:           "exec",
			Version:        fmt.Sprintf("1.%d.%d", i%3, rev%10),
			Config:         cfg,
			Secrets:        []modules.SecretRef{secret},
			DependsOn:      []string{Address((i + 1) % 1000)},
			After:          []string{Address((i + 2) % 1000)},
			Permissions:    []string{"heartbeat.send", "module.start"},
			Sensitive:      i%4 == 0,
			DesiredState:   modules.DesiredStarted,
			OnSecretChange: modules.OnSecretReload,
			Health: &modules.HealthCheck{
				HTTP:             fmt.Sprintf("http://127.0.0.1:%d/healthz", 9000+i%1000),
				Interval:         modules.Duration(2 * time.Second),
				Timeout:          modules.Duration(time.Second),
				FailureThreshold: 3,
			},
			Restart:  modules.DefaultRestartPolicy,
			Limits:   modules.Limits{MemoryMB: 128, CPUPercent: 50},
			Timeouts: modules.DefaultTimeouts,
		},
		ConfigDigest:       whole,
		AttrDigests:        attrs,
		SecretFingerprints: map[string]string{secret.String(): fmt.Sprintf("hmac-sha256:%064x", rev)},
		State:              modules.StateStarted,
		StartedAt:          &started,
		StoppedAt:          &stopped,
		UptimeSeconds:      float64(rev) + 0.25,
		Restarts:           int(rev % 17),
		LastError:          fmt.Sprintf("exit status %d", rev%3),
		Usage:              modules.Usage{CPUSeconds: float64(rev) / 8, MemoryMB: 64.5, RequestsTotal: rev * 1000, ErrorsTotal: rev % 13},
		Blob:               []byte(fmt.Sprintf("blob-%d-%d", i, rev)),
		UpdatedAt:          started,
	}
}

// Address returns the address of fixture module i: module.g<i%10>.m<i>.
func Address(i int) string { return fmt.Sprintf("module.g%d.m%d", i%10, i) }

// Document returns a document of project with n fixture modules at serial,
// lineage fixed so that equal arguments give equal documents.
func Document(project, lineage string, n int, serial uint64) *state.State {
	s := &state.State{Version: state.FormatVersion, Lineage: lineage, Serial: serial, Project: project, Modules: make(map[string]*state.Module, n)}
	for i := range n {
		m := Module(i, serial)
		s.Modules[m.Spec.Address] = m
	}
	return s
}

// Diff returns "" when a and b hold the same document, or a description of
// the first difference (modules compared by their JSON encoding, so times and
// configs compare by value, not by representation).
func Diff(got, want *state.State) string {
	switch {
	case got == nil || want == nil:
		if got != want {
			return fmt.Sprintf("got: %v\nwant: %v", got, want)
		}
		return ""
	case got.Version != want.Version || got.Lineage != want.Lineage || got.Serial != want.Serial || got.Project != want.Project:
		return fmt.Sprintf("header differs\ngot:  version %d lineage %s serial %d project %q\nwant: version %d lineage %s serial %d project %q",
			got.Version, got.Lineage, got.Serial, got.Project, want.Version, want.Lineage, want.Serial, want.Project)
	}
	for _, addr := range want.Addresses() {
		g, ok := got.Modules[addr]
		if !ok {
			return fmt.Sprintf("module %s missing", addr)
		}
		gj, wj := mustJSON(g), mustJSON(want.Modules[addr])
		if gj != wj {
			return fmt.Sprintf("module %s differs\ngot:  %s\nwant: %s", addr, gj, wj)
		}
	}
	for _, addr := range got.Addresses() {
		if _, ok := want.Modules[addr]; !ok {
			return fmt.Sprintf("unexpected module %s", addr)
		}
	}
	return ""
}

func mustJSON(v any) string {
	buf, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("statetest: marshal: %v", err))
	}
	return string(buf)
}
