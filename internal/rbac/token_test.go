package rbac

import (
	"crypto/subtle"
	"strings"
	"testing"
)

func TestHashToken(t *testing.T) {
	// sha256("abc") from FIPS 180-2.
	if got, want := HashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("got: %s, want: %s", got, want)
	}
}

func TestPolicy_authenticate(t *testing.T) {
	p := testPolicy(t)
	tests := map[string]struct {
		token     string
		want      string
		wantFound bool
	}{
		"right token":             {"ci-token", "ci@company.com", true},
		"another principal":       {"ops-token", "ops@company.com", true},
		"wrong token":             {"ci-token2", "", false},
		"token with newline":      {"ci-token\n", "", false},
		"empty token":             {"", "", false},
		"the hash is not a token": {HashToken("ci-token"), "", false},
		"principal without token": {"unix:1000", "", false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := p.Authenticate(tt.token)
			if got != tt.want || ok != tt.wantFound {
				t.Errorf("got: %q %v, want: %q %v", got, ok, tt.want, tt.wantFound)
			}
		})
	}
}

func TestPolicy_authenticateUppercaseHash(t *testing.T) {
	p, err := NewPolicy(nil, []Principal{{Name: "ci", TokenSHA256: strings.ToUpper(HashToken("t"))}})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := p.Authenticate("t"); !ok || got != "ci" {
		t.Errorf("got: %q %v, want: ci true", got, ok)
	}
}

// TestPolicy_authenticateConstantTime proves that every token hash goes
// through crypto/subtle's comparison on every call, whether the token
// matches the first principal, the last or none: no early exit.
func TestPolicy_authenticateConstantTime(t *testing.T) {
	var principals []Principal
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		principals = append(principals, Principal{Name: name, TokenSHA256: HashToken("token-" + name)})
	}
	principals = append(principals, Principal{Name: "no-token"})
	p, err := NewPolicy(nil, principals)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	p.compare = func(x, y []byte) int {
		calls++
		return subtle.ConstantTimeCompare(x, y)
	}
	for _, token := range []string{"token-a", "token-c", "token-e", "wrong"} {
		calls = 0
		p.Authenticate(token)
		if calls != 5 {
			t.Errorf("token %q: got: %d comparisons, want: 5 (one per principal with a token)", token, calls)
		}
	}
	q, _ := NewPolicy(nil, nil)
	if q.compare == nil || reflectFuncName(q.compare) != reflectFuncName(subtle.ConstantTimeCompare) {
		t.Errorf("got: compare %s, want: crypto/subtle.ConstantTimeCompare", reflectFuncName(q.compare))
	}
}
