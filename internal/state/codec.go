package state

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/nexus-run/nexus/internal/jsonx"
	"github.com/nexus-run/nexus/modules"
)

// A state document of a thousand modules is a couple of megabytes of JSON
// that a store reads and writes whole, so records have a hand-written
// codec: encoding/json's reflection took hundreds of milliseconds where
// this takes a few. Records encode byte for byte as encoding/json encodes
// the struct tags, and decode as it decodes them (see the codec of
// modules.Spec for the rules); codec_test.go holds the codec to both,
// fuzzed, and notices a field added to Module.

// Encode renders a document as JSON: the header members one per line, then
// the modules sorted by address, one record per line, so that the file
// reads, greps and diffs by module.
func Encode(s *State) ([]byte, error) {
	addrs := s.Addresses()
	b := make([]byte, 0, 256+len(addrs)*2048)
	b = append(b, "{\n  \"version\": "...)
	b = strconv.AppendInt(b, int64(s.Version), 10)
	b = append(b, ",\n  \"lineage\": "...)
	b = jsonx.AppendString(b, s.Lineage)
	b = append(b, ",\n  \"serial\": "...)
	b = strconv.AppendUint(b, s.Serial, 10)
	b = append(b, ",\n  \"project\": "...)
	b = jsonx.AppendString(b, s.Project)
	b = append(b, ",\n  \"modules\": {"...)
	for i, a := range addrs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n    "...)
		b = jsonx.AppendString(b, a)
		b = append(b, ": "...)
		var err error
		if b, err = AppendModule(b, s.Modules[a]); err != nil {
			return nil, fmt.Errorf("encode module %q: %w", a, err)
		}
	}
	if len(addrs) > 0 {
		b = append(b, "\n  "...)
	}
	return append(b, "}\n}\n"...), nil
}

