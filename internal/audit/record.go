package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Record types the daemon writes. Type is a free string; these are the ones
// nexus itself uses.
const (
	TypePlan        = "plan"
	TypeApply       = "apply"
	TypeTransition  = "transition"
	TypeDenied      = "denied"
	TypeSecretRead  = "secret.read"
	TypeSecretWrite = "secret.write"
	TypeStateEdit   = "state.edit"
	TypeDaemonStart = "daemon.start"
	TypeDaemonStop  = "daemon.stop"
)

// Outcomes of a recorded operation.
const (
	OutcomeOK     = "ok"
	OutcomeError  = "error"
	OutcomeDenied = "denied"
)

// GenesisPrev is the Prev of a log's first record: 64 zeros.
const GenesisPrev = "0000000000000000000000000000000000000000000000000000000000000000"

// MaxRecordSize is the longest line, in bytes without its newline, that
// Append writes and Verify and Read accept. It keeps a damaged or hostile file from exhausting memory.
const MaxRecordSize = 1 << 20

// Record is one line of the audit log.
type Record struct {
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
	Type      string    `json:"type"`
	Principal string    `json:"principal,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
	Outcome   string    `json:"outcome"`
	Module    string    `json:"module,omitempty"`
	// Details holds anything else worth keeping; sensitive values go
	// through Log.Sensitive first.
	Details map[string]string `json:"details,omitempty"`
	// Prev is the hex SHA-256 of the previous line (GenesisPrev for the
	// first record).
	Prev string `json:"prev"`
	// Hash is the hex SHA-256 of the record's canonical JSON without Hash.
	Hash string `json:"hash"`
}

// body is a Record without its Hash: exactly the bytes Hash covers. Its
// fields and tags must stay those of Record, in the same order.
type body struct {
	Seq       uint64            `json:"seq"`
	Time      time.Time         `json:"time"`
	Type      string            `json:"type"`
	Principal string            `json:"principal,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
	Outcome   string            `json:"outcome"`
	Module    string            `json:"module,omitempty"`
	Details   map[string]string `json:"details,omitempty"`
	Prev      string            `json:"prev"`
}

// Head identifies the last record of a log: its Seq and its Hash field. The
// daemon publishes it so that an outside observer can anchor the chain.
type Head struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// ErrInvalidRecord is returned by Append for a record it cannot write.
var ErrInvalidRecord = errors.New("invalid audit record")

// encode returns r's line (without newline) and r's hash, ignoring r.Hash.
func encode(r *Record) (line []byte, hash string, err error) {
	b, err := json.Marshal(body{
		Seq: r.Seq, Time: r.Time, Type: r.Type, Principal: r.Principal, RequestID: r.RequestID,
		Outcome: r.Outcome, Module: r.Module, Details: r.Details, Prev: r.Prev,
	})
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	sum := sha256.Sum256(b)
	hash = hex.EncodeToString(sum[:])
	const member = `,"hash":""`
	line = make([]byte, 0, len(b)+len(member)+len(hash))
	line = append(line, b[:len(b)-1]...)
	line = append(line, `,"hash":"`...)
	line = append(line, hash...)
	line = append(line, `"}`...)
	return line, hash, nil
}

// lineHash is what the next record's Prev holds for line (without newline).
func lineHash(line []byte) string {
	sum := sha256.Sum256(line)
	return hex.EncodeToString(sum[:])
}

// chain is the running end of a log: the state that the next record links
// to. The zero value is the start of an empty log.
type chain struct {
	head Head
	prev string // lineHash of the last line; "" before the first
}

// link fills r's Seq, Time, Prev and Hash to follow the chain and returns
// its line (without newline) and the chain after it. c is not changed, so a
// failed write can drop the result.
func (c chain) link(r *Record, now time.Time) ([]byte, chain, error) {
	r.Seq = c.head.Seq + 1
	r.Time = now
	r.Prev = c.prev
	if r.Prev == "" {
		r.Prev = GenesisPrev
	}
	line, hash, err := encode(r)
	if err != nil {
		return nil, c, err
	}
	if len(line) > MaxRecordSize {
		return nil, c, fmt.Errorf("%w: the %s record is %d bytes, more than the %d an audit line may hold; shorten its details",
			ErrInvalidRecord, r.Type, len(line), MaxRecordSize)
	}
	r.Hash = hash
	return line, chain{head: Head{Seq: r.Seq, Hash: hash}, prev: lineHash(line)}, nil
}
