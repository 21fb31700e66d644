package route

import (
	"strings"
	"testing"
)

// assertClean fails when an accepted path could still reach a different
// resource after another component normalises it.
func assertClean(t *testing.T, path string) {
	t.Helper()
	if !strings.HasPrefix(path, "/") {
		t.Fatalf("accepted path %q does not start with /", path)
	}
	for _, seg := range strings.Split(path[1:], "/") {
		if seg == "." || seg == ".." {
			t.Fatalf("accepted path %q has a dot segment", path)
		}
	}
	if strings.Contains(path, "//") || strings.ContainsAny(path, "\\\x00") {
		t.Fatalf("accepted path %q has an empty segment, backslash or NUL", path)
	}
}

func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{
		"/", "/pets/42?x=1", "/a%2Fb", "/a/%2e%2e/b", "/a%5c", "/a%00", "/a%zz", "//a", "/pets/", "/%25%32%46", "/a#b",
		"/rt/admin;x=1", "/pets/..;/admin", "/pets/..%3b/admin", "/pets/%252e%252e/admin", "/pets/\uff0e\uff0e/a", "/100%25",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		if path, _, err := (PathRules{AllowParameters: true}).Clean(target); err == nil {
			assertClean(t, path)
			checkReadings(t, PathRules{AllowParameters: true}, target, path)
		}
		path, q, err := CleanPath(target)
		if err != nil {
			return
		}
		assertClean(t, path)
		checkReadings(t, PathRules{}, target, path)
		raw, _, _ := strings.Cut(target, "?")
		if lower := strings.ToLower(raw); strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") {
			t.Fatalf("accepted target %q with an encoded slash", target)
		}
		if !strings.HasSuffix(target, q) {
			t.Fatalf("query %q is not the tail of %q", q, target)
		}
		// A clean path is a fixed point: cleaning it again (with "%"
		// escaped, since it is decoded) yields it unchanged.
		again, _, err := CleanPath(strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path))
		if err != nil || again != path {
			t.Fatalf("re-cleaning %q = %q, %v", path, again, err)
		}
	})
}

func FuzzRouter(f *testing.F) {
	f.Add("GET", "/pets/{id}", "ANY", "/{proxy+}", "GET", "/pets/42")
	f.Add("ANY", "/", "POST", "/a/{b}/c", "POST", "/a/%2e%2e/c")
	f.Add("GET", "/x/{y+}", "GET", "/x", "GET", "/x/")
	f.Add("PUT", "/{a}/{b}", "PUT", "/{c}/{d}", "PUT", "/1/2")
	f.Fuzz(func(t *testing.T, m1, t1, m2, t2, method, target string) {
		routes := []Route{{m1, t1}, {m2, t2}, {"ANY", "/fixed/{proxy+}"}}
		r, err := NewRouter(routes)
		if err != nil {
			return
		}
		for _, p := range []string{target, "/fixed/" + target} {
			path, _, err := CleanPath(p)
			if err != nil {
				// Unclean paths must not match even if a caller skips
				// CleanPath.
				if _, ok := r.Match(method, p); ok && !matchable(p) {
					t.Fatalf("unclean %q matched", p)
				}
				continue
			}
			assertClean(t, path)
			m, ok := r.Match(method, path)
			if !ok {
				continue
			}
			if m.Index < 0 || m.Index >= len(routes) || routes[m.Index].Template != m.Template {
				t.Fatalf("Match(%q) = %+v: bad index", path, m)
			}
			if rm := routes[m.Index].Method; rm != "ANY" && rm != method {
				t.Fatalf("Match(%s %q) picked a %s route", method, path, rm)
			}
			for _, prm := range m.Params {
				if prm.Value == "" || prm.Value == "." || prm.Value == ".." {
					t.Fatalf("Match(%q) captured %+v", path, prm)
				}
			}
		}
	})
}
