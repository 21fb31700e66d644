package jsondepth

import (
	"encoding/json"
	"strings"
	"testing"
)

func nest(open, close string, n int) string {
	return strings.Repeat(open, n) + "1" + strings.Repeat(close, n)
}

func TestExceeds(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		limit int
		want  bool
	}{
		{"scalar", `1`, 0, false},
		{"empty object at limit", `{}`, 1, false},
		{"object over limit", `{}`, 0, true},
		{"arrays at limit", nest("[", "]", 32), 32, false},
		{"arrays over limit", nest("[", "]", 33), 32, true},
		{"objects over limit", nest(`{"a":`, "}", 33), 32, true},
		{"mixed at limit", nest(`[{"a":`, "}]", 16), 32, false},
		{"mixed over limit", nest(`[{"a":`, "}]", 17), 32, true},
		{"siblings do not add up", `[[1],[2],[3],[4]]`, 2, false},
		{"brackets in strings are text", `["[[[[", "{{{{"]`, 1, false},
		{"escaped quote keeps the string open", `["\"[[[["]`, 1, false},
		{"escaped backslash ends before the quote", `["\\", [[1]]]`, 2, true},
		{"ignored member counts too", `{"principalId":"p","x":` + nest("[", "]", 40) + `}`, 32, true},
		{"unbalanced closers do not go negative", `]]]][[`, 1, true},
		{"unterminated string", `["[[[[`, 1, false},
		{"deep", nest("[", "]", 100000), 32, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Exceeds(tt.in, tt.limit); got != tt.want {
				t.Errorf("Exceeds(%.40q, %d) = %v, want %v", tt.in, tt.limit, got, tt.want)
			}
			if got := Exceeds([]byte(tt.in), tt.limit); got != tt.want {
				t.Errorf("Exceeds([]byte(%.40q), %d) = %v, want %v", tt.in, tt.limit, got, tt.want)
			}
		})
	}
}

// depth is the reference: the nesting encoding/json's decoder reaches.
func depth(v any) int {
	switch v := v.(type) {
	case map[string]any:
		d := 0
		for _, e := range v {
			d = max(d, depth(e))
		}
		return d + 1
	case []any:
		d := 0
		for _, e := range v {
			d = max(d, depth(e))
		}
		return d + 1
	}
	return 0
}

// FuzzExceeds checks the scan against the depth encoding/json finds in
// every valid document.
func FuzzExceeds(f *testing.F) {
	f.Add(`{"a":[1,{"b":"]]"}]}`, 2)
	f.Add(`["\\\"[", [[[]]]]`, 3)
	f.Add(nest("[", "]", 40), 32)
	f.Fuzz(func(t *testing.T, s string, limit int) {
		if limit < 0 || limit > 64 {
			return
		}
		var v any
		if json.Unmarshal([]byte(s), &v) != nil {
			Exceeds(s, limit) // must not panic on anything
			return
		}
		if got, want := Exceeds(s, limit), depth(v) > limit; got != want {
			t.Fatalf("Exceeds(%q, %d) = %v, but the document nests %d levels", s, limit, got, depth(v))
		}
	})
}
