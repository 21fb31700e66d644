package openapi

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// oas is the head of an OpenAPI 3 definition; body follows it.
func oas(body string) string {
	return "openapi: 3.0.1\ninfo: {title: t, version: \"1\"}\n" + body
}

// tokenScheme is a TOKEN authorizer scheme named n, indented under
// securitySchemes.
func tokenScheme(n string) string {
	return "    " + n + ":\n      type: apiKey\n      name: Authorization\n      in: header\n" +
		"      x-amazon-apigateway-authorizer: {type: token}\n"
}

// importCase is one definition and what Import must make of it: every
// string of want in the configuration, none of absent, exactly warns,
// and err as the error ("" for none).
type importCase struct {
	name   string
	src    string
	opts   *Options // nil: identity
	want   []string
	absent []string
	warns  []string
	err    string
}

func runCases(t *testing.T, cases []importCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := identity
			if tc.opts != nil {
				opts = *tc.opts
			}
			out, warns, err := Import([]byte(tc.src), opts)
			got := make([]string, len(warns))
			for i, w := range warns {
				got[i] = w.String()
			}
			if !slices.Equal(got, tc.warns) {
				t.Errorf("warnings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.warns, "\n  "))
			}
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				if out != nil {
					t.Errorf("output %s with the error", out)
				}
				return
			}
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("configuration lacks %s:\n%s", w, out)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(string(out), a) {
					t.Errorf("configuration has %s:\n%s", a, out)
				}
			}
		})
	}
}

