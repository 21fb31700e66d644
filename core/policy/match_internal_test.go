package policy

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// rawJSONString quotes s for a JSON document without touching bytes that
// are not UTF-8, so a test can hand the parser exactly those bytes.
func rawJSONString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[c>>4])
			b.WriteByte("0123456789abcdef"[c&15])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// FuzzFoldMatch checks the case-folding path used for actions against the
// case-sensitive matcher on pre-folded input. A pattern that is not UTF-8
// never reaches either: the policy carrying it is refused, which the
// target checks instead. The strings matched may be anything, invalid
// UTF-8 included (request headers feed StringLike conditions).
func FuzzFoldMatch(f *testing.F) {
	f.Add("execute-api:Inv*", "EXECUTE-API:invoke")
	f.Add("*:?NVOKE", "execute-api:invoke")
	f.Add("Ab*c?d*E", "aBxxCyDzzE")
	f.Add("*é*", "a\xc3\xa9\xff")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if !utf8.ValidString(pattern) {
			for _, doc := range []string{
				`{"Statement":{"Effect":"Deny","Action":` + rawJSONString(pattern) + `,"Resource":"*"}}`,
				`{"Statement":{"Effect":"Deny","Action":"*","Resource":` + rawJSONString(pattern) + `}}`,
			} {
				if _, err := Parse([]byte(doc)); err == nil {
					t.Fatalf("Parse accepted a pattern that is not UTF-8: %q", doc)
				}
			}
			return
		}
		p := compilePattern(pattern, true)
		got := p.match(s)
		if want := Match(toLowerASCII(pattern), toLowerASCII(s)); got != want {
			t.Fatalf("fold match(%q, %q) = %v, want %v", pattern, s, got, want)
		}
	})
}

func TestCompilePattern(t *testing.T) {
	tests := []struct {
		name, in string
		fold     bool
		want     pattern
	}{
		{"exact", "a/b", false, pattern{s: "a/b", kind: kindExact}},
		{"exact folded", "A/b", true, pattern{s: "a/b", kind: kindExact, fold: true}},
		{"any", "**", false, pattern{kind: kindAny}},
		{"prefix", "arn:x/*", false, pattern{s: "arn:x/", kind: kindPrefix}},
		{"prefix with two stars", "arn:x/**", false, pattern{s: "arn:x/", kind: kindPrefix}},
		{"glob head and tail", "arn:*/GET/?/pets", false, pattern{s: "arn:*/GET/?/pets", kind: kindGlob, pre: 4, suf: 5}},
		{"glob question only", "a?", false, pattern{s: "a?", kind: kindGlob, pre: 1, suf: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := compilePattern(tt.in, tt.fold); got != tt.want {
				t.Errorf("compilePattern(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}
