package pipeline

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// The rules that keep what the upstream reads equal to what was judged:
// method case, header names read the CGI way, override headers, path
// parameters, double encoding and the query's parsing.

// hygieneConfig has an explicit-method route next to ANY and NONE routes,
// so that a method in the wrong case could fall through to either.
const hygieneConfig = `{
  "region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
  %s
  "authorizers": {
    "jwt": {"type": "TOKEN", "cluster": "authz"},
    "req": {"type": "REQUEST", "cluster": "authz", "identitySource": "method.request.header.X-Api-Key", "authorizerResultTtlInSeconds": 0}
  },
  "routes": [
    {"method": "GET", "path": "/admin", "authorizer": "jwt"},
    {"method": "ANY", "path": "/open/{proxy+}", "authorizer": "NONE"},
    {"method": "ANY", "path": "/req/{proxy+}", "authorizer": "req"},
    {"method": "ANY", "path": "/{proxy+}", "authorizer": "jwt"}
  ]
}`

func newHygienePipeline(t *testing.T, settings string) *Pipeline {
	t.Helper()
	if settings != "" {
		settings += ","
	}
	return newHTTPPipeline(t, strings.Replace(hygieneConfig, "%s", settings, 1))
}

var (
	noRouteREST = `{"message":"Missing Authentication Token"}`
	badReqREST  = `{"message":"Bad Request"}`
)

func TestMethodOutsideAPIGatewaysIsRefused(t *testing.T) {
	p := newHygienePipeline(t, "")
	for _, m := range []string{"get", "Get", "delete", "post", "FOO", "TRACE", "CONNECT", "PROPFIND", "", "GET "} {
		for _, target := range []string{"/admin", "/open/x", "/pets/1", "/nowhere/../x"} {
			r := p.Evaluate(&Request{Method: m, Target: target, Headers: bearer("t")}, t0)
			if r.Kind != KindReject || r.Status != 403 || string(r.Body) != noRouteREST || r.Reason != "method not supported" {
				t.Errorf("%q %s: %v %d %s (%s), want 403 Missing Authentication Token", m, target, r.Kind, r.Status, r.Body, r.Reason)
			}
		}
	}
	for _, m := range []string{"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"} {
		if r := p.Evaluate(&Request{Method: m, Target: "/open/x"}, t0); r.Kind != KindAllow {
			t.Errorf("%s on a NONE route: %v %d (%s), want allow", m, r.Kind, r.Status, r.Reason)
		}
	}
}

func TestMethodOutsideAPIGatewaysIsRefusedHTTPAPI(t *testing.T) {
	p := newHTTPPipeline(t, httpConfig)
	r := p.Evaluate(&Request{Method: "get", Target: "/pets/1", Headers: bearer("t")}, t0)
	if r.Kind != KindReject || r.Status != 404 || string(r.Body) != `{"message":"Not Found"}` || len(r.Headers) != 1 {
		t.Errorf("lower-case get on an HTTP API: %v %d %s %v, want 404 Not Found without an error type", r.Kind, r.Status, r.Body, r.Headers)
	}
}

func TestRemovedHeaders(t *testing.T) {
	hs := []Header{
		{Name: "x-authorizer-principal-id", Value: "admin"},
		{Name: "X-Authorizer-Foo", Value: "a"},
		{Name: "x_authorizer_principal_id", Value: "admin"},
		{Name: "X_Authorizer_Tier", Value: "gold"},
		{Name: "x-authorizer_principal-id", Value: "admin"},
		{Name: "X_AUTHORIZER-foo", Value: "b"},
		{Name: "x-http-method-override", Value: "DELETE"},
		{Name: "X-HTTP-Method", Value: "DELETE"},
		{Name: "x_method_override", Value: "DELETE"},
		{Name: "X-Original-URL", Value: "/admin"},
		{Name: "x_rewrite_url", Value: "/admin"},
		// Kept: not in either namespace.
		{Name: "x-authorizer", Value: "1"},
		{Name: "x-authorizers-foo", Value: "1"},
		{Name: "xx-authorizer-foo", Value: "1"},
		{Name: "x-http-method-overrides", Value: "1"},
		{Name: "x-original-urls", Value: "1"},
		{Name: "accept", Value: "*/*"},
	}
	authz := []string{"x-authorizer-principal-id", "X-Authorizer-Foo", "x_authorizer_principal_id", "X_Authorizer_Tier",
		"x-authorizer_principal-id", "X_AUTHORIZER-foo"}
	overrides := []string{"x-http-method-override", "X-HTTP-Method", "x_method_override", "X-Original-URL", "x_rewrite_url"}
	if got, want := removedHeaders(hs, false), append(slices.Clone(authz), overrides...); !slices.Equal(got, want) {
		t.Errorf("removedHeaders = %q\nwant %q", got, want)
	}
	if got := removedHeaders(hs, true); !slices.Equal(got, authz) {
		t.Errorf("removedHeaders keeping overrides = %q\nwant %q", got, authz)
	}
}

