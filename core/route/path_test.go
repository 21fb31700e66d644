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
		{name: "percent literal decoded once", target: "/a%252F", path: "/a%2F"},
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
