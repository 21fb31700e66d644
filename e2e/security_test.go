//go:build securityport

package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The security rows: requests a hostile client sends so that the upstream
// reads something other than what the gateway judged. Each row runs in
// every host over HTTP/1.1 and HTTP/2, and asserts on what the reading
// upstream received as well as on the answer.

// securityConfig puts authorized routes next to a catch-all NONE route,
// so that anything that escapes a route's match lands on a route without
// an authorizer.
const securityConfig = `{
  "region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
  "authorizers": {
    "jwt": {"type": "TOKEN", "cluster": "authorizer", "path": "/authorize", "timeoutMs": 5000, "authorizerResultTtlInSeconds": 300}
  },
  "routes": [
    {"method": "GET", "path": "/rt/admin", "authorizer": "jwt"},
    {"method": "ANY", "path": "/admin", "authorizer": "jwt"},
    {"method": "ANY", "path": "/pets", "authorizer": "jwt"},
    {"method": "ANY", "path": "/pets/{proxy+}", "authorizer": "jwt"},
    {"method": "ANY", "path": "/{proxy+}", "authorizer": "NONE"}
  ]
}`

// securityPolicies are the authorizer's answers by token.
var securityPolicies = map[string]string{
	"Bearer allow":      answerDoc("user-allow", `[{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}]`, `{"tier": "gold"}`),
	"Bearer admin-deny": answerDoc("user-admin-deny", `[{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}, {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": ["`+methodARNPrefix+`GET/rt/admin", "`+methodARNPrefix+`DELETE/*", "`+methodARNPrefix+`*/admin"]}]`, ``),
	"Bearer pets-only":  answerDoc("user-pets", `[{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": ["`+methodARNPrefix+`GET/pets", "`+methodARNPrefix+`GET/pets/*"]}]`, ``),
	"Bearer ip-10":      answerDoc("user-ip", `[{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]`, ``),
	"Bearer ip-loop":    answerDoc("user-loop", `[{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}]`, ``),
	"Bearer deny-loop": answerDoc("user-deny-loop", `[{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"},
		{"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]`, ``),
}

// answerDoc is an authorizer answer with principal, statements and context.
func answerDoc(principal, statements, ctx string) string {
	s := `{"principalId": "` + principal + `", "policyDocument": {"Version": "2012-10-17", "Statement": ` + statements + `}`
	if ctx != "" {
		s += `, "context": ` + ctx
	}
	return s + `}`
}

// secWant is what a row must produce.
type secWant struct {
	// answer is the gateway's own answer; nil means the upstream must
	// answer.
	answer *secAnswer
	// methodRefused: the method is not API Gateway's: answered 403
	// Missing Authentication Token, or, before any filter, by Envoy's
	// HTTP/1 codec (400 "Bad Request").
	methodRefused bool
	// For an upstream answer: the request target and host it must
	// receive ("" means the one sent, and gw.example), the principal a
	// CGI-style upstream reads ("" means none), other CGI variables it
	// must see exactly, variables it must not see at all, values no
	// variable may contain, and the path a servlet container serves.
	uri, host   string
	principal   string
	cgi         map[string]string
	cgiAbsent   []string
	cgiLacks    map[string]string
	servletPath string
}

// secRow is one request and what it must produce.
type secRow struct {
	name   string
	req    wireRequest
	want   secWant
	h1only bool // absolute form exists in HTTP/1.1 only
}

// secAnswer is one of the gateway's own responses as the security rows
// and the differential test compare them.
type secAnswer struct {
	status    int
	errorType string
	body      string
}

// The gateway's answers, written out here (not imported from core) so the
// rows check core against API Gateway's documented bytes.
var (
	secNoRoute      = secAnswer{403, "MissingAuthenticationTokenException", `{"message":"Missing Authentication Token"}`}
	secUnauthorized = secAnswer{401, "UnauthorizedException", `{"message":"Unauthorized"}`}
	secExplicitDeny = secAnswer{403, "AccessDeniedException", `{"Message":"User is not authorized to access this resource with an explicit deny"}`}
	secImplicitDeny = secAnswer{403, "AccessDeniedException", `{"Message":"User is not authorized to access this resource"}`}
	secFailure      = secAnswer{500, "AuthorizerConfigurationException", `{"message":null}`}
	secBadRequest   = secAnswer{400, "BadRequestException", `{"message":"Bad Request"}`}
)

func tokenHeader(tok string) [2]string { return [2]string{"Authorization", "Bearer " + tok} }

func secGet(path string, headers ...[2]string) wireRequest {
	return wireRequest{method: "GET", target: path, headers: headers}
}

func refused(a secAnswer) secWant { return secWant{answer: &a} }

