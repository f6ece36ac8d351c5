package procgroup

import (
	"os"
	"sort"
)

// inherited names the variables a child takes from the daemon's own
// environment; nothing else of the daemon's environment (its tokens, its
// VAULT_* settings) reaches a child.
var inherited = [...]string{"PATH", "HOME", "USER", "LANG", "TZ", "TMPDIR"}

// Env returns a clean environment for a child: PATH, HOME, USER, LANG, TZ
// and TMPDIR when they are set in the daemon's environment, then each map of
// sets in order (a later value wins), as sorted "NAME=value" strings.
func Env(sets ...map[string]string) []string {
	vars := make(map[string]string, len(inherited))
	for _, name := range inherited {
		if v, ok := os.LookupEnv(name); ok {
			vars[name] = v
		}
	}
	for _, set := range sets {
		for k, v := range set {
			vars[k] = v
		}
	}
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}
