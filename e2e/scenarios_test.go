package e2e

import (
	"github.com/authgate/authgate/e2e/internal/testauthz"
)

// scenarioConfig is the plugin configuration every host runs for the table.
// Routes leave paths without a route (/, /nothing, POST /pets) on purpose.
// "jwt" caches for 300 s; "nocache" has TTL 0; "short" times out quickly for
// the slow authorizer; "dead" points at a port nobody listens on.
const scenarioConfig = `{
  "region": "us-east-1",
  "accountId": "123456789012",
  "restApiId": "a1b2c3d4e5",
  "stage": "prod",
  "authorizers": {
    "jwt": {"type": "TOKEN", "cluster": "authorizer", "path": "/authorize", "authority": "authorizer.local",
      "timeoutMs": 5000, "identitySource": "method.request.header.Authorization",
      "identityValidationExpression": "^Bearer [-0-9a-zA-Z._]+$", "authorizerResultTtlInSeconds": 300},
    "nocache": {"type": "TOKEN", "cluster": "authorizer", "path": "/authorize", "timeoutMs": 5000,
      "identitySource": "method.request.header.Authorization", "authorizerResultTtlInSeconds": 0},
    "short": {"type": "TOKEN", "cluster": "authorizer", "path": "/authorize", "timeoutMs": 300,
      "identitySource": "method.request.header.Authorization", "authorizerResultTtlInSeconds": 300},
    "dead": {"type": "TOKEN", "cluster": "deadauthz", "timeoutMs": 2000,
      "identitySource": "method.request.header.Authorization", "authorizerResultTtlInSeconds": 300}
  },
  "routes": [
    {"method": "ANY", "path": "/health", "authorizer": "NONE"},
    {"method": "GET", "path": "/pets", "authorizer": "jwt"},
    {"method": "ANY", "path": "/pets/{id}", "authorizer": "jwt"},
    {"method": "ANY", "path": "/users/{id}", "authorizer": "jwt"},
    {"method": "ANY", "path": "/api/{proxy+}", "authorizer": "jwt"},
    {"method": "ANY", "path": "/nocache/{proxy+}", "authorizer": "nocache"},
    {"method": "ANY", "path": "/slow/{proxy+}", "authorizer": "short"},
    {"method": "ANY", "path": "/dead/{proxy+}", "authorizer": "dead"}
  ]
}`

// Cluster names the scenario configuration refers to.
const (
	clusterAuthorizer = "authorizer"
	clusterDead       = "deadauthz"
)

// methodARNPrefix is the method ARN of the scenario API and stage, up to the verb.
const methodARNPrefix = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/"

// answer is one of the gateway's own responses.
type answer struct {
	status    int
	errorType string
	body      string
}

// The gateway's answers, written out here (not imported from core) so the
// suite checks core against API Gateway's documented bytes.
var (
	noRoute      = answer{403, "MissingAuthenticationTokenException", `{"message":"Missing Authentication Token"}`}
	unauthorized = answer{401, "UnauthorizedException", `{"message":"Unauthorized"}`}
	explicitDeny = answer{403, "AccessDeniedException", `{"Message":"User is not authorized to access this resource with an explicit deny"}`}
	implicitDeny = answer{403, "AccessDeniedException", `{"Message":"User is not authorized to access this resource"}`}
	authzFailure = answer{500, "AuthorizerConfigurationException", `{"message":null}`}
	badRequest   = answer{400, "BadRequestException", `{"message":"Bad Request"}`}
)

// request is one HTTP request of a scenario. Headers keep order and may
// repeat a name.
type request struct {
	method  string
	path    string // sent as is: not cleaned, not re-escaped
	headers [][2]string
}

// want is what one request must produce. Exactly one of reject and
// upstream-side expectations applies: a nil reject means the request must
// reach the upstream (status 200 from the echo server).
type want struct {
	reject *answer
	// upstream: headers the upstream must receive with exactly these
	// values (one value each), and headers it must not receive at all.
	upstream map[string]string
	absent   []string
	uri      string // the request target the upstream must see; "" = the request's path
}