// forged are client headers in the authorizer's namespace that only
// CGI-style upstreams read as such.
var forged = [][2]string{
	{"x_authorizer_principal_id", "admin"},
	{"X_Authorizer_Tier", "platinum"},
	{"X-Authorizer_Role", "root"},
}

// overrides are the method and URL override headers, in both spellings.
var overrides = [][2]string{
	{"X-HTTP-Method-Override", "DELETE"}, {"X-HTTP-Method", "DELETE"}, {"X-Method-Override", "DELETE"},
	{"X-Original-URL", "/admin"}, {"X-Rewrite-URL", "/admin"}, {"x_http_method_override", "DELETE"},
}

var overrideVars = []string{"HTTP_X_HTTP_METHOD_OVERRIDE", "HTTP_X_HTTP_METHOD", "HTTP_X_METHOD_OVERRIDE",
	"HTTP_X_ORIGINAL_URL", "HTTP_X_REWRITE_URL"}

var securityRows = []secRow{
	// 1. Header names read the CGI way.
	{name: "forged_underscore_names_none_route", req: secGet("/health", forged...),
		want: secWant{cgiAbsent: []string{"HTTP_X_AUTHORIZER_PRINCIPAL_ID", "HTTP_X_AUTHORIZER_TIER", "HTTP_X_AUTHORIZER_ROLE"}}},
	{name: "forged_underscore_names_authorized_route", req: secGet("/pets/1", append([][2]string{tokenHeader("allow")}, forged...)...),
		want: secWant{principal: "user-allow", cgi: map[string]string{"HTTP_X_AUTHORIZER_TIER": "gold"}, cgiAbsent: []string{"HTTP_X_AUTHORIZER_ROLE"}}},
	{name: "forged_mixed_hyphen_underscore", req: secGet("/pets/1", tokenHeader("allow"), [2]string{"X-Authorizer_Principal-Id", "admin"}),
		want: secWant{principal: "user-allow"}},
	{name: "forged_hyphenated_names", req: secGet("/health", [2]string{"X-Authorizer-Principal-Id", "admin"}, [2]string{"x-authorizer-tier", "gold"}),
		want: secWant{cgiAbsent: []string{"HTTP_X_AUTHORIZER_PRINCIPAL_ID", "HTTP_X_AUTHORIZER_TIER"}}},
	{name: "underscore_forwarded_for_dropped", req: secGet("/health", [2]string{"X_Forwarded_For", "6.6.6.6"}),
		want: secWant{cgiLacks: map[string]string{"HTTP_X_FORWARDED_FOR": "6.6.6.6"}}},

	// 2. Path parameters.
	{name: "parameter_escapes_explicit_deny", req: secGet("/rt/admin;x=1", tokenHeader("admin-deny")), want: refused(secBadRequest)},
	{name: "parameter_control_explicit_deny", req: secGet("/rt/admin", tokenHeader("admin-deny")), want: refused(secExplicitDeny)},
	{name: "parameter_escapes_to_none_route", req: secGet("/admin;x=1"), want: refused(secBadRequest)},
	{name: "parameter_dot_dot", req: secGet("/pets/..;/admin", tokenHeader("pets-only")), want: refused(secBadRequest)},
	{name: "parameter_dot_dot_encoded_semicolon", req: secGet("/pets/..%3b/admin", tokenHeader("pets-only")), want: refused(secBadRequest)},
	{name: "parameter_encoded_dots", req: secGet("/pets/%2e%2e;/admin", tokenHeader("pets-only")), want: refused(secBadRequest)},
	{name: "parameter_dot", req: secGet("/pets/.;/admin", tokenHeader("pets-only")), want: refused(secBadRequest)},
	{name: "parameters_around_dot_dot", req: secGet("/pets/1;..;/admin", tokenHeader("pets-only")), want: refused(secBadRequest)},
	{name: "dot_dot_segment", req: secGet("/pets/../admin", tokenHeader("pets-only")), want: refused(secBadRequest)},
	{name: "encoded_dot_dot_segment", req: secGet("/pets/%2e%2E/admin", tokenHeader("pets-only")), want: refused(secBadRequest)},
	{name: "path_control_allowed", req: secGet("/pets/1", tokenHeader("pets-only")),
		want: secWant{principal: "user-pets", servletPath: "/pets/1"}},

	// 3. Method case.
	{name: "method_lower_case_escapes_deny", req: wireRequest{method: "delete", target: "/pets/1", headers: [][2]string{tokenHeader("admin-deny")}},
		want: secWant{methodRefused: true}},
	{name: "method_mixed_case", req: wireRequest{method: "Delete", target: "/pets/1", headers: [][2]string{tokenHeader("admin-deny")}},
		want: secWant{methodRefused: true}},
	{name: "method_lower_case_falls_to_none_route", req: wireRequest{method: "get", target: "/rt/admin"}, want: secWant{methodRefused: true}},
	{name: "method_unknown", req: wireRequest{method: "PROPFIND", target: "/health"}, want: secWant{methodRefused: true}},
	{name: "method_unknown_token", req: wireRequest{method: "FOO", target: "/health"}, want: secWant{methodRefused: true}},
	{name: "method_control_explicit_deny", req: wireRequest{method: "DELETE", target: "/pets/1", headers: [][2]string{tokenHeader("admin-deny")}},
		want: refused(secExplicitDeny)},

	// 4. Double encoding.
	{name: "double_encoded_dot_dot", req: secGet("/pets/%252e%252e/admin", tokenHeader("pets-only")), want: refused(secBadRequest)},
	{name: "double_encoded_letter", req: secGet("/pets/%2541", tokenHeader("pets-only")), want: refused(secBadRequest)},
	{name: "double_encoded_slash", req: secGet("/pets/a%252Fb", tokenHeader("pets-only")), want: refused(secBadRequest)},
	{name: "encoded_fullwidth_dot_dot", req: secGet("/pets/%EF%BC%8E%EF%BC%8E/admin", tokenHeader("pets-only")), want: refused(secBadRequest)},

	// 5. Override headers.
	{name: "override_headers_removed_none_route", req: secGet("/health", overrides...),
		want: secWant{cgiAbsent: overrideVars}},
	{name: "override_headers_removed_authorized_route", req: secGet("/pets/1", append([][2]string{tokenHeader("pets-only")}, overrides...)...),
		want: secWant{principal: "user-pets", cgiAbsent: overrideVars}},

	// 6. A client-sent X-Forwarded-For does not choose aws:SourceIp.
	{name: "xff_cannot_satisfy_ip_condition", req: secGet("/pets/1", tokenHeader("ip-10"), [2]string{"X-Forwarded-For", "10.1.2.3"}),
		want: refused(secImplicitDeny)},
	{name: "xff_other_headers_cannot_either", req: secGet("/pets/1", tokenHeader("ip-10"), [2]string{"X-Real-IP", "10.1.2.3"},
		[2]string{"Forwarded", "for=10.1.2.3"}, [2]string{"X-Envoy-External-Address", "10.1.2.3"}), want: refused(secImplicitDeny)},
	{name: "xff_peer_satisfies_ip_condition", req: secGet("/pets/1", tokenHeader("ip-loop"), [2]string{"X-Forwarded-For", "10.1.2.3"}),
		want: secWant{principal: "user-loop"}},
	{name: "xff_cannot_escape_ip_deny", req: secGet("/pets/1", tokenHeader("deny-loop"), [2]string{"X-Forwarded-For", "10.1.2.3"}),
		want: refused(secExplicitDeny)},

	// 7. The query reaches the upstream as sent.
	{name: "query_invalid_escape_kept", req: secGet("/health?a=%ZZ"), want: secWant{}},
	{name: "query_semicolons_kept", req: secGet("/health?a=1;b=2"), want: secWant{}},
	{name: "query_kept_on_authorized_route", req: secGet("/pets/1?x=%ZZ&y=1;z", tokenHeader("allow")), want: secWant{principal: "user-allow"}},

	// 8. Absolute-form targets.
	{name: "absolute_form_authorized", req: secGet("http://api.example/pets/1?q=1", tokenHeader("pets-only")), h1only: true,
		want: secWant{uri: "/pets/1?q=1", host: "api.example", principal: "user-pets", servletPath: "/pets/1"}},
	{name: "absolute_form_denied", req: secGet("http://api.example/admin", tokenHeader("admin-deny")), h1only: true, want: refused(secExplicitDeny)},
	{name: "absolute_form_none_route", req: secGet("http://api.example/health"), h1only: true, want: secWant{uri: "/health", host: "api.example"}},
}