func TestAuthorizers(t *testing.T) {
	route := "paths:\n  /r:\n    get:\n      security: [{a: []}]\n"
	openWarn := `paths["/open"].get: no authorizer: the route is open (NONE), as it is in API Gateway`
	runCases(t, []importCase{
		{
			name: "token header from the scheme's name",
			src: oas(route + "components:\n  securitySchemes:\n    a:\n      type: apiKey\n      name: X-Token\n      in: header\n" +
				"      x-amazon-apigateway-authorizer: {type: TOKEN, authorizerResultTtlInSeconds: \"120\"}\n"),
			want: []string{`"identitySource": "method.request.header.X-Token"`, `"authorizerResultTtlInSeconds": 120`, `"path": "/a"`,
				`{"method": "GET", "path": "/r", "authorizer": "a"}`},
		},
		{
			name: "names made valid and unique",
			src: oas("paths:\n  /r:\n    get:\n      security: [{a.b: []}]\n  /s:\n    get:\n      security: [{a_b: []}]\n  /t:\n    get:\n      security: [{NONE: []}]\n" +
				"components:\n  securitySchemes:\n" + tokenScheme("a.b") + tokenScheme("a_b") + tokenScheme("NONE")),
			want: []string{`{"method": "GET", "path": "/r", "authorizer": "a_b"}`, `{"method": "GET", "path": "/s", "authorizer": "a_b_2"}`,
				`{"method": "GET", "path": "/t", "authorizer": "NONE_authorizer"}`, `"path": "/a_b_2"`},
			warns: []string{
				`components.securitySchemes["a.b"]: named "a_b" in the configuration: authorizer names are unique, not NONE, and made of letters, digits, '-' and '_'`,
				`components.securitySchemes.a_b: named "a_b_2" in the configuration: authorizer names are unique, not NONE, and made of letters, digits, '-' and '_'`,
				`components.securitySchemes.NONE: named "NONE_authorizer" in the configuration: authorizer names are unique, not NONE, and made of letters, digits, '-' and '_'`,
			},
		},
		{
			name: "token source that is not a header",
			src: oas(route + "  /open:\n    get: {}\n" + "components:\n  securitySchemes:\n    a:\n      type: apiKey\n" +
				"      x-amazon-apigateway-authorizer: {type: token, identitySource: method.request.querystring.t}\n"),
			absent: []string{`"/r"`, `"a": {`},
			warns: []string{
				`components.securitySchemes.a.x-amazon-apigateway-authorizer.identitySource: not carried over: a TOKEN authorizer takes exactly one method.request.header.X with X a header name, got "method.request.querystring.t"; routes that require this authorizer are left out, so the gateway refuses them`,
				`paths["/r"].get: left out, so the gateway refuses it: it requires Lambda authorizer "a"`,
				openWarn,
			},
		},
		{
			name: "request source the gateway cannot read turns caching off",
			src: oas(route + "components:\n  securitySchemes:\n    a:\n      type: apiKey\n      x-amazon-apigateway-authorizer:\n        type: request\n" +
				"        identitySource: method.request.header.A, method.request.path.id, method.request.header.a\n"),
			want: []string{`"identitySource": "method.request.header.A"`, `"authorizerResultTtlInSeconds": 0`},
			warns: []string{
				`components.securitySchemes.a.x-amazon-apigateway-authorizer.identitySource: identity source "method.request.path.id" left out: "method.request.path.id" must start with method.request.header., method.request.querystring., stageVariables. or context.; the authorizer still receives the whole request`,
				`components.securitySchemes.a.x-amazon-apigateway-authorizer: caching turned off (0): an identity source was left out, and the cache key would miss it`,
			},
		},
		{
			name:   "request without sources is not cached",
			src:    oas(route + "components:\n  securitySchemes:\n    a:\n      type: apiKey\n      x-amazon-apigateway-authorizer:\n        type: request\n        identityValidationExpression: x\n"),
			want:   []string{`"authorizerResultTtlInSeconds": 0`},
			absent: []string{"identitySource", "identityValidationExpression"},
			warns: []string{
				`components.securitySchemes.a.x-amazon-apigateway-authorizer: caching turned off (0): without identity sources the authorizer's results have no cache key`,
				`components.securitySchemes.a.x-amazon-apigateway-authorizer.identityValidationExpression: ignored: API Gateway validates only TOKEN authorizers' tokens`,
			},
		},
		{
			name: "stage variable source declared empty",
			src:  oas(route + "components:\n  securitySchemes:\n    a:\n      type: apiKey\n      x-amazon-apigateway-authorizer:\n        type: request\n        identitySource: stageVariables.key\n"),
			want: []string{"\"stageVariables\": {\n    \"key\": \"\"\n  }", `"identitySource": "stageVariables.key"`, `"authorizerResultTtlInSeconds": 300`},
			warns: []string{
				`components.securitySchemes.a.x-amazon-apigateway-authorizer.identitySource: uses stage variable "key", which a definition does not carry: it is declared empty in stageVariables; set its value`,
			},
		},
		{
			name: "stage variable source with a name no stage can define",
			src: oas(route + "components:\n  securitySchemes:\n    a:\n      type: apiKey\n      x-amazon-apigateway-authorizer:\n        type: request\n" +
				"        identitySource: 'stageVariables.a-b, method.request.header.A'\n"),
			want:   []string{`"identitySource": "method.request.header.A"`, `"authorizerResultTtlInSeconds": 0`},
			absent: []string{"stageVariables"},
			warns: []string{
				`components.securitySchemes.a.x-amazon-apigateway-authorizer.identitySource: identity source "stageVariables.a-b" left out: "a-b" is not a stage variable name (letters, digits and _); the authorizer still receives the whole request`,
				`components.securitySchemes.a.x-amazon-apigateway-authorizer: caching turned off (0): an identity source was left out, and the cache key would miss it`,
			},
		},
		{
			name:   "validation expression RE2 cannot compile",
			src:    oas(route + "components:\n  securitySchemes:\n    a:\n      type: apiKey\n      x-amazon-apigateway-authorizer:\n        type: token\n        identityValidationExpression: '^(?=Bearer)'\n"),
			absent: []string{"identityValidationExpression"},
			warns: []string{
				"components.securitySchemes.a.x-amazon-apigateway-authorizer.identityValidationExpression: not carried over: error parsing regexp: invalid or unsupported Perl syntax: `(?=`; every token reaches the authorizer, which still decides",
			},
		},
		{
			name: "REST ignores HTTP fields",
			src: oas(route + "components:\n  securitySchemes:\n    a:\n      type: apiKey\n      x-amazon-apigateway-authorizer:\n        type: token\n" +
				"        authorizerPayloadFormatVersion: \"2.0\"\n        enableSimpleResponses: true\n        jwtConfiguration: {}\n"),
			absent: []string{"authorizerPayloadFormatVersion", "enableSimpleResponses"},
			warns: []string{
				`components.securitySchemes.a.x-amazon-apigateway-authorizer.jwtConfiguration: ignored: not a property of Lambda authorizers`,
				`components.securitySchemes.a.x-amazon-apigateway-authorizer.authorizerPayloadFormatVersion: ignored: REST API authorizers receive payload format 1.0`,
				`components.securitySchemes.a.x-amazon-apigateway-authorizer.enableSimpleResponses: ignored: REST API authorizers answer with a policy`,
			},
		},
		{
			name: "TTL above API Gateway's limit",
			src:  oas(route + "components:\n  securitySchemes:\n    a:\n      type: apiKey\n      x-amazon-apigateway-authorizer: {type: token, authorizerResultTtlInSeconds: 7200}\n"),
			err:  "components.securitySchemes.a.x-amazon-apigateway-authorizer.authorizerResultTtlInSeconds: must be 0..3600, API Gateway's limit, got 7200",
		},
		{
			name: "authorizer without a type",
			src:  oas(route + "components:\n  securitySchemes:\n    a:\n      type: apiKey\n      x-amazon-apigateway-authorizer: {identitySource: x}\n"),
			err:  "components.securitySchemes.a.x-amazon-apigateway-authorizer.type: required",
		},
	})
}

