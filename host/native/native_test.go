package native

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/pipeline"
	"github.com/authgate/authgate/host/internal/testutil"
)

const testConfig = `{
  "region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
  "authorizers": {
    "jwt":   {"type": "TOKEN", "cluster": "authz", "path": "/check", "timeoutMs": 200},
    "fresh": {"type": "TOKEN", "cluster": "authz", "path": "/check", "authorizerResultTtlInSeconds": 0}
  },
  "routes": [
    {"method": "ANY", "path": "/health", "authorizer": "NONE"},
    {"method": "ANY", "path": "/fresh/{proxy+}", "authorizer": "fresh"},
    {"method": "ANY", "path": "/pets", "authorizer": "jwt"},
    {"method": "ANY", "path": "/pets/{id}", "authorizer": "jwt"}
  ]
}`

const arnPrefix = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/"

// authorizerResponse builds an authorizer answer with one statement.
func authorizerResponse(principal, effect, resource string, ctx map[string]any) []byte {
	doc := map[string]any{
		"principalId": principal,
		"policyDocument": map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource,
			}},
		},
	}
	if ctx != nil {
		doc["context"] = ctx
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return b
}

// fakeAuthorizer answers by the token it receives ("Bearer <name>"), and
// counts calls. Its gate, when set, holds every answer until closed.
type fakeAuthorizer struct {
	calls atomic.Int64
	gate  chan struct{}
	srv   *httptest.Server
}

func newFakeAuthorizer(t *testing.T) *fakeAuthorizer {
	t.Helper()
	fa := &fakeAuthorizer{}
	fa.srv = httptest.NewServer(http.HandlerFunc(fa.serve))
	t.Cleanup(fa.srv.Close)
	return fa
}

func (fa *fakeAuthorizer) serve(w http.ResponseWriter, r *http.Request) {
	fa.calls.Add(1)
	if fa.gate != nil {
		<-fa.gate
	}
	if r.Method != http.MethodPost || r.URL.Path != "/check" || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad call", http.StatusBadRequest)
		return
	}
	var ev struct {
		Type               string `json:"type"`
		AuthorizationToken string `json:"authorizationToken"`
		MethodArn          string `json:"methodArn"`
	}
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || ev.Type != "TOKEN" {
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	switch strings.TrimPrefix(ev.AuthorizationToken, "Bearer ") {
	case "allow":
		w.Write(authorizerResponse("alice", "Allow", arnPrefix+"*", map[string]any{"tier": "gold", "n": 42, "admin": true}))
	case "getonly":
		w.Write(authorizerResponse("bob", "Allow", arnPrefix+"GET/*", nil))
	case "deny":
		w.Write(authorizerResponse("eve", "Deny", arnPrefix+"*", nil))
	case "implicit":
		w.Write(authorizerResponse("eve", "Allow", arnPrefix+"GET/other", nil))
	case "unauth":
		io.WriteString(w, "Unauthorized")
	case "unauthjson":
		io.WriteString(w, `{"errorMessage":"Unauthorized","errorType":"Error"}`)
	case "unauth401":
		w.WriteHeader(http.StatusUnauthorized)
	case "boom":
		http.Error(w, "internal", http.StatusInternalServerError)
	case "malformed":
		io.WriteString(w, `{"principalId": "x", "policyDocument": `)
	case "slow":
		time.Sleep(time.Second)
		w.Write(authorizerResponse("slow", "Allow", arnPrefix+"*", nil))
	case "huge":
		w.Write(authorizerResponse("alice", "Allow", arnPrefix+"*", map[string]any{"pad": strings.Repeat("x", 1<<20)}))
	case "crlf":
		w.Write(authorizerResponse("alice", "Allow", arnPrefix+"*", map[string]any{"evil": "a\r\nx-injected: 1"}))
	default:
		w.Write(authorizerResponse("nobody", "Deny", arnPrefix+"*", nil))
	}
}

// upstreamSeen records what the upstream received.
type upstreamSeen struct {
	mu      sync.Mutex
	calls   int
	headers http.Header
}

