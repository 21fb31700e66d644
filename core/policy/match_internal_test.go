package policy

import "testing"

// FuzzFoldMatch checks the case-folding path used for actions against the
// case-sensitive matcher on pre-folded input.
func FuzzFoldMatch(f *testing.F) {
	f.Add("execute-api:Inv*", "EXECUTE-API:invoke")
	f.Add("*:?NVOKE", "execute-api:invoke")
	f.Add("Ab*c?d*E", "aBxxCyDzzE")
	f.Fuzz(func(t *testing.T, pattern, s string) {
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
