package engine

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/pipeline"
)

// testConfig has one authorizer per cache setting the engine treats
// differently.
const testConfig = `{
  "region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
  "authorizers": {
    "pos":   {"type": "TOKEN", "cluster": "authz"},
    "off":   {"type": "TOKEN", "cluster": "authz", "authorizerResultTtlInSeconds": 0},
    "neg":   {"type": "TOKEN", "cluster": "authz", "authorizerResultTtlInSeconds": 0, "unauthorizedTtlInSeconds": 60},
    "stale": {"type": "TOKEN", "cluster": "authz", "authorizerResultTtlInSeconds": 60, "staleIfErrorSeconds": 120}
  },
  "routes": [
    {"method": "ANY", "path": "/pos", "authorizer": "pos"},
    {"method": "ANY", "path": "/off", "authorizer": "off"},
    {"method": "ANY", "path": "/neg", "authorizer": "neg"},
    {"method": "ANY", "path": "/stale", "authorizer": "stale"},
    {"method": "ANY", "path": "/open", "authorizer": "NONE"}
  ]
}`

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func newEngine(t testing.TB) *Engine {
	t.Helper()
	plan, err := config.Parse([]byte(testConfig))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return New(pipeline.New(plan))
}

// answerFor is an authorizer's answer allowing GET on everything to
// principal p-<tok>, so a result shows whose answer decided it.
func answerFor(tok string) pipeline.Response {
	body := `{"principalId":"p-` + tok + `","policyDocument":{"Version":"2012-10-17","Statement":[` +
		`{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/*"}]}}`
	return pipeline.Response{Status: 200, Body: []byte(body)}
}

var (
	allowGET     = answerFor("a")
	unauthorized = pipeline.Response{Status: 401, Body: []byte(`{"message":"Unauthorized"}`)}
	broken       = pipeline.Response{Status: 500, Body: []byte(`boom`)}
	failed       = pipeline.Response{} // no answer at all
)

func request(method, path, tok string) *pipeline.Request {
	return &pipeline.Request{Method: method, Target: path, SourceIP: "192.0.2.1",
		Headers: []pipeline.Header{{Name: "authorization", Value: "Bearer " + tok}}}
}

// summary renders a result as the tables write it: "allow <cache>
// <principal>", or "<status> <cache>".
func summary(r pipeline.Result) string {
	switch r.Kind {
	case pipeline.KindAllow:
		p := principal(r)
		if p == "" {
			p = "-"
		}
		return "allow " + r.CacheState.String() + " " + p
	case pipeline.KindReject:
		return fmt.Sprintf("%d %v", r.Status, r.CacheState)
	}
	return r.Kind.String()
}

// neverWoken is the continuation of a request that must not wait.
func neverWoken(t *testing.T) func(pipeline.Result) {
	return func(pipeline.Result) { t.Error("a request that did not wait was woken") }
}

// op is one thing that happens to the engine in a scenario.
type op struct {
	do   string        // "eval", "finish", "abandon" or "cancel"
	id   string        // the request it happens to
	at   time.Duration // eval, finish: when, after t0
	req  string        // eval: "METHOD /path token"
	resp pipeline.Response
	// want is, for eval: "lead", "wait" or the final result's summary;
	// for finish: the leader's result; for cancel: "true" or "false".
	want string
	// woken lists, for finish and abandon, the waiters woken ("id:
	// summary"; "call" for one told to evaluate again), in the order they
	// waited.
	woken []string
}

