package route

import (
	"errors"
	"strings"
	"unicode/utf8"
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
)

// CleanPath takes the raw request target (":path", may carry a query) and
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
// slash is kept ("/pets/"); the router and Format ignore it. "%25" decodes
// to a literal "%" and is not decoded again. The query is returned as sent
// and validated by whoever parses it. When the path has no escapes the
// result shares target's memory.
func CleanPath(target string) (path, rawQuery string, err error) {
	path, rawQuery, _ = strings.Cut(target, "?")
	if path == "" || path[0] != '/' {
		return "", "", errNotAbsolute
	}
	if strings.IndexByte(target, '#') >= 0 {
		return "", "", errFragment
	}
	escaped := false
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c == '%':
			escaped = true
		case c == '\\':
			return "", "", errBackslash
		case isControl(c):
			return "", "", errControlByte
		}
	}
	if escaped {
		if path, err = unescape(path); err != nil {
			return "", "", err
		}
	}
	if !utf8.ValidString(path) {
		return "", "", errInvalidUTF8
	}
	if err := checkSegments(path); err != nil {
		return "", "", err
	}
	return path, rawQuery, nil
}

// unescape decodes percent escapes, refusing the ones that would change the
// path's structure or smuggle control bytes.
func unescape(s string) (string, error) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(s) {
			return "", errBadEscape
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", errBadEscape
		}
		d := hi<<4 | lo
		switch {
		case d == '/':
			return "", errEncodedSlash
		case d == '\\':
			return "", errBackslash
		case isControl(d):
			return "", errControlByte
		}
		b = append(b, d)
		i += 2
	}
	return string(b), nil
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
