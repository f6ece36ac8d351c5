package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nexus-run/nexus/internal/daemoncfg"
	"github.com/nexus-run/nexus/internal/secrets"
	envsecrets "github.com/nexus-run/nexus/internal/secrets/env"
	filesecrets "github.com/nexus-run/nexus/internal/secrets/file"
	"github.com/nexus-run/nexus/internal/secrets/vault"
	"github.com/nexus-run/nexus/internal/state"
	filestate "github.com/nexus-run/nexus/internal/state/file"
	"github.com/nexus-run/nexus/internal/state/postgres"
	redisstate "github.com/nexus-run/nexus/internal/state/redis"
)

// openStore opens the configured state store; a store that cannot be
// reached is an error naming it and what to check.
func openStore(ctx context.Context, cfg *daemoncfg.Config) (state.Store, error) {
	s := cfg.State
	switch s.Type {
	case "file":
		return filestate.New(s.Path)
	case "postgres":
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		st, err := postgres.New(cctx, s.DSN, postgres.Options{Schema: s.Schema})
		if err != nil {
			return nil, fmt.Errorf("state \"postgres\": %w (check the dsn and that the server is up)", err)
		}
		return st, nil
	case "redis":
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		st, err := redisstate.New(cctx, redisstate.Options{Addr: s.Address, Password: s.Password, DB: s.DB, KeyPrefix: s.KeyPrefix, LockTTL: s.LockTTL})
		if err != nil {
			return nil, fmt.Errorf("state \"redis\": %w (check the address and that the server is up)", err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("unknown state store %q", s.Type)
}

// openSecrets opens every configured secret provider.
func openSecrets(ctx context.Context, cfg *daemoncfg.Config, lookup func(string) (string, bool), log *slog.Logger) (*secrets.Set, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	set := secrets.NewSet()
	set.Logger = log
	for _, sc := range cfg.Secrets {
		var p secrets.Provider
		var err error
		switch sc.Type {
		case "file":
			p, err = filesecrets.New(sc.Dir)
		case "env":
			p = envsecrets.New(sc.Prefix, lookup)
		case "vault":
			v := sc.Vault
			vc := vault.Config{Address: v.Address, Namespace: v.Namespace, Token: v.Token, TokenFile: v.TokenFile,
				KVVersion: v.KVVersion, Timeout: v.Timeout, Logger: log,
				TLS: vault.TLS{CACert: v.CACert, ClientCert: v.ClientCert, ClientKey: v.ClientKey, ServerName: v.ServerName, Insecure: v.Insecure}}
			if v.AppRole != nil {
				vc.AppRole = vault.AppRole{RoleID: v.AppRole.RoleID, SecretID: v.AppRole.SecretID, SecretIDFile: v.AppRole.SecretIDFile, MountPath: v.AppRole.MountPath}
			}
			p, err = vault.New(ctx, vc)
		default:
			err = fmt.Errorf("unknown provider type %q", sc.Type)
		}
		if err == nil {
			err = set.Add(sc.Name, p)
		}
		if err != nil {
			_ = set.Close()
			return nil, fmt.Errorf("secrets %q %q: %w", sc.Type, sc.Name, err)
		}
	}
	return set, nil
}