func TestScenarios(t *testing.T) {
	tests := []struct {
		name string
		ops  []op
	}{
		{
			name: "miss, then hit",
			ops: []op{
				{do: "eval", id: "a", req: "GET /pos a", want: "lead"},
				{do: "finish", id: "a", resp: allowGET, want: "allow miss p-a"},
				{do: "eval", id: "b", req: "GET /pos a", want: "allow hit p-a"},
				{do: "eval", id: "c", req: "DELETE /pos a", want: "403 hit"},
			},
		},
		{
			name: "waiters share the call and each get their own result",
			ops: []op{
				{do: "eval", id: "a", req: "GET /pos a", want: "lead"},
				{do: "eval", id: "b", req: "GET /pos a", want: "wait"},
				{do: "eval", id: "c", req: "DELETE /pos a", want: "wait"},
				{do: "eval", id: "d", req: "GET /pos other", want: "lead"},
				{do: "finish", id: "a", resp: allowGET, want: "allow miss p-a",
					woken: []string{"b: allow miss p-a", "c: 403 miss"}},
				{do: "finish", id: "d", resp: answerFor("other"), want: "allow miss p-other"},
			},
		},
		{
			name: "a waiter that goes away is not woken",
			ops: []op{
				{do: "eval", id: "a", req: "GET /pos a", want: "lead"},
				{do: "eval", id: "b", req: "GET /pos a", want: "wait"},
				{do: "eval", id: "c", req: "GET /pos a", want: "wait"},
				{do: "cancel", id: "b", want: "true"},
				{do: "cancel", id: "b", want: "false"},
				{do: "finish", id: "a", resp: allowGET, want: "allow miss p-a", woken: []string{"c: allow miss p-a"}},
				{do: "cancel", id: "c", want: "false"},
			},
		},
		{
			name: "a failed call fails its waiters and is not cached",
			ops: []op{
				{do: "eval", id: "a", req: "GET /pos a", want: "lead"},
				{do: "eval", id: "b", req: "GET /pos a", want: "wait"},
				{do: "finish", id: "a", resp: failed, want: "500 miss", woken: []string{"b: 500 miss"}},
				{do: "eval", id: "c", req: "GET /pos a", want: "lead"},
				{do: "eval", id: "d", req: "GET /pos a", want: "wait"},
				{do: "finish", id: "c", resp: broken, want: "500 miss", woken: []string{"d: 500 miss"}},
				{do: "eval", id: "e", req: "GET /pos a", want: "lead"},
				{do: "finish", id: "e", resp: allowGET, want: "allow miss p-a"},
			},
		},
		{
			name: "stale if error: a failed call serves the expired result to all",
			ops: []op{
				{do: "eval", id: "a", req: "GET /stale a", want: "lead"},
				{do: "finish", id: "a", resp: allowGET, want: "allow miss p-a"},
				{do: "eval", id: "b", at: 59 * time.Second, req: "GET /stale a", want: "allow hit p-a"},
				{do: "eval", id: "c", at: 61 * time.Second, req: "GET /stale a", want: "lead"},
				{do: "eval", id: "d", at: 61 * time.Second, req: "DELETE /stale a", want: "wait"},
				{do: "finish", id: "c", at: 62 * time.Second, resp: failed, want: "allow stale p-a",
					woken: []string{"d: 403 stale"}},
				{do: "eval", id: "e", at: 181 * time.Second, req: "GET /stale a", want: "lead"},
				{do: "finish", id: "e", at: 181 * time.Second, resp: failed, want: "500 miss"},
			},
		},
		{
			name: "unauthorized answers cached for their own TTL",
			ops: []op{
				{do: "eval", id: "a", req: "GET /neg a", want: "lead"},
				{do: "eval", id: "b", req: "GET /neg a", want: "wait"},
				{do: "finish", id: "a", resp: unauthorized, want: "401 miss", woken: []string{"b: 401 miss"}},
				{do: "eval", id: "c", at: 59 * time.Second, req: "GET /neg a", want: "401 hit"},
				{do: "eval", id: "d", at: 61 * time.Second, req: "GET /neg a", want: "lead"},
				{do: "finish", id: "d", at: 61 * time.Second, resp: allowGET, want: "allow miss p-a"},
				{do: "eval", id: "e", at: 61 * time.Second, req: "GET /neg a", want: "lead"},
				{do: "finish", id: "e", at: 61 * time.Second, resp: allowGET, want: "allow miss p-a"},
			},
		},
		{
			name: "TTL 0: concurrent requests share a call, nothing is cached",
			ops: []op{
				{do: "eval", id: "a", req: "GET /off a", want: "lead"},
				{do: "eval", id: "b", req: "GET /off a", want: "wait"},
				{do: "finish", id: "a", resp: allowGET, want: "allow miss p-a", woken: []string{"b: allow miss p-a"}},
				{do: "eval", id: "c", req: "GET /off a", want: "lead"},
				{do: "finish", id: "c", resp: allowGET, want: "allow miss p-a"},
			},
		},
		{
			name: "no authorizer, no route: final at once",
			ops: []op{
				{do: "eval", id: "a", req: "GET /open a", want: "allow - -"},
				{do: "eval", id: "b", req: "GET /nowhere a", want: "403 -"},
			},
		},
		{
			name: "a lost leader is taken over after its timeout and the grace",
			ops: []op{
				{do: "eval", id: "a", req: "GET /pos a", want: "lead"},
				{do: "eval", id: "b", at: 500 * time.Millisecond, req: "GET /pos a", want: "wait"},
				{do: "eval", id: "c", at: 2 * time.Second, req: "GET /pos a", want: "wait"},
				{do: "eval", id: "d", at: 2*time.Second + time.Millisecond, req: "GET /pos a", want: "lead"},
				{do: "eval", id: "e", at: 2*time.Second + time.Millisecond, req: "GET /pos a", want: "wait"},
				{do: "cancel", id: "c", want: "true"},
				{do: "finish", id: "d", at: 3 * time.Second, resp: allowGET, want: "allow miss p-a",
					woken: []string{"b: allow miss p-a", "e: allow miss p-a"}},
				{do: "finish", id: "a", at: 4 * time.Second, resp: broken, want: "500 miss"},
				{do: "eval", id: "f", at: 4 * time.Second, req: "GET /pos a", want: "allow hit p-a"},
			},
		},
		{
			name: "an abandoned call hands its waiters a new evaluation",
			ops: []op{
				{do: "eval", id: "a", req: "GET /pos a", want: "lead"},
				{do: "eval", id: "b", req: "GET /pos a", want: "wait"},
				{do: "eval", id: "c", req: "DELETE /pos a", want: "wait"},
				{do: "abandon", id: "a", woken: []string{"b: call", "c: call"}},
				// Nothing was cached and no call is in flight: the first
				// waiter to evaluate again leads, the next waits for it.
				{do: "eval", id: "b2", req: "GET /pos a", want: "lead"},
				{do: "eval", id: "c2", req: "DELETE /pos a", want: "wait"},
				{do: "abandon", id: "a"},
				{do: "finish", id: "a", resp: allowGET, want: "500 -"},
				{do: "finish", id: "b2", resp: allowGET, want: "allow miss p-a", woken: []string{"c2: 403 miss"}},
				{do: "cancel", id: "b", want: "false"},
			},
		},
		{
			name: "an abandoned call without waiters frees its key at once",
			ops: []op{
				{do: "eval", id: "a", req: "GET /pos a", want: "lead"},
				{do: "abandon", id: "a"},
				{do: "eval", id: "b", req: "GET /pos a", want: "lead"},
				{do: "finish", id: "b", resp: allowGET, want: "allow miss p-a"},
				{do: "abandon", id: "b"},
				{do: "eval", id: "c", req: "GET /pos a", want: "allow hit p-a"},
			},
		},
		{
			name: "a second finish changes nothing",
			ops: []op{
				{do: "eval", id: "a", req: "GET /pos a", want: "lead"},
				{do: "finish", id: "a", resp: allowGET, want: "allow miss p-a"},
				{do: "finish", id: "a", resp: broken, want: "500 -"},
				{do: "eval", id: "b", req: "GET /pos a", want: "allow hit p-a"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t)
			steps := map[string]Step{}
			var woken []string
			for i, o := range tt.ops {
				now := t0.Add(o.at)
				switch o.do {
				case "eval":
					f := strings.Fields(o.req)
					id := o.id
					s := e.Evaluate(request(f[0], f[1], f[2]), now, func(r pipeline.Result) {
						woken = append(woken, id+": "+summary(r))
					})
					steps[o.id] = s
					got := summary(s.Result)
					switch {
					case s.Lead != nil:
						got = "lead"
					case s.Wait != nil:
						got = "wait"
					}
					if got != o.want {
						t.Fatalf("op %d: eval %s = %s, want %s", i, o.id, got, o.want)
					}
				case "finish":
					woken = nil
					got := summary(e.Finish(steps[o.id].Lead, Answer{Response: o.resp}, now))
					if got != o.want {
						t.Fatalf("op %d: finish %s = %s, want %s", i, o.id, got, o.want)
					}
					if strings.Join(woken, "; ") != strings.Join(o.woken, "; ") {
						t.Fatalf("op %d: finish %s woke %q, want %q", i, o.id, woken, o.woken)
					}
				case "abandon":
					woken = nil
					e.Abandon(steps[o.id].Lead)
					if strings.Join(woken, "; ") != strings.Join(o.woken, "; ") {
						t.Fatalf("op %d: abandon %s woke %q, want %q", i, o.id, woken, o.woken)
					}
				case "cancel":
					if got := fmt.Sprint(e.Cancel(steps[o.id].Wait)); got != o.want {
						t.Fatalf("op %d: cancel %s = %s, want %s", i, o.id, got, o.want)
					}
				}
			}
			if calls, waiting := e.InFlight(); calls+waiting != 0 {
				t.Errorf("left in flight: %d calls, %d waiting", calls, waiting)
			}
		})
	}
}

