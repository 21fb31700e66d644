package pipeline

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/authgate/authgate/core/authorizer"
	"github.com/authgate/authgate/core/config"
)

// gatewayConfig is testConfig with the given gateway responses and extra
// top-level members.
func gatewayConfig(responses string, extra ...string) string {
	cfg := strings.Replace(testConfig, `"stageVariables"`, strings.Join(append(extra, `"gatewayResponses": {`+responses+`}`), ", ")+`, "stageVariables"`, 1)
	return cfg
}

func TestGatewayResponseTypes(t *testing.T) {
	// Every type renders its own type, status and message, so the table
	// shows which answer maps to which type.
	all := ""
	for _, typ := range []string{"UNAUTHORIZED", "ACCESS_DENIED", "AUTHORIZER_CONFIGURATION_ERROR", "AUTHORIZER_FAILURE", "MISSING_AUTHENTICATION_TOKEN", "BAD_REQUEST_PARAMETERS", "DEFAULT_4XX"} {
		all += `"` + typ + `": {"responseTemplates": {"application/json": "{\"type\":\"$context.error.responseType\",\"message\":$context.error.messageString,\"rid\":\"$context.requestId\"}"}}, `
	}
	all = strings.TrimSuffix(all, ", ")
	p := newHTTPPipeline(t, gatewayConfig(all))
	tests := []struct {
		name       string
		req        Request
		resp       *Response
		wantStatus int
		wantType   string
		wantBody   string
	}{
		{name: "no route", req: Request{Method: "GET", Target: "/nowhere/else", RequestID: "r1"},
			wantStatus: 403, wantType: "MissingAuthenticationTokenException",
			wantBody: `{"type":"MISSING_AUTHENTICATION_TOKEN","message":"Missing Authentication Token","rid":"r1"}`},
		{name: "missing token", req: Request{Method: "GET", Target: "/pets", RequestID: "r2"},
			wantStatus: 401, wantType: "UnauthorizedException", wantBody: `{"type":"UNAUTHORIZED","message":"Unauthorized","rid":"r2"}`},
		{name: "explicit deny", req: Request{Method: "GET", Target: "/pets", RequestID: "r3", Headers: bearer("d")},
			resp: ptr(policyResponse("p", "Deny", []string{"*"}, nil)), wantStatus: 403, wantType: "AccessDeniedException",
			wantBody: `{"type":"ACCESS_DENIED","message":"User is not authorized to access this resource with an explicit deny","rid":"r3"}`},
		{name: "implicit deny", req: Request{Method: "GET", Target: "/pets", RequestID: "r4", Headers: bearer("i")},
			resp: ptr(policyResponse("p", "Allow", []string{arnPrefix + "POST/*"}, nil)), wantStatus: 403, wantType: "AccessDeniedException",
			wantBody: `{"type":"ACCESS_DENIED","message":"User is not authorized to access this resource","rid":"r4"}`},
		{name: "authorizer error", req: Request{Method: "GET", Target: "/pets", RequestID: "r5", Headers: bearer("e")},
			resp: &Response{Status: 500}, wantStatus: 500, wantType: "AuthorizerConfigurationException",
			wantBody: `{"type":"AUTHORIZER_CONFIGURATION_ERROR","message":null,"rid":"r5"}`},
		{name: "authorizer unreachable", req: Request{Method: "GET", Target: "/pets", RequestID: "r6", Headers: bearer("u")},
			resp: &Response{}, wantStatus: 500, wantType: "AuthorizerConfigurationException",
			wantBody: `{"type":"AUTHORIZER_CONFIGURATION_ERROR","message":null,"rid":"r6"}`},
		{name: "bad request", req: Request{Method: "GET", Target: "/a/../b", RequestID: "r7"},
			wantStatus: 400, wantType: "BadRequestException", wantBody: `{"type":"BAD_REQUEST_PARAMETERS","message":"Bad Request","rid":"r7"}`},
		{name: "uri too long falls back to DEFAULT_4XX", req: Request{Method: "GET", Target: "/pets/" + strings.Repeat("a", 1600), RequestID: "r8", Headers: bearer("t")},
			wantStatus: 414, wantType: "RequestURITooLongException", wantBody: `{"type":"DEFAULT_4XX","message":"Request-URI Too Long","rid":"r8"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.Evaluate(&tt.req, t0)
			if tt.resp != nil {
				if got.Kind != KindCall {
					t.Fatalf("kind = %v (%s)", got.Kind, got.Reason)
				}
				got = p.Resume(got.Call, *tt.resp, t0)
			}
			want := []Header{{Name: "content-type", Value: "application/json"}, {Name: ErrorTypeHeader, Value: tt.wantType}}
			if got.Kind != KindReject || got.Status != tt.wantStatus || string(got.Body) != tt.wantBody || !equalHeaders(got.Headers, want) {
				t.Errorf("got %v %d %v %s\nwant %d %v %s", got.Kind, got.Status, got.Headers, got.Body, tt.wantStatus, want, tt.wantBody)
			}
		})
	}
	got := p.Failure("vm broke")
	if got.Status != 500 || string(got.Body) != `{"type":"AUTHORIZER_FAILURE","message":null,"rid":""}` {
		t.Errorf("Failure = %d %s", got.Status, got.Body)
	}
}

func TestGatewayResponseCustomisation(t *testing.T) {
	tests := []struct {
		name        string
		responses   string
		extra       []string
		req         Request
		resp        *Response
		wantStatus  int
		wantHeaders []Header
		wantBody    string
		wantReason  string
	}{
		{
			name:       "unauthorized with WWW-Authenticate and status kept",
			responses:  `"UNAUTHORIZED": {"responseParameters": {"gatewayresponse.header.WWW-Authenticate": "'Bearer'"}}`,
			req:        Request{Method: "GET", Target: "/pets"},
			wantStatus: 401, wantBody: `{"message":"Unauthorized"}`,
			wantHeaders: []Header{{Name: "content-type", Value: "application/json"}, {Name: ErrorTypeHeader, Value: "UnauthorizedException"}, {Name: "www-authenticate", Value: "Bearer"}},
		},
		{
			name:       "missing token as 404",
			responses:  `"MISSING_AUTHENTICATION_TOKEN": {"statusCode": "404", "responseTemplates": {"application/json": "{\"message\":\"Not Found\"}"}}`,
			req:        Request{Method: "GET", Target: "/nowhere/else"},
			wantStatus: 404, wantBody: `{"message":"Not Found"}`,
			wantHeaders: []Header{{Name: "content-type", Value: "application/json"}, {Name: ErrorTypeHeader, Value: "MissingAuthenticationTokenException"}},
		},
		{
			name:       "missing token maps the query, as AWS's example does",
			responses:  `"MISSING_AUTHENTICATION_TOKEN": {"statusCode": "404", "responseParameters": {"gatewayresponse.header.X-Q": "method.request.querystring.q", "gatewayresponse.header.X-H": "method.request.header.X-Trace"}}`,
			req:        Request{Method: "GET", Target: "/nowhere/else?q=a%20b&q=c", Headers: []Header{{Name: "x-trace", Value: "t9"}}},
			wantStatus: 404, wantBody: `{"message":"Missing Authentication Token"}`,
			wantHeaders: []Header{{Name: "content-type", Value: "application/json"}, {Name: ErrorTypeHeader, Value: "MissingAuthenticationTokenException"}, {Name: "x-h", Value: "t9"}, {Name: "x-q", Value: "a b,c"}},
		},
		{
			name:       "missing token with an undecodable query maps no query value",
			responses:  `"MISSING_AUTHENTICATION_TOKEN": {"responseParameters": {"gatewayresponse.header.X-Q": "method.request.querystring.q"}}`,
			req:        Request{Method: "GET", Target: "/nowhere?q=%ZZ"},
			wantStatus: 403, wantBody: `{"message":"Missing Authentication Token"}`,
			wantHeaders: []Header{{Name: "content-type", Value: "application/json"}, {Name: ErrorTypeHeader, Value: "MissingAuthenticationTokenException"}},
		},
		{
			name:       "DEFAULT_4XX applies to unauthorized, its status to all",
			responses:  `"DEFAULT_4XX": {"statusCode": "418", "responseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"}}`,
			req:        Request{Method: "GET", Target: "/pets"},
			wantStatus: 418, wantBody: `{"message":"Unauthorized"}`,
			wantHeaders: []Header{{Name: "content-type", Value: "application/json"}, {Name: ErrorTypeHeader, Value: "UnauthorizedException"}, {Name: "access-control-allow-origin", Value: "*"}},
		},
		{
			name:      "DEFAULT_4XX does not touch 5xx",
			responses: `"DEFAULT_4XX": {"statusCode": "418"}`,
			req:       Request{Method: "GET", Target: "/pets", Headers: bearer("e1")}, resp: &Response{Status: 503},
			wantStatus: 500, wantBody: `{"message":null}`,
			wantHeaders: []Header{{Name: "content-type", Value: "application/json"}, {Name: ErrorTypeHeader, Value: "AuthorizerConfigurationException"}},
		},
		{
			name:      "specific type wins over DEFAULT_5XX",
			responses: `"DEFAULT_5XX": {"statusCode": "503"}, "AUTHORIZER_CONFIGURATION_ERROR": {"statusCode": "502"}`,
			req:       Request{Method: "GET", Target: "/pets", Headers: bearer("e2")}, resp: &Response{Status: 503},
			wantStatus: 502, wantBody: `{"message":null}`,
			wantHeaders: []Header{{Name: "content-type", Value: "application/json"}, {Name: ErrorTypeHeader, Value: "AuthorizerConfigurationException"}},
		},
		{
			name:       "deny body with authorizer values escaped",
			responses:  `"ACCESS_DENIED": {"responseTemplates": {"application/json": "{\"who\":\"$context.authorizer.principalId\",\"tier\":\"$context.authorizer.tier\",\"none\":\"$context.authorizer.nope\"}"}, "responseParameters": {"gatewayresponse.header.X-Tier": "context.authorizer.tier"}}`,
			req:        Request{Method: "DELETE", Target: "/pets", Headers: bearer("d1")},
			resp:       ptr(policyResponse("al\"ice", "Allow", []string{arnPrefix + "GET/*"}, map[string]any{"tier": "gold\",\"admin\":true"})),
			wantStatus: 403, wantBody: `{"who":"al\"ice","tier":"gold\",\"admin\":true","none":""}`,
			wantHeaders: []Header{{Name: "content-type", Value: "application/json"}, {Name: ErrorTypeHeader, Value: "AccessDeniedException"}, {Name: "x-tier", Value: `gold","admin":true`}},
		},
		{
			name:       "header from a request value that would break the header is omitted",
			responses:  `"UNAUTHORIZED": {"responseParameters": {"gatewayresponse.header.X-Echo": "method.request.querystring.q", "gatewayresponse.header.X-Id": "context.requestId"}}`,
			req:        Request{Method: "GET", Target: "/req/1?q=a%0d%0aSet-Cookie:%20x", RequestID: "rid"},
			wantStatus: 401, wantBody: `{"message":"Unauthorized"}`,
			wantHeaders: []Header{{Name: "content-type", Value: "application/json"}, {Name: ErrorTypeHeader, Value: "UnauthorizedException"}, {Name: "x-id", Value: "rid"}},
			wantReason:  "identity source method.request.header.x-api-key missing or empty; gateway response header x-echo omitted: not a valid header value",
		},
		{
			name:       "empty request value sends no header",
			responses:  `"UNAUTHORIZED": {"responseParameters": {"gatewayresponse.header.X-Echo": "method.request.header.X-None"}}`,
			req:        Request{Method: "GET", Target: "/pets"},
			wantStatus: 401, wantBody: `{"message":"Unauthorized"}`,
			wantHeaders: []Header{{Name: "content-type", Value: "application/json"}, {Name: ErrorTypeHeader, Value: "UnauthorizedException"}},
		},
		{
			name:       "request header and path parameter in headers",
			responses:  `"UNAUTHORIZED": {"responseParameters": {"gatewayresponse.header.X-Echo": "method.request.header.X-Trace", "gatewayresponse.header.X-Id": "method.request.path.id"}}`,
			req:        Request{Method: "GET", Target: "/pets/7", Headers: []Header{{Name: "x-trace", Value: "t1"}}},
			wantStatus: 401, wantBody: `{"message":"Unauthorized"}`,
			wantHeaders: []Header{{Name: "content-type", Value: "application/json"}, {Name: ErrorTypeHeader, Value: "UnauthorizedException"}, {Name: "x-echo", Value: "t1"}, {Name: "x-id", Value: "7"}},
		},
		{
			name:       "template chosen by Accept",
			responses:  `"UNAUTHORIZED": {"responseTemplates": {"application/json": "{}", "text/html": "<p>$context.error.message $context.httpMethod $context.path $context.resourcePath</p>"}}`,
			req:        Request{Method: "GET", Target: "/pets/9", Headers: []Header{{Name: "accept", Value: "text/plain;q=1, TEXT/HTML; q=0.5"}}},
			wantStatus: 401, wantBody: `<p>Unauthorized GET /pets/9 /pets/{id}</p>`,
			wantHeaders: []Header{{Name: "content-type", Value: "text/html"}, {Name: ErrorTypeHeader, Value: "UnauthorizedException"}},
		},
		{
			name:       "first template without a JSON one or an Accept match",
			responses:  `"UNAUTHORIZED": {"responseTemplates": {"text/plain": "no: $context.error.messageString", "text/xml": "<no/>"}}`,
			req:        Request{Method: "GET", Target: "/pets"},
			wantStatus: 401, wantBody: `no: "Unauthorized"`,
			wantHeaders: []Header{{Name: "content-type", Value: "text/plain"}, {Name: ErrorTypeHeader, Value: "UnauthorizedException"}},
		},
		{
			name:       "messageString inside a string is escaped",
			responses:  `"UNAUTHORIZED": {"responseTemplates": {"application/json": "{\"m\":\"$context.error.messageString\"}"}}`,
			req:        Request{Method: "GET", Target: "/pets"},
			wantStatus: 401, wantBody: `{"m":"\"Unauthorized\""}`,
			wantHeaders: []Header{{Name: "content-type", Value: "application/json"}, {Name: ErrorTypeHeader, Value: "UnauthorizedException"}},
		},
		{
			name:       "identity-based implicit deny wording",
			extra:      []string{`"implicitDenyMessage": "identity-based-policy"`},
			req:        Request{Method: "DELETE", Target: "/pets", Headers: bearer("w1")},
			resp:       ptr(policyResponse("p", "Allow", []string{arnPrefix + "GET/*"}, nil)),
			wantStatus: 403, wantBody: `{"Message":"User is not authorized to access this resource because no identity-based policy allows the execute-api:Invoke action"}`,
			wantHeaders: []Header{{Name: "content-type", Value: "application/json"}, {Name: ErrorTypeHeader, Value: "AccessDeniedException"}},
		},
		{
			name:       "identity-based wording leaves explicit deny alone",
			extra:      []string{`"implicitDenyMessage": "identity-based-policy"`},
			req:        Request{Method: "DELETE", Target: "/pets", Headers: bearer("w2")},
			resp:       ptr(policyResponse("p", "Deny", []string{"*"}, nil)),
			wantStatus: 403, wantBody: `{"Message":"User is not authorized to access this resource with an explicit deny"}`,
			wantHeaders: []Header{{Name: "content-type", Value: "application/json"}, {Name: ErrorTypeHeader, Value: "AccessDeniedException"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newHTTPPipeline(t, gatewayConfig(tt.responses, tt.extra...))
			got := p.Evaluate(&tt.req, t0)
			if tt.resp != nil {
				if got.Kind != KindCall {
					t.Fatalf("kind = %v (%s)", got.Kind, got.Reason)
				}
				got = p.Resume(got.Call, *tt.resp, t0)
			}
			if got.Kind != KindReject || got.Status != tt.wantStatus || string(got.Body) != tt.wantBody || !equalHeaders(got.Headers, tt.wantHeaders) {
				t.Errorf("got %v %d %v %s\nwant %d %v %s", got.Kind, got.Status, got.Headers, got.Body, tt.wantStatus, tt.wantHeaders, tt.wantBody)
			}
			if tt.wantReason != "" && got.Reason != tt.wantReason {
				t.Errorf("reason = %q, want %q", got.Reason, tt.wantReason)
			}
		})
	}
}

