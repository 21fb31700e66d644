package e2e

// The parity configurations. Each runs in its own gateway instance per
// host; every authorizer points at the one parity authorizer, which answers
// by token and records each event.
const (
	// parityREST is a REST API with a REQUEST authorizer whose identity
	// sources are of all four kinds, customised gateway responses and
	// API Gateway's newer implicit-deny wording.
	parityREST = `{
  "region": "us-east-1",
  "accountId": "123456789012",
  "restApiId": "a1b2c3d4e5",
  "stage": "prod",
  "stageVariables": {"env": "blue", "zone": "z1"},
  "implicitDenyMessage": "identity-based-policy",
  "gatewayResponses": {
    "UNAUTHORIZED": {
      "statusCode": "401",
      "responseParameters": {"gatewayresponse.header.WWW-Authenticate": "'Bearer realm=\"pets\"'"},
      "responseTemplates": {"application/json": "{\"error\":$context.error.messageString,\"requestId\":\"$context.requestId\"}"}
    },
    "ACCESS_DENIED": {
      "responseParameters": {"gatewayresponse.header.X-Denied-Principal": "context.authorizer.principalId"}
    },
    "DEFAULT_5XX": {
      "statusCode": "503",
      "responseParameters": {"gatewayresponse.header.Retry-After": "'5'"},
      "responseTemplates": {"application/json": "{\"message\":$context.error.messageString,\"type\":\"$context.error.responseType\",\"resource\":\"$context.resourcePath\"}"}
    }
  },
  "authorizers": {
    "req": {"type": "REQUEST", "cluster": "parityauthz", "path": "/request", "timeoutMs": 5000,
      "identitySource": "method.request.header.X-Token, method.request.querystring.tenant, stageVariables.env, context.httpMethod",
      "authorizerResultTtlInSeconds": 300}
  },
  "routes": [
    {"method": "ANY", "path": "/pets/{id}", "authorizer": "req"}
  ]
}`

	// parityHTTP is an HTTP API with a payload 2.0 policy authorizer, a
	// payload 2.0 simple-response authorizer and a payload 1.0 one.
	parityHTTP = `{
  "apiType": "HTTP",
  "region": "us-east-1",
  "accountId": "123456789012",
  "apiId": "h1t2p3a4i5",
  "stage": "$default",
  "authorizers": {
    "iam": {"type": "REQUEST", "cluster": "parityauthz", "path": "/v2", "timeoutMs": 5000,
      "authorizerPayloadFormatVersion": "2.0",
      "identitySource": "$request.header.X-Token, $request.querystring.tenant", "authorizerResultTtlInSeconds": 300},
    "simple": {"type": "REQUEST", "cluster": "parityauthz", "path": "/simple", "timeoutMs": 5000,
      "authorizerPayloadFormatVersion": "2.0", "enableSimpleResponses": true,
      "identitySource": "$request.header.X-Token", "authorizerResultTtlInSeconds": 300},
    "v1": {"type": "REQUEST", "cluster": "parityauthz", "path": "/v1", "timeoutMs": 5000,
      "authorizerPayloadFormatVersion": "1.0",
      "identitySource": "$request.header.X-Token", "authorizerResultTtlInSeconds": 300}
  },
  "routes": [
    {"method": "GET", "path": "/open", "authorizer": "NONE"},
    {"method": "GET", "path": "/pets/{id}", "authorizer": "iam"},
    {"method": "ANY", "path": "/simple/{proxy+}", "authorizer": "simple"},
    {"method": "ANY", "path": "/v1/{id}", "authorizer": "v1"}
  ]
}`

	// parityHTTPDefault is an HTTP API whose $default route catches what
	// no other route matches.
	parityHTTPDefault = `{
  "apiType": "HTTP",
  "region": "us-east-1",
  "accountId": "123456789012",
  "apiId": "d1e2f3a4b5",
  "stage": "prod",
  "authorizers": {
    "iam": {"type": "REQUEST", "cluster": "parityauthz", "path": "/v2", "timeoutMs": 5000,
      "authorizerPayloadFormatVersion": "2.0",
      "identitySource": "$request.header.X-Token, $context.routeKey", "authorizerResultTtlInSeconds": 300}
  },
  "routes": [
    {"method": "GET", "path": "/pets/{id}", "authorizer": "iam"},
    {"method": "ANY", "path": "$default", "authorizer": "iam"}
  ]
}`
)

