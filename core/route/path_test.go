package route

import (
	"testing"
)

func TestCleanPath(t *testing.T) {
	tests := []struct {
		name    string
		target  string
		path, q string
		wantErr string
	}{
		{name: "root", target: "/", path: "/"},
		{name: "plain", target: "/pets/42", path: "/pets/42"},
		{name: "query split", target: "/pets?a=1&b=%2F", path: "/pets", q: "a=1&b=%2F"},
		{name: "empty query", target: "/pets?", path: "/pets"},
		{name: "query keeps later question marks", target: "/p?a=?b", path: "/p", q: "a=?b"},
		{name: "escapes decoded", target: "/a%20b/%C3%A9%3f", path: "/a b/é?"},
		{name: "percent literal decoded once", target: "/100%25/a%25b", path: "/100%/a%b"},
		{name: "plus is literal", target: "/a+b", path: "/a+b"},
		{name: "trailing slash kept", target: "/pets/", path: "/pets/"},
		{name: "dots inside segment", target: "/a..b/.c/d.", path: "/a..b/.c/d."},
		{name: "raw utf-8", target: "/caf\xc3\xa9", path: "/café"},

		{name: "empty", target: "", wantErr: `must start with "/"`},
		{name: "relative", target: "pets", wantErr: `must start with "/"`},
		{name: "absolute form", target: "http://x/pets", wantErr: `must start with "/"`},
		{name: "asterisk form", target: "*", wantErr: `must start with "/"`},
		{name: "query only", target: "?a=1", wantErr: `must start with "/"`},
		{name: "dot-dot", target: "/a/../b", wantErr: `"." or ".." segment`},
		{name: "dot", target: "/a/./b", wantErr: `"." or ".." segment`},
		{name: "final dot-dot", target: "/a/..", wantErr: `"." or ".." segment`},
		{name: "final dot-dot with slash", target: "/a/../", wantErr: `"." or ".." segment`},
		{name: "encoded dot-dot", target: "/a/%2e%2E/b", wantErr: `"." or ".." segment`},
		{name: "half-encoded dot-dot", target: "/a/.%2e", wantErr: `"." or ".." segment`},
		{name: "encoded dot", target: "/%2E", wantErr: `"." or ".." segment`},
		{name: "encoded slash upper", target: "/a%2Fb", wantErr: "encoded slash (%2F)"},
		{name: "encoded slash lower", target: "/a%2fb", wantErr: "encoded slash (%2F)"},
		{name: "encoded backslash", target: "/a%5Cb", wantErr: `backslash (raw or %5C)`},
		{name: "encoded backslash lower", target: "/a%5cb", wantErr: `backslash (raw or %5C)`},
		{name: "raw backslash", target: "/a\\b", wantErr: `backslash (raw or %5C)`},
		{name: "encoded NUL", target: "/a%00", wantErr: "NUL or control byte"},
		{name: "raw NUL", target: "/a\x00", wantErr: "NUL or control byte"},
		{name: "encoded newline", target: "/a%0Ab", wantErr: "NUL or control byte"},
		{name: "raw tab", target: "/a\tb", wantErr: "NUL or control byte"},
		{name: "encoded DEL", target: "/a%7F", wantErr: "NUL or control byte"},
		{name: "bad escape hex", target: "/a%zz", wantErr: "invalid percent escape"},
		{name: "truncated escape", target: "/a%2", wantErr: "invalid percent escape"},
		{name: "lone percent", target: "/a%", wantErr: "invalid percent escape"},
		{name: "escape split by query", target: "/a%2?x", wantErr: "invalid percent escape"},
		{name: "invalid utf-8", target: "/a%FF", wantErr: "not valid UTF-8 after decoding"},
		{name: "double slash", target: "/a//b", wantErr: `empty segment ("//")`},
		{name: "leading double slash", target: "//a", wantErr: `empty segment ("//")`},
		{name: "only double slash", target: "//", wantErr: `empty segment ("//")`},
		{name: "double trailing slash", target: "/a//", wantErr: `empty segment ("//")`},
		{name: "fragment", target: "/a#b", wantErr: `fragment ("#") in request target`},
		{name: "fragment in query", target: "/a?b#c", wantErr: `fragment ("#") in request target`},

		// Path parameters: servlet containers drop them before mapping.
		{name: "parameter", target: "/rt/admin;x=1", wantErr: `path parameter (";", raw or %3B)`},
		{name: "bare semicolon", target: "/a;", wantErr: `path parameter (";", raw or %3B)`},
		{name: "dot-dot parameter", target: "/pets/..;/admin", wantErr: `path parameter (";", raw or %3B)`},
		{name: "dot parameter", target: "/pets/.;/admin", wantErr: `path parameter (";", raw or %3B)`},
		{name: "parameters between dots", target: "/pets/1;..;/admin", wantErr: `path parameter (";", raw or %3B)`},
		{name: "encoded semicolon", target: "/pets/..%3b/admin", wantErr: `path parameter (";", raw or %3B)`},
		{name: "encoded semicolon upper", target: "/pets/a%3Bb", wantErr: `path parameter (";", raw or %3B)`},
		{name: "encoded dots with parameter", target: "/pets/%2e%2e;/admin", wantErr: `path parameter (";", raw or %3B)`},
		{name: "semicolon in query is the query's", target: "/a?x=1;y=2", path: "/a", q: "x=1;y=2"},

		// Double encoding: an upstream that decodes twice reads another path.
		{name: "double-encoded dot-dot", target: "/pets/%252e%252e/admin", wantErr: "percent escape left after decoding (double encoding)"},
		{name: "double-encoded slash", target: "/a%252Fb", wantErr: "percent escape left after decoding (double encoding)"},
		{name: "double-encoded backslash", target: "/a%255cb", wantErr: "percent escape left after decoding (double encoding)"},
		{name: "double-encoded semicolon", target: "/a%253bb", wantErr: "percent escape left after decoding (double encoding)"},
		{name: "double-encoded letter", target: "/pets/%2541", wantErr: "percent escape left after decoding (double encoding)"},
		{name: "triple encoding", target: "/pets/%25252e", wantErr: "percent escape left after decoding (double encoding)"},
		{name: "percent then non-hex", target: "/a%25zz", path: "/a%zz"},
		{name: "percent then one hex", target: "/a%25a", path: "/a%a"},

		// Unicode look-alikes, for upstreams that normalise NFKC.
		{name: "fullwidth dot-dot", target: "/pets/\uff0e\uff0e/admin", wantErr: `Unicode look-alike of ".", "/", "\", ";" or "%"`},
		{name: "encoded fullwidth dot-dot", target: "/pets/%EF%BC%8E%EF%BC%8E/admin", wantErr: `Unicode look-alike of ".", "/", "\", ";" or "%"`},
		{name: "fullwidth dot", target: "/pets/\uff0e/admin", wantErr: `Unicode look-alike of ".", "/", "\", ";" or "%"`},
		{name: "two dot leader", target: "/pets/\u2025/admin", wantErr: `Unicode look-alike of ".", "/", "\", ";" or "%"`},
		{name: "dot and fullwidth dot", target: "/pets/.\uff0e", wantErr: `Unicode look-alike of ".", "/", "\", ";" or "%"`},
		{name: "fullwidth solidus", target: "/pets\uff0fadmin", wantErr: `Unicode look-alike of ".", "/", "\", ";" or "%"`},
		{name: "fullwidth reverse solidus", target: "/pets\uff3cadmin", wantErr: `Unicode look-alike of ".", "/", "\", ";" or "%"`},
		{name: "fullwidth semicolon", target: "/admin\uff1bx", wantErr: `Unicode look-alike of ".", "/", "\", ";" or "%"`},
		{name: "greek question mark", target: "/admin\u037ex", wantErr: `Unicode look-alike of ".", "/", "\", ";" or "%"`},
		{name: "fullwidth percent", target: "/a\uff05", wantErr: `Unicode look-alike of ".", "/", "\", ";" or "%"`},
		{name: "ellipsis segment is a name", target: "/posts/\u2026", path: "/posts/\u2026"},
		{name: "fullwidth dot inside a name", target: "/v1\uff0e2", path: "/v1\uff0e2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, q, err := CleanPath(tt.target)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("CleanPath(%q) error = %v, want %q", tt.target, err, tt.wantErr)
				}
				if path != "" || q != "" {
					t.Errorf("CleanPath returned %q, %q with an error", path, q)
				}
				return
			}
			if err != nil {
				t.Fatalf("CleanPath(%q): %v", tt.target, err)
			}
			if path != tt.path || q != tt.q {
				t.Errorf("CleanPath(%q) = %q, %q; want %q, %q", tt.target, path, q, tt.path, tt.q)
			}
		})
	}
}

