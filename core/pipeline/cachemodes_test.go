package pipeline

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/core/config"
)

// modesConfig has one authorizer per combination of the cache settings.
const modesConfig = `{
  "region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
  "authorizerCache": {"sharedSlots": 1024, "sharedMaxEntryBytes": 1024},
  "authorizers": {
    "pos":   {"type": "TOKEN", "cluster": "authz"},
    "neg":   {"type": "TOKEN", "cluster": "authz", "authorizerResultTtlInSeconds": 0, "unauthorizedTtlInSeconds": 60},
    "both":  {"type": "TOKEN", "cluster": "authz", "unauthorizedTtlInSeconds": 60, "staleIfErrorSeconds": 600},
    "off":   {"type": "TOKEN", "cluster": "authz", "authorizerResultTtlInSeconds": 0},
    "stale": {"type": "TOKEN", "cluster": "authz", "authorizerResultTtlInSeconds": 60, "staleIfErrorSeconds": 120}
  },
  "routes": [
    {"method": "ANY", "path": "/pos", "authorizer": "pos"},
    {"method": "ANY", "path": "/neg", "authorizer": "neg"},
    {"method": "ANY", "path": "/both", "authorizer": "both"},
    {"method": "ANY", "path": "/off", "authorizer": "off"},
    {"method": "ANY", "path": "/stale", "authorizer": "stale"},
    {"method": "ANY", "path": "/open", "authorizer": "NONE"}
  ]
}`

func newModesPipeline(t testing.TB, edit func(string) string) *Pipeline {
	t.Helper()
	cfg := modesConfig
	if edit != nil {
		cfg = edit(cfg)
	}
	plan, err := config.Parse([]byte(cfg))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return New(plan)
}

var (
	allowAll  = policyResponse("alice", "Allow", []string{"*"}, map[string]any{"tier": "gold"})
	denyAll   = policyResponse("mallory", "Deny", []string{"*"}, nil)
	answer401 = Response{Status: 401, Body: []byte(`{"message":"Unauthorized"}`)}
	answer500 = Response{Status: 500, Body: []byte(`boom`)}
	unreached = Response{}
	malformed = Response{Status: 200, Body: []byte(`{"principalId":`)}
	badHeader = policyResponse("p\nq", "Allow", []string{"*"}, nil)
)

// summary renders what a test asserts about a Result in one comparable line.
func summary(r Result) string {
	switch r.Kind {
	case KindAllow:
		return fmt.Sprintf("allow %v %s", r.CacheState, r.Decision)
	case KindReject:
		return fmt.Sprintf("reject %d %v %s", r.Status, r.CacheState, r.Decision)
	}
	return fmt.Sprintf("%v %v %s", r.Kind, r.CacheState, r.Decision)
}

// wantBody is the REST body of each rejection status these tests see.
var wantBody = map[int]string{
	401: `{"message":"Unauthorized"}`,
	403: `{"Message":"User is not authorized to access this resource with an explicit deny"}`,
	500: `{"message":null}`,
}

// cacheStep is one request of a scenario: Evaluate at t0+at and, when the
// pipeline asks for a call, Resume with resp at the same time.
type cacheStep struct {
	token string
	at    time.Duration
	resp  *Response // nil: the step expects no call
	want  string    // summary of the final Result
}

func runSteps(t *testing.T, p *Pipeline, target string, steps []cacheStep) {
	t.Helper()
	for i, s := range steps {
		now := t0.Add(s.at)
		r := p.Evaluate(&Request{Method: "GET", Target: target, Headers: bearer(s.token)}, now)
		switch {
		case r.Kind == KindCall && s.resp == nil:
			t.Fatalf("step %d: unexpected call (want %s)", i, s.want)
		case r.Kind != KindCall && s.resp != nil:
			t.Fatalf("step %d: no call, got %s (reason %q)", i, summary(r), r.Reason)
		case r.Kind == KindCall:
			r = p.Resume(r.Call, *s.resp, now)
		}
		if got := summary(r); got != s.want {
			t.Errorf("step %d: %s, want %s (reason %q)", i, got, s.want, r.Reason)
		}
		if r.Kind == KindReject && string(r.Body) != wantBody[r.Status] {
			t.Errorf("step %d: body %s, want %s", i, r.Body, wantBody[r.Status])
		}
		if r.Kind == KindAllow && !equalHeaders(r.Set, []Header{{Name: "x-authorizer-principal-id", Value: "alice"}, {Name: "x-authorizer-tier", Value: "gold"}, contextHeader(`{"tier":"gold"}`)}) {
			t.Errorf("step %d: set %v", i, r.Set)
		}
	}
}

