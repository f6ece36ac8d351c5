package audit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nexus-run/nexus/internal/audit"
)

func ExampleLog_Append() {
	dir, err := os.MkdirTemp("", "nexus-audit")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "audit.log")

	clock := func() time.Time { return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) }
	log, err := audit.Open(path, audit.Options{Key: []byte("a key of at least 16 bytes"), Now: clock})
	if err != nil {
		panic(err)
	}
	err = log.Append(context.Background(), audit.Record{
		Type: audit.TypeSecretRead, Principal: "unix:0", Outcome: audit.OutcomeOK, Module: "vitals/heartbeat",
		Details: map[string]string{"path": "vault kv/heartbeat#api_key"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("head seq:", log.Head().Seq)
	log.Close()

	f, err := os.Open(path)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	report, err := audit.Verify(f)
	fmt.Println("records:", report.Records, "error:", err)
	// Output:
	// head seq: 1
	// records: 1 error: <nil>
}

func ExampleVerify() {
	f, err := os.Open("testdata/tampered.log")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	_, err = audit.Verify(f)
	fmt.Println(err)
	// Output:
	// line 3: record edited (hash mismatch)
}
