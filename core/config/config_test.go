package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// doc builds a configuration from the default valid members, replaced or
// extended by members given as `"key": value`; `-key` drops a member.
func doc(members ...string) string {
	defaults := []string{
		`"region": "us-east-1"`,
		`"accountId": "123456789012"`,
		`"restApiId": "a1b2c3d4e5"`,
		`"stage": "prod"`,
		`"authorizers": {"jwt": {"type": "TOKEN", "cluster": "authz"}}`,
		`"routes": [{"method": "ANY", "path": "/{proxy+}", "authorizer": "jwt"}]`,
	}
	key := func(m string) string {
		k, _, _ := strings.Cut(m, ":")
		return strings.Trim(k, `"- `)
	}
	var out []string
	for _, d := range defaults {
		keep := true
		for _, m := range members {
			if key(m) == key(d) {
				keep = false
			}
		}
		if keep {
			out = append(out, d)
		}
	}
	for _, m := range members {
		if !strings.HasPrefix(m, "-") {
			out = append(out, m)
		}
	}
	return "{" + strings.Join(out, ", ") + "}"
}

// jwt builds a configuration whose one authorizer "jwt" has the given
// members besides type and cluster (which can be overridden too).
func jwt(members string) string {
	return doc(`"authorizers": {"jwt": {` + members + `}}`)
}