// TestSecurityRows runs securityRows against every host, over HTTP/1.1 and
// HTTP/2, and then checks that the hosts agree.
func TestSecurityRows(t *testing.T) {
	seen := map[string]map[string]string{} // host -> row/proto -> summary
	for _, host := range secHosts() {
		t.Run(host.name, func(t *testing.T) {
			authz := newScriptAuthz()
			for tok, body := range securityPolicies {
				authz.set(tok, body)
			}
			up := newReaderUpstream(t)
			addr := host.start(t, []byte(securityConfig), up, serve(t, authz))
			h2 := h2cClient(t)
			sums := map[string]string{}
			for _, row := range securityRows {
				for _, proto := range []string{"h1", "h2"} {
					if proto == "h2" && row.h1only {
						continue
					}
					t.Run(row.name+"/"+proto, func(t *testing.T) {
						var rep *wireReply
						var err error
						if proto == "h1" {
							rep, err = sendH1(addr, row.req)
						} else {
							rep, err = sendH2(h2, addr, row.req)
						}
						if err != nil {
							t.Fatalf("%s %s: %v", row.req.method, row.req.target, err)
						}
						sums[row.name+"/"+proto] = checkSecurity(t, host, proto, &row, rep)
					})
				}
			}
			seen[host.name] = sums
		})
	}
	t.Run("hosts_agree", func(t *testing.T) {
		compareHosts(t, seen)
	})
}