func TestNegativeCaching(t *testing.T) {
	const (
		callAllow = "allow miss ALLOW"
		call401   = "reject 401 miss UNAUTHORIZED"
		hit401    = "reject 401 hit UNAUTHORIZED"
		hitAllow  = "allow hit ALLOW"
	)
	tests := []struct {
		name   string
		target string
		steps  []cacheStep
	}{
		{
			name: "ttl and unauthorized ttl: both cached", target: "/both",
			steps: []cacheStep{
				{"u", 0, &answer401, call401},
				{"u", 59 * time.Second, nil, hit401},
				{"u", 60 * time.Second, &allowAll, callAllow}, // the 401 expired
				{"u", 61 * time.Second, nil, hitAllow},
				{"a", 0, &allowAll, callAllow},
				{"a", time.Second, nil, hitAllow},
			},
		},
		{
			name: "ttl only: allows cached, 401s asked again", target: "/pos",
			steps: []cacheStep{
				{"u", 0, &answer401, call401},
				{"u", time.Second, &answer401, call401},
				{"a", 0, &allowAll, callAllow},
				{"a", time.Second, nil, hitAllow},
			},
		},
		{
			name: "unauthorized ttl only: 401s cached, allows asked again", target: "/neg",
			steps: []cacheStep{
				{"u", 0, &answer401, call401},
				{"u", 30 * time.Second, nil, hit401},
				{"u", 60 * time.Second, &allowAll, callAllow},
				{"u", 61 * time.Second, &allowAll, callAllow},
				{"a", 0, &allowAll, callAllow},
				{"a", time.Second, &allowAll, callAllow},
			},
		},
		{
			name: "neither: every request calls", target: "/off",
			steps: []cacheStep{
				{"u", 0, &answer401, call401},
				{"u", time.Second, &answer401, call401},
				{"a", 0, &allowAll, callAllow},
				{"a", time.Second, &allowAll, callAllow},
			},
		},
		{
			name: "an Unauthorized body is cached like a 401", target: "/both",
			steps: []cacheStep{
				{"u", 0, &Response{Status: 200, Body: []byte(`"Unauthorized"`)}, call401},
				{"u", time.Second, nil, hit401},
			},
		},
		{
			name: "a later allow replaces a cached 401 at once", target: "/both",
			steps: []cacheStep{
				{"u", 0, &answer401, call401},
				{"u", 61 * time.Second, &allowAll, callAllow},
				{"u", 62 * time.Second, nil, hitAllow},
			},
		},
		{
			name: "errors are not cached as 401s", target: "/neg",
			steps: []cacheStep{
				{"e", 0, &answer500, "reject 500 miss ERROR"},
				{"e", time.Second, &answer401, call401},
				{"e", 2 * time.Second, nil, hit401},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSteps(t, newModesPipeline(t, nil), tt.target, tt.steps)
		})
	}
}

func TestCachedUnauthorizedResult(t *testing.T) {
	p := newModesPipeline(t, nil)
	r := p.Evaluate(&Request{Method: "GET", Target: "/neg", Headers: bearer("u")}, t0)
	p.Resume(r.Call, answer401, t0)
	got := p.Evaluate(&Request{Method: "GET", Target: "/neg", Headers: bearer("u")}, t0)
	want := Result{Kind: KindReject, Status: 401,
		Headers: []Header{{Name: "content-type", Value: "application/json"}, {Name: "x-amzn-ErrorType", Value: "UnauthorizedException"}},
		Body:    []byte(`{"message":"Unauthorized"}`), Route: "/neg", Authorizer: "neg", CacheState: CacheHit,
		Decision: DecisionUnauthorized, Statement: -1, Reason: "authorizer answered unauthorized (cached)"}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if p.CacheLen() != 1 {
		t.Errorf("cache holds %d entries, want 1", p.CacheLen())
	}
}