func TestForgedHeadersRemovedOnEveryRoute(t *testing.T) {
	forged := []Header{
		{Name: "x_authorizer_principal_id", Value: "admin"},
		{Name: "X_Authorizer_Tier", Value: "gold"},
		{Name: "X-HTTP-Method-Override", Value: "DELETE"},
		{Name: "x-original-url", Value: "/admin"},
	}
	allow := policyResponse("alice", "Allow", []string{"*"}, map[string]any{"tier": "silver"})
	for _, tc := range []struct {
		name, settings string
		want           []string
	}{
		{"default", "", []string{"x_authorizer_principal_id", "X_Authorizer_Tier", "X-HTTP-Method-Override", "x-original-url"}},
		{"keepOverrideHeaders", `"keepOverrideHeaders": true`, []string{"x_authorizer_principal_id", "X_Authorizer_Tier"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newHygienePipeline(t, tc.settings)
			none := p.Evaluate(&Request{Method: "GET", Target: "/open/x", Headers: forged}, t0)
			if none.Kind != KindAllow || !slices.Equal(none.Remove, tc.want) {
				t.Errorf("NONE route: %v remove %q, want allow removing %q", none.Kind, none.Remove, tc.want)
			}
			c := p.Evaluate(&Request{Method: "GET", Target: "/pets/1", Headers: append(bearer("t1"), forged...)}, t0)
			if c.Kind != KindCall {
				t.Fatalf("authorized route: %v (%s), want a call", c.Kind, c.Reason)
			}
			r := p.Resume(c.Call, allow, t0)
			if r.Kind != KindAllow || !slices.Equal(r.Remove, tc.want) {
				t.Errorf("authorized route: %v remove %q, want allow removing %q", r.Kind, r.Remove, tc.want)
			}
			// A cache hit removes them too.
			h := p.Evaluate(&Request{Method: "GET", Target: "/pets/2", Headers: append(bearer("t1"), forged...)}, t0)
			if h.Kind != KindAllow || h.CacheState != CacheHit || !slices.Equal(h.Remove, tc.want) {
				t.Errorf("cache hit: %v %v remove %q, want allow removing %q", h.Kind, h.CacheState, h.Remove, tc.want)
			}
		})
	}
}

func TestPathRulesInThePipeline(t *testing.T) {
	tests := []struct {
		name, settings, target string
		want                   Kind // KindReject means 400
		route                  string
	}{
		{"parameter on an explicit route", "", "/admin;x=1", KindReject, ""},
		{"parameter under a NONE route", "", "/open/admin;x=1", KindReject, ""},
		{"dot-dot parameter", "", "/pets/..;/admin", KindReject, ""},
		{"encoded dot-dot parameter", "", "/pets/..%3b/admin", KindReject, ""},
		{"encoded dots and parameter", "", "/pets/%2e%2e;/admin", KindReject, ""},
		{"dot parameter", "", "/pets/.;/admin", KindReject, ""},
		{"parameters around dot-dot", "", "/pets/1;..;/admin", KindReject, ""},
		{"double-encoded dot-dot", "", "/pets/%252e%252e/admin", KindReject, ""},
		{"double-encoded letter", "", "/pets/%2541", KindReject, ""},
		{"fullwidth dot-dot", "", "/pets/\uff0e\uff0e/admin", KindReject, ""},
		{"parameter allowed", `"allowPathParameters": true`, "/open/admin;x=1", KindAllow, "/open/{proxy+}"},
		{"parameter allowed, not a literal match", `"allowPathParameters": true`, "/admin;x=1", KindCall, "/{proxy+}"},
		{"dot-dot parameter refused even when allowed", `"allowPathParameters": true`, "/pets/..;/admin", KindReject, ""},
		{"semicolon in the query is fine", "", "/open/x?a=1;b=2", KindAllow, "/open/{proxy+}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newHygienePipeline(t, tt.settings)
			r := p.Evaluate(&Request{Method: "GET", Target: tt.target, Headers: bearer("t")}, t0)
			if r.Kind != tt.want || r.Route != tt.route {
				t.Fatalf("%s: %v route %q (%d %s), want %v route %q", tt.target, r.Kind, r.Route, r.Status, r.Reason, tt.want, tt.route)
			}
			if r.Kind == KindReject && (r.Status != 400 || string(r.Body) != badReqREST || !strings.HasPrefix(r.Reason, "path: ")) {
				t.Errorf("%s: %d %s (%s), want 400 Bad Request for the path", tt.target, r.Status, r.Body, r.Reason)
			}
		})
	}
}

