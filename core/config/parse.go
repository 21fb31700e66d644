package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// obj is a JSON object whose keys have been checked against a schema.
type obj struct {
	path   string
	fields map[string]gjson.Result
}

// object checks that v is an object with no duplicate keys and no keys
// outside known (all keys are allowed when known is nil), and returns its
// members by key.
func object(v gjson.Result, path string, known []string) (obj, error) {
	o := obj{path: path}
	if !v.IsObject() {
		return o, fmt.Errorf("%s: must be an object, got %s", name(path), got(v))
	}
	o.fields = make(map[string]gjson.Result)
	var err error
	v.ForEach(func(k, val gjson.Result) bool {
		key := k.String()
		if len(key) > MaxStringBytes {
			// Checked first, so that no error repeats the key.
			err = fmt.Errorf("%s: key longer than %d bytes", name(path), MaxStringBytes)
			return false
		}
		p := join(path, key)
		if _, dup := o.fields[key]; dup {
			// gjson would silently read the first of the two.
			err = fmt.Errorf("%s: duplicate key", p)
			return false
		}
		if known != nil && !contains(known, key) {
			err = fmt.Errorf("%s: unknown field", p)
			return false
		}
		o.fields[key] = val
		return true
	})
	return o, err
}

// has reports whether the object sets key.
func (o obj) has(key string) bool {
	_, ok := o.fields[key]
	return ok
}

// str returns the string at key, def when absent, and an error when
// required and absent or when it is not a string.
func (o obj) str(key string, required bool, def string) (string, error) {
	v, ok := o.fields[key]
	if !ok {
		if required {
			return "", fmt.Errorf("%s: required", join(o.path, key))
		}
		return def, nil
	}
	if v.Type != gjson.String {
		return "", fmt.Errorf("%s: must be a string, got %s", join(o.path, key), got(v))
	}
	if err := checkLen(v, join(o.path, key), MaxStringBytes); err != nil {
		return "", err
	}
	return v.String(), nil
}

// boolean returns the boolean at key, false when absent. Only JSON true
// and false are accepted: "true", 1 and null are errors.
func (o obj) boolean(key string) (bool, error) {
	v, ok := o.fields[key]
	if !ok {
		return false, nil
	}
	if v.Type != gjson.True && v.Type != gjson.False {
		return false, fmt.Errorf("%s: must be a boolean, got %s", join(o.path, key), got(v))
	}
	return v.Type == gjson.True, nil
}

// checkLen refuses a string longer than limit bytes; the error does not
// repeat the string.
func checkLen(v gjson.Result, path string, limit int) error {
	if len(v.Str) > limit {
		return fmt.Errorf("%s: longer than %d bytes", path, limit)
	}
	return nil
}

// integer returns the integer at key, def when absent. Only plain integer
// literals are accepted: "1e3" and "1.0" are refused rather than rounded.
func (o obj) integer(key string, min, max, def int64) (int64, error) {
	v, ok := o.fields[key]
	if !ok {
		return def, nil
	}
	p := join(o.path, key)
	if v.Type != gjson.Number || !isIntLiteral(v.Raw) {
		return 0, fmt.Errorf("%s: must be an integer, got %s", p, got(v))
	}
	n, err := strconv.ParseInt(v.Raw, 10, 64)
	if err != nil || n < min || n > max {
		return 0, fmt.Errorf("%s: must be %d..%d, got %s", p, min, max, got(v))
	}
	return n, nil
}

func isIntLiteral(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" || len(s) > 1 && s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// invalidJSON explains why b is not JSON. gjson only says whether it is, so
// encoding/json, on this error path only, supplies the offset and reason.
func invalidJSON(b []byte) error {
	var raw json.RawMessage
	var syn *json.SyntaxError
	if err := json.Unmarshal(b, &raw); errors.As(err, &syn) {
		return fmt.Errorf("config: invalid JSON at offset %d: %w", syn.Offset, err)
	} else if err != nil {
		return fmt.Errorf("config: invalid JSON: %w", err)
	}
	return errors.New("config: invalid JSON")
}

// join appends a key to a JSON path; keys that are not plain names are
// quoted so the path stays unambiguous.
func join(path, key string) string {
	if key == "" || !allBytes(key, func(c byte) bool { return isNameChar(c) || c == '$' }) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// name is the path for messages about the whole document.
func name(path string) string {
	if path == "" {
		return "config"
	}
	return path
}

// got renders a value for an error: scalars as written (cut short), objects
// and arrays by kind.
func got(v gjson.Result) string {
	switch {
	case v.IsObject():
		return "an object"
	case v.IsArray():
		return "an array"
	}
	const max = 64
	if len(v.Raw) > max {
		return v.Raw[:max] + "..."
	}
	return v.Raw
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func allBytes(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isNameChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-'
}

// hasControlOrSpace reports bytes that cannot appear in a cluster name, an
// authority or a request path sent to the authorizer.
func hasControlOrSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}
