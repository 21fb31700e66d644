package e2e

import "github.com/authgate/authgate/e2e/internal/authz"

// The security rows: requests a hostile client sends so that the upstream
// reads something other than what the gateway judged (CGI-style upstreams
// fold "_" into "-" in header names; servlet containers drop ;parameters
// and upper-case the method; some upstreams decode twice or honour
// override headers). Each is sent raw, exactly as written, and the
// upstream's three readings show whether anything slipped through.

// forged are client headers in the authorizer's namespace that only
// CGI-style upstreams read as such.
var forged = [][2]string{
	{"x_authorizer_principal_id", "admin"},
	{"X_Authorizer_Tier", "platinum"},
	{"X-Authorizer_Role", "root"},
	{"X_Authorizer_Context", "eyJhZG1pbiI6dHJ1ZX0="}, // {"admin":true}
}

// overrides are the method and URL override headers, one also spelt the
// CGI way; overridden are their names, none of which may reach the
// upstream under any reading.
var (
	overrides = [][2]string{
		{"X-HTTP-Method-Override", "DELETE"}, {"X-HTTP-Method", "DELETE"}, {"X-Method-Override", "DELETE"},
		{"X-Original-URL", "/admin"}, {"X-Rewrite-URL", "/admin"}, {"x_http_method_override", "DELETE"},
	}
	overridden = []string{"x-http-method-override", "x-http-method", "x-method-override", "x-original-url", "x-rewrite-url"}
)

// methodRefused is the answer to a method API Gateway does not know and
// Envoy's HTTP/1 codec does not either (a lower-case or mixed-case one,
// FOO): the codec's own 400 over HTTP/1, which the Go hosts give alike,
// and Missing Authentication Token over HTTP/2, where any token reaches
// the filter.
var methodRefused = want{reject: noRoute, codecRefuses: true}

// secRow is a row of cfgSecurity sending one raw request; token is the
// Authorization header, or none when "".
func secRow(name, method, target, token string, calls int, w want, headers ...[2]string) row {
	if token != "" {
		headers = append([][2]string{auth(token)}, headers...)
	}
	return row{name: name, config: cfgSecurity, steps: one(rawReq(method, target, headers...), w), token: token, calls: calls}
}