func TestCleanPathNoEscapesAllocatesNothing(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _, _, _ = CleanPath("/pets/42?x=1") }); n != 0 {
		t.Errorf("CleanPath allocates %v times, want 0", n)
	}
}

// benchRoutes is a realistic API of twenty routes.
var benchRoutes = []Route{
	{"ANY", "/health"}, {"GET", "/"}, {"ANY", "/{proxy+}"},
	{"GET", "/pets"}, {"POST", "/pets"}, {"GET", "/pets/{id}"}, {"PUT", "/pets/{id}"}, {"DELETE", "/pets/{id}"},
	{"GET", "/pets/{id}/toys"}, {"GET", "/pets/{id}/toys/{toy}"},
	{"GET", "/users"}, {"GET", "/users/me"}, {"GET", "/users/{user}"}, {"PATCH", "/users/{user}"},
	{"GET", "/users/{user}/keys"}, {"DELETE", "/users/{user}/keys/{key}"},
	{"ANY", "/admin/{proxy+}"}, {"GET", "/orders/{id}"}, {"POST", "/orders"}, {"GET", "/static/{file+}"},
}

func BenchmarkCleanPath(b *testing.B) {
	for _, target := range []string{"/pets/42?x=1", "/a%20b/c%C3%A9"} {
		b.Run(target, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := CleanPath(target); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestCleanPathAllowParameters(t *testing.T) {
	rules := PathRules{AllowParameters: true}
	tests := []struct {
		name    string
		target  string
		path    string
		wantErr string
	}{
		{name: "parameter kept", target: "/rt/admin;x=1", path: "/rt/admin;x=1"},
		{name: "encoded parameter decoded", target: "/a%3Bv=1/b", path: "/a;v=1/b"},
		{name: "parameters on several segments", target: "/a;x/b;y=2/", path: "/a;x/b;y=2/"},
		{name: "dot-dot with parameter", target: "/pets/..;/admin", wantErr: `"." or ".." segment`},
		{name: "encoded dot-dot with parameter", target: "/pets/%2e%2e;x/admin", wantErr: `"." or ".." segment`},
		{name: "dot with parameter", target: "/pets/.;/admin", wantErr: `"." or ".." segment`},
		{name: "dot-dot with encoded parameter", target: "/pets/..%3b/admin", wantErr: `"." or ".." segment`},
		{name: "empty name with parameter", target: "/pets/;x/admin", wantErr: `empty segment ("//")`},
		{name: "parameter only segment at end", target: "/pets/;", wantErr: `empty segment ("//")`},
		{name: "fullwidth dot-dot with parameter", target: "/pets/\uff0e\uff0e;x", wantErr: `Unicode look-alike of ".", "/", "\", ";" or "%"`},
		{name: "fullwidth semicolon allowed", target: "/a\uff1bx", path: "/a\uff1bx"},
		{name: "double encoding still refused", target: "/a%253b", wantErr: "percent escape left after decoding (double encoding)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, _, err := rules.Clean(tt.target)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Clean(%q) = %q, %v; want error %q", tt.target, path, err, tt.wantErr)
				}
				return
			}
			if err != nil || path != tt.path {
				t.Fatalf("Clean(%q) = %q, %v; want %q", tt.target, path, err, tt.path)
			}
		})
	}
}

func TestKnownMethod(t *testing.T) {
	for _, m := range Methods {
		if !KnownMethod(m) {
			t.Errorf("KnownMethod(%q) = false", m)
		}
	}
	for _, m := range []string{"", "get", "Get", "delete", "ANY", "TRACE", "CONNECT", "PROPFIND", "GET ", "FOO"} {
		if KnownMethod(m) {
			t.Errorf("KnownMethod(%q) = true", m)
		}
	}
}
