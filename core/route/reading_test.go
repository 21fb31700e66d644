package route

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// The ways common upstreams read a request path. A path the gateway
// forwards must name, in every reading, the resource the gateway judged;
// otherwise the gateway must refuse it.

// decodeLenient decodes every valid percent escape and leaves any other
// "%" as it is, as most servers do.
func decodeLenient(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b = append(b, hi<<4|lo)
				i += 2
				continue
			}
		}
		b = append(b, s[i])
	}
	return string(b)
}

// stripParameters drops ";parameters" from every segment, as servlet
// containers do before they map a path.
func stripParameters(s string) string {
	segs := strings.Split(s, "/")
	for i, seg := range segs {
		segs[i], _, _ = strings.Cut(seg, ";")
	}
	return strings.Join(segs, "/")
}

// backslashAsSlash reads "\" as "/", as some servers on Windows do.
func backslashAsSlash(s string) string { return strings.ReplaceAll(s, "\\", "/") }

// removeDotSegments resolves "." and ".." segments (RFC 3986, 5.2.4).
func removeDotSegments(s string) string {
	if !strings.HasPrefix(s, "/") {
		s = "/" + s
	}
	segs := strings.Split(s[1:], "/")
	out := make([]string, 0, len(segs))
	for i, seg := range segs {
		last := i == len(segs)-1
		switch seg {
		case ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
			continue
		}
		if last {
			out = append(out, "")
		}
	}
	return "/" + strings.Join(out, "/")
}

// reading is one upstream's way of turning the raw request path into the
// resource it serves. keepsParameters says whether ";parameters" stay part
// of the resource in it.
type reading struct {
	name            string
	keepsParameters bool
	read            func(raw string) string
}

var readings = []reading{
	{"decode once", true, decodeLenient},
	{"decode once, resolve dots", true, func(s string) string { return removeDotSegments(decodeLenient(s)) }},
	{"decode twice, resolve dots", true, func(s string) string { return removeDotSegments(decodeLenient(decodeLenient(s))) }},
	{"backslash as slash, decode, resolve dots", true, func(s string) string {
		return removeDotSegments(decodeLenient(backslashAsSlash(s)))
	}},
	{"decode, backslash as slash, resolve dots", true, func(s string) string {
		return removeDotSegments(backslashAsSlash(decodeLenient(s)))
	}},
	{"decode twice, backslash as slash, resolve dots", true, func(s string) string {
		return removeDotSegments(backslashAsSlash(decodeLenient(decodeLenient(s))))
	}},
	{"servlet: strip parameters, decode, resolve dots", false, func(s string) string {
		return removeDotSegments(decodeLenient(stripParameters(s)))
	}},
	{"decode, strip parameters, resolve dots", false, func(s string) string {
		return removeDotSegments(stripParameters(decodeLenient(s)))
	}},
	{"decode twice, backslash as slash, strip parameters, resolve dots", false, func(s string) string {
		return removeDotSegments(stripParameters(backslashAsSlash(decodeLenient(decodeLenient(s)))))
	}},
}

// resource is what a decision covers for a path: the router and the method
// ARN ignore one trailing slash.
func resource(p string) string {
	if len(p) > 1 {
		return strings.TrimSuffix(p, "/")
	}
	return p
}

// checkReadings fails t when the gateway accepted target as path and an
// upstream reading names another resource. With parameters allowed, the
// readings that drop parameters may name path with some or all of its
// segments' parameters dropped: the risk the setting takes, and no more.
func checkReadings(t *testing.T, rules PathRules, target, path string) {
	t.Helper()
	raw, _, _ := strings.Cut(target, "?")
	for _, rd := range readings {
		got := resource(rd.read(raw))
		if got == resource(path) || !rd.keepsParameters && rules.AllowParameters && sameNames(got, resource(path)) {
			continue
		}
		t.Fatalf("accepted %q as %q, but an upstream reading it %q serves %q", target, path, rd.name, got)
	}
}

// sameNames reports whether got is path with some segments cut at one of
// their ";" (a raw ";" starts the parameters a servlet container drops;
// a decoded "%3B" before it does not).
func sameNames(got, path string) bool {
	g, p := strings.Split(got, "/"), strings.Split(path, "/")
	if len(g) != len(p) {
		return false
	}
	for i := range p {
		if g[i] != p[i] && !(strings.HasPrefix(p[i], g[i]) && p[i][len(g[i])] == ';') {
			return false
		}
	}
	return true
}

// pathPieces are the material random paths are built from: names,
// parameters, dots, and percent escapes once, twice and thrice encoded.
var pathPieces = []string{
	"a", "pets", "admin", "1", "x.y", "caf%C3%A9", "caf\u00e9",
	".", "..", "...", "%2e", "%2E", "%2e%2e", ".%2e", "%2e.", "%252e", "%252e%252e", "%25252e",
	"%2f", "%2F", "%252f", "%5c", "%5C", "%255c", "\\",
	";", ";x=1", "..;", ".;", "%3b", "%3B", "%253b", "..%3b", "%2e%2e;", "1;..;",
	"%25", "%2541", "%41", "%", "%Z", "%ZZ", "%25zz",
	"\uff0e", "\uff0e\uff0e", "%EF%BC%8E", "\uff0f", "\u2025", "\u037e",
	"", "?q=1", "?a=%ZZ", "#f",
}

// randomTarget builds a request target from one to five pieces per
// segment and one to five segments, with or without a trailing slash.
func randomTarget(r *rand.Rand) string {
	var b strings.Builder
	for range 1 + r.IntN(5) {
		b.WriteByte('/')
		for range 1 + r.IntN(3) {
			b.WriteString(pathPieces[r.IntN(len(pathPieces))])
		}
	}
	if r.IntN(4) == 0 {
		b.WriteByte('/')
	}
	return b.String()
}

// TestCleanPathUpstreamReadings is the property: for random paths,
// whatever Clean accepts, every upstream reading serves the resource the
// decision covered.
func TestCleanPathUpstreamReadings(t *testing.T) {
	for _, rules := range []PathRules{{}, {AllowParameters: true}} {
		r := rand.New(rand.NewPCG(1, 2))
		accepted, refused := 0, 0
		for range 50000 {
			target := randomTarget(r)
			path, _, err := rules.Clean(target)
			if err != nil {
				refused++
				continue
			}
			accepted++
			checkReadings(t, rules, target, path)
		}
		// Both outcomes must be common, or the property says nothing.
		if accepted < 500 || refused < 500 {
			t.Errorf("rules %+v: %d accepted, %d refused; the generator no longer covers both", rules, accepted, refused)
		}
	}
}

// TestReadingsCatchTheKnownBypasses keeps the readings honest: each path of
// a known bypass reads as another resource in at least one of them.
func TestReadingsCatchTheKnownBypasses(t *testing.T) {
	for _, raw := range []string{
		"/rt/admin;x=1", "/pets/..;/admin", "/pets/..%3b/admin", "/pets/%2e%2e;/admin", "/pets/.;/admin",
		"/pets/1;..;/admin", "/pets/%252e%252e/admin", "/pets/%2541", "/a\\..\\admin", "/a%255c..%255cadmin",
	} {
		path := decodeLenient(raw)
		differs := false
		for _, rd := range readings {
			if resource(rd.read(raw)) != resource(path) {
				differs = true
			}
		}
		if !differs {
			t.Errorf("no reading of %q differs from %q", raw, path)
		}
	}
}
