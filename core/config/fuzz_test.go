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
		httpDoc(`"stage": "$default"`, `"stageVariables": {"t": "x"}`,
			`"authorizers": {"s": {"type": "REQUEST", "cluster": "c", "authorizerPayloadFormatVersion": "2.0", "enableSimpleResponses": true, "identitySource": "$request.header.A, $context.routeKey, $stageVariables.t"},
			 "o": {"type": "REQUEST", "cluster": "c", "authorizerPayloadFormatVersion": "1.0"}}`,
			`"routes": [{"method": "GET", "path": "/a/{b}", "authorizer": "o"}, {"method": "ANY", "path": "$default", "authorizer": "s"}]`),
		doc(`"implicitDenyMessage": "identity-based-policy"`, `"stageVariables": {"r": "x"}`,
			`"gatewayResponses": {"UNAUTHORIZED": {"statusCode": "401", "responseParameters": {"gatewayresponse.header.WWW-Authenticate": "'Bearer'", "gatewayresponse.header.X-R": "stageVariables.r"},
			 "responseTemplates": {"application/json": "{"message":$context.error.messageString,"p":"$context.authorizer.principalId"}"}}, "DEFAULT_5XX": {}}`),
		`[1, {"a": null}]`,
		doc(`"authorizers": {"l": {"type": "TOKEN", "cluster": "lambda", "authorizerUri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:jwt:$LATEST/invocations",
			 "authorizerCredentials": "arn:aws:iam::123456789012:role/r"}, "h": {"type": "TOKEN", "cluster": "authz"}}`,
			`"routes": [{"method": "ANY", "path": "/{proxy+}", "authorizer": "l"}, {"method": "ANY", "path": "/h", "authorizer": "h"}]`),
		doc(`"allowPathParameters": true`, `"keepOverrideHeaders": false`, `"routes": [{"method": "GET", "path": "/a;b/{c}", "authorizer": "jwt"}]`),
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
		if p.DefaultRoute != nil && (!p.IsHTTP() || p.DefaultRoute != &p.Routes[len(p.Routes)-1] || p.DefaultRoute.Method != "ANY") {
			t.Fatalf("DefaultRoute = %+v", p.DefaultRoute)
		}
		if p.IsHTTP() && (p.GatewayResponses != nil || p.ImplicitDenyMessage != "") {
			t.Fatal("HTTP API with REST-only settings")
		}
		for typ, g := range p.GatewayResponses {
			if g.Type != typ || g.StatusCode != 0 && (g.StatusCode < 300 || g.StatusCode > 599) {
				t.Fatalf("gateway response %q = %+v", typ, g)
			}
			for _, h := range g.Headers {
				if h.Value.Kind == VarStatic && !validHeaderValue(h.Value.Name) {
					t.Fatalf("gateway response %q header %s has an invalid literal value", typ, h.Name)
				}
			}
		}
		lambda := map[string]LambdaCluster{}
		for _, c := range p.LambdaClusters {
			lambda[c.Name] = c
		}
		for name, a := range p.Authorizers {
			c, onLambda := lambda[a.Cluster]
			switch {
			case a.IsLambda() != onLambda:
				t.Fatalf("authorizer %s (lambda %v) on cluster %s (lambda %v)", name, a.IsLambda(), a.Cluster, onLambda)
			case a.IsLambda() && (a.Function.Region != c.Region || a.Credentials != c.Role || a.Path != a.Function.InvokePath()):
				t.Fatalf("authorizer %s disagrees with its cluster %+v", name, c)
			}
		}
		for i, r := range p.Routes {
			if r.Authorizer != nil && p.Authorizers[r.Authorizer.Name] != r.Authorizer {
				t.Fatalf("routes[%d] points at an authorizer outside the plan", i)
			}
			if r.Path == DefaultRouteKey {
				continue
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
			if p.IsHTTP() != (a.PayloadFormatVersion != "") || a.EnableSimpleResponses && !a.PayloadV2() {
				t.Fatalf("authorizer %q payload %q simple %v on API type %q", name, a.PayloadFormatVersion, a.EnableSimpleResponses, p.APIType)
			}
			if p.IsHTTP() && a.Type != TypeRequest {
				t.Fatalf("HTTP API authorizer %q has type %s", name, a.Type)
			}
		}
	})
}
