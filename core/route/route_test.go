package route

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

func TestCheckRouteMethod(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"ANY", "ANY", true},
		{"upper case verb", "DELETE", true},
		{"lower case", "get", false},
		{"unknown verb", "TRACE", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckRouteMethod(tt.in); (err == nil) != tt.ok {
				t.Errorf("CheckRouteMethod(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
		})
	}
}