func TestSecurity(t *testing.T) {
	schemes := "components:\n  securitySchemes:\n" + tokenScheme("a") + tokenScheme("b") +
		"    key:\n      type: apiKey\n      name: x-api-key\n      in: header\n" +
		"    iam:\n      type: apiKey\n      name: Authorization\n      in: header\n      x-amazon-apigateway-authtype: awsSigv4\n" +
		"    pool:\n      type: apiKey\n      x-amazon-apigateway-authorizer: {type: cognito_user_pools}\n"
	schemeWarns := []string{
		`components.securitySchemes.key: not carried over: API keys (and the usage plans behind them) are not enforced; a route that requires nothing but an API key is left out`,
		`components.securitySchemes.iam: not carried over: IAM (SigV4) authorization; routes that require it are left out, so the gateway refuses them`,
		`components.securitySchemes.pool: not carried over: Amazon Cognito user pool authorization; routes that require it are left out, so the gateway refuses them`,
	}
	op := func(sec string) string {
		return oas("paths:\n  /r:\n    get:\n" + sec + "  /open:\n    get: {security: []}\n" + schemes)
	}
	openWarn := `paths["/open"].get: no authorizer: security is empty, so the route is open (NONE), as it is in API Gateway`
	with := func(ws ...string) []string { return append(append(slices.Clone(schemeWarns), ws...), openWarn) }
	routeTo := func(a string) string { return `{"method": "GET", "path": "/r", "authorizer": "` + a + `"}` }
	runCases(t, []importCase{
		{
			name:  "the operation's authorizer",
			src:   op("      security: [{b: []}]\n"),
			want:  []string{routeTo("b")},
			warns: with(),
		},
		{
			name:  "the document's authorizer",
			src:   "security: [{a: []}]\n" + op("      responses: {}\n"),
			want:  []string{routeTo("a")},
			warns: with(),
		},
		{
			name:  "no security at all is open",
			src:   op("      responses: {}\n"),
			want:  []string{routeTo("NONE")},
			warns: with(`paths["/r"].get: no authorizer: the route is open (NONE), as it is in API Gateway`),
		},
		{
			name:  "the first Lambda alternative wins over an earlier anonymous one",
			src:   op("      security: [{}, {key: []}, {b: []}, {a: []}]\n"),
			want:  []string{routeTo("b")},
			warns: with(`paths["/r"].get: only the security alternative b is carried over: a route has one authorizer, so requests that meet only {} or key or a are refused`),
		},
		{
			name:  "an API key beside the authorizer is not enforced",
			src:   "security: [{key: [], a: []}]\n" + op("      responses: {}\n"),
			want:  []string{routeTo("a")},
			warns: with(`paths["/r"].get: the API key (key) is not enforced (the document's security); authorizer "a" still decides`),
		},
		{
			name:  "anonymous alternative without an authorizer is open",
			src:   op("      security: [{iam: []}, {}]\n"),
			want:  []string{routeTo("NONE")},
			warns: with(`paths["/r"].get: no authorizer: security allows anonymous access, so the route is open (NONE)`),
		},
		{
			name:   "an API key alone is left out",
			src:    op("      security: [{key: []}]\n"),
			absent: []string{`"/r"`},
			warns:  with(`paths["/r"].get: left out, so the gateway refuses it: it requires nothing but an API key, which is not enforced`),
		},
		{
			name:   "Cognito is left out",
			src:    op("      security: [{pool: []}]\n"),
			absent: []string{`"/r"`},
			warns:  with(`paths["/r"].get: left out, so the gateway refuses it: it requires Amazon Cognito user pool authorization`),
		},
		{
			name:   "IAM beside an authorizer is left out",
			src:    op("      security: [{a: [], iam: []}]\n"),
			absent: []string{`"/r"`},
			warns:  with(`paths["/r"].get: left out, so the gateway refuses it: it requires IAM (SigV4) authorization`),
		},
		{
			name:   "two authorizers at once are left out",
			src:    op("      security: [{a: [], b: []}]\n"),
			absent: []string{`"/r"`},
			warns:  with(`paths["/r"].get: left out, so the gateway refuses it: it requires two Lambda authorizers at once`),
		},
		{
			name:   "an undefined scheme is left out",
			src:    op("      security: [{nope: []}]\n"),
			absent: []string{`"/r"`},
			warns:  with(`paths["/r"].get: left out, so the gateway refuses it: it requires security scheme "nope", which the definition does not define`),
		},
		{
			name:   "x-amazon-apigateway-auth AWS_IAM is left out",
			src:    op("      security: [{a: []}]\n      x-amazon-apigateway-auth: {type: aws_iam}\n"),
			absent: []string{`"/r"`},
			warns:  with(`paths["/r"].get.x-amazon-apigateway-auth: left out, so the gateway refuses it: IAM (SigV4) authorization is not carried over`),
		},
		{
			name:  "x-amazon-apigateway-auth NONE yields to security",
			src:   op("      security: [{a: []}]\n      x-amazon-apigateway-auth: {type: NONE}\n"),
			want:  []string{routeTo("a")},
			warns: with(`paths["/r"].get.x-amazon-apigateway-auth: ignored: the security requirement decides`),
		},
		{
			name:  "security that is not a list",
			src:   op("      security: {a: []}\n"),
			err:   `paths["/r"].get.security: must be a list, got an object`,
			warns: schemeWarns,
		},
	})
}

