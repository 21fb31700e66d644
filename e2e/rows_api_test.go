package e2e

import (
	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/e2e/internal/authz"
)

// ARN prefixes of the REST and HTTP API configurations, up to the verb.
const (
	restARN        = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/"
	httpARN        = "arn:aws:execute-api:us-east-1:123456789012:h1t2p3a4i5/$default/"
	httpDefaultARN = "arn:aws:execute-api:us-east-1:123456789012:d1e2f3a4b5/prod/"
)

// Bodies of the answers these configurations give, written out (not
// imported from core) so the suite checks core against API Gateway's bytes.
const (
	implicitDenyIdentityBody = `{"Message":"User is not authorized to access this resource because no identity-based policy allows the execute-api:Invoke action"}`
	explicitDenyBody         = `{"Message":"User is not authorized to access this resource with an explicit deny"}`
	httpForbiddenBody        = `{"message":"Forbidden"}`
	httpNotFoundBody         = `{"message":"Not Found"}`
	httpUnauthorizedBody     = `{"message":"Unauthorized"}`
	httpErrorBody            = `{"message":"Internal Server Error"}`
)

// unauthorizedREST is the customised UNAUTHORIZED answer of restConfig for
// a request that sent x-request-id rid.
func unauthorizedREST(rid string) *answer {
	return restAnswer(401, "UnauthorizedException", `{"error":"Unauthorized","requestId":"`+rid+`"}`,
		"www-authenticate", `Bearer realm="pets"`)
}

// tierHeaders are the upstream headers of authz.TierContext.
var tierHeaders = contextHeaders(authz.TierContext, map[string]string{"x-authorizer-tier": "gold", "x-authorizer-quota": "7", "x-authorizer-beta": "true"})

