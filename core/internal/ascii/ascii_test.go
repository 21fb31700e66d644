package ascii

import (
	"strings"
	"testing"
)

func TestQuoteShort(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"short", "a\nb", `"a\nb"`},
		{"cut at 64 bytes", strings.Repeat("x", 70), `"` + strings.Repeat("x", 64) + `"...`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := QuoteShort(tt.in); got != tt.want {
				t.Errorf("QuoteShort = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestClasses(t *testing.T) {
	tests := []struct {
		name string
		s    string
		ok   func(byte) bool
		want bool
	}{
		{"digits", "0129", IsDigit, true},
		{"not a digit", "12a", IsDigit, false},
		{"lower", "az", IsLower, true},
		{"upper is not lower", "aZ", IsLower, false},
		{"alnum", "aZ09", IsAlnum, true},
		{"dash is not alnum", "a-b", IsAlnum, false},
		{"controls", "\x00\x1f\x7f", IsControl, true},
		{"space is not control", " ", IsControl, false},
		{"empty is all", "", IsDigit, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := All(tt.s, tt.ok); got != tt.want {
				t.Errorf("All(%q) = %v, want %v", tt.s, got, tt.want)
			}
		})
	}
}