func TestRoutes(t *testing.T) {
	runCases(t, []importCase{
		{
			name: "methods, ANY, parameters and greedy paths in document order",
			src: oas("paths:\n  /b/{proxy+}:\n    x-amazon-apigateway-any-method: {security: []}\n    get: {security: []}\n" +
				"  /a/{id}:\n    delete: {security: []}\n    patch: {security: []}\n    head: {security: []}\n    options: {security: []}\n    put: {security: []}\n    post: {security: []}\n"),
			want: []string{`[
    {"method": "ANY", "path": "/b/{proxy+}", "authorizer": "NONE"},
    {"method": "GET", "path": "/b/{proxy+}", "authorizer": "NONE"},
    {"method": "DELETE", "path": "/a/{id}", "authorizer": "NONE"},
    {"method": "PATCH", "path": "/a/{id}", "authorizer": "NONE"},
    {"method": "HEAD", "path": "/a/{id}", "authorizer": "NONE"},
    {"method": "OPTIONS", "path": "/a/{id}", "authorizer": "NONE"},
    {"method": "PUT", "path": "/a/{id}", "authorizer": "NONE"},
    {"method": "POST", "path": "/a/{id}", "authorizer": "NONE"}
  ]`},
			warns: []string{
				`paths["/b/{proxy+}"].x-amazon-apigateway-any-method: no authorizer: security is empty, so the route is open (NONE), as it is in API Gateway`,
				`paths["/b/{proxy+}"].get: no authorizer: security is empty, so the route is open (NONE), as it is in API Gateway`,
				`paths["/a/{id}"].delete: no authorizer: security is empty, so the route is open (NONE), as it is in API Gateway`,
				`paths["/a/{id}"].patch: no authorizer: security is empty, so the route is open (NONE), as it is in API Gateway`,
				`paths["/a/{id}"].head: no authorizer: security is empty, so the route is open (NONE), as it is in API Gateway`,
				`paths["/a/{id}"].options: no authorizer: security is empty, so the route is open (NONE), as it is in API Gateway`,
				`paths["/a/{id}"].put: no authorizer: security is empty, so the route is open (NONE), as it is in API Gateway`,
				`paths["/a/{id}"].post: no authorizer: security is empty, so the route is open (NONE), as it is in API Gateway`,
			},
		},
		{
			name: "what is not a route",
			src: oas("paths:\n  /p/:\n    get: {security: []}\n    trace: {}\n    GET: {}\n    summary: s\n    x-amazon-apigateway-foo: 1\n    x-other: 1\n    $ref: '#/x'\n" +
				"  /p:\n    get: {security: []}\n  /q/{a}:\n    get: {security: []}\n  /q/{b}:\n    get: {security: []}\n  /bad path:\n    get: {}\n  /x/{a}/{a}:\n    get: {}\n"),
			want:   []string{`{"method": "GET", "path": "/p", "authorizer": "NONE"}`, `{"method": "GET", "path": "/q/{a}", "authorizer": "NONE"}`},
			absent: []string{`"/p/"`, `"/q/{b}"`, "TRACE", "/bad path"},
			warns: []string{
				`paths["/p/"]: read as "/p": route templates have no trailing slash (the gateway ignores one in requests)`,
				`paths["/p/"].get: no authorizer: security is empty, so the route is open (NONE), as it is in API Gateway`,
				`paths["/p/"].trace: left out: API Gateway has no TRACE method`,
				`paths["/p/"].GET: ignored: not an operation (OpenAPI names methods in lower case)`,
				`paths["/p/"].x-amazon-apigateway-foo: ignored: no counterpart in the gateway configuration`,
				`paths["/p/"].$ref: not followed: the operations of a path item given by $ref are left out`,
				`paths["/p"].get: left out: the same route as paths["/p/"].get`,
				`paths["/q/{a}"].get: no authorizer: security is empty, so the route is open (NONE), as it is in API Gateway`,
				`paths["/q/{b}"].get: left out: the same route as paths["/q/{a}"].get`,
				`paths["/bad path"]: left out, so the gateway refuses requests to it: not a route template: segment "bad path": character ' ' not allowed`,
				`paths["/x/{a}/{a}"]: left out, so the gateway refuses requests to it: not a route template: parameter "a" appears twice`,
			},
		},
		{
			name: "REST has no $default route",
			opts: &Options{Region: "us-east-1", AccountID: "123456789012", APIID: "a1b2c3d4e5", Stage: "prod", APIType: "REST"},
			src:  oas("paths:\n  /$default:\n    x-amazon-apigateway-any-method: {isDefaultRoute: true, security: []}\n"),
			want: []string{`{"method": "ANY", "path": "/$default", "authorizer": "NONE"}`},
			warns: []string{
				`paths["/$default"].x-amazon-apigateway-any-method.isDefaultRoute: ignored: REST APIs have no $default route`,
				`paths["/$default"].x-amazon-apigateway-any-method: no authorizer: security is empty, so the route is open (NONE), as it is in API Gateway`,
			},
		},
		{
			name:  "no route left",
			src:   oas("paths:\n  /r:\n    trace: {}\n"),
			err:   "no route could be carried over (see the warnings), and a configuration needs at least one",
			warns: []string{`paths["/r"].trace: left out: API Gateway has no TRACE method`},
		},
	})
}

