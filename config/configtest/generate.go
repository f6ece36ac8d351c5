// Package configtest generates nexus topologies for the tests and benchmarks
// of the packages that consume a loaded config (config, planner, executor):
// large, valid, deterministic file sets to feed config.Load.
package configtest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// modulesPerFile is how many module blocks one generated file holds.
const modulesPerFile = 1000

// GenerateDAG returns a topology of n `target` modules, module.dag.m<i>, as
// files of at most 1,000 blocks each ("dag_000.nexus.hcl", ...). Each module
// but the first has depends_on edges to two distinct earlier modules (one for
// the second module), picked at random: a random DAG. The same n and seed
// always give the same files.
func GenerateDAG(n int, seed int64) map[string][]byte {
	return generate(n, seed, "", func(buf *bytes.Buffer, _ int, name string, deps []string) {
		fmt.Fprintf(buf, "module \"dag\" %q {\n  kind = \"target\"\n", name)
		if len(deps) > 0 {
			buf.WriteString("  depends_on = [")
			for i, d := range deps {
				if i > 0 {
					buf.WriteString(", ")
				}
				buf.WriteString("module.dag." + d)
			}
			buf.WriteString("]\n")
		}
		buf.WriteString("}\n\n")
	})
}

// GenerateRefDAG is GenerateDAG with `exec` modules whose config refers to
// the config of the modules they depend on (module.dag.m<j>.config.env.ADDR),
// so that loading evaluates a reference per edge instead of a static list.
func GenerateRefDAG(n int, seed int64) map[string][]byte {
	return generate(n, seed, "locals {\n  host = \"127.0.0.1\"\n}\n\n", func(buf *bytes.Buffer, i int, name string, deps []string) {
		fmt.Fprintf(buf, "module \"dag\" %q {\n  kind = \"exec\"\n  config {\n    command = [\"sleep\", \"1000\"]\n", name)
		fmt.Fprintf(buf, "    env = {\n      ADDR = \"${local.host}:%d\"\n", 10000+i%50000)
		for i, d := range deps {
			fmt.Fprintf(buf, "      UP%d = module.dag.%s.config.env.ADDR\n", i, d)
		}
		buf.WriteString("    }\n  }\n}\n\n")
	})
}

// generate writes header, then n modules with random edges to earlier ones,
// block by block, through write.
func generate(n int, seed int64, header string, write func(buf *bytes.Buffer, i int, name string, deps []string)) map[string][]byte {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6e65787573))
	width := len(strconv.Itoa(max(n-1, 0)))
	name := func(i int) string { return fmt.Sprintf("m%0*d", width, i) }
	files := make(map[string][]byte)
	var buf bytes.Buffer
	flush := func(file int) {
		if buf.Len() > 0 {
			files[fmt.Sprintf("dag_%03d.nexus.hcl", file)] = bytes.Clone(buf.Bytes())
			buf.Reset()
		}
	}
	buf.WriteString(header)
	for i := 0; i < n; i++ {
		if i > 0 && i%modulesPerFile == 0 {
			flush(i/modulesPerFile - 1)
		}
		var deps []string
		switch {
		case i == 1:
			deps = []string{name(0)}
		case i > 1:
			a := rng.IntN(i)
			b := rng.IntN(i - 1)
			if b >= a {
				b++
			}
			deps = []string{name(a), name(b)}
		}
		write(&buf, i, name(i), deps)
	}
	flush((n - 1) / modulesPerFile)
	return files
}