// apiRows run against the REQUEST authorizer and HTTP API configurations,
// and check the events the authorizer receives field by field.
var apiRows = []row{
	// REST, REQUEST authorizer with header, query, stage variable and
	// context identity sources.
	{name: "rest_request_event_carries_the_request", config: cfgREST,
		steps: one(req("GET", "/pets/7?tenant=acme&tag=a&tag=b", tok("allow.r1"), [2]string{"X-Multi", "one"}, [2]string{"X-Multi", "two"},
			[2]string{"X-Request-Id", "parity-rid-0"}),
			allowed("user-r1", nil)),
		token: "allow.r1", calls: 1,
		event: map[string]string{
			"type":                              "\"REQUEST\"",
			"methodArn":                         `"` + restARN + `GET/pets/7"`,
			"resource":                          `"/pets/{id}"`,
			"path":                              `"/pets/7"`,
			"httpMethod":                        `"GET"`,
			"headers.x-token":                   `"allow.r1"`,
			"headers.x-multi":                   `"two"`,
			"headers.user-agent":                `"` + clientUA + `"`,
			"multiValueHeaders.x-multi":         `["one","two"]`,
			"multiValueHeaders.x-token":         `["allow.r1"]`,
			"queryStringParameters":             `{"tag":"b","tenant":"acme"}`,
			"multiValueQueryStringParameters":   `{"tag":["a","b"],"tenant":["acme"]}`,
			"pathParameters":                    `{"id":"7"}`,
			"stageVariables":                    `{"env":"blue","zone":"z1"}`,
			"requestContext.resourcePath":       `"/pets/{id}"`,
			"requestContext.resourceId":         `"` + config.ResourceID("a1b2c3d4e5", "/pets/{id}", 0) + `"`,
			"headers.x-forwarded-proto":         `"http"`,
			"requestContext.path":               `"/pets/7"`,
			"requestContext.httpMethod":         `"GET"`,
			"requestContext.stage":              `"prod"`,
			"requestContext.apiId":              `"a1b2c3d4e5"`,
			"requestContext.accountId":          `"123456789012"`,
			"requestContext.identity.sourceIp":  `"127.0.0.1"`,
			"requestContext.identity.userAgent": `"` + clientUA + `"`,
			"version":                           "-",
			"authorizationToken":                "-",
		}},
	{name: "rest_missing_header_401_customised", config: cfgREST,
		steps: one(req("GET", "/pets/7?tenant=acme", [2]string{"X-Request-Id", "parity-rid-1"}), rejected(unauthorizedREST("parity-rid-1")))},
	{name: "rest_missing_query_401_without_call", config: cfgREST,
		steps: one(req("GET", "/pets/7", tok("allow.r2"), [2]string{"X-Request-Id", "parity-rid-2"}), rejected(unauthorizedREST("parity-rid-2"))),
		token: "allow.r2", calls: 0},
	{name: "rest_empty_query_401_without_call", config: cfgREST,
		steps: one(req("GET", "/pets/7?tenant=", tok("allow.r3"), [2]string{"X-Request-Id", "parity-rid-3"}), rejected(unauthorizedREST("parity-rid-3"))),
		token: "allow.r3", calls: 0},
	// Without x-request-id each host supplies its own id (or none), so
	// only the shape of the body is fixed.
	{name: "rest_401_request_id_generated", config: cfgREST,
		steps: one(req("GET", "/pets/7?tenant=acme"), rejected(&answer{status: 401,
			bodyPattern: `^\{"error":"Unauthorized","requestId":"[-0-9a-f]{36}"\}$`, patternKey: "$context.requestId",
			headers: map[string]string{"content-type": "application/json", "x-amzn-errortype": "UnauthorizedException", "www-authenticate": `Bearer realm="pets"`}}))},
	{name: "rest_cache_key_covers_query", config: cfgREST, steps: []step{
		{req: req("GET", "/pets/1?tenant=a", tok("allow.r4")), fresh: true, want: allowed("user-r4", nil)},
		{req: req("GET", "/pets/1?tenant=b", tok("allow.r4")), fresh: true, want: allowed("user-r4", nil)},
		{req: req("GET", "/pets/1?tenant=a", tok("allow.r4")), repeat: 2, fresh: true, want: allowed("user-r4", nil)},
		{req: req("GET", "/pets/2?tenant=b", tok("allow.r4")), fresh: true, want: allowed("user-r4", nil)},
	}, token: "allow.r4", calls: 2},
	{name: "rest_cache_key_covers_context_method", config: cfgREST, steps: []step{
		{req: req("GET", "/pets/1?tenant=a", tok("allow.r5")), fresh: true, want: allowed("user-r5", nil)},
		{req: req("PUT", "/pets/1?tenant=a", tok("allow.r5")), fresh: true, want: allowed("user-r5", nil)},
		{req: req("GET", "/pets/1?tenant=a", tok("allow.r5")), fresh: true, want: allowed("user-r5", nil)},
	}, token: "allow.r5", calls: 2},
	{name: "rest_context_values_upstream", config: cfgREST,
		steps: one(req("GET", "/pets/3?tenant=acme", tok("tier.r6"), [2]string{"x-authorizer-tier", "forged"}), allowed("user-r6", tierHeaders)),
		token: "tier.r6", calls: 1},
	{name: "rest_explicit_deny_access_denied_principal", config: cfgREST,
		steps: one(req("GET", "/pets/3?tenant=acme", tok("deny.r7")), rejected(restAnswer(403, "AccessDeniedException", explicitDenyBody, "x-denied-principal", "user-r7"))),
		token: "deny.r7", calls: 1},
	{name: "rest_implicit_deny_identity_based_wording", config: cfgREST,
		steps: one(req("GET", "/pets/3?tenant=acme", tok("implicit.r8")), rejected(restAnswer(403, "AccessDeniedException", implicitDenyIdentityBody, "x-denied-principal", "user-r8"))),
		token: "implicit.r8", calls: 1},
	{name: "rest_authorizer_unauthorized_customised", config: cfgREST,
		steps: one(req("GET", "/pets/3?tenant=acme", tok("unauth401.r9"), [2]string{"X-Request-Id", "parity-rid-9"}), rejected(unauthorizedREST("parity-rid-9"))),
		token: "unauth401.r9", calls: 1},
	{name: "rest_authorizer_error_default_5xx", config: cfgREST,
		steps: []step{{req: req("GET", "/pets/3?tenant=acme", tok("fail500.r10")), repeat: 2,
			want: rejected(restAnswer(503, "AuthorizerConfigurationException",
				`{"message":null,"type":"AUTHORIZER_CONFIGURATION_ERROR","resource":"/pets/{id}"}`, "retry-after", "5"))}},
		token: "fail500.r10", calls: 2},
	{name: "rest_no_route_not_customised", config: cfgREST,
		steps: one(req("GET", "/nothing?tenant=acme", tok("allow.r11")),
			rejected(restAnswer(403, "MissingAuthenticationTokenException", `{"message":"Missing Authentication Token"}`))),
		token: "allow.r11", calls: 0},

	// HTTP API, payload 2.0 with an IAM policy.
	{name: "http_v2_event_carries_the_request", config: cfgHTTP,
		steps: one(req("GET", "/pets/7?tenant=acme&tag=a&tag=b", tok("allow.h1"), [2]string{"X-Multi", "one"}, [2]string{"X-Multi", "two"},
			[2]string{"Cookie", "a=1; b=2"}), allowed("user-h1", nil)),
		token: "allow.h1", calls: 1,
		event: map[string]string{
			"version":                       `"2.0"`,
			"type":                          `"REQUEST"`,
			"routeArn":                      `"` + httpARN + `GET/pets/7"`,
			"identitySource":                `["allow.h1","acme"]`,
			"routeKey":                      `"GET /pets/{id}"`,
			"rawPath":                       `"/pets/7"`,
			"rawQueryString":                `"tenant=acme&tag=a&tag=b"`,
			"cookies":                       `["a=1","b=2"]`,
			"headers.x-multi":               `"one,two"`,
			"headers.x-token":               `"allow.h1"`,
			"headers.cookie":                "-",
			"queryStringParameters":         `{"tag":"a,b","tenant":"acme"}`,
			"pathParameters":                `{"id":"7"}`,
			"stageVariables":                "-",
			"requestContext.accountId":      `"123456789012"`,
			"requestContext.apiId":          `"h1t2p3a4i5"`,
			"requestContext.http.method":    `"GET"`,
			"requestContext.http.path":      `"/pets/7"`,
			"requestContext.http.protocol":  clientProtocol,
			"headers.x-forwarded-proto":     `"http"`,
			"requestContext.http.sourceIp":  `"127.0.0.1"`,
			"requestContext.http.userAgent": `"` + clientUA + `"`,
			"requestContext.routeKey":       `"GET /pets/{id}"`,
			"requestContext.stage":          `"$default"`,
			"requestContext.domainName":     `"127.0.0.1"`,
			"requestContext.domainPrefix":   `"127"`,
			"methodArn":                     "-",
			"multiValueHeaders":             "-",
		}},
	{name: "http_v2_allow_context_headers", config: cfgHTTP,
		steps: one(req("GET", "/pets/8?tenant=acme", tok("tier.h2"), [2]string{"X-Authorizer-Principal-Id", "admin"}),
			allowed("user-h2", tierHeaders)),
		token: "tier.h2", calls: 1},
	{name: "http_v2_explicit_deny_forbidden", config: cfgHTTP,
		steps: one(req("GET", "/pets/8?tenant=acme", tok("deny.h3")), rejected(httpAnswer(403, httpForbiddenBody))),
		token: "deny.h3", calls: 1},
	{name: "http_v2_implicit_deny_forbidden", config: cfgHTTP,
		steps: one(req("GET", "/pets/8?tenant=acme", tok("implicit.h4")), rejected(httpAnswer(403, httpForbiddenBody))),
		token: "implicit.h4", calls: 1},
	{name: "http_no_route_404", config: cfgHTTP,
		steps: one(req("GET", "/nothing?tenant=acme", tok("allow.h5")), rejected(httpAnswer(404, httpNotFoundBody))),
		token: "allow.h5", calls: 0},
	{name: "http_no_route_method_404", config: cfgHTTP,
		steps: one(req("POST", "/pets/8?tenant=acme", tok("allow.h6")), rejected(httpAnswer(404, httpNotFoundBody))),
		token: "allow.h6", calls: 0},
	{name: "http_authorizer_error_500", config: cfgHTTP,
		steps: []step{{req: req("GET", "/pets/8?tenant=acme", tok("fail500.h7")), repeat: 2, want: rejected(httpAnswer(500, httpErrorBody))}},
		token: "fail500.h7", calls: 2},
	{name: "http_authorizer_unauthorized_401", config: cfgHTTP,
		steps: one(req("GET", "/pets/8?tenant=acme", tok("unauth401.h8")), rejected(httpAnswer(401, httpUnauthorizedBody))),
		token: "unauth401.h8", calls: 1},
	{name: "http_missing_identity_401_without_call", config: cfgHTTP,
		steps: one(req("GET", "/pets/8", tok("allow.h9")), rejected(httpAnswer(401, httpUnauthorizedBody))),
		token: "allow.h9", calls: 0},
	{name: "http_none_route_strips_spoofed", config: cfgHTTP,
		steps: one(req("GET", "/open", [2]string{"X-Authorizer-Principal-Id", "admin"}), allowed("", nil, "x-authorizer-principal-id"))},

	// HTTP API, payload 2.0 with simple responses.
	{name: "http_simple_allow_context_no_principal", config: cfgHTTP,
		steps: one(req("GET", "/simple/a/b", tok("tier.s1"), [2]string{"X-Authorizer-Principal-Id", "admin"}),
			allowed("", tierHeaders, "x-authorizer-principal-id")),
		token: "tier.s1", calls: 1,
		event: map[string]string{
			"version":               `"2.0"`,
			"routeKey":              `"ANY /simple/{proxy+}"`,
			"identitySource":        `["tier.s1"]`,
			"pathParameters":        `{"proxy":"a/b"}`,
			"rawQueryString":        `""`,
			"cookies":               "-",
			"queryStringParameters": "-",
		}},
	{name: "http_simple_false_forbidden", config: cfgHTTP,
		steps: one(req("DELETE", "/simple/x", tok("deny.s2")), rejected(httpAnswer(403, httpForbiddenBody))),
		token: "deny.s2", calls: 1},
	{name: "http_simple_cached_per_identity", config: cfgHTTP,
		steps: []step{
			{req: req("GET", "/simple/x", tok("allow.s3")), repeat: 4, fresh: true, want: allowed("", nil, "x-authorizer-principal-id")},
			{req: req("POST", "/simple/y", tok("allow.s3")), fresh: true, want: allowed("", nil, "x-authorizer-principal-id")},
		},
		token: "allow.s3", calls: 1},
	{name: "http_simple_false_cached", config: cfgHTTP,
		steps: []step{{req: req("GET", "/simple/x", tok("deny.s4")), repeat: 3, fresh: true, want: rejected(httpAnswer(403, httpForbiddenBody))}},
		token: "deny.s4", calls: 1},

	// HTTP API, payload 1.0.
	{name: "http_v1_event", config: cfgHTTP,
		steps: one(req("GET", "/v1/9?tag=a&tag=b", tok("allow.v1"), [2]string{"X-Multi", "one"}, [2]string{"X-Multi", "two"}), allowed("user-v1", nil)),
		token: "allow.v1", calls: 1,
		event: map[string]string{
			"version":                          `"1.0"`,
			"type":                             `"REQUEST"`,
			"methodArn":                        `"` + httpARN + `GET/v1/9"`,
			"identitySource":                   `"allow.v1"`,
			"authorizationToken":               `"allow.v1"`,
			"resource":                         `"/v1/{id}"`,
			"path":                             `"/v1/9"`,
			"httpMethod":                       `"GET"`,
			"headers.x-multi":                  `"one,two"`,
			"queryStringParameters":            `{"tag":"a,b"}`,
			"pathParameters":                   `{"id":"9"}`,
			"stageVariables":                   `{}`,
			"requestContext.resourcePath":      `"/v1/{id}"`,
			"requestContext.resourceId":        `"` + config.ResourceID("h1t2p3a4i5", "/v1/{id}", 0) + `"`,
			"requestContext.httpMethod":        `"GET"`,
			"requestContext.stage":             `"$default"`,
			"requestContext.apiId":             `"h1t2p3a4i5"`,
			"requestContext.identity.sourceIp": `"127.0.0.1"`,
			"multiValueHeaders":                "-",
			"routeArn":                         "-",
		}},
	{name: "http_v1_deny_forbidden", config: cfgHTTP,
		steps: one(req("GET", "/v1/9", tok("deny.v2")), rejected(httpAnswer(403, httpForbiddenBody))),
		token: "deny.v2", calls: 1},

	// HTTP API with a $default route.
	{name: "http_default_route_catches_unrouted", config: cfgHTTPDefault,
		steps: one(req("POST", "/nothing/here?x=1", tok("allow.d1")), allowed("user-d1", nil)),
		token: "allow.d1", calls: 1,
		event: map[string]string{
			"routeKey":                `"$default"`,
			"requestContext.routeKey": `"$default"`,
			"identitySource":          `["allow.d1","$default"]`,
			"routeArn":                `"` + httpDefaultARN + `POST/nothing/here"`,
			"rawPath":                 `"/nothing/here"`,
			"pathParameters":          "-",
		}},
	{name: "http_default_route_root", config: cfgHTTPDefault,
		steps: one(req("GET", "/", tok("deny.d2")), rejected(httpAnswer(403, httpForbiddenBody))),
		token: "deny.d2", calls: 1},
	// $context.routeKey is an identity source: one token on two routes
	// is two cache entries.
	{name: "http_default_route_key_in_cache_key", config: cfgHTTPDefault, steps: []step{
		{req: req("GET", "/pets/1", tok("allow.d3")), fresh: true, want: allowed("user-d3", nil)},
		{req: req("GET", "/other", tok("allow.d3")), fresh: true, want: allowed("user-d3", nil)},
		{req: req("GET", "/pets/2", tok("allow.d3")), fresh: true, want: allowed("user-d3", nil)},
	}, token: "allow.d3", calls: 2},
}