// step sends req (repeat times in sequence, or parallel times at once) and
// checks every answer against want.
type step struct {
	req      request
	repeat   int
	parallel int
	// fresh sends every request on a new connection. Envoy binds a
	// connection to one worker (one VM): without fresh, repeated requests
	// would only ever exercise one VM's cache.
	fresh bool
	want  want
}

// scenario is one row of the table.
type scenario struct {
	name  string
	steps []step
	// token whose authorizer calls are counted; calls is the exact count
	// after all steps. Every scenario also checks that the authorizer saw
	// no other call (its total grows by calls).
	token string
	calls int
	// perVM relaxes calls to 1..VMs for hosts that run several VMs that
	// each coalesce only their own concurrent misses (Envoy workers).
	perVM bool
	// arns, when set, are the methodArn values of the events received for
	// token, in order.
	arns []string
}

func bearer(behaviour, id string) string { return "Bearer " + behaviour + "." + id }

func auth(token string) [2]string { return [2]string{"Authorization", token} }

func get(path string, headers ...[2]string) request {
	return request{method: "GET", path: path, headers: headers}
}

func rejected(a answer) want { return want{reject: &a} }

// allowed expects the upstream to see the principal and no spoofed headers.
func allowed(principal string, extra map[string]string, absent ...string) want {
	up := map[string]string{"x-authorizer-principal-id": "user-" + principal}
	for k, v := range extra {
		up[k] = v
	}
	return want{upstream: up, absent: absent}
}

func one(req request, w want) []step { return []step{{req: req, want: w}} }

// spoofed are client-sent headers in the authorizer namespace, in two spellings.
var spoofed = [][2]string{{"x-authorizer-principal-id", "admin"}, {"X-Authorizer-Foo", "bar"}}