// securityRows run against cfgSecurity.
var securityRows = []row{
	// Header names read the CGI way, on a NONE route and an authorized one.
	secRow("forged_underscore_names_none_route", "GET", "/health", "", 0,
		allowed("", nil, "x-authorizer-principal-id", "x-authorizer-tier", "x-authorizer-role", "x-authorizer-context"), forged...),
	secRow("forged_underscore_names_authorized_route", "GET", "/pets/1", bearer(authz.Tier, "s2"), 1,
		allowed("user-s2", tierHeaders, "x-authorizer-role"), forged...),
	secRow("forged_mixed_hyphen_underscore", "GET", "/pets/1", bearer(authz.Allow, "s3"), 1,
		allowed("user-s3", nil), [2]string{"X-Authorizer_Principal-Id", "admin"}),
	secRow("forged_hyphenated_names", "GET", "/health", "", 0,
		allowed("", nil, "x-authorizer-principal-id", "x-authorizer-tier"),
		[2]string{"X-Authorizer-Principal-Id", "admin"}, [2]string{"x-authorizer-tier", "gold"}),
	secRow("underscore_forwarded_for_dropped", "GET", "/health", "", 0,
		want{upstream: map[string]string{}, lacks: map[string]string{"x-forwarded-for": "6.6.6.6"}},
		[2]string{"X_Forwarded_For", "6.6.6.6"}),

	// Path parameters, and every dot-segment form with and without them.
	secRow("parameter_escapes_explicit_deny", "GET", "/rt/admin;x=1", bearer(authz.AdminDeny, "s6"), 0, rejected(badRequest)),
	secRow("parameter_control_explicit_deny", "GET", "/rt/admin", bearer(authz.AdminDeny, "s7"), 1, rejected(explicitDeny)),
	secRow("parameter_escapes_to_none_route", "GET", "/admin;x=1", "", 0, rejected(badRequest)),
	secRow("parameter_dot_dot", "GET", "/pets/..;/admin", bearer(authz.PetsOnly, "s9"), 0, rejected(badRequest)),
	secRow("parameter_dot_dot_encoded_semicolon", "GET", "/pets/..%3b/admin", bearer(authz.PetsOnly, "s10"), 0, rejected(badRequest)),
	secRow("parameter_encoded_dots", "GET", "/pets/%2e%2e;/admin", bearer(authz.PetsOnly, "s11"), 0, rejected(badRequest)),
	secRow("parameter_dot", "GET", "/pets/.;/admin", bearer(authz.PetsOnly, "s12"), 0, rejected(badRequest)),
	secRow("parameters_around_dot_dot", "GET", "/pets/1;..;/admin", bearer(authz.PetsOnly, "s13"), 0, rejected(badRequest)),
	secRow("dot_dot_segment", "GET", "/pets/../admin", bearer(authz.PetsOnly, "s14"), 0, rejected(badRequest)),
	secRow("encoded_dot_dot_segment", "GET", "/pets/%2e%2E/admin", bearer(authz.PetsOnly, "s15"), 0, rejected(badRequest)),
	secRow("path_control_allowed", "GET", "/pets/1", bearer(authz.PetsOnly, "s16"), 1, allowed("user-s16", nil)),

	// Methods are case-sensitive tokens; only API Gateway's, exactly.
	secRow("method_lower_case_escapes_deny", "delete", "/pets/1", bearer(authz.AdminDeny, "s17"), 0, methodRefused),
	secRow("method_mixed_case", "Delete", "/pets/1", bearer(authz.AdminDeny, "s18"), 0, methodRefused),
	secRow("method_lower_case_falls_to_none_route", "get", "/rt/admin", "", 0, methodRefused),
	// PROPFIND is in the codec's list: the gateway refuses it either way.
	secRow("method_unknown", "PROPFIND", "/health", "", 0, rejected(noRoute)),
	secRow("method_unknown_token", "FOO", "/health", "", 0, methodRefused),
	secRow("method_control_explicit_deny", "DELETE", "/pets/1", bearer(authz.AdminDeny, "s22"), 1, rejected(explicitDeny)),

	// A path whose once-decoded form still encodes something.
	secRow("double_encoded_dot_dot", "GET", "/pets/%252e%252e/admin", bearer(authz.PetsOnly, "s23"), 0, rejected(badRequest)),
	secRow("double_encoded_letter", "GET", "/pets/%2541", bearer(authz.PetsOnly, "s24"), 0, rejected(badRequest)),
	secRow("double_encoded_slash", "GET", "/pets/a%252Fb", bearer(authz.PetsOnly, "s25"), 0, rejected(badRequest)),
	secRow("encoded_fullwidth_dot_dot", "GET", "/pets/%EF%BC%8E%EF%BC%8E/admin", bearer(authz.PetsOnly, "s26"), 0, rejected(badRequest)),

	// Method and URL override headers.
	secRow("override_headers_removed_none_route", "GET", "/health", "", 0, allowed("", nil, overridden...), overrides...),
	secRow("override_headers_removed_authorized_route", "GET", "/pets/1", bearer(authz.PetsOnly, "s28"), 1,
		allowed("user-s28", nil, overridden...), overrides...),

	// A client-sent X-Forwarded-For (or any such header) does not choose
	// aws:SourceIp: the peer's address does, allowing and denying.
	secRow("xff_cannot_satisfy_ip_condition", "GET", "/pets/1", bearer(authz.IP10, "s29"), 1, rejected(implicitDeny),
		[2]string{"X-Forwarded-For", "10.1.2.3"}),
	secRow("xff_other_headers_cannot_either", "GET", "/pets/1", bearer(authz.IP10, "s30"), 1, rejected(implicitDeny),
		[2]string{"X-Real-IP", "10.1.2.3"}, [2]string{"Forwarded", "for=10.1.2.3"}, [2]string{"X-Envoy-External-Address", "10.1.2.3"}),
	secRow("xff_peer_satisfies_ip_condition", "GET", "/pets/1", bearer(authz.IPLoop, "s31"), 1, allowed("user-s31", nil),
		[2]string{"X-Forwarded-For", "10.1.2.3"}),
	secRow("xff_cannot_escape_ip_deny", "GET", "/pets/1", bearer(authz.DenyOutside10, "s32"), 1, rejected(explicitDeny),
		[2]string{"X-Forwarded-For", "10.1.2.3"}),

	// The query reaches the upstream as sent, parsable or not.
	secRow("query_invalid_escape_kept", "GET", "/health?a=%ZZ", "", 0, allowed("", nil)),
	secRow("query_semicolons_kept", "GET", "/health?a=1;b=2", "", 0, allowed("", nil)),
	secRow("query_kept_on_authorized_route", "GET", "/pets/1?x=%ZZ&y=1;z", bearer(authz.Allow, "s35"), 1, allowed("user-s35", nil)),

	// Absolute-form targets are routed like origin-form; the target's
	// authority is the host (RFC 9112, 3.2.2).
	{name: "absolute_form_authorized", config: cfgSecurity, only: "h1",
		steps: one(rawReq("GET", "http://api.example/pets/1?q=1", auth(bearer(authz.PetsOnly, "s36"))),
			want{upstream: map[string]string{"x-authorizer-principal-id": "user-s36"}, target: "/pets/1?q=1", host: "api.example"}),
		token: bearer(authz.PetsOnly, "s36"), calls: 1, arns: []string{methodARNPrefix + "GET/pets/1"}},
	{name: "absolute_form_denied", config: cfgSecurity, only: "h1",
		steps: one(rawReq("GET", "http://api.example/admin", auth(bearer(authz.AdminDeny, "s37"))), rejected(explicitDeny)),
		token: bearer(authz.AdminDeny, "s37"), calls: 1, arns: []string{methodARNPrefix + "GET/admin"}},
	{name: "absolute_form_none_route", config: cfgSecurity, only: "h1",
		steps: one(rawReq("GET", "http://api.example/health"), want{upstream: map[string]string{}, target: "/health", host: "api.example"})},
}
