package rbac

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
)

// HashToken returns the hex SHA-256 of token: what `nexus token hash` prints
// and what a principal's token_sha256 holds. The token is hashed as given;
// callers reading it from a terminal or file trim the trailing newline.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Authenticate maps a bearer token to the principal that holds it. The
// token's SHA-256 is compared in constant time against every principal's
// token hash, and the loop never stops early, so the time it takes depends
// only on how many principals have tokens. The empty token authenticates no
// one.
func (p *Policy) Authenticate(token string) (principal string, ok bool) {
	if p == nil || token == "" || len(p.tokens) == 0 {
		return "", false
	}
	sum := sha256.Sum256([]byte(token))
	found, index := 0, 0
	for i := range p.tokens {
		eq := p.compare(sum[:], p.tokens[i].sum[:])
		index = subtle.ConstantTimeSelect(eq, i, index)
		found |= eq
	}
	if found != 1 {
		return "", false
	}
	return p.tokens[index].principal, true
}