// TestRecheck puts a whole call between a request's cache miss and its
// taking of the lock: the request must then be decided from the cache,
// not call again.
func TestRecheck(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		answer pipeline.Response
		want   string // the late request's result, or "lead"
	}{
		{"cached result", "/pos", allowGET, "allow hit p-a"},
		{"cached unauthorized answer", "/neg", unauthorized, "401 hit"},
		{"TTL 0: nothing to find", "/off", allowGET, "lead"},
		{"failure: nothing to find", "/pos", broken, "lead"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t)
			first := true
			e.evaluate = func(r *pipeline.Request, now time.Time) pipeline.Result {
				res := e.pipe.Evaluate(r, now)
				if first {
					first = false
					// Another request leads and finishes before this
					// one takes the lock.
					s := e.Evaluate(request("GET", tt.path, "a"), now, neverWoken(t))
					if s.Lead == nil {
						t.Fatalf("other request: no lead")
					}
					e.Finish(s.Lead, Answer{Response: tt.answer}, now)
				}
				return res
			}
			s := e.Evaluate(request("GET", tt.path, "a"), t0, neverWoken(t))
			got := summary(s.Result)
			if s.Lead != nil {
				got = "lead"
			}
			if got != tt.want {
				t.Errorf("late request: %s, want %s", got, tt.want)
			}
		})
	}
}