func TestStaleIfError(t *testing.T) {
	const (
		callAllow = "allow miss ALLOW"
		fail      = "reject 500 miss ERROR"
		stale     = "allow stale ALLOW"
	)
	tests := []struct {
		name   string
		target string
		steps  []cacheStep
	}{
		{
			name: "error with no prior entry", target: "/stale",
			steps: []cacheStep{{"t", 0, &answer500, fail}},
		},
		{
			name: "error after a cached allow expired, within the window", target: "/stale",
			steps: []cacheStep{
				{"t", 0, &allowAll, callAllow},
				{"t", 60 * time.Second, &answer500, stale},
				{"t", 179 * time.Second, &unreached, stale},
				{"t", 179 * time.Second, &malformed, stale},
			},
		},
		{
			name: "error outside the window", target: "/stale",
			steps: []cacheStep{
				{"t", 0, &allowAll, callAllow},
				{"t", 180 * time.Second, &answer500, fail},
			},
		},
		{
			name: "a stale deny stays a deny", target: "/stale",
			steps: []cacheStep{
				{"t", 0, &denyAll, "reject 403 miss DENY"},
				{"t", 90 * time.Second, &unreached, "reject 403 stale DENY"},
			},
		},
		{
			name: "an Unauthorized answer is an answer, not an error", target: "/stale",
			steps: []cacheStep{
				{"t", 0, &allowAll, callAllow},
				{"t", 90 * time.Second, &answer401, "reject 401 miss UNAUTHORIZED"},
				// The 401 superseded the cached allow: nothing stale remains.
				{"t", 91 * time.Second, &answer500, fail},
			},
		},
		{
			name: "an uncacheable answer drops the stale result", target: "/stale",
			steps: []cacheStep{
				{"t", 0, &allowAll, callAllow},
				{"t", 90 * time.Second, &badHeader, fail},
				{"t", 91 * time.Second, &answer500, fail},
			},
		},
		{
			name: "a cached Unauthorized answer is never served for an error", target: "/both",
			steps: []cacheStep{
				{"t", 0, &answer401, "reject 401 miss UNAUTHORIZED"},
				{"t", 61 * time.Second, &answer500, fail},
			},
		},
		{
			name: "no window: errors after expiry fail", target: "/pos",
			steps: []cacheStep{
				{"t", 0, &allowAll, callAllow},
				{"t", 300 * time.Second, &answer500, fail},
			},
		},
		{
			name: "another identity's result is never served", target: "/stale",
			steps: []cacheStep{
				{"t", 0, &allowAll, callAllow},
				{"other", 90 * time.Second, &answer500, fail},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSteps(t, newModesPipeline(t, nil), tt.target, tt.steps)
		})
	}
}

// TestStaleFreshMeanwhile: a call fails while another request of the same
// pipeline has cached a fresh result; that result decides, as a hit.
func TestStaleFreshMeanwhile(t *testing.T) {
	p := newModesPipeline(t, nil)
	req := &Request{Method: "GET", Target: "/stale", Headers: bearer("t")}
	first := p.Evaluate(req, t0)
	second := p.Evaluate(req, t0)
	if r := p.Resume(first.Call, allowAll, t0); summary(r) != "allow miss ALLOW" {
		t.Fatalf("first: %s", summary(r))
	}
	r := p.Resume(second.Call, answer500, t0)
	if summary(r) != "allow hit ALLOW" || r.Reason != "authorizer failed, cached result served: authorizer answered status 500" {
		t.Errorf("second: %s %q", summary(r), r.Reason)
	}
}

func TestStaleResultReason(t *testing.T) {
	p := newModesPipeline(t, nil)
	req := &Request{Method: "GET", Target: "/stale", Headers: bearer("t")}
	p.Resume(p.Evaluate(req, t0).Call, allowAll, t0)
	r := p.Resume(p.Evaluate(req, t0.Add(time.Minute)).Call, unreached, t0.Add(time.Minute))
	if r.Reason != "authorizer failed, cached result served: authorizer call reset" || r.Route != "/stale" || r.Authorizer != "stale" || r.Statement != 0 {
		t.Errorf("result = %+v", r)
	}
}

// TestResumeRejectionsAreMisses: a call was made, so a rejection that
// Resume gives reports a miss, not CacheNone.
func TestResumeRejectionsAreMisses(t *testing.T) {
	p := newPipeline(t)
	for _, tt := range []struct {
		name string
		resp Response
		want string
	}{
		{"unauthorized", answer401, "reject 401 miss UNAUTHORIZED"},
		{"error status", answer500, "reject 500 miss ERROR"},
		{"unreachable", unreached, "reject 500 miss ERROR"},
		{"malformed", malformed, "reject 500 miss ERROR"},
		{"bad header", badHeader, "reject 500 miss ERROR"},
		{"deny", denyAll, "reject 403 miss DENY"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := p.Evaluate(&Request{Method: "GET", Target: "/fresh/x", Headers: bearer(tt.name)}, t0)
			if got := summary(p.Resume(r.Call, tt.resp, t0)); got != tt.want {
				t.Errorf("%s, want %s", got, tt.want)
			}
		})
	}
}

