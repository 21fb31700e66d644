// Package jsondepth bounds how deeply a JSON text nests before a recursive
// parser sees it.
//
// gjson.Valid descends one Go call (two wasm calls) per nested array or
// object. In the filter every wasm call also takes a frame of the engine's
// native stack, and V8 stops a VM whose stack runs out: an authorizer
// answer of a few thousand nested brackets, about 20 KB, would kill an
// Envoy worker's VM. The documents authgate reads (a configuration, an
// authorizer answer with its policy and context) need a handful of
// levels, so anything deeper than Max is refused before parsing, by a
// loop that uses no stack at all.
package jsondepth

// Max is the deepest nesting of arrays and objects accepted: the document
// itself is level 1. A policy needs four (answer, policyDocument,
// Statement array, statement object) and a Condition three more; 32 leaves
// room for nested context values of HTTP API authorizers.
const Max = 32

// Exceeds reports whether the JSON text s nests arrays and objects more
// than limit levels deep. It looks only at brackets outside strings (a
// backslash inside a string escapes the next byte), so it never fails on
// text that is not JSON: whether s is valid is for the parser to say once
// its depth is known to be bounded.
func Exceeds[T ~string | ~[]byte](s T, limit int) bool {
	depth := 0
	inString := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > limit {
				return true
			}
		case '}', ']':
			if depth > 0 {
				depth--
			}
		}
	}
	return false
}