// TestRecheckCallsNoEmbeddingCode checks that the look under the lock does
// not call the request's source address function again.
func TestRecheckCallsNoEmbeddingCode(t *testing.T) {
	e := newEngine(t)
	calls := 0
	r := request("GET", "/pos", "a")
	r.SourceIP, r.SourceIPFunc = "", func() string { calls++; return "192.0.2.1" }
	if s := e.Evaluate(r, t0, neverWoken(t)); s.Lead == nil {
		t.Fatalf("no lead: %s", summary(s.Result))
	}
	if calls != 1 {
		t.Errorf("SourceIPFunc called %d times, want 1", calls)
	}
}

// TestPanics makes each step of the pipeline panic: the request gets the
// failure result, the engine keeps no lock and no call, and waiters get
// their results.
func TestPanics(t *testing.T) {
	tests := []struct {
		name     string
		evalAt   int  // which evaluation panics (1: the first, 2: the look under the lock), 0 none
		resume   bool // the leader's Resume panics
		wantLead string
	}{
		{name: "first evaluation", evalAt: 1, wantLead: "500 -"},
		{name: "look under the lock", evalAt: 2, wantLead: "500 -"},
		{name: "leader's resume", resume: true, wantLead: "lead"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t)
			n := 0
			e.evaluate = func(r *pipeline.Request, now time.Time) pipeline.Result {
				if n++; n == tt.evalAt {
					panic("broken pipeline")
				}
				return e.pipe.Evaluate(r, now)
			}
			var leadCall *pipeline.Call
			e.resume = func(c *pipeline.Call, resp pipeline.Response, now time.Time) pipeline.Result {
				if tt.resume && c == leadCall {
					panic("broken resume")
				}
				return e.pipe.Resume(c, resp, now)
			}
			s := e.Evaluate(request("GET", "/pos", "a"), t0, neverWoken(t))
			got := summary(s.Result)
			if s.Lead != nil {
				got = "lead"
			}
			if got != tt.wantLead {
				t.Fatalf("first request: %s, want %s", got, tt.wantLead)
			}
			if s.Lead == nil {
				if s.Result.Reason != "panic: broken pipeline" {
					t.Errorf("reason %q", s.Result.Reason)
				}
				if calls, waiting := e.InFlight(); calls+waiting != 0 {
					t.Fatalf("left in flight: %d calls, %d waiting", calls, waiting)
				}
				return
			}
			leadCall = s.Lead.Call
			var waiter string
			if w := e.Evaluate(request("GET", "/pos", "a"), t0, func(r pipeline.Result) { waiter = summary(r) }); w.Wait == nil {
				t.Fatalf("second request does not wait")
			}
			res := e.Finish(s.Lead, Answer{Response: allowGET}, t0)
			if summary(res) != "500 -" || res.Reason != "panic: broken resume" {
				t.Errorf("leader: %s %q", summary(res), res.Reason)
			}
			if waiter != "allow miss p-a" {
				t.Errorf("waiter: %q", waiter)
			}
		})
	}
}

