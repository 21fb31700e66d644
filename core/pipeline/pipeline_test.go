package pipeline

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/core/config"
)

const testConfig = `{
  "region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
  "stageVariables": {"tenant": "acme"},
  "authorizers": {
    "jwt": {"type": "TOKEN", "cluster": "authz", "path": "/check", "timeoutMs": 500,
            "identityValidationExpression": "^Bearer [-0-9a-zA-Z._]+$"},
    "fresh": {"type": "TOKEN", "cluster": "authz", "authorizerResultTtlInSeconds": 0},
    "req": {"type": "REQUEST", "cluster": "authz",
            "identitySource": "method.request.header.X-Api-Key, method.request.querystring.tenant"}
  },
  "routes": [
    {"method": "ANY", "path": "/health", "authorizer": "NONE"},
    {"method": "ANY", "path": "/fresh/{proxy+}", "authorizer": "fresh"},
    {"method": "GET", "path": "/req/{id}", "authorizer": "req"},
    {"method": "ANY", "path": "/pets", "authorizer": "jwt"},
    {"method": "ANY", "path": "/pets/{id}", "authorizer": "jwt"},
    {"method": "ANY", "path": "/users/{id}", "authorizer": "jwt"},
    {"method": "ANY", "path": "/", "authorizer": "jwt"}
  ]
}`

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const arnPrefix = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/"

func newPipeline(t testing.TB) *Pipeline {
	t.Helper()
	plan, err := config.Parse([]byte(testConfig))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return New(plan)
}

// allowResponse answers with a policy allowing the given resources.
func policyResponse(principal, effect string, resources []string, ctx map[string]any) Response {
	doc := map[string]any{
		"principalId": principal,
		"policyDocument": map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Action": "execute-api:Invoke", "Effect": effect, "Resource": resources,
			}},
		},
	}
	if ctx != nil {
		doc["context"] = ctx
	}
	b, _ := json.Marshal(doc)
	return Response{Status: 200, Body: b}
}

func bearer(tok string) []Header { return []Header{{Name: "authorization", Value: "Bearer " + tok}} }

