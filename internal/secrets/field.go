package secrets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Field returns the field key of a secret's fields as text: a string as it
// is, a number or boolean as written in JSON, an object or array as compact
// JSON. A missing or null field is ErrNotFound; the error names the fields
// that do exist (names only, never values).
func Field(fields map[string]any, key string) (string, error) {
	v, ok := fields[key]
	if !ok || v == nil {
		return "", fmt.Errorf("%w: no field %q (fields: %s)", ErrNotFound, key, FieldNames(fields))
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case int:
		return strconv.Itoa(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("field %q holds a %T that cannot be rendered as text", key, v)
	}
	return string(b), nil
}

// FieldNames returns the field names, sorted and quoted, for error messages:
// `"password", "user"`, or "none".
func FieldNames(fields map[string]any) string {
	if len(fields) == 0 {
		return "none"
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, strconv.Quote(name))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// ParseObject decodes data as a JSON object whose fields Field can select.
// Numbers keep their JSON spelling. On malformed input the error says where
// the syntax breaks but, unlike encoding/json's, never quotes the input.
func ParseObject(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, describeJSONError(err)
	}
	if dec.More() {
		return nil, errors.New("holds more than one JSON value; expected one JSON object")
	}
	if obj == nil {
		return nil, errors.New("holds JSON null; expected a JSON object like {\"key\": \"value\"}")
	}
	return obj, nil
}

// describeJSONError rewrites a decoding error without the input's bytes:
// encoding/json quotes the offending character, which may be part of a
// secret.
func describeJSONError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("is not a JSON object: syntax error at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Errorf("holds a JSON %s; expected a JSON object like {\"key\": \"value\"}", typ.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("is not a JSON object: empty or truncated")
	}
	return errors.New("is not a JSON object")
}