// compareHosts fails t for every key on which a host's summary differs
// from the first host's.
func compareHosts(t *testing.T, seen map[string]map[string]string) {
	t.Helper()
	hosts := make([]string, 0, len(seen))
	for h := range seen {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	if len(hosts) < 2 {
		t.Skipf("only %v ran; nothing to compare", hosts)
	}
	ref := hosts[0]
	keys := make([]string, 0, len(seen[ref]))
	for k := range seen[ref] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, h := range hosts[1:] {
		for _, k := range keys {
			if a, b := seen[ref][k], seen[h][k]; a != b {
				t.Errorf("%s: %s answered\n  %s\nbut %s answered\n  %s", k, ref, a, h, b)
			}
		}
	}
}

// checkSecurity asserts one reply against row.want and returns a summary of
// it for comparing hosts.
func checkSecurity(t *testing.T, host secHost, proto string, row *secRow, rep *wireReply) string {
	t.Helper()
	w := row.want
	errType := rep.header.Values("X-Amzn-Errortype")
	if w.methodRefused {
		switch {
		case rep.view != nil:
			t.Errorf("the upstream received %s %s as %s", row.req.method, row.req.target, rep.view.ServletMethod)
		case host.viaEnvoy && proto == "h1" && isCodecRefusal(rep):
			// Envoy's HTTP/1 codec knows the method's case: it refuses
			// the request line before the filter runs.
		case rep.status != secNoRoute.status || string(rep.body) != secNoRoute.body || !slices.Equal(errType, []string{secNoRoute.errorType}):
			t.Errorf("%d %q %q, want the unsupported-method answer %d %s", rep.status, errType, rep.body, secNoRoute.status, secNoRoute.body)
		}
		return "method refused before the upstream"
	}
	if w.answer != nil {
		a := w.secAnswer
		if rep.status != a.status || string(rep.body) != a.body || !slices.Equal(errType, []string{a.errorType}) {
			t.Errorf("%d %q %q, want %d %q %s", rep.status, errType, rep.body, a.status, a.errorType, a.body)
		}
		if rep.view != nil {
			t.Errorf("the upstream received the request: %+v", rep.view)
		}
		return fmt.Sprintf("%d %q %s", rep.status, errType, rep.body)
	}
	if rep.view == nil || rep.status != http.StatusOK {
		t.Fatalf("status %d %q, want the upstream's answer", rep.status, rep.body)
	}
	v := rep.view
	uri, hostName := w.uri, w.host
	if uri == "" {
		uri = row.req.target
	}
	if hostName == "" {
		hostName = "gw.example"
	}
	if v.URI != uri || v.Method != row.req.method || v.Host != hostName {
		t.Errorf("upstream received %s %s (host %s), want %s %s (host %s)", v.Method, v.URI, v.Host, row.req.method, uri, hostName)
	}
	if got := v.CGI["HTTP_X_AUTHORIZER_PRINCIPAL_ID"]; got != w.principal {
		t.Errorf("a CGI-style upstream reads the principal %q, want %q", got, w.principal)
	}
	for k, want := range w.cgi {
		if got := v.CGI[k]; got != want {
			t.Errorf("a CGI-style upstream reads %s=%q, want %q", k, got, want)
		}
	}
	for _, k := range w.cgiAbsent {
		if got, ok := v.CGI[k]; ok {
			t.Errorf("a CGI-style upstream reads %s=%q, want it absent", k, got)
		}
	}
	for k, bad := range w.cgiLacks {
		if strings.Contains(v.CGI[k], bad) {
			t.Errorf("a CGI-style upstream reads %s=%q, which carries the client's %q", k, v.CGI[k], bad)
		}
	}
	if w.servletPath != "" && v.ServletPath != w.servletPath {
		t.Errorf("a servlet container serves %s, want %s", v.ServletPath, w.servletPath)
	}
	return fmt.Sprintf("200 upstream %s %s host=%s servlet=%s %s %v", v.Method, v.URI, v.Host, v.ServletMethod, v.ServletPath, v.authorizerVars())
}