func TestHTTPAPI(t *testing.T) {
	httpOpts := identity
	httpOpts.Stage = ""
	scheme := func(fields string) string {
		return "components:\n  securitySchemes:\n    a:\n      type: apiKey\n      x-amazon-apigateway-authorizer:\n        type: request\n        identitySource: $request.header.Authorization\n" + fields
	}
	runCases(t, []importCase{
		{
			name: "isDefaultRoute makes the $default route, last",
			src: oas("paths:\n  /catch:\n    x-amazon-apigateway-any-method: {isDefaultRoute: true, security: [{a: []}]}\n  /r:\n    get: {security: [{a: []}]}\n" +
				scheme("        authorizerPayloadFormatVersion: \"1.0\"\n")),
			opts: &httpOpts,
			want: []string{`"apiType": "HTTP"`, `"apiId": "a1b2c3d4e5"`, `"stage": "$default"`, `"authorizerPayloadFormatVersion": "1.0"`,
				"[\n    {\"method\": \"GET\", \"path\": \"/r\", \"authorizer\": \"a\"},\n    {\"method\": \"ANY\", \"path\": \"$default\", \"authorizer\": \"a\"}\n  ]"},
			absent: []string{"restApiId", "/catch", "enableSimpleResponses"},
		},
		{
			name: "payload version defaults to 2.0",
			src:  oas("paths:\n  /$default:\n    x-amazon-apigateway-any-method: {security: [{a: []}]}\n    get: {security: [{a: []}]}\n" + scheme("        enableSimpleResponses: true\n")),
			opts: &httpOpts,
			want: []string{`"authorizerPayloadFormatVersion": "2.0"`, `"enableSimpleResponses": true`, `{"method": "ANY", "path": "$default", "authorizer": "a"}`},
			warns: []string{
				`components.securitySchemes.a.x-amazon-apigateway-authorizer: authorizerPayloadFormatVersion is not given: using "2.0" (API Gateway's API requires it; its console defaults to the latest)`,
				`paths["/$default"].get: left out: the $default route takes every method; write it as x-amazon-apigateway-any-method`,
			},
		},
		{
			name: "simple responses need payload 2.0",
			src:  oas("paths:\n  /r:\n    get: {}\n" + scheme("        authorizerPayloadFormatVersion: 1.0\n        enableSimpleResponses: true\n")),
			opts: &httpOpts,
			err:  "components.securitySchemes.a.x-amazon-apigateway-authorizer.enableSimpleResponses: simple responses need authorizerPayloadFormatVersion \"2.0\"",
		},
		{
			name: "TOKEN and REST-only features on an HTTP API",
			src: oas("paths:\n  /r:\n    get: {security: [{t: []}]}\n  /s:\n    get: {security: [{a: []}]}\n" + scheme("        authorizerPayloadFormatVersion: \"2.0\"\n        identityValidationExpression: x\n") +
				tokenScheme("t") + "x-amazon-apigateway-gateway-responses: {UNAUTHORIZED: {statusCode: \"401\"}}\n"),
			opts:   &Options{Region: "us-east-1", AccountID: "123456789012", APIID: "a1b2c3d4e5", APIType: "HTTP"},
			want:   []string{`{"method": "GET", "path": "/s", "authorizer": "a"}`},
			absent: []string{`"/r"`, "gatewayResponses", "identityValidationExpression"},
			warns: []string{
				`components.securitySchemes.a.x-amazon-apigateway-authorizer.identityValidationExpression: ignored: HTTP API Lambda authorizers do not validate the identity`,
				`components.securitySchemes.t.x-amazon-apigateway-authorizer: not carried over: HTTP API Lambda authorizers are REQUEST authorizers; routes that require it are left out, so the gateway refuses them`,
				`paths["/r"].get: left out, so the gateway refuses it: it requires Lambda authorizer "t"`,
				`x-amazon-apigateway-gateway-responses: not carried over: HTTP APIs have no gateway responses`,
			},
		},
		{
			name: "REST and HTTP features together",
			src:  oas("paths:\n  /r:\n    get: {security: [{t: []}]}\n" + scheme("        authorizerPayloadFormatVersion: \"2.0\"\n") + tokenScheme("t")),
			err:  "the definition has both REST API features (a TOKEN authorizer at components.securitySchemes.t.x-amazon-apigateway-authorizer.type) and HTTP API features (an HTTP identity source at components.securitySchemes.a.x-amazon-apigateway-authorizer.identitySource); choose with --api-type",
		},
		{
			name: "CORS alone makes an HTTP API",
			src:  oas("paths:\n  /r:\n    get: {security: []}\nx-amazon-apigateway-cors: {allowOrigins: ['*']}\n"),
			opts: &httpOpts,
			want: []string{`"apiType": "HTTP"`},
			warns: []string{
				`paths["/r"].get: no authorizer: security is empty, so the route is open (NONE), as it is in API Gateway`,
				`x-amazon-apigateway-cors: not carried over: CORS; answer preflight requests with Envoy's CORS filter or an OPTIONS route with authorizer NONE`,
			},
		},
		{
			name: "Swagger cannot be an HTTP API",
			src:  "swagger: \"2.0\"\ninfo: {title: t, version: \"1\"}\npaths: {}\n",
			opts: &Options{APIType: "HTTP"},
			err:  "swagger: HTTP APIs are defined in OpenAPI 3.0, not Swagger 2.0",
		},
	})
}

