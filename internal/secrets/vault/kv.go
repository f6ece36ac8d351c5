package vault

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/nexus-run/nexus/internal/secrets"
)

// location is where a secret path lives: "kv/app/db" is secret "app/db" in
// the KV mount "kv".
type location struct {
	path    string // as given
	mount   string // without the trailing '/'
	secret  string
	version int
}

func (l location) String() string {
	return fmt.Sprintf("%s (KV v%d mount %q)", l.path, l.version, l.mount)
}

// checkPath refuses paths that cannot name a secret in a mount.
func checkPath(path string) error {
	if path == "" || strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/") {
		return fmt.Errorf("%w: vault path %q must look like <mount>/<secret>, like \"kv/heartbeat\"", secrets.ErrInvalidPath, path)
	}
	segs := strings.Split(path, "/")
	for _, seg := range segs {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w: vault path %q has an empty, \".\" or \"..\" segment", secrets.ErrInvalidPath, path)
		}
	}
	if len(segs) < 2 {
		return fmt.Errorf("%w: vault path %q names only a mount; add the secret, like \"%s/heartbeat\"", secrets.ErrInvalidPath, path, path)
	}
	return nil
}

// locate splits path into mount and secret: the first segment is the
// mount, unless Config.KVVersion is 0 and Vault says otherwise.
func (p *Provider) locate(ctx context.Context, path string) (location, error) {
	if err := checkPath(path); err != nil {
		return location{}, err
	}
	mountPath, version, err := p.mountOf(ctx, path)
	if err != nil {
		return location{}, err
	}
	loc := location{path: path, mount: strings.TrimSuffix(mountPath, "/"), secret: strings.TrimPrefix(path, mountPath), version: version}
	if loc.secret == "" || loc.secret == path {
		return location{}, fmt.Errorf("%w: vault path %q names the mount %q itself; add the secret after it", secrets.ErrInvalidPath, path, mountPath)
	}
	return loc, nil
}

// mountOf returns the mount path (with a trailing '/') holding path and its
// KV version: from the config, from the cache, or asked of Vault.
func (p *Provider) mountOf(ctx context.Context, path string) (string, int, error) {
	first, _, _ := strings.Cut(path, "/")
	if p.cfg.KVVersion != 0 {
		return first + "/", p.cfg.KVVersion, nil
	}
	p.mountsMu.Lock()
	best, version := "", 0
	for m, v := range p.mounts {
		if strings.HasPrefix(path+"/", m) && len(m) > len(best) {
			best, version = m, v
		}
	}
	p.mountsMu.Unlock()
	if best != "" {
		return best, version, nil
	}
	info, err := p.client.Logical().ReadWithContext(ctx, "sys/internal/ui/mounts/"+path)
	if err != nil {
		return "", 0, classify("find the mount of "+path+" (sys/internal/ui/mounts)", err)
	}
	mountPath, version := first+"/", 1 // a Vault too old for the endpoint has KV v1 only
	if info != nil {
		typ, _ := info.Data["type"].(string)
		switch typ {
		case "kv":
			if opts, ok := info.Data["options"].(map[string]any); ok && opts["version"] == "2" {
				version = 2
			}
		case "generic":
		default:
			return "", 0, fmt.Errorf("%w: vault path %s is on a %q secrets engine; nexus reads KV (v1 or v2) mounts only", secrets.ErrUnsupported, path, typ)
		}
		if mp, _ := info.Data["path"].(string); mp != "" && strings.HasPrefix(path+"/", mp) {
			mountPath = mp
		}
	}
	p.mountsMu.Lock()
	p.mounts[mountPath] = version
	p.mountsMu.Unlock()
	return mountPath, version, nil
}

// read returns the fields of the secret at loc.
func (p *Provider) read(ctx context.Context, loc location) (map[string]any, error) {
	kv, err := p.get(ctx, loc)
	if err != nil {
		return nil, err
	}
	if kv.Data == nil {
		when := ""
		if kv.VersionMetadata != nil && !kv.VersionMetadata.DeletionTime.IsZero() {
			when = " at " + kv.VersionMetadata.DeletionTime.UTC().Format("2006-01-02T15:04:05Z")
		}
		return nil, &vaultError{kind: secrets.ErrNotFound, msg: fmt.Sprintf("vault: read %s: its latest version was deleted%s; `vault kv undelete` or a new version brings it back", loc, when)}
	}
	return kv.Data, nil
}

// get reads the secret at loc; a deleted KV v2 version comes back with nil
// Data.
func (p *Provider) get(ctx context.Context, loc location) (*api.KVSecret, error) {
	var (
		kv  *api.KVSecret
		err error
	)
	if loc.version == 2 {
		kv, err = p.client.KVv2(loc.mount).Get(ctx, loc.secret)
	} else {
		kv, err = p.client.KVv1(loc.mount).Get(ctx, loc.secret)
	}
	if errors.Is(err, api.ErrSecretNotFound) {
		return nil, &vaultError{kind: secrets.ErrNotFound, msg: fmt.Sprintf("vault: read %s: no secret there", loc), cause: err}
	}
	if err != nil {
		return nil, classify("read "+loc.String(), err)
	}
	return kv, nil
}