// gateway is a middleware in front of an upstream echoing 200 "upstream".
type gateway struct {
	fa        *fakeAuthorizer
	up        *upstreamSeen
	mw        *Middleware
	handler   http.Handler
	decisions chan pipeline.Result
	logs      *testutil.SyncBuffer
}

func newGateway(t *testing.T) *gateway {
	t.Helper()
	plan, err := config.Parse([]byte(testConfig))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	g := &gateway{fa: newFakeAuthorizer(t), up: &upstreamSeen{}, decisions: make(chan pipeline.Result, 1000), logs: &testutil.SyncBuffer{}}
	g.mw, err = New(plan, Options{
		Clusters:   map[string]string{"authz": g.fa.srv.URL + "/"},
		Logger:     slog.New(slog.NewTextHandler(g.logs, nil)),
		OnDecision: func(r pipeline.Result) { g.decisions <- r },
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	g.handler = g.mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.up.mu.Lock()
		g.up.calls++
		g.up.headers = r.Header.Clone()
		g.up.mu.Unlock()
		io.WriteString(w, "upstream")
	}))
	return g
}

// do sends one request through the middleware.
func (g *gateway) do(method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	g.handler.ServeHTTP(w, r)
	return w
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

const (
	bodyMissing  = `{"message":"Missing Authentication Token"}`
	bodyUnauth   = `{"message":"Unauthorized"}`
	bodyDeny     = `{"Message":"User is not authorized to access this resource with an explicit deny"}`
	bodyImplicit = `{"Message":"User is not authorized to access this resource"}`
	bodyError    = `{"message":null}`
)

func TestHandler(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		target    string
		headers   map[string]string
		status    int
		body      string
		errorType string            // x-amzn-ErrorType of a rejection
		upstream  map[string]string // headers the upstream must see ("" = absent)
		calls     int64
		decision  string
	}{
		{
			name: "allow with context", method: "GET", target: "/pets/7?x=1", headers: bearer("allow"),
			status: 200, body: "upstream", calls: 1, decision: "ALLOW",
			upstream: map[string]string{
				"X-Authorizer-Principal-Id": "alice", "X-Authorizer-Tier": "gold",
				"X-Authorizer-N": "42", "X-Authorizer-Admin": "true",
			},
		},
		{
			name: "spoofed authorizer headers stripped", method: "GET", target: "/pets",
			headers: map[string]string{"Authorization": "Bearer allow", "X-Authorizer-Principal-Id": "mallory", "X-Authorizer-Role": "admin"},
			status:  200, body: "upstream", calls: 1, decision: "ALLOW",
			upstream: map[string]string{"X-Authorizer-Principal-Id": "alice", "X-Authorizer-Role": ""},
		},
		{
			name: "explicit deny", method: "GET", target: "/pets", headers: bearer("deny"),
			status: 403, body: bodyDeny, errorType: "AccessDeniedException", calls: 1, decision: "DENY",
		},
		{
			name: "implicit deny", method: "GET", target: "/pets", headers: bearer("implicit"),
			status: 403, body: bodyImplicit, errorType: "AccessDeniedException", calls: 1, decision: "IMPLICIT_DENY",
		},
		{
			name: "unauthorized plain text", method: "GET", target: "/pets", headers: bearer("unauth"),
			status: 401, body: bodyUnauth, errorType: "UnauthorizedException", calls: 1, decision: "UNAUTHORIZED",
		},
		{
			name: "unauthorized errorMessage", method: "GET", target: "/pets", headers: bearer("unauthjson"),
			status: 401, body: bodyUnauth, errorType: "UnauthorizedException", calls: 1, decision: "UNAUTHORIZED",
		},
		{
			name: "unauthorized 401", method: "GET", target: "/pets", headers: bearer("unauth401"),
			status: 401, body: bodyUnauth, errorType: "UnauthorizedException", calls: 1, decision: "UNAUTHORIZED",
		},
		{
			name: "missing token", method: "GET", target: "/pets",
			status: 401, body: bodyUnauth, errorType: "UnauthorizedException", calls: 0, decision: "UNAUTHORIZED",
		},
		{
			name: "authorizer 500", method: "GET", target: "/pets", headers: bearer("boom"),
			status: 500, body: bodyError, errorType: "AuthorizerConfigurationException", calls: 1, decision: "ERROR",
		},
		{
			name: "malformed json", method: "GET", target: "/pets", headers: bearer("malformed"),
			status: 500, body: bodyError, errorType: "AuthorizerConfigurationException", calls: 1, decision: "ERROR",
		},
		{
			name: "timeout", method: "GET", target: "/pets", headers: bearer("slow"),
			status: 500, body: bodyError, errorType: "AuthorizerConfigurationException", calls: 1, decision: "ERROR",
		},
		{
			name: "body over 1 MiB", method: "GET", target: "/pets", headers: bearer("huge"),
			status: 500, body: bodyError, errorType: "AuthorizerConfigurationException", calls: 1, decision: "ERROR",
		},
		{
			name: "CR LF in context value travels only encoded", method: "GET", target: "/pets", headers: bearer("crlf"),
			status: 200, body: "upstream", calls: 1, decision: "ALLOW",
			upstream: map[string]string{"X-Authorizer-Principal-Id": "alice", "X-Authorizer-Evil": "", "X-Injected": "",
				"X-Authorizer-Context": "eyJldmlsIjoiYVxyXG54LWluamVjdGVkOiAxIn0="},
		},
		{
			name: "NONE route", method: "POST", target: "/health",
			headers: map[string]string{"X-Authorizer-Principal-Id": "mallory"},
			status:  200, body: "upstream", calls: 0, decision: "NONE",
			upstream: map[string]string{"X-Authorizer-Principal-Id": ""},
		},
		{
			name: "no route", method: "GET", target: "/nowhere", headers: bearer("allow"),
			status: 403, body: bodyMissing, errorType: "MissingAuthenticationTokenException", calls: 0, decision: "NO_ROUTE",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t)
			w := g.do(tt.method, tt.target, tt.headers)
			if w.Code != tt.status || w.Body.String() != tt.body {
				t.Fatalf("got %d %q, want %d %q", w.Code, w.Body.String(), tt.status, tt.body)
			}
			if got := g.fa.calls.Load(); got != tt.calls {
				t.Errorf("authorizer calls = %d, want %d", got, tt.calls)
			}
			if d := (<-g.decisions).Decision; d != tt.decision {
				t.Errorf("decision = %q, want %q", d, tt.decision)
			}
			wantUp := 0
			if tt.status == 200 {
				wantUp = 1
			}
			if g.up.calls != wantUp {
				t.Fatalf("upstream calls = %d, want %d", g.up.calls, wantUp)
			}
			if tt.status != 200 {
				if got := w.Header().Get("Content-Type"); got != "application/json" {
					t.Errorf("content-type = %q", got)
				}
				if got := w.Header().Values("Content-Type"); len(got) != 1 {
					t.Errorf("content-type values = %q, want one", got)
				}
				if got := w.Header().Get("X-Amzn-Errortype"); got != tt.errorType {
					t.Errorf("x-amzn-ErrorType = %q, want %q", got, tt.errorType)
				}
			}
			for k, want := range tt.upstream {
				if got := g.up.headers.Get(k); got != want {
					t.Errorf("upstream %s = %q, want %q", k, got, want)
				}
				if want == "" && len(g.up.headers.Values(k)) != 0 {
					t.Errorf("upstream %s present: %q", k, g.up.headers.Values(k))
				}
			}
			logs := g.logs.String()
			if strings.Count(logs, "msg=request") != 1 {
				t.Errorf("want one request log line, got:\n%s", logs)
			}
			for _, secret := range []string{"Bearer", "allow ", "alice", "gold", "x=1"} {
				if strings.Contains(logs, secret) {
					t.Errorf("log carries %q:\n%s", secret, logs)
				}
			}
		})
	}
}