func TestIdentity(t *testing.T) {
	route := "paths:\n  /r:\n    get: {security: []}\n"
	routeWarn := `paths["/r"].get: no authorizer: security is empty, so the route is open (NONE), as it is in API Gateway`
	runCases(t, []importCase{
		{
			name: "Swagger host and basePath",
			src:  "swagger: \"2.0\"\ninfo: {title: t, version: \"1\"}\nhost: abc123.execute-api.eu-central-1.amazonaws.com\nbasePath: /v1\n" + route,
			opts: &Options{AccountID: "210987654321"},
			want: []string{`"region": "eu-central-1"`, `"accountId": "210987654321"`, `"restApiId": "abc123"`, `"stage": "v1"`},
			warns: []string{
				`host: region "eu-central-1" taken from here; pass --region to choose another`,
				`host: API id "abc123" taken from here; pass --rest-api-id to choose another`,
				`basePath: stage "v1" taken from here; pass --stage to choose another`,
				routeWarn,
			},
		},
		{
			name:  "options win over the server",
			src:   oas("servers: [{url: 'https://abc123.execute-api.eu-central-1.amazonaws.com/v1'}]\n" + route),
			want:  []string{`"region": "us-east-1"`, `"restApiId": "a1b2c3d4e5"`, `"stage": "prod"`},
			warns: []string{routeWarn},
		},
		{
			name:  "a custom domain names nothing",
			src:   oas("servers: [{url: 'https://api.example.com/a/b'}]\n" + route),
			opts:  &Options{},
			err:   "the definition does not name the region, account, API id, stage: pass --region --account-id --rest-api-id --stage",
			warns: []string{routeWarn},
		},
		{
			name: "a bad option",
			src:  oas(route),
			opts: &Options{Region: "us-east-1", AccountID: "12", APIID: "a", Stage: "s"},
			err:  `account (--account-id): must be 12 digits, got "12"`,
		},
		{
			name: "a bad cluster",
			src:  oas(route),
			opts: &Options{Region: "us-east-1", AccountID: "123456789012", APIID: "a", Stage: "s", Cluster: "a b"},
			err:  `cluster "a b": must be a name without spaces or control bytes`,
		},
	})
}