func TestQueryParsedLikeAPIGateway(t *testing.T) {
	p := newHygienePipeline(t, "")
	key := []Header{{Name: "x-api-key", Value: "k"}}
	tests := []struct {
		name, query string
		single      map[string]string
		multi       map[string][]string
	}{
		{"semicolon separates", "a=1;b=2", map[string]string{"a": "1", "b": "2"}, map[string][]string{"a": {"1"}, "b": {"2"}}},
		{"mixed separators", "a=1&a=2;a=3", map[string]string{"a": "3"}, map[string][]string{"a": {"1", "2", "3"}}},
		{"encoded semicolon is data", "a=1%3Bb%3D2", map[string]string{"a": "1;b=2"}, map[string][]string{"a": {"1;b=2"}}},
		{"empty parts skipped", ";;a=1&&", map[string]string{"a": "1"}, map[string][]string{"a": {"1"}}},
		{"plus is a space", "q=a+b", map[string]string{"q": "a b"}, map[string][]string{"q": {"a b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := p.Evaluate(&Request{Method: "GET", Target: "/req/x?" + tt.query, Headers: key}, t0)
			if r.Kind != KindCall {
				t.Fatalf("%v (%s), want a call", r.Kind, r.Reason)
			}
			var ev events.APIGatewayCustomAuthorizerRequestTypeRequest
			if err := json.Unmarshal(r.Call.Event, &ev); err != nil {
				t.Fatal(err)
			}
			if !mapsEqual(ev.QueryStringParameters, tt.single) {
				t.Errorf("queryStringParameters = %v, want %v", ev.QueryStringParameters, tt.single)
			}
			if len(ev.MultiValueQueryStringParameters) != len(tt.multi) {
				t.Errorf("multiValueQueryStringParameters = %v, want %v", ev.MultiValueQueryStringParameters, tt.multi)
			}
			for k, v := range tt.multi {
				if !slices.Equal(ev.MultiValueQueryStringParameters[k], v) {
					t.Errorf("multiValueQueryStringParameters[%s] = %q, want %q", k, ev.MultiValueQueryStringParameters[k], v)
				}
			}
		})
	}
	// An invalid escape is a malformed query, as API Gateway answers it,
	// where the event needs the query; elsewhere the query is not read.
	if r := p.Evaluate(&Request{Method: "GET", Target: "/req/x?a=%ZZ", Headers: key}, t0); r.Kind != KindReject || r.Status != 400 {
		t.Errorf("REQUEST route with a=%%ZZ: %v %d, want 400", r.Kind, r.Status)
	}
	if r := p.Evaluate(&Request{Method: "GET", Target: "/open/x?a=%ZZ"}, t0); r.Kind != KindAllow {
		t.Errorf("NONE route with a=%%ZZ: %v %d, want allow", r.Kind, r.Status)
	}
	if r := p.Evaluate(&Request{Method: "GET", Target: "/pets/1?a=%ZZ", Headers: bearer("q")}, t0); r.Kind != KindCall {
		t.Errorf("TOKEN route with a=%%ZZ: %v %d, want a call", r.Kind, r.Status)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}
