package route

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/authgate/authgate/core/internal/ascii"
)

// matchable reports whether path is one CleanPath could have returned, as
// far as routing cares, so that a caller skipping CleanPath cannot route
// "/a/../b" or "//b" anywhere.
func matchable(path string) bool {
	return path != "" && path[0] == '/' && checkSegments(path) == nil
}

// Errors of CleanPath. They never quote the path: it is client input.
var (
	errNotAbsolute    = errors.New("must start with \"/\"")
	errFragment       = errors.New("fragment (\"#\") in request target")
	errBadEscape      = errors.New("invalid percent escape")
	errEncodedSlash   = errors.New("encoded slash (%2F)")
	errBackslash      = errors.New("backslash (raw or %5C)")
	errControlByte    = errors.New("NUL or control byte")
	errInvalidUTF8    = errors.New("not valid UTF-8 after decoding")
	errEmptyPathSeg   = errors.New("empty segment (\"//\")")
	errDotPathSegment = errors.New("\".\" or \"..\" segment")
	errParameter      = errors.New("path parameter (\";\", raw or %3B)")
	errDoubleEncoded  = errors.New("percent escape left after decoding (double encoding)")
	errLookalike      = errors.New("Unicode look-alike of \".\", \"/\", \"\\\", \";\" or \"%\"")
)

// PathRules are the per-deployment choices CleanPath leaves open. The zero
// value is the strict default.
type PathRules struct {
	// AllowParameters lets ";" (raw or %3B) through, for upstreams that
	// keep path parameters as part of the resource. Servlet containers
	// and the frameworks on them drop ";parameters" from every segment
	// before they map the path, so behind them "/admin;x=1" reaches the
	// resource "/admin" while the policy judged "/admin;x=1". Even when
	// allowed, a segment whose name before ";" is empty, "." or ".." is
	// refused: no reading of it is harmless.
	AllowParameters bool
}

// CleanPath is PathRules{}.Clean: the strict default.
func CleanPath(target string) (path, rawQuery string, err error) {
	return PathRules{}.Clean(target)
}

// Clean takes the raw request target (":path", may carry a query) and
// returns the percent-decoded path and the raw query (without "?"). It
// rejects (error) paths that do not start with "/", contain "." or ".."
// segments, an encoded slash ("%2F"), NUL, or invalid percent escapes: the
// gateway answers those 400 rather than guess which route was meant.
//
// It also rejects a raw or encoded backslash (some servers read it as a
// slash), any control byte, a fragment, a decoded path that is not UTF-8
// (it travels in JSON events and headers) and empty segments ("/a//b",
// "//a"): proxies disagree on whether to merge slashes, so the policy could
// judge a different resource than the upstream serves. A single trailing
// slash is kept ("/pets/"); the router and Format ignore it.
//
// Every upstream must read the path as the same resource, so Clean also
// refuses what common upstreams read differently from the gateway:
//   - a ";" (raw or %3B), which servlet containers read as the start of
//     a path parameter and drop, unless r.AllowParameters;
//   - a percent escape that is still there after decoding once ("%252e"
//     is "%2e"): an upstream that decodes twice would read another
//     resource, a dot segment or a slash;
//   - a character whose Unicode compatibility form (NFKC) is ".", "/",
//     "\", ";" or "%" where that form would change the path's structure
//     (a "．．" segment, a "／"), for upstreams that normalise NFKC.
//
// "%25" decodes to a literal "%". The query is returned as sent and
// validated by whoever parses it. When the path has no escapes the result
// shares target's memory.
func (r PathRules) Clean(target string) (path, rawQuery string, err error) {
	path, rawQuery, _ = strings.Cut(target, "?")
	if path == "" || path[0] != '/' {
		return "", "", errNotAbsolute
	}
	if strings.IndexByte(target, '#') >= 0 {
		return "", "", errFragment
	}
	escaped, wide := false, false
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c == '%':
			escaped = true
		case c == '\\':
			return "", "", errBackslash
		case c == ';' && !r.AllowParameters:
			return "", "", errParameter
		case ascii.IsControl(c):
			return "", "", errControlByte
		case c >= utf8.RuneSelf:
			wide = true
		}
	}
	if escaped {
		var percent bool
		if path, percent, err = r.unescape(path); err != nil {
			return "", "", err
		}
		if percent && hasEscape(path) {
			return "", "", errDoubleEncoded
		}
		if !wide {
			wide = hasWide(path)
		}
	}
	if !utf8.ValidString(path) {
		return "", "", errInvalidUTF8
	}
	if err := r.checkNames(path); err != nil {
		return "", "", err
	}
	if wide {
		if err := r.checkLookalikes(path); err != nil {
			return "", "", err
		}
	}
	return path, rawQuery, nil
}