func TestGatewayResponses(t *testing.T) {
	route := "paths:\n  /r:\n    get: {security: []}\n"
	routeWarn := `paths["/r"].get: no authorizer: security is empty, so the route is open (NONE), as it is in API Gateway`
	p := "x-amazon-apigateway-gateway-responses."
	runCases(t, []importCase{
		{
			name: "each part checked alone",
			src: oas(route + "x-amazon-apigateway-gateway-responses:\n  ACCESS_DENIED:\n    statusCode: 200\n" +
				"    responseParameters:\n      gatewayresponse.header.X-B: \"'b'\"\n      gatewayresponse.header.X-A: stageVariables.v\n      gatewayresponse.header.x-a: \"'dup'\"\n      gatewayresponse.header.Content-Type: \"'text/plain'\"\n      gatewayresponse.header.X-N: 1\n" +
				"    responseTemplates:\n      text/plain: 'no: $context.nope'\n      text/html: '<b>$context.error.message</b> &amp;'\n      application/json: '{\"m\": \"$stageVariables.w\"}'\n    other: 1\n" +
				"  THROTTLED: {statusCode: \"429\"}\n  NOT_A_TYPE: {}\n  DEFAULT_5XX: {}\n"),
			want: []string{`"ACCESS_DENIED": {
      "responseParameters": {
        "gatewayresponse.header.X-A": "stageVariables.v",
        "gatewayresponse.header.X-B": "'b'"
      },
      "responseTemplates": {
        "text/html": "<b>$context.error.message</b> &amp;",
        "application/json": "{\"m\": \"$stageVariables.w\"}"
      }
    }`, "\"stageVariables\": {\n    \"v\": \"\",\n    \"w\": \"\"\n  }"},
			absent: []string{"DEFAULT_5XX", "THROTTLED", "NOT_A_TYPE", "statusCode"},
			warns: []string{
				routeWarn,
				p + `ACCESS_DENIED.statusCode: not carried over: must be a status code "300" to "599" (a string or a number), got "200"`,
				p + `ACCESS_DENIED.responseParameters["gatewayresponse.header.X-A"]: uses stage variable "v", which a definition does not carry: it is declared empty in stageVariables; set its value`,
				p + `ACCESS_DENIED.responseParameters["gatewayresponse.header.x-a"]: left out: gatewayresponse.header.x-a is set twice (names are case-insensitive)`,
				p + `ACCESS_DENIED.responseParameters["gatewayresponse.header.Content-Type"]: not carried over: the gateway sets Content-Type itself`,
				p + `ACCESS_DENIED.responseParameters["gatewayresponse.header.X-N"]: not carried over: not a string`,
				p + `ACCESS_DENIED.responseTemplates["text/plain"]: not carried over: "$context.nope" is not a supported context variable (authorizer.KEY or one of accountId, apiId, error.message, error.messageString, error.responseType, httpMethod, identity.sourceIp, identity.userAgent, path, requestId, resourcePath, stage)`,
				p + `ACCESS_DENIED.responseTemplates["application/json"]: uses stage variable "w", which a definition does not carry: it is declared empty in stageVariables; set its value`,
				p + `ACCESS_DENIED.other: ignored: not a property of gateway responses`,
				p + `THROTTLED: not carried over: authgate never gives a THROTTLED response`,
				p + `NOT_A_TYPE: not carried over: unknown response type (one of ACCESS_DENIED, AUTHORIZER_CONFIGURATION_ERROR, AUTHORIZER_FAILURE, BAD_REQUEST_PARAMETERS, DEFAULT_4XX, DEFAULT_5XX, MISSING_AUTHENTICATION_TOKEN, UNAUTHORIZED)`,
			},
		},
	})
}