func TestEvaluate(t *testing.T) {
	allowGET := policyResponse("alice", "Allow", []string{arnPrefix + "GET/*"}, map[string]any{"tier": "gold", "n": 42, "admin": false})
	tests := []struct {
		name       string
		req        Request
		resp       *Response // authorizer answer when a call is expected
		wantKind   Kind
		wantStatus int
		wantBody   string
		wantType   string
		wantSet    []Header
		wantRemove []string
		decision   string
	}{
		{
			name:     "none route passes and strips spoofed headers",
			req:      Request{Method: "GET", Target: "/health", Headers: []Header{{Name: "X-Authorizer-Principal-Id", Value: "root"}, {Name: "accept", Value: "*/*"}}},
			wantKind: KindAllow, wantRemove: []string{"X-Authorizer-Principal-Id"}, decision: DecisionNone,
		},
		{
			name:     "no route",
			req:      Request{Method: "GET", Target: "/nowhere/else", Headers: bearer("t")},
			wantKind: KindReject, wantStatus: 403, wantBody: `{"message":"Missing Authentication Token"}`, wantType: "MissingAuthenticationTokenException",
		},
		{
			name:     "missing token",
			req:      Request{Method: "GET", Target: "/pets"},
			wantKind: KindReject, wantStatus: 401, wantBody: `{"message":"Unauthorized"}`, wantType: "UnauthorizedException",
		},
		{
			name:     "empty token",
			req:      Request{Method: "GET", Target: "/pets", Headers: []Header{{Name: "authorization", Value: ""}}},
			wantKind: KindReject, wantStatus: 401, wantBody: `{"message":"Unauthorized"}`, wantType: "UnauthorizedException",
		},
		{
			name:     "token fails validation expression",
			req:      Request{Method: "GET", Target: "/pets", Headers: []Header{{Name: "authorization", Value: "Basic dXNlcjpwYXNz"}}},
			wantKind: KindReject, wantStatus: 401, wantBody: `{"message":"Unauthorized"}`, wantType: "UnauthorizedException",
		},
		{
			name:     "token sent twice",
			req:      Request{Method: "GET", Target: "/pets", Headers: append(bearer("a"), bearer("b")...)},
			wantKind: KindReject, wantStatus: 401, wantBody: `{"message":"Unauthorized"}`, wantType: "UnauthorizedException",
		},
		{
			name:     "dot-dot path",
			req:      Request{Method: "GET", Target: "/pets/../admin", Headers: bearer("t")},
			wantKind: KindReject, wantStatus: 400, wantBody: `{"message":"Bad Request"}`, wantType: "BadRequestException",
		},
		{
			name:     "encoded slash",
			req:      Request{Method: "GET", Target: "/pets/a%2Fb", Headers: bearer("t")},
			wantKind: KindReject, wantStatus: 400, wantBody: `{"message":"Bad Request"}`, wantType: "BadRequestException",
		},
		{
			name:     "method arn too long",
			req:      Request{Method: "GET", Target: "/pets/" + strings.Repeat("a", 1600), Headers: bearer("t")},
			wantKind: KindReject, wantStatus: 414, wantBody: `{"message":"Request-URI Too Long"}`, wantType: "RequestURITooLongException",
		},
		{
			name: "allow with context headers",
			req:  Request{Method: "GET", Target: "/pets/7?x=1", Headers: append(bearer("allow1"), Header{Name: "x-authorizer-tier", Value: "forged"})},
			resp: &allowGET, wantKind: KindAllow,
			wantSet: []Header{
				{Name: "x-authorizer-principal-id", Value: "alice"},
				{Name: "x-authorizer-admin", Value: "false"},
				{Name: "x-authorizer-n", Value: "42"},
				{Name: "x-authorizer-tier", Value: "gold"},
				contextHeader(`{"admin":false,"n":42,"tier":"gold"}`),
			},
			wantRemove: []string{"x-authorizer-tier"}, decision: DecisionAllow,
		},
		{
			name: "implicit deny",
			req:  Request{Method: "DELETE", Target: "/pets/7", Headers: bearer("implicit1")},
			resp: &allowGET, wantKind: KindReject, wantStatus: 403,
			wantBody: `{"Message":"User is not authorized to access this resource"}`, wantType: "AccessDeniedException",
			decision: DecisionImplicitDeny,
		},
		{
			name: "explicit deny",
			req:  Request{Method: "GET", Target: "/pets", Headers: bearer("deny1")},
			resp: ptr(policyResponse("bob", "Deny", []string{"*"}, nil)), wantKind: KindReject, wantStatus: 403,
			wantBody: `{"Message":"User is not authorized to access this resource with an explicit deny"}`, wantType: "AccessDeniedException",
			decision: DecisionDeny,
		},
		{
			name: "root resource arn has trailing slash",
			req:  Request{Method: "GET", Target: "/", Headers: bearer("root1")},
			resp: ptr(policyResponse("r", "Allow", []string{arnPrefix + "GET/"}, nil)), wantKind: KindAllow,
			wantSet: []Header{{Name: "x-authorizer-principal-id", Value: "r"}}, decision: DecisionAllow,
		},
		{
			name: "authorizer unauthorized status",
			req:  Request{Method: "GET", Target: "/pets", Headers: bearer("u401")},
			resp: &Response{Status: 401, Body: []byte(`{"message":"Unauthorized"}`)}, wantKind: KindReject, wantStatus: 401,
			wantBody: `{"message":"Unauthorized"}`, wantType: "UnauthorizedException", decision: DecisionUnauthorized,
		},
		{
			name: "authorizer unauthorized body",
			req:  Request{Method: "GET", Target: "/pets", Headers: bearer("ubody")},
			resp: &Response{Status: 200, Body: []byte(`"Unauthorized"`)}, wantKind: KindReject, wantStatus: 401,
			wantBody: `{"message":"Unauthorized"}`, wantType: "UnauthorizedException",
		},
		{
			name: "authorizer 500",
			req:  Request{Method: "GET", Target: "/pets", Headers: bearer("e500")},
			resp: &Response{Status: 500, Body: []byte(`oops`)}, wantKind: KindReject, wantStatus: 500,
			wantBody: `{"message":null}`, wantType: "AuthorizerConfigurationException", decision: DecisionError,
		},
		{
			name: "authorizer unreachable",
			req:  Request{Method: "GET", Target: "/pets", Headers: bearer("down")},
			resp: &Response{Status: 0}, wantKind: KindReject, wantStatus: 500,
			wantBody: `{"message":null}`, wantType: "AuthorizerConfigurationException",
		},
		{
			name: "malformed response",
			req:  Request{Method: "GET", Target: "/pets", Headers: bearer("bad")},
			resp: &Response{Status: 200, Body: []byte(`{"principalId":`)}, wantKind: KindReject, wantStatus: 500,
			wantBody: `{"message":null}`, wantType: "AuthorizerConfigurationException",
		},
		{
			name:     "newline in context value travels only encoded",
			req:      Request{Method: "GET", Target: "/pets", Headers: bearer("crlf")},
			resp:     ptr(policyResponse("p", "Allow", []string{"*"}, map[string]any{"x": "a\r\nx-authorizer-principal-id: root"})),
			wantKind: KindAllow, decision: DecisionAllow,
			wantSet: []Header{{Name: "x-authorizer-principal-id", Value: "p"}, contextHeader(`{"x":"a\r\nx-authorizer-principal-id: root"}`)},
		},
		{
			name:     "context key colliding with the principal header travels only encoded",
			req:      Request{Method: "GET", Target: "/pets", Headers: bearer("collide")},
			resp:     ptr(policyResponse("p", "Allow", []string{"*"}, map[string]any{"Principal_Id": "root"})),
			wantKind: KindAllow, decision: DecisionAllow,
			wantSet: []Header{{Name: "x-authorizer-principal-id", Value: "p"}, contextHeader(`{"Principal_Id":"root"}`)},
		},
		{
			name:     "principal that cannot be a header value",
			req:      Request{Method: "GET", Target: "/pets", Headers: bearer("badprincipal")},
			resp:     ptr(policyResponse("p\r\nx-admin: 1", "Allow", []string{"*"}, nil)),
			wantKind: KindReject, wantStatus: 500, wantBody: `{"message":null}`, wantType: "AuthorizerConfigurationException",
		},
		{
			name:     "context key folding into the principal header travels only encoded",
			req:      Request{Method: "GET", Target: "/pets", Headers: bearer("fold1")},
			resp:     ptr(policyResponse("p", "Allow", []string{"*"}, map[string]any{"principal_id": "root"})),
			wantKind: KindAllow, decision: DecisionAllow,
			wantSet: []Header{{Name: "x-authorizer-principal-id", Value: "p"}, contextHeader(`{"principal_id":"root"}`)},
		},
		{
			name:     "context keys folding into one another travel only encoded",
			req:      Request{Method: "GET", Target: "/pets", Headers: bearer("fold2")},
			resp:     ptr(policyResponse("p", "Allow", []string{"*"}, map[string]any{"user-id": "a", "user_id": "b"})),
			wantKind: KindAllow, decision: DecisionAllow,
			wantSet: []Header{{Name: "x-authorizer-principal-id", Value: "p"}, contextHeader(`{"user-id":"a","user_id":"b"}`)},
		},
		{
			name:     "answer larger than maxResponseBytes",
			req:      Request{Method: "GET", Target: "/pets", Headers: bearer("big1")},
			resp:     ptr(policyResponse("p", "Allow", []string{"*"}, map[string]any{"pad": strings.Repeat("x", 1<<20)})),
			wantKind: KindReject, wantStatus: 500, wantBody: `{"message":null}`, wantType: "AuthorizerConfigurationException",
		},
		{
			name:     "answer a host did not read",
			req:      Request{Method: "GET", Target: "/pets", Headers: bearer("big2")},
			resp:     &Response{Status: 200, BodySize: 1<<20 + 1},
			wantKind: KindReject, wantStatus: 500, wantBody: `{"message":null}`, wantType: "AuthorizerConfigurationException",
		},
		{
			name: "gzip answer",
			req:  Request{Method: "GET", Target: "/pets", Headers: bearer("gzip1")},
			resp: &Response{Status: 200, Headers: []Header{{Name: "content-encoding", Value: "gzip"}},
				Body: policyResponse("p", "Allow", []string{"*"}, nil).Body},
			wantKind: KindReject, wantStatus: 500, wantBody: `{"message":null}`, wantType: "AuthorizerConfigurationException",
		},
		{
			name: "identity encoding named",
			req:  Request{Method: "GET", Target: "/pets", Headers: bearer("ident1")},
			resp: &Response{Status: 200, Headers: []Header{{Name: "Content-Encoding", Value: "Identity"}},
				Body: policyResponse("p", "Allow", []string{"*"}, nil).Body},
			wantKind: KindAllow, wantSet: []Header{{Name: "x-authorizer-principal-id", Value: "p"}}, decision: DecisionAllow,
		},
		{
			name:     "deeply nested answer",
			req:      Request{Method: "GET", Target: "/pets", Headers: bearer("deep1")},
			resp:     &Response{Status: 200, Body: []byte(`{"principalId":"p","x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`)},
			wantKind: KindReject, wantStatus: 500, wantBody: `{"message":null}`, wantType: "AuthorizerConfigurationException",
		},
		{
			name:     "request authorizer missing one identity source",
			req:      Request{Method: "GET", Target: "/req/1", Headers: []Header{{Name: "x-api-key", Value: "k"}}},
			wantKind: KindReject, wantStatus: 401, wantBody: `{"message":"Unauthorized"}`, wantType: "UnauthorizedException",
		},
		{
			name: "request authorizer allow",
			req:  Request{Method: "GET", Target: "/req/1?tenant=acme", Headers: []Header{{Name: "x-api-key", Value: "k"}}},
			resp: ptr(policyResponse("svc", "Allow", []string{arnPrefix + "GET/req/*"}, nil)), wantKind: KindAllow,
			wantSet: []Header{{Name: "x-authorizer-principal-id", Value: "svc"}}, decision: DecisionAllow,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPipeline(t)
			got := p.Evaluate(&tt.req, t0)
			if tt.resp != nil {
				if got.Kind != KindCall {
					t.Fatalf("Evaluate kind = %v (status %d, %s), want call", got.Kind, got.Status, got.Reason)
				}
				got = p.Resume(got.Call, *tt.resp, t0)
			}
			if got.Kind != tt.wantKind {
				t.Fatalf("kind = %v (status %d, reason %q), want %v", got.Kind, got.Status, got.Reason, tt.wantKind)
			}
			if tt.wantKind == KindReject {
				if got.Status != tt.wantStatus || string(got.Body) != tt.wantBody {
					t.Errorf("reject = %d %s, want %d %s", got.Status, got.Body, tt.wantStatus, tt.wantBody)
				}
				wantHeaders := []Header{{Name: "content-type", Value: "application/json"}, {Name: "x-amzn-ErrorType", Value: tt.wantType}}
				if !equalHeaders(got.Headers, wantHeaders) {
					t.Errorf("headers = %v, want %v", got.Headers, wantHeaders)
				}
			}
			if tt.wantKind == KindAllow {
				if !equalHeaders(got.Set, tt.wantSet) {
					t.Errorf("set = %v, want %v", got.Set, tt.wantSet)
				}
				if strings.Join(got.Remove, ",") != strings.Join(tt.wantRemove, ",") {
					t.Errorf("remove = %v, want %v", got.Remove, tt.wantRemove)
				}
			}
			if tt.decision != "" && got.Decision != tt.decision {
				t.Errorf("decision = %s, want %s", got.Decision, tt.decision)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestAnswerChecks covers the rules every host relies on before it reads
// an answer: size (whatever the status), content-encoding, and the reason
// logged for each.
func TestAnswerChecks(t *testing.T) {
	allow := policyResponse("p", "Allow", []string{"*"}, nil).Body
	tests := []struct {
		name   string
		resp   Response
		reason string // "" for an answer that allows
	}{
		{"plain", Response{Status: 200, Body: allow}, ""},
		{"at the limit", Response{Status: 200, Body: append(allow, strings.Repeat(" ", 1<<20-len(allow))...)}, ""},
		{"one byte over", Response{Status: 200, Body: append(allow, strings.Repeat(" ", 1<<20+1-len(allow))...)},
			"authorizer answer larger than maxResponseBytes (1048576)"},
		{"unread body", Response{Status: 200, BodySize: 5 << 20}, "authorizer answer larger than maxResponseBytes (1048576)"},
		{"unread 401", Response{Status: 401, BodySize: 5 << 20}, "authorizer answer larger than maxResponseBytes (1048576)"},
		{"gzip", Response{Status: 200, Headers: []Header{{Name: "content-encoding", Value: "gzip"}}, Body: allow},
			`authorizer answer has content-encoding "gzip"; only identity is read`},
		{"identity then br", Response{Status: 200, Headers: []Header{{Name: "content-encoding", Value: "identity, br"}}, Body: allow},
			`authorizer answer has content-encoding "br"; only identity is read`},
		{"gzip 401", Response{Status: 401, Headers: []Header{{Name: "content-encoding", Value: "gzip"}}},
			`authorizer answer has content-encoding "gzip"; only identity is read`},
		{"empty encoding", Response{Status: 200, Headers: []Header{{Name: "content-encoding", Value: ""}}, Body: allow}, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPipeline(t)
			r := p.Evaluate(&Request{Method: "GET", Target: "/pets", Headers: bearer("check" + strconv.Itoa(i))}, t0)
			if r.Kind != KindCall || r.Call.MaxResponseBytes != 1<<20 ||
				!equalHeaders(r.Call.Headers, []Header{{Name: "accept-encoding", Value: "identity"}}) {
				t.Fatalf("Evaluate = %v, call %+v; want a call with MaxResponseBytes 1 MiB asking for identity", r.Kind, r.Call)
			}
			got := p.Resume(r.Call, tt.resp, t0)
			switch {
			case tt.reason == "" && got.Kind != KindAllow:
				t.Errorf("Resume = %v %d (%s), want allow", got.Kind, got.Status, got.Reason)
			case tt.reason != "" && (got.Status != 500 || got.Reason != tt.reason):
				t.Errorf("Resume = %d %q, want 500 %q", got.Status, got.Reason, tt.reason)
			}
		})
	}
}

// TestMethodARNNotUTF8 checks that no method ARN that is not UTF-8 reaches
// the policy matchers: a path that is not is 400 (path cleaning refuses
// it, and the check where the ARN is made would), and so is no method
// (methods outside HTTP's are refused before any route is matched).
func TestMethodARNNotUTF8(t *testing.T) {
	tests := []struct{ name, method, target string }{
		{"escaped byte", "GET", "/pets/%ff"},
		{"raw byte", "GET", "/pets/\xc3"},
		{"truncated escape sequence", "GET", "/pets/%e2%82"},
		{"method", "G\xffT", "/pets/1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newPipeline(t).Evaluate(&Request{Method: tt.method, Target: tt.target, Headers: bearer("utf")}, t0)
			if r.Kind != KindReject || r.Status < 400 || r.Status > 499 {
				t.Errorf("%v %d (%q), want a 4xx before any call", r.Kind, r.Status, r.Reason)
			}
		})
	}
}

// contextHeader is the ContextHeader of a context whose JSON is doc.
func contextHeader(doc string) Header {
	return Header{Name: ContextHeader, Value: base64.StdEncoding.EncodeToString([]byte(doc))}
}

func equalHeaders(a, b []Header) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTokenEventAndCall(t *testing.T) {
	p := newPipeline(t)
	got := p.Evaluate(&Request{Method: "GET", Target: "/pets/42", Headers: bearer("abc")}, t0)
	if got.Kind != KindCall {
		t.Fatalf("kind = %v", got.Kind)
	}
	c := got.Call
	if c.Cluster != "authz" || c.Path != "/check" || c.Authority != "authz" || c.Timeout != 500*time.Millisecond {
		t.Errorf("call = %+v", c)
	}
	want := `{"type":"TOKEN","authorizationToken":"Bearer abc","methodArn":"` + arnPrefix + `GET/pets/42"}`
	if string(c.Event) != want {
		t.Errorf("event = %s\nwant    %s", c.Event, want)
	}
}

func TestCachedPolicyIsEvaluatedPerRequest(t *testing.T) {
	p := newPipeline(t)
	resp := policyResponse("alice", "Allow", []string{arnPrefix + "GET/*", arnPrefix + "POST/users/alice"}, nil)
	calls := 0
	do := func(method, target string) Result {
		r := p.Evaluate(&Request{Method: method, Target: target, Headers: bearer("alice")}, t0.Add(time.Minute))
		if r.Kind == KindCall {
			calls++
			r = p.Resume(r.Call, resp, t0)
		}
		return r
	}
	steps := []struct {
		method, target string
		status         int
		cache          CacheState
	}{
		{"GET", "/pets", 0, CacheMiss},
		{"GET", "/pets/1", 0, CacheHit},
		{"POST", "/users/alice", 0, CacheHit},
		{"POST", "/users/bob", 403, CacheHit},
		{"DELETE", "/pets/1", 403, CacheHit},
	}
	for _, s := range steps {
		r := do(s.method, s.target)
		if r.Status != s.status || r.CacheState != s.cache {
			t.Errorf("%s %s = status %d cache %v, want %d %v", s.method, s.target, r.Status, r.CacheState, s.status, s.cache)
		}
	}
	if calls != 1 {
		t.Errorf("authorizer calls = %d, want 1", calls)
	}
}

func TestCacheExpiryAndTTLZero(t *testing.T) {
	p := newPipeline(t)
	resp := policyResponse("alice", "Allow", []string{"*"}, nil)
	tests := []struct {
		name   string
		target string
		at     time.Duration
		want   Kind
	}{
		{"first request calls", "/pets", 0, KindCall},
		{"hit before ttl", "/pets", 299 * time.Second, KindAllow},
		{"miss at ttl", "/pets", 300 * time.Second, KindCall},
		{"ttl zero calls", "/fresh/a", 0, KindCall},
		{"ttl zero calls again", "/fresh/a", time.Second, KindCall},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := p.Evaluate(&Request{Method: "GET", Target: tt.target, Headers: bearer("ttl")}, t0.Add(tt.at))
			if r.Kind != tt.want {
				t.Fatalf("kind = %v, want %v", r.Kind, tt.want)
			}
			if r.Kind == KindCall {
				p.Resume(r.Call, resp, t0.Add(tt.at))
			}
		})
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	p := newPipeline(t)
	answers := []Response{
		{Status: 500},
		{Status: 401},
		{Status: 200, Body: []byte(`"Unauthorized"`)},
		policyResponse("p\nq", "Allow", []string{"*"}, nil),
	}
	for i, a := range answers {
		r := p.Evaluate(&Request{Method: "GET", Target: "/pets", Headers: bearer("err")}, t0)
		if r.Kind != KindCall {
			t.Fatalf("answer %d: request after a failed call was not a call (kind %v)", i, r.Kind)
		}
		p.Resume(r.Call, a, t0)
	}
	if n := p.CacheLen(); n != 0 {
		t.Errorf("cache holds %d entries after only failures", n)
	}
}

func TestIdentityNeverInReason(t *testing.T) {
	p := newPipeline(t)
	secret := "Bearer s3cr3t-token"
	reqs := []Request{
		{Method: "GET", Target: "/pets", Headers: []Header{{Name: "authorization", Value: secret + " junk"}}},
		{Method: "GET", Target: "/pets", Headers: []Header{{Name: "authorization", Value: secret}, {Name: "authorization", Value: secret}}},
	}
	for _, r := range reqs {
		got := p.Evaluate(&r, t0)
		if strings.Contains(got.Reason, "s3cr3t") {
			t.Errorf("reason leaks the token: %q", got.Reason)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	p := newPipeline(t)
	resp := policyResponse("alice", "Allow", []string{"*"}, nil)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				tok := "tok" + string(rune('a'+(g+i)%5))
				r := p.Evaluate(&Request{Method: "GET", Target: "/pets", Headers: bearer(tok)}, t0)
				if r.Kind == KindCall {
					r = p.Resume(r.Call, resp, t0)
				}
				if r.Kind != KindAllow {
					t.Errorf("kind = %v", r.Kind)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

func BenchmarkHitPath(b *testing.B) {
	p := newPipeline(b)
	resp := policyResponse("alice", "Allow", []string{arnPrefix + "GET/*", arnPrefix + "POST/users/alice"}, map[string]any{"tier": "gold"})
	req := &Request{Method: "GET", Target: "/pets/42", Headers: bearer("bench"), SourceIP: "127.0.0.1"}
	if r := p.Evaluate(req, t0); r.Kind == KindCall {
		p.Resume(r.Call, resp, t0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := p.Evaluate(req, t0); r.Kind != KindAllow {
			b.Fatalf("kind = %v", r.Kind)
		}
	}
}

// BenchmarkMissPath runs one request that misses the cache through
// Evaluate and Resume, as an in-process embedding does: its cost is the
// event, the parse of the answer and the cache entry, and nothing for the
// shared cache of the wasm filter.
func BenchmarkMissPath(b *testing.B) {
	p := newPipeline(b)
	resp := policyResponse("alice", "Allow", []string{arnPrefix + "GET/*", arnPrefix + "POST/users/alice"}, map[string]any{"tier": "gold"})
	req := &Request{Method: "GET", Target: "/pets/42", Headers: bearer("bench"), SourceIP: "127.0.0.1"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := p.Evaluate(req, t0)
		if r.Kind != KindCall {
			b.Fatalf("kind = %v", r.Kind)
		}
		c := r.Call
		if r = p.Resume(c, resp, t0); r.Kind != KindAllow {
			b.Fatalf("kind = %v", r.Kind)
		}
		p.cache.Delete(c.Key)
	}
}