func TestLogLine(t *testing.T) {
	g := newGateway(t)
	g.do("GET", "/pets/7?token=abc", bearer("allow"))
	g.do("GET", "/pets/8", bearer("allow"))
	lines := strings.Split(strings.TrimSpace(g.logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("log lines:\n%s", g.logs.String())
	}
	tests := []struct {
		name string
		line string
		want []string
	}{
		{"miss", lines[0], []string{"method=GET", "path=/pets/7 ", "route=/pets/{id}", "authorizer=jwt", "cache=miss", "decision=ALLOW", "status=200", "latency="}},
		{"hit", lines[1], []string{"path=/pets/8 ", "cache=hit", "decision=ALLOW", "status=200"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, w := range tt.want {
				if !strings.Contains(tt.line, w) {
					t.Errorf("line %q lacks %q", tt.line, w)
				}
			}
			if strings.Contains(tt.line, "abc") {
				t.Errorf("line %q carries the query", tt.line)
			}
		})
	}
}

func TestCaching(t *testing.T) {
	type step struct {
		method, target, token string
		status                int
		cache                 string
	}
	tests := []struct {
		name  string
		steps []step
		calls int64
	}{
		{
			name: "cache hit: N requests, one call",
			steps: []step{
				{"GET", "/pets", "allow", 200, "miss"},
				{"GET", "/pets/1", "allow", 200, "hit"},
				{"POST", "/pets", "allow", 200, "hit"},
				{"DELETE", "/pets/2", "allow", 200, "hit"},
				{"GET", "/pets", "allow", 200, "hit"},
			},
			calls: 1,
		},
		{
			name: "GET allowed then DELETE denied from the cached policy",
			steps: []step{
				{"GET", "/pets/1", "getonly", 200, "miss"},
				{"DELETE", "/pets/1", "getonly", 403, "hit"},
			},
			calls: 1,
		},
		{
			name: "TTL 0: a call per request",
			steps: []step{
				{"GET", "/fresh/a", "allow", 200, "miss"},
				{"GET", "/fresh/a", "allow", 200, "miss"},
				{"GET", "/fresh/b", "allow", 200, "miss"},
			},
			calls: 3,
		},
		{
			name: "errors are not cached",
			steps: []step{
				{"GET", "/pets", "boom", 500, "miss"},
				{"GET", "/pets", "boom", 500, "miss"},
			},
			calls: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t)
			for i, s := range tt.steps {
				w := g.do(s.method, s.target, bearer(s.token))
				if w.Code != s.status {
					t.Errorf("step %d: status %d, want %d", i, w.Code, s.status)
				}
				if got := (<-g.decisions).CacheState.String(); got != s.cache {
					t.Errorf("step %d: cache %q, want %q", i, got, s.cache)
				}
			}
			if got := g.fa.calls.Load(); got != tt.calls {
				t.Errorf("authorizer calls = %d, want %d", got, tt.calls)
			}
		})
	}
}