func TestCounters(t *testing.T) {
	tests := []struct {
		name string
		r    Result
		want string
	}{
		{"allow from cache", Result{Kind: KindAllow, Decision: DecisionAllow, CacheState: CacheHit}, "allow,cache_hit"},
		{"allow after a call", Result{Kind: KindAllow, Decision: DecisionAllow, CacheState: CacheMiss}, "allow,cache_miss"},
		{"allow from another VM", Result{Kind: KindAllow, Decision: DecisionAllow, CacheState: CacheShared}, "allow,shared_hit"},
		{"stale allow", Result{Kind: KindAllow, Decision: DecisionAllow, CacheState: CacheStale}, "allow,stale_served"},
		{"explicit deny after a call", Result{Kind: KindReject, Decision: DecisionDeny, CacheState: CacheMiss}, "deny,cache_miss"},
		{"implicit deny from cache", Result{Kind: KindReject, Decision: DecisionImplicitDeny, CacheState: CacheHit}, "deny,cache_hit"},
		{"stale deny", Result{Kind: KindReject, Decision: DecisionDeny, CacheState: CacheStale}, "deny,stale_served"},
		{"missing token", Result{Kind: KindReject, Decision: DecisionUnauthorized}, "unauthorized"},
		{"cached 401", Result{Kind: KindReject, Decision: DecisionUnauthorized, CacheState: CacheHit}, "unauthorized,cache_hit"},
		{"shared 401", Result{Kind: KindReject, Decision: DecisionUnauthorized, CacheState: CacheShared}, "unauthorized,shared_hit"},
		{"authorizer failure", Result{Kind: KindReject, Decision: DecisionError, CacheState: CacheMiss}, "error,cache_miss"},
		{"gateway fault", Result{Kind: KindReject, Decision: DecisionError}, "error"},
		{"none route", Result{Kind: KindAllow, Decision: DecisionNone}, "allow"},
		{"no route", Result{Kind: KindReject, Decision: DecisionNoRoute}, "no_route"},
		{"bad request", Result{Kind: KindReject, Decision: DecisionBadRequest}, "bad_request"},
		{"pending call counts nothing", Result{Kind: KindCall, Decision: DecisionPending, CacheState: CacheMiss}, ""},
		{"zero result counts nothing", Result{}, ""},
		{"unknown decision counts nothing", Result{Kind: KindAllow, Decision: "MAYBE"}, ""},
		{"unknown cache state counts nothing", Result{Kind: KindAllow, Decision: DecisionAllow, CacheState: 200}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(Counters(tt.r), ","); got != tt.want {
				t.Errorf("Counters = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCountersOfRealResults(t *testing.T) {
	p := newModesPipeline(t, nil)
	tests := []struct {
		name   string
		target string
		want   string
	}{
		{"none route counts under NONE", "/open", "authgate.NONE.allow"},
		{"no route counts under NONE", "/nowhere", "authgate.NONE.no_route"},
		{"bad path counts under NONE", "/a/../b", "authgate.NONE.bad_request"},
		{"missing token counts under its authorizer", "/pos", "authgate.pos.unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := p.Evaluate(&Request{Method: "GET", Target: tt.target}, t0)
			var names []string
			for _, c := range Counters(r) {
				names = append(names, MetricName(r.Authorizer, c))
			}
			if got := strings.Join(names, ","); got != tt.want {
				t.Errorf("metrics = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMetricName(t *testing.T) {
	tests := []struct{ name, auth, suffix, want string }{
		{"authorizer", "jwt", MetricAllow, "authgate.jwt.allow"},
		{"no authorizer", "", MetricNoRoute, "authgate.NONE.no_route"},
		{"latency histogram", "jwt", MetricAuthorizerLatency, "authgate.jwt.authorizer_latency_ms"},
		{"embedding counter", "jwt", MetricCoalesced, "authgate.jwt.coalesced"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MetricName(tt.auth, tt.suffix); got != tt.want {
				t.Errorf("MetricName = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCountersDoNotAllocate(t *testing.T) {
	r := Result{Kind: KindAllow, Decision: DecisionAllow, CacheState: CacheHit}
	if n := testing.AllocsPerRun(100, func() { _ = Counters(r) }); n != 0 {
		t.Errorf("Counters allocates %v times", n)
	}
}