// Names of the parity configurations, as scenarios refer to them.
const (
	cfgREST        = "rest"
	cfgHTTP        = "http"
	cfgHTTPDefault = "http-default"
)

// parityConfigs maps each configuration name to its JSON, in start order.
var parityConfigs = []struct{ name, json string }{
	{cfgREST, parityREST},
	{cfgHTTP, parityHTTP},
	{cfgHTTPDefault, parityHTTPDefault},
}

// clusterParity is the cluster every parity authorizer names.
const clusterParity = "parityauthz"

// ARN prefixes of the parity APIs, up to the verb.
const (
	restARN        = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/"
	httpARN        = "arn:aws:execute-api:us-east-1:123456789012:h1t2p3a4i5/$default/"
	httpDefaultARN = "arn:aws:execute-api:us-east-1:123456789012:d1e2f3a4b5/prod/"
)

// Bodies of the answers the parity configurations give, written out (not
// imported from core) so the suite checks core against API Gateway's bytes.
const (
	implicitDenyIdentityBody = `{"Message":"User is not authorized to access this resource because no identity-based policy allows the execute-api:Invoke action"}`
	explicitDenyBody         = `{"Message":"User is not authorized to access this resource with an explicit deny"}`
	httpForbiddenBody        = `{"message":"Forbidden"}`
	httpNotFoundBody         = `{"message":"Not Found"}`
	httpUnauthorizedBody     = `{"message":"Unauthorized"}`
	httpErrorBody            = `{"message":"Internal Server Error"}`
)

// parityAnswer is a gateway answer the parity table expects. headers are
// the response headers beyond the transport ones (see transportHeaders)
// with their exact values, content-type and x-amzn-errortype included when
// expected: any other header fails the step.
type parityAnswer struct {
	status  int
	body    string
	headers map[string]string
	// bodyPattern, when set, replaces body: the body must match it (for
	// values that differ per host, such as a generated request id).
	// patternKey names the value for knownHostDiffs.
	bodyPattern, patternKey string
}

// parityWant is what one parity request must produce: an answer from the
// gateway, or (reject nil) the upstream's answer with these authorizer
// headers exactly and the absent ones missing.
type parityWant struct {
	reject   *parityAnswer
	upstream map[string]string
	absent   []string
}

// parityStep sends req repeat times (at least once), each on a fresh
// connection when fresh is set, to the gateway of the scenario's config.
type parityStep struct {
	req    request
	repeat int
	fresh  bool
	want   parityWant
}

// parityScenario is one row of the parity table.
type parityScenario struct {
	name   string
	config string
	steps  []parityStep
	// token whose calls are counted; calls is the exact count after all
	// steps, and the authorizer must have seen no other token meanwhile.
	token string
	calls int
	// event, for the first event received for token, maps gjson paths to
	// the exact JSON each must hold; "-" means the member must be absent.
	event map[string]string
}

// restRejects builds a REST answer with the JSON content type, the error
// type and extra headers.
func restReject(status int, errType, body string, extra ...string) *parityAnswer {
	h := map[string]string{"content-type": "application/json", "x-amzn-errortype": errType}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return &parityAnswer{status: status, body: body, headers: h}
}

// httpReject builds an HTTP API answer: JSON, and no x-amzn-errortype.
func httpReject(status int, body string) *parityAnswer {
	return &parityAnswer{status: status, body: body, headers: map[string]string{"content-type": "application/json"}}
}