// TestCoalescing holds the authorizer's answer until every request is
// waiting, so all of them miss the cache at once.
func TestCoalescing(t *testing.T) {
	tests := []struct {
		name   string
		target string
		status int
		calls  int64
	}{
		{"cached authorizer", "/pets", 200, 1},
		{"TTL 0 authorizer", "/fresh/x", 200, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 50
			g := newGateway(t)
			g.fa.gate = make(chan struct{})
			var calls atomic.Int64
			g.mw.onCall = func(string) { calls.Add(1) }
			var wg sync.WaitGroup
			codes := make([]int, n)
			for i := range n {
				wg.Go(func() { codes[i] = g.do("GET", tt.target, bearer("allow")).Code })
			}
			// Release the authorizer only once every other request has
			// joined the call under way.
			deadline := time.Now().Add(10 * time.Second)
			for waiters(g.mw) != n-1 {
				if time.Now().After(deadline) {
					t.Fatalf("waiters = %d, want %d", waiters(g.mw), n-1)
				}
				time.Sleep(time.Millisecond)
			}
			close(g.fa.gate)
			wg.Wait()
			for i, c := range codes {
				if c != tt.status {
					t.Errorf("request %d: status %d, want %d", i, c, tt.status)
				}
			}
			if got := g.fa.calls.Load(); got != tt.calls {
				t.Errorf("authorizer calls = %d, want %d", got, tt.calls)
			}
			if got := calls.Load(); got != tt.calls {
				t.Errorf("OnCall count = %d, want %d", got, tt.calls)
			}
		})
	}
}

