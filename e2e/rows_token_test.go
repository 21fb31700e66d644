package e2e

import "github.com/authgate/authgate/e2e/internal/authz"

// methodARNPrefix is the method ARN of the TOKEN configuration's API and
// stage, up to the verb.
const methodARNPrefix = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/"

// The gateway's REST answers, written out here (not imported from core) so
// the suite checks core against API Gateway's documented bytes.
var (
	noRoute      = restAnswer(403, "MissingAuthenticationTokenException", `{"message":"Missing Authentication Token"}`)
	unauthorized = restAnswer(401, "UnauthorizedException", `{"message":"Unauthorized"}`)
	explicitDeny = restAnswer(403, "AccessDeniedException", `{"Message":"User is not authorized to access this resource with an explicit deny"}`)
	implicitDeny = restAnswer(403, "AccessDeniedException", `{"Message":"User is not authorized to access this resource"}`)
	authzFailure = restAnswer(500, "AuthorizerConfigurationException", `{"message":null}`)
	badRequest   = restAnswer(400, "BadRequestException", `{"message":"Bad Request"}`)
)

// ctxHeaders are the upstream headers of authz.CtxContext.
var ctxHeaders = contextHeaders(authz.CtxContext, map[string]string{
	"x-authorizer-stringkey":  "hello",
	"x-authorizer-numberkey":  "42",
	"x-authorizer-floatkey":   "2.5",
	"x-authorizer-booleankey": "true",
	"x-authorizer-mixed-case": "MiXeD",
})

// spoofed are client-sent headers in the authorizer namespace, in two spellings.
var spoofed = [][2]string{{"x-authorizer-principal-id", "admin"}, {"X-Authorizer-Foo", "bar"}}