// TestContinuationPanic checks that a panicking continuation keeps no
// other waiter from its result, and that Finish then panics with it.
func TestContinuationPanic(t *testing.T) {
	e := newEngine(t)
	s := e.Evaluate(request("GET", "/pos", "a"), t0, neverWoken(t))
	e.Evaluate(request("GET", "/pos", "a"), t0, func(pipeline.Result) { panic("bad continuation") })
	var second string
	e.Evaluate(request("GET", "/pos", "a"), t0, func(r pipeline.Result) { second = summary(r) })
	func() {
		defer func() {
			if v := recover(); v != "bad continuation" {
				t.Errorf("Finish panicked with %v, want the continuation's value", v)
			}
		}()
		e.Finish(s.Lead, Answer{Response: allowGET}, t0)
	}()
	if second != "allow miss p-a" {
		t.Errorf("second waiter: %q", second)
	}
	if calls, waiting := e.InFlight(); calls+waiting != 0 {
		t.Errorf("left in flight: %d calls, %d waiting", calls, waiting)
	}
}

func TestMetrics(t *testing.T) {
	e := newEngine(t)
	count := func(s Step) {
		if s.Lead == nil && s.Wait == nil {
			e.Count(s.Result)
		}
	}
	wake := func(r pipeline.Result) { e.Count(r) }

	a := e.Evaluate(request("GET", "/pos", "a"), t0, wake)
	count(e.Evaluate(request("GET", "/pos", "a"), t0, wake)) // waits
	e.Count(e.Finish(a.Lead, Answer{Response: allowGET, Sent: true, Latency: 7 * time.Millisecond}, t0))
	count(e.Evaluate(request("DELETE", "/pos", "a"), t0, wake)) // 403 hit
	b := e.Evaluate(request("GET", "/pos", "slow"), t0, wake)
	e.Count(e.Finish(b.Lead, Answer{Sent: true, Latency: 1500 * time.Millisecond, TimedOut: true}, t0))
	c := e.Evaluate(request("GET", "/off", "a"), t0, wake)
	e.Count(e.Finish(c.Lead, Answer{}, t0)) // never sent: no latency
	count(e.Evaluate(request("GET", "/open", "a"), t0, wake))
	count(e.Evaluate(request("GET", "/nowhere", "a"), t0, wake))
	e.Count(pipeline.Result{Kind: pipeline.KindAllow, Authorizer: "ghost", Decision: pipeline.DecisionAllow})

	m := e.Metrics()
	want := map[string]uint64{
		"authgate.pos.allow":         2,
		"authgate.pos.cache_miss":    3,
		"authgate.pos.coalesced":     1,
		"authgate.pos.cache_hit":     1,
		"authgate.pos.deny":          1,
		"authgate.pos.error":         1,
		"authgate.pos.timeout":       1,
		"authgate.pos.error_timeout": 1,
		"authgate.off.error":         1,
		"authgate.off.error_refused": 1,
		"authgate.off.cache_miss":    1,
		"authgate.NONE.allow":        1,
		"authgate.NONE.no_route":     1,
		"authgate.ghost.allow":       1,
		"authgate.stale.cache_miss":  0,
	}
	for name, v := range want {
		if got, ok := m.Counters[name]; !ok || got != v {
			t.Errorf("%s = %d (defined %v), want %d", name, got, ok, v)
		}
	}
	var sum uint64
	for name, v := range m.Counters {
		if _, ok := want[name]; !ok {
			sum += v
		}
	}
	if sum != 0 {
		t.Errorf("other counters count %d", sum)
	}
	if h := m.Histograms["authgate.pos.authorizer_latency_ms"]; h.Count != 2 || h.Sum != 1507 {
		t.Errorf("pos latency %+v, want 2 calls, 1507 ms", h)
	}
	if h, ok := m.Histograms["authgate.off.authorizer_latency_ms"]; !ok || h.Count != 0 {
		t.Errorf("off latency %+v (defined %v), want defined and empty", h, ok)
	}
	if len(m.Histograms) != 4 {
		t.Errorf("%d histograms, want one per authorizer", len(m.Histograms))
	}
}

