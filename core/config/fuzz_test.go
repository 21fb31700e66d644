package config

import (
	"os"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/example.json"); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		doc(),
		doc(`"authorizers": {}`, `"routes": [{"method": "ANY", "path": "/", "authorizer": "NONE"}]`),
		doc(`"stageVariables": {"t": "x"}`, `"authorizers": {"r": {"type": "REQUEST", "cluster": "c", "identitySource": "stageVariables.t, context.requestId"}}`,
			`"routes": [{"method": "GET", "path": "/a/{b}/{c+}", "authorizer": "r"}, {"method": "ANY", "path": "/a/x", "authorizer": "NONE"}]`),
		jwt(`"type": "TOKEN", "cluster": "c", "identityValidationExpression": "^(a|b)+$"`),
		`{"region": "us-east-1", "region": 1}`,
		`[1, {"a": null}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			if p != nil {
				t.Fatal("plan returned with an error")
			}
			return
		}
		if len(p.Routes) == 0 || p.Router == nil {
			t.Fatal("accepted config without routes")
		}
		for i, r := range p.Routes {
			if r.Authorizer != nil && p.Authorizers[r.Authorizer.Name] != r.Authorizer {
				t.Fatalf("routes[%d] points at an authorizer outside the plan", i)
			}
			// Every route must be reachable by a request its template
			// describes, possibly through a more specific route.
			method := r.Method
			if method == "ANY" {
				method = "PATCH"
			}
			path := r.Path
			for strings.Contains(path, "{") {
				s := strings.Index(path, "{")
				e := strings.Index(path[s:], "}") + s
				path = path[:s] + "v" + path[e+1:]
			}
			m, ok := p.Router.Match(method, path)
			if !ok || m.Index < 0 || m.Index >= len(p.Routes) {
				t.Fatalf("routes[%d] (%s %s): %s %s does not resolve: %+v, %v", i, r.Method, r.Path, method, path, m, ok)
			}
		}
		for name, a := range p.Authorizers {
			if a.Name != name || a.Timeout <= 0 || a.TTL < 0 || a.Path == "" || a.Authority == "" {
				t.Fatalf("authorizer %q = %+v", name, a)
			}
			if a.Type == TypeToken && len(a.IdentitySources) != 1 {
				t.Fatalf("TOKEN authorizer %q has %d sources", name, len(a.IdentitySources))
			}
			if a.Type == TypeRequest && len(a.IdentitySources) == 0 && a.TTL != 0 {
				t.Fatalf("REQUEST authorizer %q caches without identity sources", name)
			}
		}
	})
}
