package daemon

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nexus-run/nexus/modules"
	"github.com/nexus-run/nexus/planner"
)

// sealer encrypts the config of sensitive modules in the plans the daemon
// hands out (AES-256-GCM, with a key derived from the daemon's key), so a
// plan shown in CI or saved to a file reveals none of it, and the daemon can
// still apply exactly what was planned.
type sealer struct{ aead cipher.AEAD }

func newSealer(daemonKey []byte) (*sealer, error) {
	k := sha256.Sum256(append([]byte("nexus plan seal\x00"), daemonKey...))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

// seal moves each sensitive module's desired config into SealedConfig.
func (s *sealer) seal(p *planner.Plan) error {
	for _, c := range p.Changes {
		if c.After == nil || !c.After.Sensitive {
			continue
		}
		buf, err := json.Marshal(c.After.Config)
		if err != nil {
			return fmt.Errorf("seal %s: %w", c.Address, err)
		}
		nonce := make([]byte, s.aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return err
		}
		c.SealedConfig = s.aead.Seal(nonce, nonce, buf, []byte(c.Address))
		after := *c.After
		after.Config = modules.NewConfig(emptyObject)
		c.After = &after
		if c.Before != nil {
			before := *c.Before
			before.Config = modules.NewConfig(emptyObject)
			c.Before = &before
		}
	}
	return nil
}

var errUnseal = errors.New("the plan's sealed config does not open with this daemon's key (was the plan made by another daemon, or edited?)")

// unseal restores the configs seal moved away.
func (s *sealer) unseal(p *planner.Plan) error {
	for _, c := range p.Changes {
		if len(c.SealedConfig) == 0 {
			continue
		}
		n := s.aead.NonceSize()
		if len(c.SealedConfig) < n || c.After == nil {
			return fmt.Errorf("%s: %w", c.Address, errUnseal)
		}
		buf, err := s.aead.Open(nil, c.SealedConfig[:n], c.SealedConfig[n:], []byte(c.Address))
		if err != nil {
			return fmt.Errorf("%s: %w", c.Address, errUnseal)
		}
		var cfg modules.Config
		if err := json.Unmarshal(buf, &cfg); err != nil {
			return fmt.Errorf("%s: %w", c.Address, errUnseal)
		}
		after := *c.After
		after.Config = cfg
		c.After = &after
		c.SealedConfig = nil
	}
	return nil
}
