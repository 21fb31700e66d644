package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// httpDoc builds an HTTP API configuration from the REST defaults of doc,
// with apiId in place of restApiId.
func httpDoc(members ...string) string {
	base := []string{`"apiType": "HTTP"`, `-restApiId`, `"apiId": "a1b2c3d4e5"`,
		`"authorizers": {"lam": {"type": "REQUEST", "cluster": "authz", "authorizerPayloadFormatVersion": "2.0", "identitySource": "$request.header.Authorization"}}`,
		`"routes": [{"method": "ANY", "path": "/{proxy+}", "authorizer": "lam"}]`}
	key := func(m string) string {
		k, _, _ := strings.Cut(m, ":")
		return strings.Trim(k, `"- `)
	}
	var out []string
	for _, b := range base {
		if !slices.ContainsFunc(members, func(m string) bool { return key(m) == key(b) }) {
			out = append(out, b)
		}
	}
	return doc(append(out, members...)...)
}

// httpAuth builds an HTTP API configuration whose one authorizer "lam" has
// the given members.
func httpAuth(members string) string {
	return httpDoc(`"authorizers": {"lam": {` + members + `}}`)
}

func TestParseHTTPErrors(t *testing.T) {
	v2 := `"type": "REQUEST", "cluster": "authz", "authorizerPayloadFormatVersion": "2.0", `
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"apiType value", doc(`"apiType": "WEBSOCKET"`), `apiType: must be REST or HTTP, got "WEBSOCKET"`},
		{"apiType lower case", doc(`"apiType": "http"`), `apiType: must be REST or HTTP, got "http"`},
		{"apiType type", doc(`"apiType": 2`), `apiType: must be a string, got 2`},
		{"REST with apiId", doc(`"apiId": "x"`), `apiId: REST APIs take restApiId`},
		{"HTTP with restApiId", doc(`"apiType": "HTTP"`, `"apiId": "x"`), `restApiId: HTTP APIs take apiId`},
		{"HTTP without apiId", httpDoc(`-apiId`), `apiId: required`},
		{"HTTP apiId chars", httpDoc(`"apiId": "a-b"`), `apiId: must be 1 to 64 letters and digits, got "a-b"`},
		{"HTTP stage", httpDoc(`"stage": "$live"`), `stage: must be 1 to 128 letters, digits, '-' and '_', got "$live", or $default`},
		{"REST $default stage", doc(`"stage": "$default"`), `stage: must be 1 to 128 letters, digits, '-' and '_', got "$default"`},
		{"HTTP implicitDenyMessage", httpDoc(`"implicitDenyMessage": "legacy"`), `implicitDenyMessage: HTTP APIs answer every deny with Forbidden; leave it out`},
		{"HTTP gatewayResponses", httpDoc(`"gatewayResponses": {}`), `gatewayResponses: HTTP APIs do not support gateway responses`},
		{"HTTP TOKEN", httpAuth(`"type": "TOKEN", "cluster": "authz", "authorizerPayloadFormatVersion": "2.0"`),
			`authorizers.lam.type: HTTP API Lambda authorizers are REQUEST authorizers, got "TOKEN"`},
		{"HTTP payload version required", httpAuth(`"type": "REQUEST", "cluster": "authz"`),
			`authorizers.lam.authorizerPayloadFormatVersion: required`},
		{"HTTP payload version value", httpAuth(`"type": "REQUEST", "cluster": "authz", "authorizerPayloadFormatVersion": "3.0"`),
			`authorizers.lam.authorizerPayloadFormatVersion: must be "1.0" or "2.0", got "3.0"`},
		{"HTTP payload version number", httpAuth(`"type": "REQUEST", "cluster": "authz", "authorizerPayloadFormatVersion": 2.0`),
			`authorizers.lam.authorizerPayloadFormatVersion: must be a string, got 2.0`},
		{"REST payload 2.0", jwt(`"type": "REQUEST", "cluster": "authz", "authorizerPayloadFormatVersion": "2.0"`),
			`authorizers.jwt.authorizerPayloadFormatVersion: REST API authorizers use payload format 1.0, got "2.0"`},
		{"REST simple responses", jwt(`"type": "REQUEST", "cluster": "authz", "enableSimpleResponses": true`),
			`authorizers.jwt.enableSimpleResponses: simple responses need authorizerPayloadFormatVersion "2.0" on an HTTP API`},
		{"HTTP simple responses with 1.0", httpAuth(`"type": "REQUEST", "cluster": "authz", "authorizerPayloadFormatVersion": "1.0", "enableSimpleResponses": true`),
			`authorizers.lam.enableSimpleResponses: simple responses need authorizerPayloadFormatVersion "2.0" on an HTTP API`},
		{"simple responses type", httpAuth(v2 + `"enableSimpleResponses": "true"`),
			`authorizers.lam.enableSimpleResponses: must be a boolean, got "true"`},
		{"HTTP source in REST syntax", httpAuth(v2 + `"identitySource": "method.request.header.Authorization"`),
			`authorizers.lam.identitySource: "method.request.header.Authorization" must start with $request.header., $request.querystring., $stageVariables. or $context.`},
		{"REST source in HTTP syntax", jwt(`"type": "REQUEST", "cluster": "authz", "identitySource": "$request.header.Authorization"`),
			`authorizers.jwt.identitySource: "$request.header.Authorization" must start with method.request.header., method.request.querystring., stageVariables. or context.`},
		{"HTTP unknown context", httpAuth(v2 + `"identitySource": "$context.resourcePath"`),
			`authorizers.lam.identitySource: "$context.resourcePath" is not a supported context variable (one of accountId, apiId, domainName, domainPrefix, httpMethod, identity.sourceIp, path, protocol, requestId, routeKey, stage)`},
		{"HTTP bad header", httpAuth(v2 + `"identitySource": "$request.header.a b"`),
			`authorizers.lam.identitySource: "$request.header.a b" does not end in a header name`},
		{"HTTP caching without sources", httpAuth(`"type": "REQUEST", "cluster": "authz", "authorizerPayloadFormatVersion": "2.0", "authorizerResultTtlInSeconds": 5`),
			`authorizers.lam.authorizerResultTtlInSeconds: caching needs an identitySource; set it or set 0`},
		{"$default route not ANY", httpDoc(`"routes": [{"method": "GET", "path": "$default", "authorizer": "lam"}]`),
			`routes[0].method: the $default route takes ANY, got "GET"`},
		{"$default route not last", httpDoc(`"routes": [{"method": "ANY", "path": "$default", "authorizer": "lam"}, {"method": "GET", "path": "/a", "authorizer": "lam"}]`),
			`routes[0]: the $default route must be the last route`},
		{"$default route twice", httpDoc(`"routes": [{"method": "ANY", "path": "$default", "authorizer": "lam"}, {"method": "ANY", "path": "$default", "authorizer": "NONE"}]`),
			`routes[0]: the $default route must be the last route`},
		{"$default route on REST", doc(`"routes": [{"method": "ANY", "path": "$default", "authorizer": "jwt"}]`),
			`routes[0].path: must start with "/", got "$default"`},
		{"implicitDenyMessage value", doc(`"implicitDenyMessage": "new"`), `implicitDenyMessage: must be "legacy" or "identity-based-policy", got "new"`},
		{"implicitDenyMessage type", doc(`"implicitDenyMessage": true`), `implicitDenyMessage: must be a string, got true`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.in))
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("Parse(%s)\nerror = %v\nwant    %s", tt.in, err, tt.wantErr)
			}
			if p != nil {
				t.Errorf("Parse returned a plan with an error")
			}
		})
	}
}