func tok(v string) [2]string { return [2]string{"X-Token", v} }

// ua is the user agent every parity request sends, so the events' user
// agent does not depend on the client library's version.
var ua = [2]string{"User-Agent", "parity-test/1"}

func preq(method, path string, headers ...[2]string) request {
	return request{method: method, path: path, headers: append([][2]string{ua}, headers...)}
}

func pallowed(principal string, extra map[string]string, absent ...string) parityWant {
	up := map[string]string{}
	if principal != "" {
		up["x-authorizer-principal-id"] = principal
	}
	for k, v := range extra {
		up[k] = v
	}
	return parityWant{upstream: up, absent: absent}
}

func prejected(a *parityAnswer) parityWant { return parityWant{reject: a} }

func pone(req request, w parityWant) []parityStep { return []parityStep{{req: req, want: w}} }

// unauthorizedREST is the customised UNAUTHORIZED answer of parityREST for
// a request that sent x-request-id rid.
func unauthorizedREST(rid string) *parityAnswer {
	return restReject(401, "UnauthorizedException", `{"error":"Unauthorized","requestId":"`+rid+`"}`,
		"www-authenticate", `Bearer realm="pets"`)
}

// ctxHeaders are the upstream headers of parityauthz.Context.
var ctxHeaders = map[string]string{"x-authorizer-tier": "gold", "x-authorizer-quota": "7", "x-authorizer-beta": "true"}