func TestParseErrors(t *testing.T) {
	tok := `"type": "TOKEN", "cluster": "authz", `
	req := `"type": "REQUEST", "cluster": "authz", `
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		// The document.
		{"not JSON", `{"region": `, `config: invalid JSON at offset 11: unexpected end of JSON input`},
		{"garbage", `region=us-east-1`, `config: invalid JSON at offset 1: invalid character 'r' looking for beginning of value`},
		{"empty input", ``, `config: invalid JSON at offset 0: unexpected end of JSON input`},
		{"not UTF-8", "{\"region\": \"\xff\"}", `config: not valid UTF-8`},
		{"array at top", `[]`, `config: must be an object, got an array`},
		{"string at top", `"x"`, `config: must be an object, got "x"`},
		{"unknown top-level field", doc(`"regoin": "us-east-1"`), `regoin: unknown field`},
		{"top-level key differs in case", doc(`"Region": "us-east-1"`), `Region: unknown field`},
		{"duplicate top-level key", doc(`"stage": "a"`, `"stage": "b"`), `stage: duplicate key`},
		{"duplicate key through an escape", `{"region": "us-east-1", "regi\u006fn": "us-east-2"}`, `region: duplicate key`},
		{"odd unknown key quoted", doc(`"a.b": 1`), `["a.b"]: unknown field`},

		// Top-level members.
		{"region required", doc(`-region`), `region: required`},
		{"region type", doc(`"region": 1`), `region: must be a string, got 1`},
		{"region shape", doc(`"region": "useast1"`), `region: must look like us-east-1, got "useast1"`},
		{"accountId required", doc(`-accountId`), `accountId: required`},
		{"accountId digits", doc(`"accountId": "12"`), `accountId: must be 12 digits, got "12"`},
		{"accountId number", doc(`"accountId": 123456789012`), `accountId: must be a string, got 123456789012`},
		{"restApiId required", doc(`-restApiId`), `restApiId: required`},
		{"restApiId chars", doc(`"restApiId": "a/b"`), `restApiId: must be 1 to 64 letters and digits, got "a/b"`},
		{"stage required", doc(`-stage`), `stage: required`},
		{"stage chars", doc(`"stage": "pr od"`), `stage: must be 1 to 128 letters, digits, '-' and '_', got "pr od"`},
		{"stage null", doc(`"stage": null`), `stage: must be a string, got null`},
		{"stageVariables type", doc(`"stageVariables": []`), `stageVariables: must be an object, got an array`},
		{"stageVariables value type", doc(`"stageVariables": {"env": 1}`), `stageVariables.env: must be a string, got 1`},
		{"stageVariables name", doc(`"stageVariables": {"a-b": "x"}`), `stageVariables.a-b: name must be letters, digits and '_'`},
		{"stageVariables duplicate", doc(`"stageVariables": {"a": "x", "a": "y"}`), `stageVariables.a: duplicate key`},
		{"stageVariables control byte", doc(`"stageVariables": {"a": "x\ny"}`), `stageVariables.a: must not contain control bytes`},
		{"authorizerCache type", doc(`"authorizerCache": 5`), `authorizerCache: must be an object, got 5`},
		{"authorizerCache unknown", doc(`"authorizerCache": {"maxEntry": 5}`), `authorizerCache.maxEntry: unknown field`},
		{"maxEntries zero", doc(`"authorizerCache": {"maxEntries": 0}`), `authorizerCache.maxEntries: must be 1..1000000, got 0`},
		{"maxEntries too many", doc(`"authorizerCache": {"maxEntries": 1000001}`), `authorizerCache.maxEntries: must be 1..1000000, got 1000001`},
		{"maxEntries float", doc(`"authorizerCache": {"maxEntries": 10.5}`), `authorizerCache.maxEntries: must be an integer, got 10.5`},
		{"maxEntries exponent", doc(`"authorizerCache": {"maxEntries": 1e3}`), `authorizerCache.maxEntries: must be an integer, got 1e3`},
		{"maxEntries string", doc(`"authorizerCache": {"maxEntries": "100"}`), `authorizerCache.maxEntries: must be an integer, got "100"`},
		{"maxBytes small", doc(`"authorizerCache": {"maxBytes": 1023}`), `authorizerCache.maxBytes: must be 1024..1073741824, got 1023`},
		{"maxBytes huge", doc(`"authorizerCache": {"maxBytes": 99999999999999999999}`), `authorizerCache.maxBytes: must be 1024..1073741824, got 99999999999999999999`},
		{"authorizers required", doc(`-authorizers`), `authorizers: required`},
		{"authorizers type", doc(`"authorizers": []`), `authorizers: must be an object, got an array`},
		{"empty authorizers with an authorized route", doc(`"authorizers": {}`), `routes[0].authorizer: undefined authorizer "jwt"`},
		{"routes required", doc(`-routes`), `routes: required`},
		{"routes type", doc(`"routes": {}`), `routes: must be an array, got an object`},
		{"routes empty", doc(`"routes": []`), `routes: must not be empty`},

		// Authorizer names.
		{"authorizer name chars", doc(`"authorizers": {"j.w.t": {"type": "TOKEN", "cluster": "c"}}`), `authorizers["j.w.t"]: name must be letters, digits, '-' and '_'`},
		{"authorizer name empty", doc(`"authorizers": {"": {"type": "TOKEN", "cluster": "c"}}`), `authorizers[""]: name must be letters, digits, '-' and '_'`},
		{"authorizer named NONE", doc(`"authorizers": {"NONE": {"type": "TOKEN", "cluster": "c"}}`), `authorizers.NONE: name is reserved for routes without an authorizer`},
		{"authorizer duplicate", doc(`"authorizers": {"jwt": {"type": "TOKEN", "cluster": "a"}, "jwt": {"type": "TOKEN", "cluster": "b"}}`), `authorizers.jwt: duplicate key`},
		{"authorizer not an object", doc(`"authorizers": {"jwt": "TOKEN"}`), `authorizers.jwt: must be an object, got "TOKEN"`},

		// Authorizer fields.
		{"unknown authorizer field", jwt(tok + `"ttl": 5`), `authorizers.jwt.ttl: unknown field`},
		{"field case matters", jwt(tok + `"TimeoutMs": 5`), `authorizers.jwt.TimeoutMs: unknown field`},
		{"duplicate authorizer field", jwt(tok + `"timeoutMs": 5, "timeoutMs": 6`), `authorizers.jwt.timeoutMs: duplicate key`},
		{"type required", jwt(`"cluster": "authz"`), `authorizers.jwt.type: required`},
		{"type value", jwt(`"type": "token", "cluster": "authz"`), `authorizers.jwt.type: must be TOKEN or REQUEST, got "token"`},
		{"cluster required", jwt(`"type": "TOKEN"`), `authorizers.jwt.cluster: required`},
		{"cluster empty", jwt(`"type": "TOKEN", "cluster": ""`), `authorizers.jwt.cluster: must be a non-empty name without spaces or control bytes, got ""`},
		{"path relative", jwt(tok + `"path": "check"`), `authorizers.jwt.path: must start with "/" and have no spaces, control bytes or "#", got "check"`},
		{"path with space", jwt(tok + `"path": "/a b"`), `authorizers.jwt.path: must start with "/" and have no spaces, control bytes or "#", got "/a b"`},
		{"authority empty", jwt(tok + `"authority": ""`), `authorizers.jwt.authority: must be a host[:port] without spaces or control bytes, got ""`},
		{"authority with path", jwt(tok + `"authority": "a/b"`), `authorizers.jwt.authority: must be a host[:port] without spaces or control bytes, got "a/b"`},
		{"timeout string", jwt(tok + `"timeoutMs": "1s"`), `authorizers.jwt.timeoutMs: must be an integer, got "1s"`},
		{"timeout zero", jwt(tok + `"timeoutMs": 0`), `authorizers.jwt.timeoutMs: must be 1..30000, got 0`},
		{"timeout too long", jwt(tok + `"timeoutMs": 30001`), `authorizers.jwt.timeoutMs: must be 1..30000, got 30001`},
		{"ttl too long", jwt(tok + `"authorizerResultTtlInSeconds": 7200`), `authorizers.jwt.authorizerResultTtlInSeconds: must be 0..3600, got 7200`},
		{"ttl negative", jwt(tok + `"authorizerResultTtlInSeconds": -1`), `authorizers.jwt.authorizerResultTtlInSeconds: must be 0..3600, got -1`},
		{"ttl bool", jwt(tok + `"authorizerResultTtlInSeconds": true`), `authorizers.jwt.authorizerResultTtlInSeconds: must be an integer, got true`},

		// TOKEN identity.
		{"token source not a header", jwt(tok + `"identitySource": "method.request.querystring.token"`),
			`authorizers.jwt.identitySource: a TOKEN authorizer takes exactly one method.request.header.X with X a header name, got "method.request.querystring.token"`},
		{"token source two headers", jwt(tok + `"identitySource": "method.request.header.A, method.request.header.B"`),
			`authorizers.jwt.identitySource: a TOKEN authorizer takes exactly one method.request.header.X with X a header name, got "method.request.header.A, method.request.header.B"`},
		{"token source empty", jwt(tok + `"identitySource": ""`),
			`authorizers.jwt.identitySource: a TOKEN authorizer takes exactly one method.request.header.X with X a header name, got ""`},
		{"token source empty header name", jwt(tok + `"identitySource": "method.request.header."`),
			`authorizers.jwt.identitySource: a TOKEN authorizer takes exactly one method.request.header.X with X a header name, got "method.request.header."`},
		{"token source type", jwt(tok + `"identitySource": ["method.request.header.Authorization"]`),
			`authorizers.jwt.identitySource: must be a string, got an array`},
		{"bad regex", jwt(tok + `"identityValidationExpression": "^Bearer ("`),
			"authorizers.jwt.identityValidationExpression: error parsing regexp: missing closing ): `^Bearer (`"},
		{"empty regex", jwt(tok + `"identityValidationExpression": ""`),
			`authorizers.jwt.identityValidationExpression: must not be empty; leave it out to accept any token`},
		{"regex type", jwt(tok + `"identityValidationExpression": 5`),
			`authorizers.jwt.identityValidationExpression: must be a string, got 5`},
		{"regex too long", jwt(tok + `"identityValidationExpression": "^` + strings.Repeat("a", 1024) + `"`),
			`authorizers.jwt.identityValidationExpression: longer than 1024 bytes`},
		{"maxResponseBytes small", jwt(tok + `"maxResponseBytes": 1023`), `authorizers.jwt.maxResponseBytes: must be 1024..16777216, got 1023`},
		{"maxResponseBytes large", jwt(tok + `"maxResponseBytes": 16777217`), `authorizers.jwt.maxResponseBytes: must be 1024..16777216, got 16777217`},
		{"maxResponseBytes string", jwt(tok + `"maxResponseBytes": "1MiB"`), `authorizers.jwt.maxResponseBytes: must be an integer, got "1MiB"`},

		// Bounds on free-form text.
		{"nested 33 levels", doc(`"x": ` + strings.Repeat("[", 32) + strings.Repeat("]", 32)), `config: nested deeper than 32 levels`},
		{"nested deep and not JSON", `{"a":` + strings.Repeat("[", 100000), `config: nested deeper than 32 levels`},
		{"long string value", jwt(tok + `"path": "/` + strings.Repeat("a", 4096) + `"`), `authorizers.jwt.path: longer than 4096 bytes`},
		{"long authority", jwt(tok + `"authority": "` + strings.Repeat("a", 4097) + `"`), `authorizers.jwt.authority: longer than 4096 bytes`},
		{"long stage variable", doc(`"stageVariables": {"a": "` + strings.Repeat("v", 4097) + `"}`), `stageVariables.a: longer than 4096 bytes`},
		{"long key", doc(`"stageVariables": {"` + strings.Repeat("k", 4097) + `": "v"}`), `stageVariables: key longer than 4096 bytes`},
		{"long unknown key", doc(`"` + strings.Repeat("k", 4097) + `": 1`), `config: key longer than 4096 bytes`},
		{"long authorizer name", doc(`"authorizers": {"` + strings.Repeat("k", 4097) + `": {}}`), `authorizers: a name is longer than 4096 bytes`},
		{"long route path", doc(`"routes": [{"method": "GET", "path": "/` + strings.Repeat("p", 4096) + `", "authorizer": "NONE"}]`), `routes[0].path: longer than 4096 bytes`},
		{"long response parameter", doc(`"gatewayResponses": {"UNAUTHORIZED": {"responseParameters": {"gatewayresponse.header.x": "'` + strings.Repeat("v", 4096) + `'"}}}`),
			`gatewayResponses.UNAUTHORIZED.responseParameters["gatewayresponse.header.x"]: longer than 4096 bytes`},
		{"long response template", doc(`"gatewayResponses": {"UNAUTHORIZED": {"responseTemplates": {"application/json": "` + strings.Repeat("t", 64<<10+1) + `"}}}`),
			`gatewayResponses.UNAUTHORIZED.responseTemplates["application/json"]: longer than 65536 bytes`},

		// REQUEST identity.
		{"regex on REQUEST not a string", jwt(req + `"identitySource": "method.request.header.A", "identityValidationExpression": 5`),
			`authorizers.jwt.identityValidationExpression: must be a string, got 5`},
		{"request source unknown prefix", jwt(req + `"identitySource": "method.request.path.id"`),
			`authorizers.jwt.identitySource: "method.request.path.id" must start with method.request.header., method.request.querystring., stageVariables. or context.`},
		{"request source empty entry", jwt(req + `"identitySource": "method.request.header.A,,method.request.header.B"`),
			`authorizers.jwt.identitySource: entry 2 is empty`},
		{"request source bad header", jwt(req + `"identitySource": "method.request.header.A B"`),
			`authorizers.jwt.identitySource: "method.request.header.A B" does not end in a header name`},
		{"request source empty query", jwt(req + `"identitySource": "method.request.querystring."`),
			`authorizers.jwt.identitySource: "method.request.querystring." does not end in a query parameter name`},
		{"request source empty stage variable", jwt(req + `"identitySource": "stageVariables."`),
			`authorizers.jwt.identitySource: "stageVariables." does not end in a stage variable name`},
		{"request source unknown context", jwt(req + `"identitySource": "context.authorizer.claims"`),
			`authorizers.jwt.identitySource: "context.authorizer.claims" is not a supported context variable (one of accountId, apiId, httpMethod, identity.sourceIp, path, requestId, resourcePath, sourceIp, stage)`},
		{"request source twice", jwt(req + `"identitySource": "method.request.header.X-Key, method.request.header.x-key"`),
			`authorizers.jwt.identitySource: "method.request.header.x-key" is listed twice`},
		{"request caching without sources", jwt(req + `"authorizerResultTtlInSeconds": 60`),
			`authorizers.jwt.authorizerResultTtlInSeconds: caching needs an identitySource; set it or set 0`},

		// Routes.
		{"route not an object", doc(`"routes": ["GET /"]`), `routes[0]: must be an object, got "GET /"`},
		{"route unknown field", doc(`"routes": [{"method": "GET", "path": "/", "authorizer": "jwt", "authoriser": "NONE"}]`), `routes[0].authoriser: unknown field`},
		{"route duplicate field", doc(`"routes": [{"method": "GET", "path": "/", "authorizer": "jwt", "authorizer": "NONE"}]`), `routes[0].authorizer: duplicate key`},
		{"route method required", doc(`"routes": [{"path": "/", "authorizer": "jwt"}]`), `routes[0].method: required`},
		{"route path required", doc(`"routes": [{"method": "GET", "authorizer": "jwt"}]`), `routes[0].path: required`},
		{"route authorizer required", doc(`"routes": [{"method": "GET", "path": "/"}]`), `routes[0].authorizer: required`},
		{"route authorizer type", doc(`"routes": [{"method": "GET", "path": "/", "authorizer": null}]`), `routes[0].authorizer: must be a string, got null`},
		{"route undefined authorizer", doc(`"routes": [{"method": "GET", "path": "/", "authorizer": "NONE"}, {"method": "GET", "path": "/x", "authorizer": "jwtt"}]`),
			`routes[1].authorizer: undefined authorizer "jwtt"`},
		{"route none lower case", doc(`"routes": [{"method": "GET", "path": "/", "authorizer": "none"}]`), `routes[0].authorizer: undefined authorizer "none"`},
		{"route method lower case", doc(`"routes": [{"method": "get", "path": "/", "authorizer": "jwt"}]`),
			`routes[0].method: must be ANY or one of DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, got "get"`},
		{"route bad template", doc(`"routes": [{"method": "GET", "path": "/a", "authorizer": "jwt"}, {"method": "GET", "path": "/{proxy+}/x", "authorizer": "jwt"}]`),
			`routes[1].path: greedy parameter {proxy+} must be the last segment`},
		{"route duplicate", doc(`"routes": [{"method": "GET", "path": "/pets/{id}", "authorizer": "jwt"}, {"method": "GET", "path": "/pets/{petId}", "authorizer": "NONE"}]`),
			`routes[1]: duplicate of routes[0] (GET /pets/{id})`},

		// Request hygiene settings.
		{"allowPathParameters type", doc(`"allowPathParameters": "true"`), `allowPathParameters: must be a boolean, got "true"`},
		{"allowPathParameters null", doc(`"allowPathParameters": null`), `allowPathParameters: must be a boolean, got null`},
		{"allowPathParameters number", doc(`"allowPathParameters": 1`), `allowPathParameters: must be a boolean, got 1`},
		{"keepOverrideHeaders type", doc(`"keepOverrideHeaders": "yes"`), `keepOverrideHeaders: must be a boolean, got "yes"`},
		{"keepOverrideHeaders object", doc(`"keepOverrideHeaders": {}`), `keepOverrideHeaders: must be a boolean, got an object`},
		{"logDecisions type", doc(`"logDecisions": "info"`), `logDecisions: must be a boolean, got "info"`},
		{"logDecisions misspelt", doc(`"logdecisions": true`), `logdecisions: unknown field`},
		{"semicolon template without allowPathParameters", doc(`"routes": [{"method": "GET", "path": "/a", "authorizer": "jwt"}, {"method": "GET", "path": "/a;v=1", "authorizer": "jwt"}]`),
			`routes[1].path: a ";" can only match with allowPathParameters set to true, got "/a;v=1"`},
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

func TestParseExample(t *testing.T) {
	b, err := os.ReadFile("testdata/example.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	a := p.Authorizers["jwt"]
	if a == nil {
		t.Fatal("authorizer jwt missing")
	}
	if a.IdentityValidation == nil || a.IdentityValidation.String() != "^Bearer [-0-9a-zA-Z._]+$" {
		t.Errorf("IdentityValidation = %v", a.IdentityValidation)
	}
	a.IdentityValidation = nil // compared separately above
	want := &Plan{
		Region: "us-east-1", AccountID: "123456789012", RestAPIID: "a1b2c3d4e5", Stage: "prod",
		StageVariables: []StageVariable{{"env", "prod"}},
		Authorizers: map[string]*Authorizer{"jwt": {
			Name: "jwt", Type: TypeToken, Cluster: "authorizer", Path: "/", Authority: "authorizer.local",
			Timeout:          time.Second,
			IdentitySources:  []IdentitySource{{Kind: SourceHeader, Name: "authorization"}},
			TTL:              300 * time.Second,
			MaxResponseBytes: 1 << 20,
		}},
		Routes: []Route{
			{Method: "ANY", Path: "/health", ResourceID: "fhon00"},
			{Method: "ANY", Path: "/{proxy+}", Authorizer: a, ResourceID: "xrutvm"},
		},
		Router:       p.Router,
		CacheEntries: 10000, CacheBytes: 16 << 20,
		SharedSlots: 65536, SharedMaxEntryBytes: 16 << 10,
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("Parse(example.json) =\n%+v\nwant\n%+v", p, want)
	}
	if p.Routes[1].Authorizer != p.Authorizers["jwt"] {
		t.Error("route does not share the authorizer of the map")
	}
	for _, c := range []struct {
		method, path string
		index        int
	}{{"GET", "/health", 0}, {"POST", "/health", 0}, {"GET", "/pets/1", 1}} {
		m, ok := p.Router.Match(c.method, c.path)
		if !ok || m.Index != c.index {
			t.Errorf("Match(%s %s) = %+v, %v; want index %d", c.method, c.path, m, ok, c.index)
		}
	}
}

func TestParseDefaultsAndNormalisation(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		check func(t *testing.T, p *Plan)
	}{
		{
			name: "token defaults",
			in:   doc(),
			check: func(t *testing.T, p *Plan) {
				a := p.Authorizers["jwt"]
				want := &Authorizer{Name: "jwt", Type: TypeToken, Cluster: "authz", Path: "/", Authority: "authz",
					Timeout: time.Second, TTL: 300 * time.Second, MaxResponseBytes: DefaultResponseBytes,
					IdentitySources: []IdentitySource{{Kind: SourceHeader, Name: "authorization"}}}
				if !reflect.DeepEqual(a, want) {
					t.Errorf("authorizer = %+v, want %+v", a, want)
				}
				if p.CacheEntries != DefaultCacheEntries || p.CacheBytes != DefaultCacheBytes {
					t.Errorf("cache = %d, %d", p.CacheEntries, p.CacheBytes)
				}
				if p.StageVariables != nil {
					t.Errorf("StageVariables = %v, want nil", p.StageVariables)
				}
				if p.PathRules.AllowParameters || p.KeepOverrideHeaders {
					t.Errorf("PathRules, KeepOverrideHeaders = %+v, %v; want the strict defaults", p.PathRules, p.KeepOverrideHeaders)
				}
				if p.LogDecisions {
					t.Errorf("LogDecisions on by default")
				}
			},
		},
		{
			name: "decision lines at info",
			in:   doc(`"logDecisions": true`),
			check: func(t *testing.T, p *Plan) {
				if !p.LogDecisions || p.Warnings != nil {
					t.Errorf("LogDecisions, Warnings = %v, %q; want true, none", p.LogDecisions, p.Warnings)
				}
			},
		},
		{
			name: "request hygiene settings",
			in: doc(`"allowPathParameters": true`, `"keepOverrideHeaders": true`,
				`"routes": [{"method": "GET", "path": "/a;v=1", "authorizer": "jwt"}]`),
			check: func(t *testing.T, p *Plan) {
				if !p.PathRules.AllowParameters || !p.KeepOverrideHeaders {
					t.Errorf("PathRules, KeepOverrideHeaders = %+v, %v; want both set", p.PathRules, p.KeepOverrideHeaders)
				}
				if want := []string{WarnAllowPathParameters, WarnKeepOverrideHeaders}; !reflect.DeepEqual(p.Warnings, want) {
					t.Errorf("Warnings = %q, want %q", p.Warnings, want)
				}
			},
		},
		{
			name: "request hygiene settings false",
			in:   doc(`"allowPathParameters": false`, `"keepOverrideHeaders": false`),
			check: func(t *testing.T, p *Plan) {
				if p.PathRules.AllowParameters || p.KeepOverrideHeaders || p.Warnings != nil {
					t.Errorf("PathRules, KeepOverrideHeaders, Warnings = %+v, %v, %q; want both off, no warning", p.PathRules, p.KeepOverrideHeaders, p.Warnings)
				}
			},
		},
		{
			name: "request sources parsed in order with spaces around commas",
			in: doc(`"stageVariables": {"zone": "b", "tenant": "acme"}`,
				`"authorizers": {"req": {"type": "REQUEST", "cluster": "c", "timeoutMs": 30000, "authorizerResultTtlInSeconds": 0,
				 "identitySource": "method.request.header.X-Api-Key ,method.request.querystring.Tenant,  stageVariables.tenant , context.sourceIp,context.identity.sourceIp"}}`,
				`"routes": [{"method": "GET", "path": "/", "authorizer": "req"}]`),
			check: func(t *testing.T, p *Plan) {
				a := p.Authorizers["req"]
				want := []IdentitySource{
					{SourceHeader, "x-api-key"}, {SourceQuery, "Tenant"}, {SourceStage, "tenant"},
					{SourceContext, "sourceIp"}, {SourceContext, "identity.sourceIp"},
				}
				if !reflect.DeepEqual(a.IdentitySources, want) {
					t.Errorf("IdentitySources = %+v, want %+v", a.IdentitySources, want)
				}
				if a.Timeout != 30*time.Second || a.TTL != 0 {
					t.Errorf("Timeout, TTL = %v, %v", a.Timeout, a.TTL)
				}
				if want := []StageVariable{{"tenant", "acme"}, {"zone", "b"}}; !reflect.DeepEqual(p.StageVariables, want) {
					t.Errorf("StageVariables = %v, want sorted %v", p.StageVariables, want)
				}
			},
		},
		{
			name: "request without identity sources does not cache",
			in:   doc(`"authorizers": {"r": {"type": "REQUEST", "cluster": "c"}}`, `"routes": [{"method": "GET", "path": "/", "authorizer": "r"}]`),
			check: func(t *testing.T, p *Plan) {
				if a := p.Authorizers["r"]; a.TTL != 0 || len(a.IdentitySources) != 0 {
					t.Errorf("TTL, sources = %v, %v; want 0, none", a.TTL, a.IdentitySources)
				}
			},
		},
		{
			name: "request with blank identity source and explicit zero ttl",
			in: doc(`"authorizers": {"r": {"type": "REQUEST", "cluster": "c", "identitySource": " ", "authorizerResultTtlInSeconds": 0}}`,
				`"routes": [{"method": "GET", "path": "/", "authorizer": "r"}]`),
			check: func(t *testing.T, p *Plan) {
				if a := p.Authorizers["r"]; a.TTL != 0 || len(a.IdentitySources) != 0 {
					t.Errorf("TTL, sources = %v, %v; want 0, none", a.TTL, a.IdentitySources)
				}
			},
		},
		{
			name: "custom token header lower-cased",
			in:   jwt(`"type": "TOKEN", "cluster": "c", "identitySource": "method.request.header.X-Token", "authorizerResultTtlInSeconds": 3600, "timeoutMs": 1`),
			check: func(t *testing.T, p *Plan) {
				a := p.Authorizers["jwt"]
				if !reflect.DeepEqual(a.IdentitySources, []IdentitySource{{SourceHeader, "x-token"}}) || a.TTL != time.Hour || a.Timeout != time.Millisecond {
					t.Errorf("authorizer = %+v", a)
				}
			},
		},
		{
			name: "all routes NONE with no authorizers",
			in:   doc(`"authorizers": {}`, `"routes": [{"method": "ANY", "path": "/", "authorizer": "NONE"}]`),
			check: func(t *testing.T, p *Plan) {
				if len(p.Authorizers) != 0 || p.Routes[0].Authorizer != nil {
					t.Errorf("plan = %+v", p)
				}
			},
		},
		{
			name: "cache limits at their bounds",
			in:   doc(`"authorizerCache": {"maxEntries": 1000000, "maxBytes": 1024}`),
			check: func(t *testing.T, p *Plan) {
				if p.CacheEntries != 1000000 || p.CacheBytes != 1024 {
					t.Errorf("cache = %d, %d", p.CacheEntries, p.CacheBytes)
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

func TestResourceIDs(t *testing.T) {
	p, err := Parse([]byte(doc(`"routes": [
		{"method": "GET", "path": "/pets", "authorizer": "jwt"},
		{"method": "POST", "path": "/pets", "authorizer": "jwt"},
		{"method": "GET", "path": "/pets/{id}", "authorizer": "jwt"}]`)))
	if err != nil {
		t.Fatal(err)
	}
	r := p.Routes
	if r[0].ResourceID != r[1].ResourceID {
		t.Errorf("GET and POST /pets have resource ids %q and %q; one path is one resource", r[0].ResourceID, r[1].ResourceID)
	}
	if r[0].ResourceID == r[2].ResourceID {
		t.Errorf("/pets and /pets/{id} share resource id %q", r[0].ResourceID)
	}
	for _, rt := range r {
		if len(rt.ResourceID) != 6 || strings.Trim(rt.ResourceID, "0123456789abcdefghijklmnopqrstuvwxyz") != "" {
			t.Errorf("%s %s: resource id %q is not six characters of [0-9a-z]", rt.Method, rt.Path, rt.ResourceID)
		}
	}
	if other := ResourceID("b1b2c3d4e5", "/pets", 0); other == r[0].ResourceID {
		t.Errorf("two APIs share the id %q for /pets", other)
	}
	if again := ResourceID("a1b2c3d4e5", "/pets", 0); again != r[0].ResourceID {
		t.Errorf("ResourceID is %q now and %q in the plan: not stable", again, r[0].ResourceID)
	}
}

func TestAssignResourceIDsResolvesCollisions(t *testing.T) {
	// Every path's first candidate is the same id: the salt must separate
	// them, in the order the paths first appear.
	colliding := func(path string, salt int) string {
		if salt == 0 {
			return "aaaaaa"
		}
		return path[1:] + strings.Repeat("0", 5) + string(rune('0'+salt))
	}
	routes := []Route{{Path: "/a"}, {Path: "/b"}, {Path: "/a"}, {Path: "/c"}}
	assignResourceIDs(routes, colliding)
	want := []string{"aaaaaa", "b000001", "aaaaaa", "c000001"}
	for i, r := range routes {
		if r.ResourceID != want[i] {
			t.Errorf("routes[%d] (%s): id %q, want %q", i, r.Path, r.ResourceID, want[i])
		}
	}
}