// tokenRows run against cfgToken: TOKEN authorizers, the cache, and the
// requests the gateway refuses to interpret.
var tokenRows = []row{
	// Routes without an authorizer and without a route.
	{name: "none_route_passes_without_call", steps: one(get("/health"), allowed("", nil, "x-authorizer-principal-id"))},
	{name: "none_route_strips_spoofed_headers", steps: one(get("/health", spoofed...),
		allowed("", nil, "x-authorizer-principal-id", "x-authorizer-foo"))},
	{name: "no_route_path", steps: one(get("/nothing/here", auth(bearer("allow", "nr1"))), rejected(noRoute)), token: bearer("allow", "nr1")},
	{name: "no_route_root", steps: one(get("/", auth(bearer("allow", "nr2"))), rejected(noRoute)), token: bearer("allow", "nr2")},
	{name: "no_route_method", steps: one(req("POST", "/pets", auth(bearer("allow", "nr3"))), rejected(noRoute)), token: bearer("allow", "nr3")},
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
	{name: "allow_principal_header", steps: one(get("/pets/1", auth(bearer("allow", "a1"))), allowed("user-a1", nil, "x-authorizer-foo")),
		token: bearer("allow", "a1"), calls: 1, arns: []string{methodARNPrefix + "GET/pets/1"}},
	{name: "allow_strips_spoofed_headers", steps: one(get("/users/7", append([][2]string{auth(bearer("allow", "a2"))}, spoofed...)...),
		allowed("user-a2", nil, "x-authorizer-foo")), token: bearer("allow", "a2"), calls: 1},
	{name: "allow_greedy_route_keeps_query", steps: one(get("/api/v1/things?limit=2&x=%20y", auth(bearer("allow", "a3"))), allowed("user-a3", nil)),
		token: bearer("allow", "a3"), calls: 1, arns: []string{methodARNPrefix + "GET/api/v1/things"}},
	{name: "allow_put_on_any_route", steps: one(req("PUT", "/pets/9", auth(bearer("allow", "a4"))), allowed("user-a4", nil)),
		token: bearer("allow", "a4"), calls: 1, arns: []string{methodARNPrefix + "PUT/pets/9"}},
	{name: "context_values_as_headers", steps: one(get("/pets/1", auth(bearer(authz.Ctx, "c1"))), allowed("user-c1", ctxHeaders)),
		token: bearer(authz.Ctx, "c1"), calls: 1},
	{name: "context_empty_value_travels_encoded", steps: one(get("/pets/1", auth(bearer(authz.EmptyValue, "c2"))),
		allowed("user-c2", contextHeaders(authz.EmptyContext, map[string]string{"x-authorizer-set": "yes"}), "x-authorizer-empty")),
		token: bearer(authz.EmptyValue, "c2"), calls: 1},
	// API Gateway accepts any string, number or boolean in a context; what
	// a header cannot carry as is reaches the upstream only encoded, never
	// as a 500 and never as a header of the client's or a second principal.
	{name: "context_awkward_keys_and_values_travel_encoded", steps: one(get("/pets/1", auth(bearer(authz.Awkward, "c3"))),
		allowed("user-c3", contextHeaders(authz.AwkwardContext, map[string]string{"x-authorizer-plain": "ok"}),
			"x-authorizer-role", "x-authorizer-team-id", "x-authorizer-team_id", "x-authorizer-pad", "x-authorizer-line",
			"x-authorizer-empty", "x-authorizer-name")),
		token: bearer(authz.Awkward, "c3"), calls: 1},

	// Denials by policy.
	{name: "explicit_deny", steps: one(get("/pets/1", auth(bearer("deny", "d1"))), rejected(explicitDeny)), token: bearer("deny", "d1"), calls: 1},
	{name: "implicit_deny", steps: one(get("/pets/1", auth(bearer("implicit", "i1"))), rejected(implicitDeny)), token: bearer("implicit", "i1"), calls: 1},

	// The authorizer refuses the identity: 401, not cached.
	{name: "unauthorized_http_401", steps: []step{{req: get("/pets/1", auth(bearer(authz.Unauth401, "u1"))), repeat: 2, want: rejected(unauthorized)}},
		token: bearer(authz.Unauth401, "u1"), calls: 2},
	{name: "unauthorized_json_string", steps: one(get("/pets/1", auth(bearer(authz.UnauthJSON, "u2"))), rejected(unauthorized)), token: bearer(authz.UnauthJSON, "u2"), calls: 1},
	{name: "unauthorized_plain_text", steps: one(get("/pets/1", auth(bearer(authz.UnauthPlain, "u3"))), rejected(unauthorized)), token: bearer(authz.UnauthPlain, "u3"), calls: 1},
	{name: "unauthorized_error_message", steps: one(get("/pets/1", auth(bearer(authz.UnauthError, "u4"))), rejected(unauthorized)), token: bearer(authz.UnauthError, "u4"), calls: 1},

	// Authorizer failures: 500, fail closed, never cached.
	{name: "authorizer_http_500_not_cached", steps: []step{{req: get("/pets/1", auth(bearer(authz.Fail500, "f1"))), repeat: 2, want: rejected(authzFailure)}},
		token: bearer(authz.Fail500, "f1"), calls: 2},
	{name: "authorizer_http_403", steps: one(get("/pets/1", auth(bearer(authz.Fail403, "f2"))), rejected(authzFailure)), token: bearer(authz.Fail403, "f2"), calls: 1},
	{name: "authorizer_malformed_json", steps: one(get("/pets/1", auth(bearer(authz.Malformed, "f3"))), rejected(authzFailure)), token: bearer(authz.Malformed, "f3"), calls: 1},
	{name: "authorizer_nested_context", steps: one(get("/pets/1", auth(bearer(authz.Nested, "f4"))), rejected(authzFailure)), token: bearer(authz.Nested, "f4"), calls: 1},
	{name: "authorizer_crlf_in_context_travels_encoded", steps: one(get("/pets/1", auth(bearer(authz.CRLF, "f5"))),
		allowed("user-f5", contextHeaders(authz.CRLFContext, nil), "x-authorizer-bad", "x-injected")),
		token: bearer(authz.CRLF, "f5"), calls: 1},
	{name: "authorizer_missing_principal", steps: one(get("/pets/1", auth(bearer(authz.NoPrincipal, "f6"))), rejected(authzFailure)), token: bearer(authz.NoPrincipal, "f6"), calls: 1},
	{name: "authorizer_invalid_policy", steps: one(get("/pets/1", auth(bearer(authz.BadPolicy, "f7"))), rejected(authzFailure)), token: bearer(authz.BadPolicy, "f7"), calls: 1},
	{name: "authorizer_timeout", steps: one(get("/slow/x", auth(bearer(authz.Slow, "t1"))), rejected(authzFailure)), token: bearer(authz.Slow, "t1"), calls: 1},
	{name: "authorizer_unreachable", steps: one(get("/dead/x", auth(bearer("allow", "x1"))), rejected(authzFailure)), token: bearer("allow", "x1")},

	// The cache.
	// One call per token per TTL for the whole gateway, every VM included
	// (docs/design.md, "Where the cache lives"): hence fresh connections.
	{name: "cache_hits", steps: []step{{req: get("/pets/5", auth(bearer("allow", "h1"))), repeat: 5, fresh: true, want: allowed("user-h1", nil)}},
		token: bearer("allow", "h1"), calls: 1},
	{name: "cache_policy_reevaluated_per_method_arn", steps: []step{
		{req: get("/pets/3", auth(bearer(authz.GetOnly, "g1"))), fresh: true, want: allowed("user-g1", nil)},
		{req: req("DELETE", "/pets/3", auth(bearer(authz.GetOnly, "g1"))), fresh: true, want: rejected(implicitDeny)},
		{req: get("/users/4", auth(bearer(authz.GetOnly, "g1"))), fresh: true, want: allowed("user-g1", nil)},
	}, token: bearer(authz.GetOnly, "g1"), calls: 1, arns: []string{methodARNPrefix + "GET/pets/3"}},
	{name: "cache_shared_across_routes_of_one_authorizer", steps: []step{
		{req: get("/pets/1", auth(bearer(authz.Ctx, "s1"))), want: allowed("user-s1", ctxHeaders)},
		{req: get("/api/deep/path", auth(bearer(authz.Ctx, "s1"))), want: allowed("user-s1", ctxHeaders)},
	}, token: bearer(authz.Ctx, "s1"), calls: 1},
	{name: "ttl_zero_calls_every_time", steps: []step{{req: get("/nocache/x", auth(bearer("allow", "n1"))), repeat: 3, want: allowed("user-n1", nil)}},
		token: bearer("allow", "n1"), calls: 3},
	// Twenty first requests at once for one token. Within a VM they share
	// one call; VMs do not wait for each other's calls (the shared store has
	// no result yet), so native makes exactly 1 call and the wasm host and
	// Envoy at most one per VM (wasmPool, envoyWorkers).
	{name: "concurrent_first_requests_coalesce", steps: []step{{req: get("/pets/2", auth(bearer(authz.Delay, "p1"))), parallel: 20, want: allowed("user-p1", nil)}},
		token: bearer(authz.Delay, "p1"), calls: 1, perVM: true},

	// Request targets the gateway refuses to interpret.
	{name: "path_dot_dot", steps: one(get("/pets/../users/1", auth(bearer("allow", "b1"))), rejected(badRequest)), token: bearer("allow", "b1")},
	{name: "path_encoded_slash", steps: one(get("/pets/a%2Fb", auth(bearer("allow", "b2"))), rejected(badRequest)), token: bearer("allow", "b2")},
	{name: "path_encoded_slash_lower", steps: one(get("/api/a%2fb", auth(bearer("allow", "b3"))), rejected(badRequest)), token: bearer("allow", "b3")},
}
