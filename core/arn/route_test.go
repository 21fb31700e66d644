package arn

import (
	"fmt"
	"reflect"
	"testing"
)

func TestNewRouterErrors(t *testing.T) {
	tests := []struct {
		name    string
		routes  []Route
		wantErr string
	}{
		{name: "lower-case method", routes: []Route{{"get", "/a"}},
			wantErr: `routes[0].method: must be ANY or one of DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, got "get"`},
		{name: "empty method", routes: []Route{{"GET", "/a"}, {"", "/b"}},
			wantErr: `routes[1].method: must be ANY or one of DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, got ""`},
		{name: "no leading slash", routes: []Route{{"GET", "pets"}},
			wantErr: `routes[0].path: must start with "/", got "pets"`},
		{name: "empty template", routes: []Route{{"GET", ""}},
			wantErr: `routes[0].path: must start with "/", got ""`},
		{name: "trailing slash", routes: []Route{{"GET", "/pets/"}},
			wantErr: `routes[0].path: must not end with "/", got "/pets/"`},
		{name: "double slash", routes: []Route{{"GET", "/a//b"}},
			wantErr: `routes[0].path: empty segment in "/a//b"`},
		{name: "dot-dot", routes: []Route{{"GET", "/a/../b"}},
			wantErr: `routes[0].path: ".." segment in "/a/../b"`},
		{name: "greedy not last", routes: []Route{{"GET", "/{proxy+}/x"}},
			wantErr: `routes[0].path: greedy parameter {proxy+} must be the last segment`},
		{name: "partial parameter", routes: []Route{{"GET", "/pets/x{id}"}},
			wantErr: `routes[0].path: segment "x{id}": a parameter must be a whole segment`},
		{name: "unclosed parameter", routes: []Route{{"GET", "/pets/{id"}},
			wantErr: `routes[0].path: segment "{id": a parameter must be a whole segment`},
		{name: "empty parameter name", routes: []Route{{"GET", "/pets/{}"}},
			wantErr: `routes[0].path: parameter "{}": name must be letters, digits, '.', '-' and '_'`},
		{name: "empty greedy name", routes: []Route{{"GET", "/{+}"}},
			wantErr: `routes[0].path: parameter "{+}": name must be letters, digits, '.', '-' and '_'`},
		{name: "nested braces", routes: []Route{{"GET", "/{a{b}}"}},
			wantErr: `routes[0].path: parameter "{a{b}}": name must be letters, digits, '.', '-' and '_'`},
		{name: "repeated parameter", routes: []Route{{"GET", "/{id}/x/{id}"}},
			wantErr: `routes[0].path: parameter "id" appears twice`},
		{name: "percent in literal", routes: []Route{{"GET", "/a%2Fb"}},
			wantErr: `routes[0].path: segment "a%2Fb": character '%' not allowed`},
		{name: "space in literal", routes: []Route{{"GET", "/a b"}},
			wantErr: `routes[0].path: segment "a b": character ' ' not allowed`},
		{name: "exact duplicate", routes: []Route{{"GET", "/a"}, {"POST", "/a"}, {"GET", "/a"}},
			wantErr: `routes[2]: duplicate of routes[0] (GET /a)`},
		{name: "parameter names differ", routes: []Route{{"GET", "/pets/{id}"}, {"GET", "/pets/{petId}"}},
			wantErr: `routes[1]: duplicate of routes[0] (GET /pets/{id})`},
		{name: "greedy names differ", routes: []Route{{"ANY", "/x/{proxy+}"}, {"GET", "/x"}, {"ANY", "/x/{rest+}"}},
			wantErr: `routes[2]: duplicate of routes[0] (ANY /x/{proxy+})`},
		{name: "root twice", routes: []Route{{"ANY", "/"}, {"ANY", "/"}},
			wantErr: `routes[1]: duplicate of routes[0] (ANY /)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRouter(tt.routes)
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("NewRouter error = %v, want %q", err, tt.wantErr)
			}
			if r != nil {
				t.Errorf("NewRouter returned a router with an error")
			}
		})
	}
}

// matchRoutes exercises every precedence rule; the order is deliberately
// not the order of specificity.
var matchRoutes = []Route{
	{"ANY", "/{proxy+}"},                   // 0
	{"GET", "/pets/{id}"},                  // 1
	{"ANY", "/pets/{id}"},                  // 2
	{"GET", "/pets/mine"},                  // 3
	{"ANY", "/pets"},                       // 4
	{"POST", "/pets"},                      // 5
	{"GET", "/"},                           // 6
	{"ANY", "/pets/{id}/{proxy+}"},         // 7
	{"GET", "/pets/{id}/toys"},             // 8
	{"GET", "/{a}/b"},                      // 9
	{"GET", "/a/{b}"},                      // 10
	{"POST", "/orders/{id}"},               // 11
	{"GET", "/files/{path+}"},              // 12
	{"GET", "/files/{dir}/readme"},         // 13
	{"DELETE", "/users/{user}/keys/{key}"}, // 14
}

type matchCase struct {
	name         string
	method, path string
	ok           bool
	template     string
	params       []Param
}

var matchCases = []matchCase{
	{name: "root exact", method: "GET", path: "/", ok: true, template: "/"},
	{name: "root has no ANY route and proxy+ does not match it", method: "POST", path: "/"},
	{name: "exact path, ANY route", method: "GET", path: "/pets", ok: true, template: "/pets"},
	{name: "exact method beats ANY at same path", method: "POST", path: "/pets", ok: true, template: "/pets"},
	{name: "literal beats parameter", method: "GET", path: "/pets/mine", ok: true, template: "/pets/mine"},
	{name: "literal route with other method falls back to parameter", method: "PUT", path: "/pets/mine", ok: true, template: "/pets/{id}", params: []Param{{"id", "mine"}}},
	{name: "parameter, exact method", method: "GET", path: "/pets/42", ok: true, template: "/pets/{id}", params: []Param{{"id", "42"}}},
	{name: "parameter beats greedy", method: "DELETE", path: "/pets/42", ok: true, template: "/pets/{id}", params: []Param{{"id", "42"}}},
	{name: "greedy one segment", method: "GET", path: "/dogs", ok: true, template: "/{proxy+}", params: []Param{{"proxy", "dogs"}}},
	{name: "greedy many segments", method: "GET", path: "/dogs/1/2", ok: true, template: "/{proxy+}", params: []Param{{"proxy", "dogs/1/2"}}},
	{name: "deeper literal beats deeper greedy", method: "GET", path: "/pets/7/toys", ok: true, template: "/pets/{id}/toys", params: []Param{{"id", "7"}}},
	{name: "nested greedy", method: "GET", path: "/pets/7/toys/3", ok: true, template: "/pets/{id}/{proxy+}", params: []Param{{"id", "7"}, {"proxy", "toys/3"}}},
	{name: "leftmost difference decides", method: "GET", path: "/a/b", ok: true, template: "/a/{b}", params: []Param{{"b", "b"}}},
	{name: "parameter first segment", method: "GET", path: "/z/b", ok: true, template: "/{a}/b", params: []Param{{"a", "z"}}},
	{name: "method-only route skipped for other method", method: "GET", path: "/orders/1", ok: true, template: "/{proxy+}", params: []Param{{"proxy", "orders/1"}}},
	{name: "method-only route", method: "POST", path: "/orders/1", ok: true, template: "/orders/{id}", params: []Param{{"id", "1"}}},
	{name: "greedy under literal", method: "GET", path: "/files/a/b/c", ok: true, template: "/files/{path+}", params: []Param{{"path", "a/b/c"}}},
	{name: "literal after parameter beats greedy", method: "GET", path: "/files/x/readme", ok: true, template: "/files/{dir}/readme", params: []Param{{"dir", "x"}}},
	{name: "two parameters", method: "DELETE", path: "/users/u1/keys/k2", ok: true, template: "/users/{user}/keys/{key}", params: []Param{{"user", "u1"}, {"key", "k2"}}},
	{name: "trailing slash ignored", method: "GET", path: "/pets/", ok: true, template: "/pets"},
	{name: "trailing slash on parameter", method: "GET", path: "/pets/42/", ok: true, template: "/pets/{id}", params: []Param{{"id", "42"}}},
	{name: "trailing slash not in greedy value", method: "GET", path: "/x/y/", ok: true, template: "/{proxy+}", params: []Param{{"proxy", "x/y"}}},
	{name: "decoded value kept", method: "GET", path: "/pets/a b%", ok: true, template: "/pets/{id}", params: []Param{{"id", "a b%"}}},
	{name: "method case-sensitive", method: "get", path: "/pets/mine", ok: true, template: "/pets/{id}", params: []Param{{"id", "mine"}}},
	{name: "unclean double slash", method: "GET", path: "//pets"},
	{name: "unclean dot-dot", method: "GET", path: "/pets/../x"},
	{name: "no leading slash", method: "GET", path: "pets"},
	{name: "empty", method: "GET", path: ""},
}

func TestMatch(t *testing.T) {
	r, err := NewRouter(matchRoutes)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range matchCases {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := r.Match(tt.method, tt.path)
			if ok != tt.ok {
				t.Fatalf("Match(%s %q) ok = %v, want %v (got %+v)", tt.method, tt.path, ok, tt.ok, m)
			}
			if !ok {
				return
			}
			if m.Template != tt.template {
				t.Errorf("Template = %q, want %q", m.Template, tt.template)
			}
			if matchRoutes[m.Index].Template != m.Template {
				t.Errorf("Index %d names %q, not %q", m.Index, matchRoutes[m.Index].Template, m.Template)
			}
			if !reflect.DeepEqual(m.Params, tt.params) {
				t.Errorf("Params = %v, want %v", m.Params, tt.params)
			}
		})
	}
}

// TestMatchOrderIndependent checks that rotating and reversing the
// configuration changes the indices but never which route wins.
func TestMatchOrderIndependent(t *testing.T) {
	n := len(matchRoutes)
	for shift := range n * 2 {
		t.Run(fmt.Sprintf("permutation %d", shift), func(t *testing.T) {
			perm := make([]Route, n)
			for i := range n {
				j := (i + shift) % n
				if shift >= n {
					j = n - 1 - (i+shift)%n
				}
				perm[i] = matchRoutes[j]
			}
			r, err := NewRouter(perm)
			if err != nil {
				t.Fatal(err)
			}
			for _, tt := range matchCases {
				m, ok := r.Match(tt.method, tt.path)
				if ok != tt.ok || ok && (m.Template != tt.template || perm[m.Index].Template != tt.template) {
					t.Errorf("%s: Match(%s %q) = %+v, %v; want %q", tt.name, tt.method, tt.path, m, ok, tt.template)
				}
			}
		})
	}
}

func TestMatchNoParamsAllocatesNothing(t *testing.T) {
	r, err := NewRouter(matchRoutes)
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { r.Match("GET", "/pets/mine") }); n != 0 {
		t.Errorf("Match without parameters allocates %v times, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { r.Match("GET", "/pets/7/toys/3") }); n != 1 {
		t.Errorf("Match with parameters allocates %v times, want 1", n)
	}
}

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

func BenchmarkMatch(b *testing.B) {
	r, err := NewRouter(benchRoutes)
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct{ name, method, path string }{
		{"exact", "GET", "/users/me"},
		{"param", "GET", "/pets/42"},
		{"two params", "DELETE", "/users/u1/keys/k2"},
		{"greedy fallback", "GET", "/nothing/here/at/all"},
		{"root", "GET", "/"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := r.Match(c.method, c.path); !ok {
					b.Fatal("no match")
				}
			}
		})
	}
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