// scenarios is the table every host runs, in order, against one gateway
// instance: each scenario uses its own tokens so cached results of one never
// answer another.
var scenarios = []scenario{
	// Routes without an authorizer and without a route.
	{name: "none_route_passes_without_call", steps: one(get("/health"), want{upstream: map[string]string{}, absent: []string{"x-authorizer-principal-id"}})},
	{name: "none_route_strips_spoofed_headers", steps: one(
		request{method: "GET", path: "/health", headers: spoofed},
		want{upstream: map[string]string{}, absent: []string{"x-authorizer-principal-id", "x-authorizer-foo"}})},
	{name: "no_route_path", steps: one(get("/nothing/here", auth(bearer("allow", "nr1"))), rejected(noRoute)), token: bearer("allow", "nr1")},
	{name: "no_route_root", steps: one(get("/", auth(bearer("allow", "nr2"))), rejected(noRoute)), token: bearer("allow", "nr2")},
	{name: "no_route_method", steps: one(request{method: "POST", path: "/pets", headers: [][2]string{auth(bearer("allow", "nr3"))}}, rejected(noRoute)), token: bearer("allow", "nr3")},
	{name: "no_route_below_exact_resource", steps: one(get("/pets/1/toys", auth(bearer("allow", "nr4"))), rejected(noRoute)), token: bearer("allow", "nr4")},

	// Identity checks made before any call.
	{name: "identity_missing", steps: one(get("/pets/1"), rejected(unauthorized))},
	{name: "identity_empty", steps: one(get("/pets/1", auth("")), rejected(unauthorized))},
	{name: "identity_fails_regex_scheme", steps: one(get("/pets/1", auth("Basic dXNlcjpwYXNz")), rejected(unauthorized)), token: "Basic dXNlcjpwYXNz"},
	{name: "identity_fails_regex_charset", steps: one(get("/pets/1", auth("Bearer allow.bad!char")), rejected(unauthorized)), token: "Bearer allow.bad!char"},
	// Envoy joins a repeated Authorization header into one value
	// ("Bearer allow.dup1,Bearer allow.dup2"), and so do the Go hosts; the
	// jwt authorizer's validation expression refuses the joined value.
	{name: "identity_sent_twice", steps: one(get("/pets/1", auth(bearer("allow", "dup1")), auth(bearer("allow", "dup2"))), rejected(unauthorized)),
		token: bearer("allow", "dup1") + "," + bearer("allow", "dup2"), calls: 0},

	// Allow, and what reaches the upstream.
	{name: "allow_principal_header", steps: one(get("/pets/1", auth(bearer("allow", "a1"))), allowed("a1", nil, "x-authorizer-foo")),
		token: bearer("allow", "a1"), calls: 1, arns: []string{methodARNPrefix + "GET/pets/1"}},
	{name: "allow_strips_spoofed_headers", steps: one(
		request{method: "GET", path: "/users/7", headers: append([][2]string{auth(bearer("allow", "a2"))}, spoofed...)},
		allowed("a2", nil, "x-authorizer-foo")), token: bearer("allow", "a2"), calls: 1},
	{name: "allow_greedy_route_keeps_query", steps: one(get("/api/v1/things?limit=2&x=%20y", auth(bearer("allow", "a3"))), allowed("a3", nil)),
		token: bearer("allow", "a3"), calls: 1, arns: []string{methodARNPrefix + "GET/api/v1/things"}},
	{name: "allow_put_on_any_route", steps: one(request{method: "PUT", path: "/pets/9", headers: [][2]string{auth(bearer("allow", "a4"))}}, allowed("a4", nil)),
		token: bearer("allow", "a4"), calls: 1, arns: []string{methodARNPrefix + "PUT/pets/9"}},
	{name: "context_values_as_headers", steps: one(get("/pets/1", auth(bearer("ctx", "c1"))), allowed("c1", map[string]string{
		"x-authorizer-stringkey":  "hello",
		"x-authorizer-numberkey":  "42",
		"x-authorizer-floatkey":   "2.5",
		"x-authorizer-booleankey": "true",
		"x-authorizer-mixed-case": "MiXeD",
	})), token: bearer("ctx", "c1"), calls: 1},

	// Denials by policy.
	{name: "explicit_deny", steps: one(get("/pets/1", auth(bearer("deny", "d1"))), rejected(explicitDeny)), token: bearer("deny", "d1"), calls: 1},
	{name: "implicit_deny", steps: one(get("/pets/1", auth(bearer("implicit", "i1"))), rejected(implicitDeny)), token: bearer("implicit", "i1"), calls: 1},

	// The authorizer refuses the identity: 401, not cached.
	{name: "unauthorized_http_401", steps: []step{{req: get("/pets/1", auth(bearer("unauth401", "u1"))), repeat: 2, want: rejected(unauthorized)}},
		token: bearer("unauth401", "u1"), calls: 2},
	{name: "unauthorized_json_string", steps: one(get("/pets/1", auth(bearer("unauthjson", "u2"))), rejected(unauthorized)), token: bearer("unauthjson", "u2"), calls: 1},
	{name: "unauthorized_plain_text", steps: one(get("/pets/1", auth(bearer("unauthplain", "u3"))), rejected(unauthorized)), token: bearer("unauthplain", "u3"), calls: 1},
	{name: "unauthorized_error_message", steps: one(get("/pets/1", auth(bearer("unautherr", "u4"))), rejected(unauthorized)), token: bearer("unautherr", "u4"), calls: 1},

	// Authorizer failures: 500, fail closed, never cached.
	{name: "authorizer_http_500_not_cached", steps: []step{{req: get("/pets/1", auth(bearer("fail500", "f1"))), repeat: 2, want: rejected(authzFailure)}},
		token: bearer("fail500", "f1"), calls: 2},
	{name: "authorizer_http_403", steps: one(get("/pets/1", auth(bearer("fail403", "f2"))), rejected(authzFailure)), token: bearer("fail403", "f2"), calls: 1},
	{name: "authorizer_malformed_json", steps: one(get("/pets/1", auth(bearer("malformed", "f3"))), rejected(authzFailure)), token: bearer("malformed", "f3"), calls: 1},
	{name: "authorizer_nested_context", steps: one(get("/pets/1", auth(bearer("nested", "f4"))), rejected(authzFailure)), token: bearer("nested", "f4"), calls: 1},
	{name: "authorizer_crlf_in_context", steps: []step{{req: get("/pets/1", auth(bearer("crlf", "f5"))), repeat: 2, want: rejected(authzFailure)}},
		token: bearer("crlf", "f5"), calls: 2},
	{name: "authorizer_missing_principal", steps: one(get("/pets/1", auth(bearer("noprincipal", "f6"))), rejected(authzFailure)), token: bearer("noprincipal", "f6"), calls: 1},
	{name: "authorizer_invalid_policy", steps: one(get("/pets/1", auth(bearer("badpolicy", "f7"))), rejected(authzFailure)), token: bearer("badpolicy", "f7"), calls: 1},
	{name: "authorizer_timeout", steps: one(get("/slow/x", auth(bearer("slow", "t1"))), rejected(authzFailure)), token: bearer("slow", "t1"), calls: 1},
	{name: "authorizer_unreachable", steps: one(get("/dead/x", auth(bearer("allow", "x1"))), rejected(authzFailure)), token: bearer("allow", "x1")},

	// The cache.
	// One call per token per TTL for the whole gateway, every VM included
	// (DESIGN.md, "Where the cache lives"): hence fresh connections.
	{name: "cache_hits", steps: []step{{req: get("/pets/5", auth(bearer("allow", "h1"))), repeat: 5, fresh: true, want: allowed("h1", nil)}},
		token: bearer("allow", "h1"), calls: 1},
	{name: "cache_policy_reevaluated_per_method_arn", steps: []step{
		{req: get("/pets/3", auth(bearer("getonly", "g1"))), fresh: true, want: allowed("g1", nil)},
		{req: request{method: "DELETE", path: "/pets/3", headers: [][2]string{auth(bearer("getonly", "g1"))}}, fresh: true, want: rejected(implicitDeny)},
		{req: get("/users/4", auth(bearer("getonly", "g1"))), fresh: true, want: allowed("g1", nil)},
	}, token: bearer("getonly", "g1"), calls: 1, arns: []string{methodARNPrefix + "GET/pets/3"}},
	{name: "cache_shared_across_routes_of_one_authorizer", steps: []step{
		{req: get("/pets/1", auth(bearer("ctx", "s1"))), want: allowed("s1", map[string]string{"x-authorizer-numberkey": "42"})},
		{req: get("/api/deep/path", auth(bearer("ctx", "s1"))), want: allowed("s1", map[string]string{"x-authorizer-numberkey": "42"})},
	}, token: bearer("ctx", "s1"), calls: 1},
	{name: "ttl_zero_calls_every_time", steps: []step{{req: get("/nocache/x", auth(bearer("allow", "n1"))), repeat: 3, want: allowed("n1", nil)}},
		token: bearer("allow", "n1"), calls: 3},
	// Twenty first requests at once for one token. Within a VM they share
	// one call; VMs do not wait for each other's calls (the shared store has
	// no result yet), so native makes exactly 1 call and the wasm host and
	// Envoy at most one per VM (wasmPool, envoyWorkers).
	{name: "concurrent_first_requests_coalesce", steps: []step{{req: get("/pets/2", auth(bearer(testauthz.Delay, "p1"))), parallel: 20, want: allowed("p1", nil)}},
		token: bearer(testauthz.Delay, "p1"), calls: 1, perVM: true},

	// Request targets the gateway refuses to interpret.
	{name: "path_dot_dot", steps: one(get("/pets/../users/1", auth(bearer("allow", "b1"))), rejected(badRequest)), token: bearer("allow", "b1")},
	{name: "path_encoded_slash", steps: one(get("/pets/a%2Fb", auth(bearer("allow", "b2"))), rejected(badRequest)), token: bearer("allow", "b2")},
	{name: "path_encoded_slash_lower", steps: one(get("/api/a%2fb", auth(bearer("allow", "b3"))), rejected(badRequest)), token: bearer("allow", "b3")},
}