func TestParseHTTP(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		check func(t *testing.T, p *Plan)
	}{
		{
			name: "HTTP API with sources in HTTP syntax",
			in: httpDoc(`"stage": "$default"`, `"stageVariables": {"tenant": "acme"}`,
				`"authorizers": {"lam": {"type": "REQUEST", "cluster": "c", "authorizerPayloadFormatVersion": "2.0", "enableSimpleResponses": true,
				 "identitySource": "$request.header.X-Api-Key, $request.querystring.Tenant,$stageVariables.tenant , $context.routeKey"}}`),
			check: func(t *testing.T, p *Plan) {
				if !p.IsHTTP() || p.APIType != APIHTTP || p.RestAPIID != "a1b2c3d4e5" || p.Stage != "$default" {
					t.Errorf("plan = %+v", p)
				}
				a := p.Authorizers["lam"]
				want := &Authorizer{Name: "lam", Type: TypeRequest, Cluster: "c", Path: "/", Authority: "c",
					Timeout: time.Second, TTL: 300 * time.Second, PayloadFormatVersion: PayloadV2, EnableSimpleResponses: true,
					MaxResponseBytes: DefaultResponseBytes,
					IdentitySources:  []IdentitySource{{SourceHeader, "x-api-key"}, {SourceQuery, "Tenant"}, {SourceStage, "tenant"}, {SourceContext, "routeKey"}}}
				if !reflect.DeepEqual(a, want) {
					t.Errorf("authorizer = %+v\nwant %+v", a, want)
				}
				if !a.PayloadV2() {
					t.Error("PayloadV2() = false")
				}
			},
		},
		{
			name: "payload 1.0 without simple responses",
			in:   httpAuth(`"type": "REQUEST", "cluster": "c", "authorizerPayloadFormatVersion": "1.0", "enableSimpleResponses": false`),
			check: func(t *testing.T, p *Plan) {
				a := p.Authorizers["lam"]
				if a.PayloadFormatVersion != PayloadV1 || a.PayloadV2() || a.EnableSimpleResponses || a.TTL != 0 {
					t.Errorf("authorizer = %+v", a)
				}
			},
		},
		{
			name: "$default route is last and outside the router",
			in:   httpDoc(`"routes": [{"method": "GET", "path": "/pets/{id}", "authorizer": "lam"}, {"method": "ANY", "path": "$default", "authorizer": "NONE"}]`),
			check: func(t *testing.T, p *Plan) {
				if p.DefaultRoute != &p.Routes[1] || p.DefaultRoute.RouteKey() != "$default" {
					t.Fatalf("DefaultRoute = %+v", p.DefaultRoute)
				}
				if k := p.Routes[0].RouteKey(); k != "GET /pets/{id}" {
					t.Errorf("RouteKey = %q", k)
				}
				if m, ok := p.Router.Match("GET", "/pets/1"); !ok || m.Index != 0 {
					t.Errorf("Match = %+v, %v", m, ok)
				}
				if _, ok := p.Router.Match("GET", "/other"); ok {
					t.Error("the router matched a path only $default catches")
				}
			},
		},
		{
			name: "only a $default route",
			in:   httpDoc(`"routes": [{"method": "ANY", "path": "$default", "authorizer": "lam"}]`),
			check: func(t *testing.T, p *Plan) {
				if p.DefaultRoute == nil || p.DefaultRoute.Authorizer != p.Authorizers["lam"] {
					t.Errorf("DefaultRoute = %+v", p.DefaultRoute)
				}
			},
		},
		{
			name: "REST defaults stay zero",
			in:   doc(`"apiType": "REST"`, `"implicitDenyMessage": "legacy"`),
			check: func(t *testing.T, p *Plan) {
				if p.APIType != "" || p.IsHTTP() || p.ImplicitDenyMessage != "" || p.GatewayResponses != nil || p.DefaultRoute != nil {
					t.Errorf("plan = %+v", p)
				}
				if a := p.Authorizers["jwt"]; a.PayloadFormatVersion != "" || a.EnableSimpleResponses {
					t.Errorf("authorizer = %+v", a)
				}
			},
		},
		{
			name: "REST accepts payload 1.0 and simple responses false",
			in:   jwt(`"type": "TOKEN", "cluster": "c", "authorizerPayloadFormatVersion": "1.0", "enableSimpleResponses": false`),
			check: func(t *testing.T, p *Plan) {
				if a := p.Authorizers["jwt"]; a.PayloadFormatVersion != "" || a.EnableSimpleResponses {
					t.Errorf("authorizer = %+v", a)
				}
			},
		},
		{
			name: "identity-based implicit deny wording",
			in:   doc(`"implicitDenyMessage": "identity-based-policy"`),
			check: func(t *testing.T, p *Plan) {
				if p.ImplicitDenyMessage != ImplicitDenyIdentityBased {
					t.Errorf("ImplicitDenyMessage = %q", p.ImplicitDenyMessage)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse(%s): %v", tt.in, err)
			}
			tt.check(t, p)
		})
	}
}