// waiters counts the requests sharing calls under way.
func waiters(m *Middleware) int {
	_, n := m.eng.InFlight()
	return n
}

// TestBurstWithoutGate checks the cache re-check: requests arriving while a
// flight retires must not start a second call.
func TestBurstWithoutGate(t *testing.T) {
	for round := range 20 {
		g := newGateway(t)
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() { g.do("GET", "/pets", bearer("allow")) })
		}
		wg.Wait()
		if got := g.fa.calls.Load(); got != 1 {
			t.Fatalf("round %d: authorizer calls = %d, want 1", round, got)
		}
	}
}

func TestPanicIsFailure(t *testing.T) {
	tests := []struct {
		name    string
		panicAt int64 // which clock reading panics: 1 = before Evaluate, 2 = when the authorizer answered
	}{
		{"before Evaluate", 1},
		{"when the authorizer answered", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t)
			var reads atomic.Int64
			g.mw.now = func() time.Time {
				if reads.Add(1) == tt.panicAt {
					panic("clock broke")
				}
				return time.Now()
			}
			w := g.do("GET", "/pets", bearer("allow"))
			if w.Code != 500 || w.Body.String() != bodyError {
				t.Fatalf("got %d %q, want 500 %q", w.Code, w.Body.String(), bodyError)
			}
			if d := <-g.decisions; d.Decision != "ERROR" || d.Reason != "panic: clock broke" {
				t.Errorf("decision %q reason %q", d.Decision, d.Reason)
			}
			if g.up.calls != 0 {
				t.Fatalf("upstream reached after a panic")
			}
			// The middleware still works: no lock or flight was left behind.
			done := make(chan int)
			go func() { done <- g.do("GET", "/pets", bearer("allow")).Code }()
			select {
			case code := <-done:
				if code != 200 {
					t.Fatalf("next request: %d", code)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("next request hangs")
			}
		})
	}
}

