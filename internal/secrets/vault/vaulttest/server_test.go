package vaulttest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nexus-run/nexus/internal/secrets/vault/vaulttest"
)

// call makes one raw request and decodes the JSON answer.
func call(t *testing.T, srv *vaulttest.Server, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL()+"/v1/"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %q", method, path, raw)
		}
	}
	return resp.StatusCode, out
}

func keys(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

func TestServer_responseShapes(t *testing.T) {
	srv := vaulttest.New(t)
	srv.MountKV("", "kv", 2)
	srv.Put("", "kv", "app", map[string]any{"k": "v"})
	srv.AddAppRole(vaulttest.AppRole{RoleName: "nexus", RoleID: "r", SecretID: "s", TokenTTL: time.Minute})
	const envelope = "auth,data,lease_duration,lease_id,renewable,request_id,warnings,wrap_info"

	status, login := call(t, srv, "POST", "auth/approle/login", "", `{"role_id":"r","secret_id":"s"}`)
	if status != 200 || keys(login) != envelope {
		t.Fatalf("login got: %d %v", status, login)
	}
	auth := login["auth"].(map[string]any)
	if got := keys(auth); got != "accessor,client_token,entity_id,lease_duration,metadata,mfa_requirement,num_uses,orphan,policies,renewable,token_policies,token_type" {
		t.Errorf("login auth keys got: %s", got)
	}
	if auth["lease_duration"].(float64) != 60 || auth["renewable"] != true {
		t.Errorf("login auth got: %v", auth)
	}
	token := auth["client_token"].(string)

	status, read := call(t, srv, "GET", "kv/data/app", token, "")
	data := read["data"].(map[string]any)
	meta := data["metadata"].(map[string]any)
	if status != 200 || keys(read) != envelope || keys(data) != "data,metadata" || keys(meta) != "created_time,custom_metadata,deletion_time,destroyed,version" {
		t.Errorf("KV v2 read got: %d %v", status, read)
	}
	if meta["version"].(float64) != 1 || data["data"].(map[string]any)["k"] != "v" {
		t.Errorf("KV v2 read data got: %v", data)
	}

	status, look := call(t, srv, "GET", "auth/token/lookup-self", token, "")
	ld := look["data"].(map[string]any)
	if status != 200 || ld["id"] != token || ld["renewable"] != true || ld["ttl"].(float64) <= 0 || ld["expire_time"] == nil {
		t.Errorf("lookup-self got: %d %v", status, look)
	}

	status, renew := call(t, srv, "PUT", "auth/token/renew-self", token, `{"increment":30}`)
	if status != 200 || renew["auth"].(map[string]any)["lease_duration"].(float64) != 30 {
		t.Errorf("renew-self got: %d %v", status, renew)
	}

	status, mount := call(t, srv, "GET", "sys/internal/ui/mounts/kv/app", token, "")
	md := mount["data"].(map[string]any)
	if status != 200 || md["path"] != "kv/" || md["type"] != "kv" || md["options"].(map[string]any)["version"] != "2" {
		t.Errorf("mount info got: %d %v", status, mount)
	}

	errorsOf := func(body map[string]any) string { b, _ := json.Marshal(body); return string(b) }
	if status, body := call(t, srv, "GET", "kv/data/app", "", ""); status != 403 || errorsOf(body) != `{"errors":["permission denied"]}` {
		t.Errorf("no token got: %d %s", status, errorsOf(body))
	}
	if status, body := call(t, srv, "GET", "kv/data/missing", token, ""); status != 404 || errorsOf(body) != `{"errors":[]}` {
		t.Errorf("missing secret got: %d %s", status, errorsOf(body))
	}
	if status, body := call(t, srv, "POST", "auth/approle/login", "", `{"role_id":"r","secret_id":"wrong"}`); status != 400 || errorsOf(body) != `{"errors":["invalid role or secret ID"]}` {
		t.Errorf("bad login got: %d %s", status, errorsOf(body))
	}
	if status, _ := call(t, srv, "LIST", "kv/metadata/", token, ""); status != 200 {
		t.Errorf("LIST got: %d", status)
	}

	srv.Revoke(token)
	if status, _ := call(t, srv, "GET", "auth/token/lookup-self", token, ""); status != 403 {
		t.Errorf("lookup-self of a revoked token got: %d want: 403", status)
	}
	if s := srv.Stats(); s.Logins != 1 || s.Renewals != 1 || s.Reads != 1 || s.LookupSelfs != 2 || s.Denied != 2 {
		t.Errorf("stats got: %+v", s)
	}
}

func TestServer_tokenExpiresAndRenewalIsCapped(t *testing.T) {
	srv := vaulttest.New(t)
	token := srv.CreateToken(vaulttest.TokenOptions{TTL: time.Second, MaxTTL: 2 * time.Second, Renewable: true})
	status, renew := call(t, srv, "POST", "auth/token/renew-self", token, `{"increment":3600}`)
	if status != 200 || renew["auth"].(map[string]any)["lease_duration"].(float64) > 2 || renew["warnings"] == nil {
		t.Errorf("capped renewal got: %d %v", status, renew)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, _ := call(t, srv, "GET", "auth/token/lookup-self", token, "")
		if status == 403 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the token never expired")
		}
		time.Sleep(100 * time.Millisecond)
	}
	root := srv.CreateToken(vaulttest.TokenOptions{})
	if status, body := call(t, srv, "POST", "auth/token/renew-self", root, ``); status != 400 {
		t.Errorf("renewing a token without TTL got: %d %v want: 400", status, body)
	}
}