// recorder is a Recorder that keeps what it is told.
type recorder struct {
	mu       sync.Mutex
	counters map[string]uint64
	calls    map[string]uint64 // latency observations by histogram name
	ms       map[string]uint64 // their sum
}

func (r *recorder) Add(authorizer, suffix string) {
	r.mu.Lock()
	r.counters[pipeline.MetricName(authorizer, suffix)]++
	r.mu.Unlock()
}

func (r *recorder) Observe(authorizer string, ms uint64) {
	name := pipeline.MetricName(authorizer, pipeline.MetricAuthorizerLatency)
	r.mu.Lock()
	r.calls[name]++
	r.ms[name] += ms
	r.mu.Unlock()
}

// TestRecorder checks that a Recorder is told exactly what the engine's own
// metrics count, coalesced waiters, timeouts and latencies included.
func TestRecorder(t *testing.T) {
	plan, err := config.Parse([]byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{counters: map[string]uint64{}, calls: map[string]uint64{}, ms: map[string]uint64{}}
	e := New(pipeline.New(plan), WithRecorder(rec))
	wake := func(r pipeline.Result) { e.Count(r) }
	a := e.Evaluate(request("GET", "/pos", "a"), t0, wake)
	e.Evaluate(request("GET", "/pos", "a"), t0, wake)
	e.Evaluate(request("DELETE", "/pos", "a"), t0, wake)
	e.Count(e.Finish(a.Lead, Answer{Response: allowGET, Sent: true, Latency: 12 * time.Millisecond}, t0))
	e.Count(e.Evaluate(request("GET", "/pos", "a"), t0, wake).Result)
	b := e.Evaluate(request("GET", "/off", "a"), t0, wake)
	e.Count(e.Finish(b.Lead, Answer{Sent: true, Latency: time.Second, TimedOut: true}, t0))
	e.Count(e.Evaluate(request("GET", "/nowhere", "a"), t0, wake).Result)

	m := e.Metrics()
	for name, v := range m.Counters {
		if got := rec.counters[name]; got != v {
			t.Errorf("%s: recorder %d, engine %d", name, got, v)
		}
	}
	for name := range rec.counters {
		if _, ok := m.Counters[name]; !ok {
			t.Errorf("recorder counted %s, the engine did not", name)
		}
	}
	if rec.counters["authgate.pos.coalesced"] != 2 || rec.counters["authgate.off.timeout"] != 1 {
		t.Errorf("recorder counters %v", rec.counters)
	}
	for name, h := range m.Histograms {
		if rec.calls[name] != h.Count || rec.ms[name] != h.Sum {
			t.Errorf("%s: recorder %d calls %d ms, engine %d calls %d ms", name, rec.calls[name], rec.ms[name], h.Count, h.Sum)
		}
	}
}

// TestAbandonHandsEachWaiterItsOwnCall checks what an abandoned call's
// waiters are given: their own pending Call, to evaluate again, and no
// metric moves.
func TestAbandonHandsEachWaiterItsOwnCall(t *testing.T) {
	e := newEngine(t)
	l := e.Evaluate(request("GET", "/pos", "a"), t0, neverWoken(t))
	var got []pipeline.Result
	var waits []Step
	for _, method := range []string{"GET", "DELETE"} {
		waits = append(waits, e.Evaluate(request(method, "/pos", "a"), t0, func(r pipeline.Result) { got = append(got, r) }))
	}
	before := e.Metrics().Counters
	e.Abandon(l.Lead)
	if len(got) != 2 {
		t.Fatalf("%d continuations ran, want 2", len(got))
	}
	for i, r := range got {
		if r.Kind != pipeline.KindCall || r.Call != waits[i].Result.Call || r.Authorizer != "pos" {
			t.Errorf("waiter %d got %v (call %p, want %p)", i, r.Kind, r.Call, waits[i].Result.Call)
		}
	}
	for name, v := range e.Metrics().Counters {
		if before[name] != v {
			t.Errorf("%s moved from %d to %d", name, before[name], v)
		}
	}
	if calls, waiting := e.InFlight(); calls+waiting != 0 {
		t.Errorf("left in flight: %d calls, %d waiting", calls, waiting)
	}
}

func TestCountAllocatesNothing(t *testing.T) {
	e := newEngine(t)
	res := pipeline.Result{Kind: pipeline.KindAllow, Authorizer: "pos", Decision: pipeline.DecisionAllow, CacheState: pipeline.CacheHit}
	if n := testing.AllocsPerRun(100, func() { e.Count(res) }); n != 0 {
		t.Errorf("allocations = %v, want 0", n)
	}
}

// TestBurst starts N first requests for one identity at once: exactly one
// leads, and every other gets the leader's answer, from the call or from
// the cache it filled.
func TestBurst(t *testing.T) {
	for _, path := range []string{"/pos", "/off"} {
		t.Run(path, func(t *testing.T) {
			const n = 64
			e := newEngine(t)
			var mu sync.Mutex
			leads := 0
			results := make([]string, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					done := make(chan pipeline.Result, 1)
					s := e.Evaluate(request("GET", path, "a"), t0, func(r pipeline.Result) { done <- r })
					var r pipeline.Result
					switch {
					case s.Lead != nil:
						mu.Lock()
						leads++
						mu.Unlock()
						r = e.Finish(s.Lead, Answer{Response: allowGET}, t0)
					case s.Wait != nil:
						r = <-done
					default:
						r = s.Result
					}
					results[i] = summary(r)
				})
			}
			close(start)
			wg.Wait()
			// With TTL 0 a request arriving after the call retired
			// leads a new one; with a TTL it finds the cache.
			if path == "/pos" && leads != 1 {
				t.Errorf("%d leads, want 1", leads)
			}
			for i, r := range results {
				if !strings.HasPrefix(r, "allow ") || !strings.HasSuffix(r, " p-a") {
					t.Errorf("request %d: %s", i, r)
				}
			}
		})
	}
}
