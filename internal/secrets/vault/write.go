package vault

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/nexus-run/nexus/internal/secrets"
)

// maxListed bounds List: a prefix matching more secrets is too broad.
const maxListed = 10000

// Put stores value in the field key of the secret at path ("value" when
// key is empty), keeping its other fields. On KV v2 the write is a
// check-and-set on the version read, so a concurrent writer's change is
// never silently lost: the write fails and can be retried.
func (p *Provider) Put(ctx context.Context, path, key, value string) error {
	if key == "" {
		key = "value"
	}
	return p.withAuth(ctx, func() error {
		loc, data, version, _, err := p.readForWrite(ctx, path)
		if err != nil {
			return err
		}
		data[key] = value
		return p.write(ctx, loc, data, version)
	})
}

// Delete removes the secret at path (on KV v2, its latest version: Vault
// keeps the history), or only its field key.
func (p *Provider) Delete(ctx context.Context, path, key string) error {
	return p.withAuth(ctx, func() error {
		loc, data, version, exists, err := p.readForWrite(ctx, path)
		if err != nil {
			return err
		}
		if !exists {
			return &vaultError{kind: secrets.ErrNotFound, msg: fmt.Sprintf("vault: delete %s: no secret there", loc)}
		}
		if key != "" {
			if _, ok := data[key]; !ok {
				return fmt.Errorf("%w: vault secret %s has no field %q (fields: %s)", secrets.ErrNotFound, path, key, secrets.FieldNames(data))
			}
			delete(data, key)
			return p.write(ctx, loc, data, version)
		}
		if loc.version == 2 {
			err = p.client.KVv2(loc.mount).Delete(ctx, loc.secret)
		} else {
			err = p.client.KVv1(loc.mount).Delete(ctx, loc.secret)
		}
		if err != nil {
			return classify("delete "+loc.String(), err)
		}
		return nil
	})
}

// readForWrite returns the secret's fields (a copy; empty when there is no
// secret), its current KV v2 version for check-and-set (0 when there is
// none; a deleted latest version still counts) and whether it exists.
func (p *Provider) readForWrite(ctx context.Context, path string) (loc location, data map[string]any, version int, exists bool, err error) {
	if loc, err = p.locate(ctx, path); err != nil {
		return loc, nil, 0, false, err
	}
	kv, err := p.get(ctx, loc)
	if errors.Is(err, secrets.ErrNotFound) {
		return loc, map[string]any{}, 0, false, nil
	}
	if err != nil {
		return loc, nil, 0, false, err
	}
	if kv.VersionMetadata != nil {
		version = kv.VersionMetadata.Version
	}
	data = map[string]any{}
	maps.Copy(data, kv.Data)
	return loc, data, version, kv.Data != nil, nil
}

func (p *Provider) write(ctx context.Context, loc location, data map[string]any, version int) error {
	var err error
	if loc.version == 2 {
		_, err = p.client.KVv2(loc.mount).Put(ctx, loc.secret, data, api.WithCheckAndSet(version))
	} else {
		err = p.client.KVv1(loc.mount).Put(ctx, loc.secret, data)
	}
	if err != nil {
		err = classify("write "+loc.String(), err)
		if strings.Contains(err.Error(), "check-and-set") {
			err = withHint(err, "the secret changed while it was being updated; run the command again")
		}
		return err
	}
	return nil
}

// List returns the paths of the secrets under prefix, which starts with a
// mount ("kv/", "kv/app/", "kv/app/d"), sorted.
func (p *Provider) List(ctx context.Context, prefix string) ([]string, error) {
	if prefix == "" || strings.HasPrefix(prefix, "/") || strings.Contains("/"+prefix+"/", "/../") {
		return nil, fmt.Errorf("%w: vault list prefix %q must start with a mount, like \"kv/\"", secrets.ErrInvalidPath, prefix)
	}
	var paths []string
	err := p.withAuth(ctx, func() error {
		mountPath, version, err := p.mountOf(ctx, strings.TrimSuffix(prefix, "/"))
		if err != nil {
			return err
		}
		rest := strings.TrimPrefix(prefix, mountPath)
		if prefix+"/" == mountPath {
			rest = ""
		}
		listPath := mountPath
		if version == 2 {
			listPath += "metadata/"
		}
		paths = nil
		return p.walk(ctx, listPath, mountPath, "", rest, &paths)
	})
	sort.Strings(paths)
	return paths, err
}

// walk lists folder (relative to the mount) under the API path listPath
// and adds every secret whose path in the mount starts with rest.
func (p *Provider) walk(ctx context.Context, listPath, mountPath, folder, rest string, out *[]string) error {
	s, err := p.client.Logical().ListWithContext(ctx, listPath+folder)
	if err != nil {
		return classify("list "+mountPath+folder, err)
	}
	if s == nil {
		return nil
	}
	keys, _ := s.Data["keys"].([]any)
	for _, k := range keys {
		name, _ := k.(string)
		full := folder + name
		if name == "" || !(strings.HasPrefix(full, rest) || strings.HasPrefix(rest, full)) {
			continue
		}
		if strings.HasSuffix(name, "/") {
			if err := p.walk(ctx, listPath, mountPath, full, rest, out); err != nil {
				return err
			}
			continue
		}
		if len(*out) >= maxListed {
			return fmt.Errorf("vault: more than %d secrets under %q; list a narrower prefix", maxListed, mountPath+rest)
		}
		*out = append(*out, mountPath+full)
	}
	return nil
}