func TestNewRequest(t *testing.T) {
	tests := []struct {
		name   string
		remote string
		hdr    [][2]string
		want   pipeline.Request
	}{
		{
			name: "ipv4, sorted lower-case headers, request id", remote: "10.1.2.3:5555",
			hdr: [][2]string{{"X-Request-Id", "rid-1"}, {"Accept", "a"}, {"Accept", "b"}, {"Authorization", "t"}},
			want: pipeline.Request{
				Method: "GET", Target: "/pets/1?q=a%20b", Scheme: "http", SourceIP: "10.1.2.3", RequestID: "rid-1", Authority: "example.com", Protocol: "HTTP/1.1",
				Headers: []pipeline.Header{{Name: "accept", Value: "a,b"}, {Name: "authorization", Value: "t"}, {Name: "x-request-id", Value: "rid-1"}, {Name: "host", Value: "example.com"}},
			},
		},
		{
			// Envoy joins repeated inline headers (skipping empty values)
			// and keeps other repeated headers apart.
			name: "repeated headers as Envoy presents them", remote: "10.1.2.3:5555",
			hdr: [][2]string{{"Authorization", "Bearer a"}, {"X-Multi", "one"}, {"Authorization", ""}, {"authorization", "Bearer b"}, {"X-Multi", "two"}, {"Cookie", "a=1"}, {"Cookie", "b=2"}},
			want: pipeline.Request{
				Method: "GET", Target: "/pets/1?q=a%20b", Scheme: "http", SourceIP: "10.1.2.3", Authority: "example.com", Protocol: "HTTP/1.1",
				Headers: []pipeline.Header{{Name: "authorization", Value: "Bearer a,Bearer b"}, {Name: "cookie", Value: "a=1"},
					{Name: "cookie", Value: "b=2"}, {Name: "x-multi", Value: "one"}, {Name: "x-multi", Value: "two"}, {Name: "host", Value: "example.com"}},
			},
		},
		{
			name: "ipv6 without request id", remote: "[::1]:80",
			want: pipeline.Request{Method: "GET", Target: "/pets/1?q=a%20b", Scheme: "http", SourceIP: "::1", Authority: "example.com", Protocol: "HTTP/1.1",
				Headers: []pipeline.Header{{Name: "host", Value: "example.com"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/pets/1?q=a%20b", nil)
			r.RemoteAddr = tt.remote
			for _, h := range tt.hdr {
				r.Header.Add(h[0], h[1])
			}
			got := NewRequest(r)
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	plan, err := config.Parse([]byte(testConfig))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	tests := []struct {
		name     string
		clusters map[string]string
		want     string
	}{
		{"missing cluster", nil, `native: authorizer[fresh]: cluster "authz" has no URL`},
		{"bad scheme", map[string]string{"authz": "ftp://x"}, `native: cluster[authz]: want an http or https URL with a host, got "ftp://x"`},
		{"query", map[string]string{"authz": "http://x/?a=1"}, `native: cluster[authz]: URL must not carry a query or fragment`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(plan, Options{Clusters: tt.clusters})
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v, want %s", err, tt.want)
			}
		})
	}
}

// TestMetrics checks the counters after a known sequence of requests, and
// that the latency histogram saw every call.
func TestMetrics(t *testing.T) {
	g := newGateway(t)
	steps := []struct {
		method, target, token string
		status                int
	}{
		{"GET", "/pets", "allow", 200},   // jwt: allow, cache_miss
		{"GET", "/pets/1", "allow", 200}, // jwt: allow, cache_hit
		{"DELETE", "/pets/1", "getonly", 403},
		{"GET", "/pets", "boom", 500},
		{"GET", "/pets", "slow", 500}, // times out after 200 ms
		{"GET", "/pets", "", 401},
		{"GET", "/health", "", 200},
		{"GET", "/nothing", "allow", 403},
		{"GET", "/fresh/x", "allow", 200},
	}
	for i, s := range steps {
		hdr := map[string]string{}
		if s.token != "" {
			hdr = bearer(s.token)
		}
		if w := g.do(s.method, s.target, hdr); w.Code != s.status {
			t.Fatalf("step %d: status %d, want %d", i, w.Code, s.status)
		}
		<-g.decisions
	}
	got := g.mw.Metrics()
	for k, v := range got.Counters {
		if v == 0 {
			delete(got.Counters, k) // defined up front, never counted
		}
	}
	want := map[string]uint64{
		"authgate.jwt.allow":         2,
		"authgate.jwt.cache_miss":    4, // allow, getonly, boom, slow
		"authgate.jwt.cache_hit":     1,
		"authgate.jwt.deny":          1,
		"authgate.jwt.error":         2,
		"authgate.jwt.timeout":       1,
		"authgate.jwt.error_timeout": 1,
		"authgate.jwt.error_status":  1,
		"authgate.jwt.unauthorized":  1,
		"authgate.NONE.allow":        1,
		"authgate.NONE.no_route":     1,
		"authgate.fresh.allow":       1,
		"authgate.fresh.cache_miss":  1,
	}
	if !reflect.DeepEqual(got.Counters, want) {
		t.Errorf("counters\n got %v\nwant %v", got.Counters, want)
	}
	if h := got.Histograms["authgate.jwt.authorizer_latency_ms"]; h.Count != 4 || h.Sum < 200 {
		t.Errorf("jwt latency histogram = %+v, want 4 calls taking at least the 200 ms timeout in all", h)
	}
	if h := got.Histograms["authgate.fresh.authorizer_latency_ms"]; h.Count != 1 {
		t.Errorf("fresh latency histogram = %+v, want 1 call", h)
	}
}

// TestConfigurationWarnings: New logs what validate warns about.
func TestConfigurationWarnings(t *testing.T) {
	cfg := strings.Replace(testConfig, `"region"`, `"allowPathParameters": true, "region"`, 1)
	plan, err := config.Parse([]byte(cfg))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	var logs testutil.SyncBuffer
	if _, err := New(plan, Options{Clusters: map[string]string{"authz": "http://127.0.0.1:1"}, Logger: slog.New(slog.NewTextHandler(&logs, nil))}); err != nil {
		t.Fatalf("New: %v", err)
	}
	if got := logs.String(); !strings.Contains(got, "level=WARN msg=configuration warning=") || !strings.Contains(got, "allowPathParameters: true") {
		t.Errorf("log %q, want the allowPathParameters warning", got)
	}
}