// Decode parses and validates a state document. Any problem is an error
// wrapping ErrCorrupt or ErrUnsupportedVersion; the caller must then leave
// whatever held the bytes untouched.
func Decode(buf []byte) (*State, error) {
	var s State
	src := string(buf)
	r := jsonx.NewReader(src)
	readState(r, &s, src)
	if err := r.End(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.Modules == nil {
		s.Modules = map[string]*Module{}
	}
	return &s, nil
}

var stateNames = []string{"version", "lineage", "serial", "project", "modules"}

func readState(r *jsonx.Reader, s *State, src string) {
	r.ReadObject(stateNames, func(key string) bool {
		switch key {
		case "version":
			r.ReadInt(&s.Version)
		case "lineage":
			r.ReadString(&s.Lineage)
		case "serial":
			r.ReadUint64(&s.Serial)
		case "project":
			r.ReadString(&s.Project)
		case "modules":
			s.Modules = readModules(r, src)
		default:
			return false
		}
		return true
	})
}

// MarshalJSON encodes the record as encoding/json would from its struct tags.
func (m *Module) MarshalJSON() ([]byte, error) {
	return AppendModule(make([]byte, 0, 2048), m)
}

// UnmarshalJSON decodes a record as encoding/json would into its fields.
func (m *Module) UnmarshalJSON(buf []byte) error {
	r := jsonx.NewReader(string(buf))
	readModule(r, m)
	if err := r.End(); err != nil {
		return fmt.Errorf("module record: %w", err)
	}
	return nil
}

// DecodeModule decodes one record, as stores keeping one per row or field
// hold it. The record shares text's memory.
func DecodeModule(text string) (*Module, error) {
	var m Module
	r := jsonx.NewReader(text)
	readModule(r, &m)
	if err := r.End(); err != nil {
		return nil, err
	}
	return &m, nil
}

// ReadModule reads one record, or nil for null, from r (recording any
// problem in r): for codecs of documents that hold records, such as the
// file store's journal.
func ReadModule(r *jsonx.Reader) *Module {
	if r.Null() {
		return nil
	}
	m := new(Module)
	readModule(r, m)
	return m
}

// AppendModule appends the record's JSON, as MarshalJSON returns it; a nil
// record is null.
func AppendModule(b []byte, m *Module) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	b = append(b, `{"spec":`...)
	b, err := m.Spec.AppendJSON(b)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"config_digest":`...)
	b = jsonx.AppendString(b, m.ConfigDigest)
	if len(m.AttrDigests) > 0 {
		b = append(b, `,"attr_digests":`...)
		b = jsonx.AppendStringMap(b, m.AttrDigests)
	}
	if len(m.SecretFingerprints) > 0 {
		b = append(b, `,"secret_fingerprints":`...)
		b = jsonx.AppendStringMap(b, m.SecretFingerprints)
	}
	b = append(b, `,"state":`...)
	b = jsonx.AppendString(b, string(m.State))
	if m.StartedAt != nil {
		b = append(b, `,"started_at":`...)
		if b, err = jsonx.AppendTime(b, *m.StartedAt); err != nil {
			return nil, fmt.Errorf("started_at: %w", err)
		}
	}
	if m.StoppedAt != nil {
		b = append(b, `,"stopped_at":`...)
		if b, err = jsonx.AppendTime(b, *m.StoppedAt); err != nil {
			return nil, fmt.Errorf("stopped_at: %w", err)
		}
	}
	b = append(b, `,"uptime_seconds":`...)
	if b, err = jsonx.AppendFloat(b, m.UptimeSeconds); err != nil {
		return nil, fmt.Errorf("uptime_seconds: %w", err)
	}
	b = append(b, `,"restarts":`...)
	b = strconv.AppendInt(b, int64(m.Restarts), 10)
	if m.LastError != "" {
		b = append(b, `,"last_error":`...)
		b = jsonx.AppendString(b, m.LastError)
	}
	b = append(b, `,"usage":{"cpu_seconds":`...)
	if b, err = jsonx.AppendFloat(b, m.Usage.CPUSeconds); err != nil {
		return nil, fmt.Errorf("usage.cpu_seconds: %w", err)
	}
	b = append(b, `,"memory_mb":`...)
	if b, err = jsonx.AppendFloat(b, m.Usage.MemoryMB); err != nil {
		return nil, fmt.Errorf("usage.memory_mb: %w", err)
	}
	b = append(b, `,"requests_total":`...)
	b = strconv.AppendUint(b, m.Usage.RequestsTotal, 10)
	b = append(b, `,"errors_total":`...)
	b = strconv.AppendUint(b, m.Usage.ErrorsTotal, 10)
	b = append(b, '}')
	if len(m.Blob) > 0 {
		b = append(b, `,"blob":`...)
		b = jsonx.AppendBytes(b, m.Blob)
	}
	b = append(b, `,"updated_at":`...)
	if b, err = jsonx.AppendTime(b, m.UpdatedAt); err != nil {
		return nil, fmt.Errorf("updated_at: %w", err)
	}
	return append(b, '}'), nil
}

var (
	moduleNames = []string{"spec", "config_digest", "attr_digests", "secret_fingerprints", "state", "started_at", "stopped_at",
		"uptime_seconds", "restarts", "last_error", "usage", "blob", "updated_at"}
	usageNames = []string{"cpu_seconds", "memory_mb", "requests_total", "errors_total"}
)

func readModule(r *jsonx.Reader, m *Module) {
	r.ReadObject(moduleNames, func(key string) bool {
		switch key {
		case "spec":
			m.Spec.ReadJSON(r)
		case "config_digest":
			r.ReadString(&m.ConfigDigest)
		case "attr_digests":
			r.ReadStringMap(&m.AttrDigests)
		case "secret_fingerprints":
			r.ReadStringMap(&m.SecretFingerprints)
		case "state":
			r.ReadString((*string)(&m.State))
		case "started_at":
			m.StartedAt = readTimePtr(r)
		case "stopped_at":
			m.StoppedAt = readTimePtr(r)
		case "uptime_seconds":
			r.ReadFloat64(&m.UptimeSeconds)
		case "restarts":
			r.ReadInt(&m.Restarts)
		case "last_error":
			r.ReadString(&m.LastError)
		case "usage":
			readUsage(r, &m.Usage)
		case "blob":
			m.Blob = readBytes(r, m.Blob)
		case "updated_at":
			readTime(r, &m.UpdatedAt)
		default:
			return false
		}
		return true
	})
}

func readUsage(r *jsonx.Reader, u *modules.Usage) {
	r.ReadObject(usageNames, func(key string) bool {
		switch key {
		case "cpu_seconds":
			r.ReadFloat64(&u.CPUSeconds)
		case "memory_mb":
			r.ReadFloat64(&u.MemoryMB)
		case "requests_total":
			r.ReadUint64(&u.RequestsTotal)
		case "errors_total":
			r.ReadUint64(&u.ErrorsTotal)
		default:
			return false
		}
		return true
	})
}

// readTime reads a time as time.Time's UnmarshalJSON does (the quoted
// text, not unescaped, in RFC 3339); null leaves t as it is.
func readTime(r *jsonx.Reader, t *time.Time) {
	raw := r.Raw()
	if r.Err() != nil || raw == "null" {
		return
	}
	if err := t.UnmarshalJSON([]byte(raw)); err != nil {
		r.Fail(err)
	}
}

func readTimePtr(r *jsonx.Reader) *time.Time {
	if r.Null() {
		return nil
	}
	t := new(time.Time)
	readTime(r, t)
	return t
}

// readBytes reads standard base64 in a string, as encoding/json reads a
// []byte; null gives nil.
func readBytes(r *jsonx.Reader, old []byte) []byte {
	if r.Null() {
		return nil
	}
	s := r.String()
	if r.Err() != nil {
		return old
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(b, []byte(s))
	if err != nil {
		r.Fail(err)
		return old
	}
	return slices.Clip(b[:n])
}
