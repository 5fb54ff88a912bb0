// Package jsonbytes is the one encoding of names (file paths, link targets,
// values that hold paths) in every JSON file or stream bottle writes: cache
// entries, the state journal, plan --json and events.
//
// File names are bytes, not text. encoding/json replaces bytes that are not
// valid UTF-8 with U+FFFD, so a name such as "caf\xe9" would come back as
// another name. The encoding here is lossless:
//
//   - a name that is valid UTF-8 is a JSON string, as encoding/json writes it:
//     "out/report.txt";
//   - any other name is an object holding its bytes in standard base64 with
//     padding: {"base64":"b3V0L2NhZuk="}.
//
// Readers accept both forms for every name.
package jsonbytes

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// String is a string of arbitrary bytes that marshals losslessly.
type String string

type encoded struct {
	Base64 string `json:"base64"`
}

// MarshalJSON implements json.Marshaler.
func (s String) MarshalJSON() ([]byte, error) {
	if utf8.ValidString(string(s)) {
		return json.Marshal(string(s))
	}
	return json.Marshal(encoded{Base64: base64.StdEncoding.EncodeToString([]byte(s))})
}

// UnmarshalJSON implements json.Unmarshaler.
func (s *String) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var e encoded
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return fmt.Errorf("name: %w", err)
		}
		raw, err := base64.StdEncoding.DecodeString(e.Base64)
		if err != nil {
			return fmt.Errorf("name: bad base64: %w", err)
		}
		*s = String(raw)
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	*s = String(str)
	return nil
}

// Strings converts a list of names for marshalling.
func Strings(ss []string) []String {
	if ss == nil {
		return nil
	}
	out := make([]String, len(ss))
	for i, s := range ss {
		out[i] = String(s)
	}
	return out
}

// Plain converts a list of names back.
func Plain(ss []String) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

// Map is a map of names to byte strings (a result's values) that marshals
// its values losslessly. Keys are bottle's own ASCII names.
type Map map[string]string

// MarshalJSON implements json.Marshaler.
func (m Map) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("null"), nil
	}
	enc := make(map[string]String, len(m))
	for k, v := range m {
		enc[k] = String(v)
	}
	return json.Marshal(enc)
}

// UnmarshalJSON implements json.Unmarshaler.
func (m *Map) UnmarshalJSON(b []byte) error {
	var dec map[string]String
	if err := json.Unmarshal(b, &dec); err != nil {
		return err
	}
	if dec == nil {
		*m = nil
		return nil
	}
	out := make(Map, len(dec))
	for k, v := range dec {
		out[k] = string(v)
	}
	*m = out
	return nil
}
