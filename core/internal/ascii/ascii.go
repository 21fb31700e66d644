// Package ascii holds the byte classes and the error quoting that the
// core's parsers of ARNs and route templates share.
package ascii

import "fmt"

// IsDigit reports whether c is an ASCII digit.
func IsDigit(c byte) bool { return c >= '0' && c <= '9' }

// IsLower reports whether c is an ASCII lower-case letter.
func IsLower(c byte) bool { return c >= 'a' && c <= 'z' }

// IsAlnum reports whether c is an ASCII letter or digit.
func IsAlnum(c byte) bool {
	return IsDigit(c) || IsLower(c) || c >= 'A' && c <= 'Z'
}

// IsControl reports whether c is an ASCII control byte (DEL included).
func IsControl(c byte) bool { return c < 0x20 || c == 0x7f }

// All reports whether every byte of s satisfies ok.
func All(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// QuoteShort quotes s for an error message, cut to a readable length.
func QuoteShort(s string) string {
	const max = 64
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}