func TestMalformed(t *testing.T) {
	head := "openapi: 3.0.1\n"
	runCases(t, []importCase{
		{name: "empty", src: "", err: "the definition is empty"},
		{name: "not YAML", src: "{", err: "not YAML or JSON: yaml: line 1: did not find expected node content"},
		{name: "two documents", src: head + "---\n" + head, err: "more than one YAML document; give the definition alone"},
		{name: "a list", src: "[1]", err: "(root): must be an object, got a list"},
		{name: "no version", src: "paths: {}", err: `(root): neither "openapi" nor "swagger" names a version: not an OpenAPI definition`},
		{name: "both versions", src: head + "swagger: \"2.0\"", err: `(root): both "openapi" and "swagger" are set; a definition is one or the other`},
		{name: "OpenAPI 2", src: "openapi: 2.0.0", err: `openapi: API Gateway reads OpenAPI 3.0 and Swagger 2.0, got "2.0.0"`},
		{name: "Swagger 1.2", src: "swagger: \"1.2\"", err: `swagger: must be "2.0", got "1.2"`},
		{name: "duplicate key", src: head + "paths:\n  /a: {}\n  /a: {}\n", err: `paths["/a"]: duplicate key`},
		{name: "merge key", src: head + "x: &x {get: {}}\npaths:\n  /a:\n    <<: *x\n", err: `paths["/a"]: YAML merge keys (<<) are not supported; write the keys out`},
		{name: "complex key", src: head + "paths:\n  ? [a]\n  : {}\n", err: "paths: a key must be a string, got a list"},
		{name: "paths not an object", src: head + "paths: [1]", err: "paths: must be an object, got a list"},
		{name: "operation not an object", src: head + "paths:\n  /a:\n    get: 1\n", err: `paths["/a"].get: must be an object, got 1`},
		{name: "scheme type not a string", src: head + "components:\n  securitySchemes:\n    a:\n      type: [1]\n", err: "components.securitySchemes.a.type: must be a scalar, got a list"},
		{name: "TTL not a number", src: head + "components:\n  securitySchemes:\n    a:\n      x-amazon-apigateway-authorizer: {type: token, authorizerResultTtlInSeconds: 1.5}\n",
			err: "components.securitySchemes.a.x-amazon-apigateway-authorizer.authorizerResultTtlInSeconds: must be a whole number, got 1.5"},
		{name: "security entry not an object", src: head + "paths:\n  /a:\n    get: {security: [x]}\n", err: `paths["/a"].get.security[0]: must be an object, got "x"`},
	})
}

func TestAliasesAreBounded(t *testing.T) {
	// 2000 operations each name one list of 2000 security alternatives:
	// 60 kB of YAML that would be read as four million alternatives.
	var b strings.Builder
	b.WriteString("openapi: 3.0.1\nx: &alts [" + strings.Repeat("{}, ", 1999) + "{}]\npaths:\n")
	for i := range 2000 {
		b.WriteString(fmt.Sprintf("  /p%d: {get: {security: *alts}}\n", i))
	}
	_, _, err := Import([]byte(b.String()), identity)
	if !errors.Is(err, errTooLarge) {
		t.Fatalf("error %v, want %v", err, errTooLarge)
	}
}

func TestYAMLAndJSONAgree(t *testing.T) {
	yml := oas("paths:\n  /r:\n    get:\n      security: [{a: []}]\ncomponents:\n  securitySchemes:\n" + tokenScheme("a"))
	jsn := `{"openapi": "3.0.1", "info": {"title": "t", "version": "1"},
	"paths": {"/r": {"get": {"security": [{"a": []}]}}},
	"components": {"securitySchemes": {"a": {"type": "apiKey", "name": "Authorization", "in": "header",
		"x-amazon-apigateway-authorizer": {"type": "token"}}}}}`
	a, wa, err := Import([]byte(yml), identity)
	if err != nil {
		t.Fatal(err)
	}
	b, wb, err := Import([]byte(jsn), identity)
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) || len(wa) != 0 || len(wb) != 0 {
		t.Errorf("YAML gave\n%s%v\nJSON gave\n%s%v", a, wa, b, wb)
	}
}
