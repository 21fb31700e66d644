package openapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxSteps bounds the work of one import: every node visited counts, and
// an alias counts each time it is followed. An input that repeats a large
// anchor through many aliases fails instead of growing without bound.
const maxSteps = 1 << 20

// value is one node of the definition with its JSON path.
type value struct {
	n    *yaml.Node
	path string
}

// obj is a mapping of the definition: its keys in document order and its
// values by key.
type obj struct {
	path string
	keys []string
	vals map[string]value
}

// get returns the value of key; a null value counts as absent.
func (o obj) get(key string) (value, bool) {
	v, ok := o.vals[key]
	if !ok || v.n.Kind == yaml.ScalarNode && v.n.ShortTag() == "!!null" {
		return value{}, false
	}
	return v, true
}

// reader walks the parsed definition and counts its steps.
type reader struct {
	steps int
}

// errTooLarge is the error of an input that needs more than maxSteps.
var errTooLarge = errors.New("the definition is too large once its YAML aliases are expanded")

// parse reads one YAML or JSON document and returns its top-level mapping.
func (r *reader) parse(src []byte) (obj, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return obj{}, errors.New("the definition is empty")
		}
		return obj{}, fmt.Errorf("not YAML or JSON: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return obj{}, fmt.Errorf("not YAML or JSON: %w", err)
		}
		return obj{}, errors.New("more than one YAML document; give the definition alone")
	}
	root := value{n: &doc}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		root.n = doc.Content[0]
	}
	return r.object(root)
}

// deref follows aliases to the node they name.
func (r *reader) deref(v value) (value, error) {
	for v.n.Kind == yaml.AliasNode {
		if r.steps++; r.steps > maxSteps || v.n.Alias == nil {
			return v, errTooLarge
		}
		v.n = v.n.Alias
	}
	if r.steps++; r.steps > maxSteps {
		return v, errTooLarge
	}
	return v, nil
}

// object reads a mapping. Keys must be scalars and unique; YAML merge keys
// are refused rather than half-applied.
func (r *reader) object(v value) (obj, error) {
	v, err := r.deref(v)
	if err != nil {
		return obj{}, err
	}
	if v.n.Kind != yaml.MappingNode {
		return obj{}, fmt.Errorf("%s: must be an object, got %s", name(v.path), kind(v.n))
	}
	o := obj{path: v.path, vals: make(map[string]value, len(v.n.Content)/2)}
	for i := 0; i+1 < len(v.n.Content); i += 2 {
		kv, err := r.deref(value{n: v.n.Content[i], path: v.path})
		if err != nil {
			return obj{}, err
		}
		k := kv.n
		if k.Kind != yaml.ScalarNode {
			return obj{}, fmt.Errorf("%s: a key must be a string, got %s", name(v.path), kind(k))
		}
		if k.ShortTag() == "!!merge" {
			return obj{}, fmt.Errorf("%s: YAML merge keys (<<) are not supported; write the keys out", name(v.path))
		}
		p := join(v.path, k.Value)
		if _, dup := o.vals[k.Value]; dup {
			return obj{}, fmt.Errorf("%s: duplicate key", p)
		}
		o.keys = append(o.keys, k.Value)
		o.vals[k.Value] = value{n: v.n.Content[i+1], path: p}
	}
	return o, nil
}

// list reads a sequence.
func (r *reader) list(v value) ([]value, error) {
	v, err := r.deref(v)
	if err != nil {
		return nil, err
	}
	if v.n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s: must be a list, got %s", name(v.path), kind(v.n))
	}
	out := make([]value, len(v.n.Content))
	for i, c := range v.n.Content {
		out[i] = value{n: c, path: index(v.path, i)}
	}
	return out, nil
}

// scalar returns a scalar's text and its YAML tag ("!!str", "!!int", ...).
func (r *reader) scalar(v value) (string, string, error) {
	v, err := r.deref(v)
	if err != nil {
		return "", "", err
	}
	if v.n.Kind != yaml.ScalarNode {
		return "", "", fmt.Errorf("%s: must be a scalar, got %s", name(v.path), kind(v.n))
	}
	return v.n.Value, v.n.ShortTag(), nil
}

// str reads a string.
func (r *reader) str(v value) (string, error) {
	s, tag, err := r.scalar(v)
	if err != nil {
		return "", err
	}
	if tag != "!!str" {
		return "", fmt.Errorf("%s: must be a string, got %s", name(v.path), describe(s, tag))
	}
	return s, nil
}

// isString reports whether v is a string; a CloudFormation expression
// ({"Fn::Sub": ...}) where a string belongs is not.
func (r *reader) isString(v value) bool {
	_, tag, err := r.scalar(v)
	return err == nil && tag == "!!str"
}

// integer reads an integer, written as a number or as a string of digits
// (API Gateway's own exports use both).
func (r *reader) integer(v value) (int, error) {
	s, tag, err := r.scalar(v)
	if err != nil {
		return 0, err
	}
	if tag == "!!int" || tag == "!!str" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 1<<30 && !strings.HasPrefix(s, "+") {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%s: must be a whole number, got %s", name(v.path), describe(s, tag))
}

// boolean reads true or false.
func (r *reader) boolean(v value) (bool, error) {
	s, tag, err := r.scalar(v)
	if err != nil {
		return false, err
	}
	if tag != "!!bool" {
		return false, fmt.Errorf("%s: must be true or false, got %s", name(v.path), describe(s, tag))
	}
	return s == "true" || s == "True" || s == "TRUE", nil
}

// kind names a node's kind for an error message.
func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "an object"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return describe(n.Value, n.ShortTag())
	}
	return "nothing"
}

// describe renders a scalar for an error message.
func describe(s, tag string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	switch tag {
	case "!!str":
		return strconv.Quote(s)
	case "!!null":
		return "null"
	}
	return s
}

// join appends a key to a JSON path, in the form config errors use:
// plain names after a dot, anything else quoted in brackets.
func join(path, key string) string {
	if key == "" || !plainKey(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func plainKey(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '$') {
			return false
		}
	}
	return true
}

// index appends a list index to a JSON path.
func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// name shows the root's empty path as "(root)".
func name(path string) string {
	if path == "" {
		return "(root)"
	}
	return path
}