// unescape decodes percent escapes, refusing the ones that would change the
// path's structure or smuggle control bytes. percent reports whether a
// "%25" was decoded: only then can an escape be left in the result.
func (r PathRules) unescape(s string) (_ string, percent bool, _ error) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(s) {
			return "", false, errBadEscape
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", false, errBadEscape
		}
		d := hi<<4 | lo
		switch {
		case d == '/':
			return "", false, errEncodedSlash
		case d == '\\':
			return "", false, errBackslash
		case d == ';' && !r.AllowParameters:
			return "", false, errParameter
		case ascii.IsControl(d):
			return "", false, errControlByte
		case d == '%':
			percent = true
		}
		b = append(b, d)
		i += 2
	}
	return string(b), percent, nil
}

// hasEscape reports whether s holds a "%" followed by two hex digits.
func hasEscape(s string) bool {
	for i := 0; i+2 < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		if _, ok := unhex(s[i+1]); !ok {
			continue
		}
		if _, ok := unhex(s[i+2]); ok {
			return true
		}
	}
	return false
}

func hasWide(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// checkNames is checkSegments, plus, when parameters are allowed, the same
// check of each segment's name without its parameters: what a servlet
// container resolves.
func (r PathRules) checkNames(path string) error {
	if err := checkSegments(path); err != nil {
		return err
	}
	if !r.AllowParameters || strings.IndexByte(path, ';') < 0 {
		return nil
	}
	for seg := range strings.SplitSeq(strings.TrimSuffix(path[1:], "/"), "/") {
		name, _, params := strings.Cut(seg, ";")
		switch {
		case !params:
		case name == "":
			return errEmptyPathSeg
		case name == "." || name == "..":
			return errDotPathSegment
		}
	}
	return nil
}

// checkSegments rejects empty segments (except one trailing slash) and dot
// segments in a decoded path.
func checkSegments(path string) error {
	if path == "/" {
		return nil
	}
	body := strings.TrimSuffix(path[1:], "/")
	if body == "" {
		return errEmptyPathSeg // "//"
	}
	for body != "" {
		seg, tail, more := strings.Cut(body, "/")
		switch {
		case seg == "" || more && tail == "":
			return errEmptyPathSeg
		case seg == "." || seg == "..":
			return errDotPathSegment
		}
		body = tail
	}
	return nil
}

// checkLookalikes reads the decoded path as an upstream that normalises
// it to Unicode compatibility form (NFKC) would, for the characters that
// become path syntax: it refuses a path in which one of them would add a
// slash, a backslash, a percent sign or (unless parameters are allowed) a
// ";", or would make a dot segment.
func (r PathRules) checkLookalikes(path string) error {
	var mapped []byte
	for i, c := range path {
		form, ok := lookalikes[c]
		if !ok {
			if mapped != nil {
				mapped = utf8.AppendRune(mapped, c)
			}
			continue
		}
		if strings.ContainsAny(form, "/\\%") || !r.AllowParameters && strings.IndexByte(form, ';') >= 0 {
			return errLookalike
		}
		if mapped == nil {
			mapped = append(make([]byte, 0, len(path)), path[:i]...)
		}
		mapped = append(mapped, form...)
	}
	if mapped != nil && r.checkNames(string(mapped)) != nil {
		return errLookalike
	}
	return nil
}

// lookalikes maps every code point whose compatibility decomposition
// (NFKC, Unicode 14) contains ".", "/", "\", ";" or "%" to that form. The
// list was drawn from the Unicode character database; a path is checked
// against it only when it holds a byte above 0x7F.
var lookalikes = map[rune]string{
	0x037E: ";",                 // GREEK QUESTION MARK (canonically ";", even under NFC)
	0x2024: ".",                 // ONE DOT LEADER
	0x2025: "..", 0x2026: "...", // TWO DOT LEADER, HORIZONTAL ELLIPSIS
	0x2100: "a/c", 0x2101: "a/s", 0x2105: "c/o", 0x2106: "c/u",
	0x2488: "1.", 0x2489: "2.", 0x248A: "3.", 0x248B: "4.", 0x248C: "5.",
	0x248D: "6.", 0x248E: "7.", 0x248F: "8.", 0x2490: "9.", 0x2491: "10.",
	0x2492: "11.", 0x2493: "12.", 0x2494: "13.", 0x2495: "14.", 0x2496: "15.",
	0x2497: "16.", 0x2498: "17.", 0x2499: "18.", 0x249A: "19.", 0x249B: "20.",
	0x33C2: "a.m.", 0x33C7: "Co.", 0x33D8: "p.m.",
	0xFE14: ";", 0xFE19: "...", 0xFE30: "..", 0xFE52: ".", 0xFE54: ";",
	0xFE68: "\\", 0xFE6A: "%",
	0xFF05: "%", 0xFF0E: ".", 0xFF0F: "/", 0xFF1B: ";", 0xFF3C: "\\",
	0x1F100: "0.",
}
