// Package jsonx reads and writes JSON by hand for the codecs on nexus's hot
// paths: state records, module specs and configs, which a daemon encodes
// and decodes by the thousand, and where encoding/json's reflection costs
// far more than the work itself.
//
// It is deliberately small and exactly compatible with encoding/json: the
// Append functions write byte for byte what json.Marshal writes for the
// same value (HTML-safe string escaping, sorted map keys, the same float,
// time and []byte formats), and the Reader accepts exactly the JSON that
// json.Unmarshal accepts, decoding strings the same way (invalid UTF-8 and
// lone surrogates become U+FFFD). The codecs built on it test both claims
// against encoding/json, with fuzzing.
//
// A Reader works on a string so that decoded strings without escapes are
// substrings of the input: no copy, no allocation. What a caller keeps
// therefore keeps the whole input alive, which suits a document decoded
// into records that live as long as it does.
package jsonx