// TestGatewayResponsesKeepCallsCheap checks that a Call made under a plan
// with gateway responses does not keep the caller's header slice.
func TestGatewayResponsesCopyHeaders(t *testing.T) {
	p := newHTTPPipeline(t, gatewayConfig(`"ACCESS_DENIED": {"responseParameters": {"gatewayresponse.header.X-Trace": "method.request.header.X-Trace"}}`))
	hs := append(bearer("c1"), Header{Name: "x-trace", Value: "t1"})
	r := p.Evaluate(&Request{Method: "DELETE", Target: "/pets", Headers: hs}, t0)
	hs[1].Value = "reused"
	got := p.Resume(r.Call, policyResponse("p", "Deny", []string{"*"}, nil), t0)
	if v := got.Headers[len(got.Headers)-1]; v.Value != "t1" {
		t.Errorf("x-trace = %q, want the value at Evaluate time", v.Value)
	}
}

// FuzzRenderTemplate checks that rendering never panics and that a
// template that is valid JSON stays valid JSON whatever is substituted.
func FuzzRenderTemplate(f *testing.F) {
	seeds := []struct{ tmpl, value string }{
		{`{"message":$context.error.messageString}`, "x"},
		{`{"m":"$context.error.message","a":"$context.authorizer.k","p":"$context.authorizer.principalId"}`, "\"},\"x\":\"\\"},
		{`{"m":"$context.error.messageString $context.requestId"}`, "\u2028\x00\xff"},
		{`["$context.httpMethod","$context.path","$context.identity.sourceIp","$context.identity.userAgent","$context.error.responseType"]`, "<&>"},
		{`$context.requestId$context.`, "a"},
		{`"\"$context.authorizer.k\\"`, "\\"},
	}
	for _, s := range seeds {
		f.Add(s.tmpl, s.value, false)
		f.Add(s.tmpl, s.value, true)
	}
	f.Fuzz(func(t *testing.T, tmpl, val string, nullMessage bool) {
		tp, err := config.CompileTemplate(tmpl, nil, "123456789012", "api", "prod")
		if err != nil {
			return
		}
		g := gatewayResponse{status: 401, respType: config.ResponseUnauthorized, message: val, nullMessage: nullMessage}
		v := &vars{requestID: val, method: val, path: val, resource: val, sourceIP: val, userAgent: val}
		v.result = nil
		out := renderTemplate(nil, &tp, &g, v)
		v.result = resultWith(val)
		out2 := renderTemplate(nil, &tp, &g, v)
		if json.Valid([]byte(tmpl)) {
			if !json.Valid(out) || !json.Valid(out2) {
				t.Fatalf("template %q with value %q rendered invalid JSON:\n%s\n%s", tmpl, val, out, out2)
			}
		}
	})
}

func resultWith(val string) *authorizer.Result {
	return &authorizer.Result{PrincipalID: val, Context: []authorizer.ContextValue{{Key: "k", Value: val}}}
}