// parityScenarios is the parity table. Tokens are unique per scenario, so
// cached results never cross scenarios.
var parityScenarios = []parityScenario{
	// REST, REQUEST authorizer with header, query, stage variable and
	// context identity sources.
	{name: "rest_request_event_carries_the_request", config: cfgREST,
		steps: pone(preq("GET", "/pets/7?tenant=acme&tag=a&tag=b", tok("allow.r1"), [2]string{"X-Multi", "one"}, [2]string{"X-Multi", "two"},
			[2]string{"X-Request-Id", "parity-rid-0"}),
			pallowed("user-r1", nil)),
		token: "allow.r1", calls: 1,
		event: map[string]string{
			"type":                              "\"REQUEST\"",
			"methodArn":                         `"` + restARN + `GET/pets/7"`,
			"resource":                          `"/pets/{id}"`,
			"path":                              `"/pets/7"`,
			"httpMethod":                        `"GET"`,
			"headers.x-token":                   `"allow.r1"`,
			"headers.x-multi":                   `"two"`,
			"headers.user-agent":                `"parity-test/1"`,
			"multiValueHeaders.x-multi":         `["one","two"]`,
			"multiValueHeaders.x-token":         `["allow.r1"]`,
			"queryStringParameters":             `{"tag":"b","tenant":"acme"}`,
			"multiValueQueryStringParameters":   `{"tag":["a","b"],"tenant":["acme"]}`,
			"pathParameters":                    `{"id":"7"}`,
			"stageVariables":                    `{"env":"blue","zone":"z1"}`,
			"requestContext.resourcePath":       `"/pets/{id}"`,
			"requestContext.path":               `"/pets/7"`,
			"requestContext.httpMethod":         `"GET"`,
			"requestContext.stage":              `"prod"`,
			"requestContext.apiId":              `"a1b2c3d4e5"`,
			"requestContext.accountId":          `"123456789012"`,
			"requestContext.identity.sourceIp":  `"127.0.0.1"`,
			"requestContext.identity.userAgent": `"parity-test/1"`,
			"version":                           "-",
			"authorizationToken":                "-",
		}},
	{name: "rest_missing_header_401_customised", config: cfgREST,
		steps: pone(preq("GET", "/pets/7?tenant=acme", [2]string{"X-Request-Id", "parity-rid-1"}), prejected(unauthorizedREST("parity-rid-1")))},
	{name: "rest_missing_query_401_without_call", config: cfgREST,
		steps: pone(preq("GET", "/pets/7", tok("allow.r2"), [2]string{"X-Request-Id", "parity-rid-2"}), prejected(unauthorizedREST("parity-rid-2"))),
		token: "allow.r2", calls: 0},
	{name: "rest_empty_query_401_without_call", config: cfgREST,
		steps: pone(preq("GET", "/pets/7?tenant=", tok("allow.r3"), [2]string{"X-Request-Id", "parity-rid-3"}), prejected(unauthorizedREST("parity-rid-3"))),
		token: "allow.r3", calls: 0},
	// Without x-request-id each host supplies its own id (or none), so
	// only the shape of the body is fixed.
	{name: "rest_401_request_id_generated", config: cfgREST,
		steps: pone(preq("GET", "/pets/7?tenant=acme"), prejected(&parityAnswer{status: 401,
			bodyPattern: `^\{"error":"Unauthorized","requestId":"[-0-9a-f]{36}"\}$`, patternKey: "$context.requestId",
			headers: map[string]string{"content-type": "application/json", "x-amzn-errortype": "UnauthorizedException", "www-authenticate": `Bearer realm="pets"`}}))},
	{name: "rest_cache_key_covers_query", config: cfgREST, steps: []parityStep{
		{req: preq("GET", "/pets/1?tenant=a", tok("allow.r4")), fresh: true, want: pallowed("user-r4", nil)},
		{req: preq("GET", "/pets/1?tenant=b", tok("allow.r4")), fresh: true, want: pallowed("user-r4", nil)},
		{req: preq("GET", "/pets/1?tenant=a", tok("allow.r4")), repeat: 2, fresh: true, want: pallowed("user-r4", nil)},
		{req: preq("GET", "/pets/2?tenant=b", tok("allow.r4")), fresh: true, want: pallowed("user-r4", nil)},
	}, token: "allow.r4", calls: 2},
	{name: "rest_cache_key_covers_context_method", config: cfgREST, steps: []parityStep{
		{req: preq("GET", "/pets/1?tenant=a", tok("allow.r5")), fresh: true, want: pallowed("user-r5", nil)},
		{req: preq("PUT", "/pets/1?tenant=a", tok("allow.r5")), fresh: true, want: pallowed("user-r5", nil)},
		{req: preq("GET", "/pets/1?tenant=a", tok("allow.r5")), fresh: true, want: pallowed("user-r5", nil)},
	}, token: "allow.r5", calls: 2},
	{name: "rest_context_values_upstream", config: cfgREST,
		steps: pone(preq("GET", "/pets/3?tenant=acme", tok("ctx.r6"), [2]string{"x-authorizer-tier", "forged"}), pallowed("user-r6", ctxHeaders)),
		token: "ctx.r6", calls: 1},
	{name: "rest_explicit_deny_access_denied_principal", config: cfgREST,
		steps: pone(preq("GET", "/pets/3?tenant=acme", tok("deny.r7")), prejected(restReject(403, "AccessDeniedException", explicitDenyBody, "x-denied-principal", "user-r7"))),
		token: "deny.r7", calls: 1},
	{name: "rest_implicit_deny_identity_based_wording", config: cfgREST,
		steps: pone(preq("GET", "/pets/3?tenant=acme", tok("implicit.r8")), prejected(restReject(403, "AccessDeniedException", implicitDenyIdentityBody, "x-denied-principal", "user-r8"))),
		token: "implicit.r8", calls: 1},
	{name: "rest_authorizer_unauthorized_customised", config: cfgREST,
		steps: pone(preq("GET", "/pets/3?tenant=acme", tok("unauth.r9"), [2]string{"X-Request-Id", "parity-rid-9"}), prejected(unauthorizedREST("parity-rid-9"))),
		token: "unauth.r9", calls: 1},
	{name: "rest_authorizer_error_default_5xx", config: cfgREST,
		steps: []parityStep{{req: preq("GET", "/pets/3?tenant=acme", tok("fail.r10")), repeat: 2,
			want: prejected(restReject(503, "AuthorizerConfigurationException",
				`{"message":null,"type":"AUTHORIZER_CONFIGURATION_ERROR","resource":"/pets/{id}"}`, "retry-after", "5"))}},
		token: "fail.r10", calls: 2},
	{name: "rest_no_route_not_customised", config: cfgREST,
		steps: pone(preq("GET", "/nothing?tenant=acme", tok("allow.r11")),
			prejected(restReject(403, "MissingAuthenticationTokenException", `{"message":"Missing Authentication Token"}`))),
		token: "allow.r11", calls: 0},

	// HTTP API, payload 2.0 with an IAM policy.
	{name: "http_v2_event_carries_the_request", config: cfgHTTP,
		steps: pone(preq("GET", "/pets/7?tenant=acme&tag=a&tag=b", tok("allow.h1"), [2]string{"X-Multi", "one"}, [2]string{"X-Multi", "two"},
			[2]string{"Cookie", "a=1; b=2"}), pallowed("user-h1", nil)),
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
			"requestContext.http.sourceIp":  `"127.0.0.1"`,
			"requestContext.http.userAgent": `"parity-test/1"`,
			"requestContext.routeKey":       `"GET /pets/{id}"`,
			"requestContext.stage":          `"$default"`,
			"requestContext.domainName":     `"127.0.0.1"`,
			"requestContext.domainPrefix":   `"127"`,
			"methodArn":                     "-",
			"multiValueHeaders":             "-",
		}},
	{name: "http_v2_allow_context_headers", config: cfgHTTP,
		steps: pone(preq("GET", "/pets/8?tenant=acme", tok("ctx.h2"), [2]string{"X-Authorizer-Principal-Id", "admin"}),
			pallowed("user-h2", ctxHeaders)),
		token: "ctx.h2", calls: 1},
	{name: "http_v2_explicit_deny_forbidden", config: cfgHTTP,
		steps: pone(preq("GET", "/pets/8?tenant=acme", tok("deny.h3")), prejected(httpReject(403, httpForbiddenBody))),
		token: "deny.h3", calls: 1},
	{name: "http_v2_implicit_deny_forbidden", config: cfgHTTP,
		steps: pone(preq("GET", "/pets/8?tenant=acme", tok("implicit.h4")), prejected(httpReject(403, httpForbiddenBody))),
		token: "implicit.h4", calls: 1},
	{name: "http_no_route_404", config: cfgHTTP,
		steps: pone(preq("GET", "/nothing?tenant=acme", tok("allow.h5")), prejected(httpReject(404, httpNotFoundBody))),
		token: "allow.h5", calls: 0},
	{name: "http_no_route_method_404", config: cfgHTTP,
		steps: pone(preq("POST", "/pets/8?tenant=acme", tok("allow.h6")), prejected(httpReject(404, httpNotFoundBody))),
		token: "allow.h6", calls: 0},
	{name: "http_authorizer_error_500", config: cfgHTTP,
		steps: []parityStep{{req: preq("GET", "/pets/8?tenant=acme", tok("fail.h7")), repeat: 2, want: prejected(httpReject(500, httpErrorBody))}},
		token: "fail.h7", calls: 2},
	{name: "http_authorizer_unauthorized_401", config: cfgHTTP,
		steps: pone(preq("GET", "/pets/8?tenant=acme", tok("unauth.h8")), prejected(httpReject(401, httpUnauthorizedBody))),
		token: "unauth.h8", calls: 1},
	{name: "http_missing_identity_401_without_call", config: cfgHTTP,
		steps: pone(preq("GET", "/pets/8", tok("allow.h9")), prejected(httpReject(401, httpUnauthorizedBody))),
		token: "allow.h9", calls: 0},
	{name: "http_none_route_strips_spoofed", config: cfgHTTP,
		steps: pone(preq("GET", "/open", [2]string{"X-Authorizer-Principal-Id", "admin"}), pallowed("", nil, "x-authorizer-principal-id"))},

	// HTTP API, payload 2.0 with simple responses.
	{name: "http_simple_allow_context_no_principal", config: cfgHTTP,
		steps: pone(preq("GET", "/simple/a/b", tok("ctx.s1"), [2]string{"X-Authorizer-Principal-Id", "admin"}),
			pallowed("", ctxHeaders, "x-authorizer-principal-id")),
		token: "ctx.s1", calls: 1,
		event: map[string]string{
			"version":               `"2.0"`,
			"routeKey":              `"ANY /simple/{proxy+}"`,
			"identitySource":        `["ctx.s1"]`,
			"pathParameters":        `{"proxy":"a/b"}`,
			"rawQueryString":        `""`,
			"cookies":               "-",
			"queryStringParameters": "-",
		}},
	{name: "http_simple_false_forbidden", config: cfgHTTP,
		steps: pone(preq("DELETE", "/simple/x", tok("deny.s2")), prejected(httpReject(403, httpForbiddenBody))),
		token: "deny.s2", calls: 1},
	{name: "http_simple_cached_per_identity", config: cfgHTTP,
		steps: []parityStep{
			{req: preq("GET", "/simple/x", tok("allow.s3")), repeat: 4, fresh: true, want: pallowed("", nil, "x-authorizer-principal-id")},
			{req: preq("POST", "/simple/y", tok("allow.s3")), fresh: true, want: pallowed("", nil, "x-authorizer-principal-id")},
		},
		token: "allow.s3", calls: 1},
	{name: "http_simple_false_cached", config: cfgHTTP,
		steps: []parityStep{{req: preq("GET", "/simple/x", tok("deny.s4")), repeat: 3, fresh: true, want: prejected(httpReject(403, httpForbiddenBody))}},
		token: "deny.s4", calls: 1},

	// HTTP API, payload 1.0.
	{name: "http_v1_event", config: cfgHTTP,
		steps: pone(preq("GET", "/v1/9?tag=a&tag=b", tok("allow.v1"), [2]string{"X-Multi", "one"}, [2]string{"X-Multi", "two"}), pallowed("user-v1", nil)),
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
			"requestContext.httpMethod":        `"GET"`,
			"requestContext.stage":             `"$default"`,
			"requestContext.apiId":             `"h1t2p3a4i5"`,
			"requestContext.identity.sourceIp": `"127.0.0.1"`,
			"multiValueHeaders":                "-",
			"routeArn":                         "-",
		}},
	{name: "http_v1_deny_forbidden", config: cfgHTTP,
		steps: pone(preq("GET", "/v1/9", tok("deny.v2")), prejected(httpReject(403, httpForbiddenBody))),
		token: "deny.v2", calls: 1},

	// HTTP API with a $default route.
	{name: "http_default_route_catches_unrouted", config: cfgHTTPDefault,
		steps: pone(preq("POST", "/nothing/here?x=1", tok("allow.d1")), pallowed("user-d1", nil)),
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
		steps: pone(preq("GET", "/", tok("deny.d2")), prejected(httpReject(403, httpForbiddenBody))),
		token: "deny.d2", calls: 1},
	// $context.routeKey is an identity source: one token on two routes
	// is two cache entries.
	{name: "http_default_route_key_in_cache_key", config: cfgHTTPDefault, steps: []parityStep{
		{req: preq("GET", "/pets/1", tok("allow.d3")), fresh: true, want: pallowed("user-d3", nil)},
		{req: preq("GET", "/other", tok("allow.d3")), fresh: true, want: pallowed("user-d3", nil)},
		{req: preq("GET", "/pets/2", tok("allow.d3")), fresh: true, want: pallowed("user-d3", nil)},
	}, token: "allow.d3", calls: 2},
}
