package gate_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/pipeline"
	"github.com/authgate/authgate/filter/module/abi"
	"github.com/authgate/authgate/filter/module/internal/gate"
	"github.com/authgate/authgate/filter/module/internal/gate/gatetest"
)

const tokenConfig = `{
  "region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
  "authorizers": {
    "jwt": {"type": "TOKEN", "cluster": "authorizer", "path": "/auth", "authority": "authorizer.local",
            "timeoutMs": 1500, "identitySource": "method.request.header.Authorization",
            "identityValidationExpression": "^Bearer [-0-9a-zA-Z._]+$", "authorizerResultTtlInSeconds": 300}
  },
  "routes": [
    {"method": "ANY", "path": "/health", "authorizer": "NONE"},
    {"method": "ANY", "path": "/{proxy+}", "authorizer": "jwt"}
  ]
}`

// policy is an authorizer answer with one statement for the whole stage.
func policy(principal, effect string) string {
	b, _ := json.Marshal(map[string]any{
		"principalId": principal,
		"policyDocument": map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Action": "execute-api:Invoke", "Effect": effect,
				"Resource": "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/*",
			}},
		},
	})
	return string(b)
}

// env is one configuration in a fake Envoy with one worker.
type env struct {
	t   *testing.T
	e   *gatetest.Envoy
	w   *gatetest.Worker
	cfg *gate.Config
}

func newEnv(t *testing.T, cfg string) *env {
	t.Helper()
	e := gatetest.New()
	c, err := gate.NewConfig(e.Host(), e.Metrics(), gate.FilterName, []byte(cfg))
	if err != nil {
		t.Fatalf("NewConfig: %v", err)
	}
	e.Freeze()
	w := e.NewWorker()
	t.Cleanup(func() {
		w.Stop()
		if v := e.Violations(); len(v) > 0 {
			t.Errorf("Envoy called from the wrong thread: %v", v)
		}
	})
	return &env{t: t, e: e, w: w, cfg: c}
}

// stream makes a stream on worker w with the request's pseudo headers and
// headers (name, value pairs).
func (v *env) stream(w *gatetest.Worker, method, path string, headers ...string) *gatetest.Stream {
	hs := []gate.Header{{Name: ":method", Value: method}, {Name: ":path", Value: path},
		{Name: ":scheme", Value: "http"}, {Name: ":authority", Value: "api.example.com"}}
	for i := 0; i+1 < len(headers); i += 2 {
		hs = append(hs, gate.Header{Name: headers[i], Value: headers[i+1]})
	}
	s := &gatetest.Stream{W: w, Headers: hs, Attributes: map[abi.AttributeID]string{
		abi.AttrSourceAddress: "198.51.100.7:51234", abi.AttrRequestProtocol: "HTTP/1.1", abi.AttrRequestID: "rid-1"}}
	s.Filter = v.cfg.NewFilter()
	return s
}

// headers runs the request-headers hook on the stream's worker.
func (v *env) headers(s *gatetest.Stream) abi.HeadersStatus {
	var st abi.HeadersStatus
	s.W.Do(func() { st = s.Filter.OnRequestHeaders(s, true) })
	return st
}

// answer delivers a callout's answer on the stream's worker.
func (v *env) answer(s *gatetest.Stream, id uint64, result abi.CalloutResult, status int, body string) {
	var hs []gate.Header
	if status != 0 {
		hs = []gate.Header{{Name: ":status", Value: fmt.Sprint(status)}, {Name: "content-type", Value: "application/json"}}
	}
	s.W.Do(func() { s.Filter.OnCalloutDone(s, id, result, hs, []byte(body), len(body)) })
	s.W.Drain()
}

func (v *env) stat(name string) uint64 {
	n, _ := v.e.Stat(name)
	return n
}

func header(hs []gate.Header, name string) []string {
	var out []string
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			out = append(out, h.Value)
		}
	}
	return out
}

func TestRequestFlow(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		headers []string
		init    abi.CalloutInit // Envoy's answer to the callout request
		// the authorizer's answer, when a callout is expected
		result     abi.CalloutResult
		status     int
		body       string
		wantStatus int // 0: continued upstream
		wantBody   string
		principal  string
		counters   []string // counters that must read 1
	}{
		{name: "allow", path: "/pets/1", headers: []string{"authorization", "Bearer a1", "x-authorizer-principal-id", "forged"},
			status: 200, body: policy("alice", "Allow"), principal: "alice",
			counters: []string{"authgate.jwt.allow", "authgate.jwt.cache_miss"}},
		{name: "explicit deny", path: "/pets/1", headers: []string{"authorization", "Bearer d1"},
			status: 200, body: policy("bob", "Deny"), wantStatus: 403,
			wantBody: `{"Message":"User is not authorized to access this resource with an explicit deny"}`,
			counters: []string{"authgate.jwt.deny"}},
		{name: "no token", path: "/pets/1", wantStatus: 401, wantBody: `{"message":"Unauthorized"}`,
			counters: []string{"authgate.jwt.unauthorized"}},
		{name: "unauthorized answer", path: "/pets/1", headers: []string{"authorization", "Bearer u1"},
			status: 401, body: `{"message":"Unauthorized"}`, wantStatus: 401, wantBody: `{"message":"Unauthorized"}`},
		{name: "authorizer error", path: "/pets/1", headers: []string{"authorization", "Bearer e1"},
			status: 500, body: "oops", wantStatus: 500, wantBody: `{"message":null}`,
			counters: []string{"authgate.jwt.error"}},
		{name: "malformed answer", path: "/pets/1", headers: []string{"authorization", "Bearer m1"},
			status: 200, body: `{"principalId":`, wantStatus: 500, wantBody: `{"message":null}`},
		{name: "reset", path: "/pets/1", headers: []string{"authorization", "Bearer r1"},
			result: abi.CalloutReset, wantStatus: 500, wantBody: `{"message":null}`,
			counters: []string{"authgate.jwt.error_reset", "authgate.jwt.error"}},
		{name: "envoy timeout", path: "/pets/1", headers: []string{"authorization", "Bearer t1"},
			status: 504, body: "upstream request timeout", wantStatus: 500, wantBody: `{"message":null}`,
			counters: []string{"authgate.jwt.timeout", "authgate.jwt.error_timeout"}},
		{name: "unknown cluster", path: "/pets/1", headers: []string{"authorization", "Bearer c1"},
			init: abi.CalloutInitClusterNotFound, wantStatus: 500, wantBody: `{"message":null}`,
			counters: []string{"authgate.jwt.error", "authgate.jwt.error_refused"}},
		{name: "no authorizer", path: "/health", counters: []string{"authgate.NONE.allow"}},
		{name: "dot segment", path: "/pets/../admin", wantStatus: 400, wantBody: `{"message":"Bad Request"}`,
			counters: []string{"authgate.NONE.bad_request"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEnv(t, tokenConfig)
			s := v.stream(v.w, "GET", tt.path, tt.headers...)
			s.CalloutInit = tt.init
			st := v.headers(s)
			wantCallout := tt.status != 0 || tt.result != abi.CalloutSuccess
			calls := s.Callouts()
			if wantCallout {
				if st != abi.HeadersStopAllIterationAndWatermark || len(calls) != 1 {
					t.Fatalf("status %v, %d callouts: want a paused stream and one callout", st, len(calls))
				}
				c := calls[0]
				if c.Cluster != "authorizer" || c.TimeoutMs != 1500 ||
					!slices.Equal(header(c.Headers, ":method"), []string{"POST"}) ||
					!slices.Equal(header(c.Headers, ":path"), []string{"/auth"}) ||
					!slices.Equal(header(c.Headers, ":authority"), []string{"authorizer.local"}) ||
					!slices.Equal(header(c.Headers, "content-type"), []string{"application/json"}) {
					t.Errorf("callout %+v", c)
				}
				if !strings.Contains(c.Body, `"type":"TOKEN"`) || !strings.Contains(c.Body, `"methodArn":"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets/1"`) {
					t.Errorf("event %s", c.Body)
				}
				v.answer(s, c.ID, tt.result, tt.status, tt.body)
			} else if len(calls) != 0 {
				t.Fatalf("%d callouts, want none", len(calls))
			}
			resps := s.Responses()
			if tt.wantStatus == 0 {
				if len(resps) != 0 {
					t.Fatalf("answered %+v, want the request continued", resps)
				}
				if wantCallout && s.Continued() != 1 {
					t.Errorf("ContinueDecoding called %d times, want 1", s.Continued())
				}
				if !wantCallout && st != abi.HeadersContinue {
					t.Errorf("status %v, want Continue", st)
				}
				want := []string(nil)
				if tt.principal != "" {
					want = []string{tt.principal}
				}
				if got := header(s.Headers, "x-authorizer-principal-id"); !slices.Equal(got, want) {
					t.Errorf("x-authorizer-principal-id %q, want %q", got, want)
				}
			} else {
				if len(resps) != 1 || resps[0].Status != tt.wantStatus || resps[0].Body != tt.wantBody || resps[0].Details != gate.Details {
					t.Fatalf("responses %+v, want one %d %s", resps, tt.wantStatus, tt.wantBody)
				}
				if s.Continued() != 0 {
					t.Errorf("an answered stream was continued")
				}
			}
			for _, name := range tt.counters {
				if n := v.stat(name); n != 1 {
					t.Errorf("%s = %d, want 1", name, n)
				}
			}
			if wantCallout && tt.init == abi.CalloutInitSuccess {
				if n := v.stat("authgate.jwt.authorizer_latency_ms"); n != 1 {
					t.Errorf("latency samples %d, want 1", n)
				}
			}
		})
	}
}

func TestCacheHitMakesNoCallout(t *testing.T) {
	v := newEnv(t, tokenConfig)
	first := v.stream(v.w, "GET", "/pets/1", "authorization", "Bearer a1")
	v.headers(first)
	v.answer(first, first.Callouts()[0].ID, abi.CalloutSuccess, 200, policy("alice", "Allow"))
	second := v.stream(v.w, "DELETE", "/pets/2", "authorization", "Bearer a1")
	if st := v.headers(second); st != abi.HeadersContinue || len(second.Callouts()) != 0 {
		t.Fatalf("status %v with %d callouts, want Continue from the cache", st, len(second.Callouts()))
	}
	if got := header(second.Headers, "x-authorizer-principal-id"); !slices.Equal(got, []string{"alice"}) {
		t.Errorf("principal %q", got)
	}
	if v.stat("authgate.jwt.cache_hit") != 1 || v.stat("authgate.jwt.allow") != 2 {
		t.Errorf("cache_hit %d allow %d", v.stat("authgate.jwt.cache_hit"), v.stat("authgate.jwt.allow"))
	}
}

// TestAnswerAfterStreamGone: Envoy cancels a destroyed stream's callouts,
// and an answer that still arrives, or arrives twice, changes nothing.
func TestAnswerAfterStreamGone(t *testing.T) {
	v := newEnv(t, tokenConfig)
	s := v.stream(v.w, "GET", "/pets/1", "authorization", "Bearer a1")
	v.headers(s)
	id := s.Callouts()[0].ID
	s.W.Do(func() { s.Filter.OnStreamComplete(); s.Filter.OnDestroy() })
	v.answer(s, id, abi.CalloutSuccess, 200, policy("alice", "Allow"))
	if len(s.Responses()) != 0 || s.Continued() != 0 {
		t.Errorf("a destroyed stream was answered %+v or continued %d times", s.Responses(), s.Continued())
	}

	s2 := v.stream(v.w, "GET", "/pets/1", "authorization", "Bearer a2")
	v.headers(s2)
	id = s2.Callouts()[0].ID
	v.answer(s2, id+7, abi.CalloutSuccess, 200, policy("mallory", "Allow"))
	v.answer(s2, id, abi.CalloutSuccess, 200, policy("alice", "Deny"))
	v.answer(s2, id, abi.CalloutSuccess, 200, policy("alice", "Allow"))
	if r := s2.Responses(); len(r) != 1 || r[0].Status != 403 || s2.Continued() != 0 {
		t.Errorf("responses %+v continued %d: want the one 403 of the real answer", r, s2.Continued())
	}
}

func TestBodyAndTrailersWaitForTheDecision(t *testing.T) {
	v := newEnv(t, tokenConfig)
	s := v.stream(v.w, "POST", "/pets", "authorization", "Bearer a1")
	var body abi.BodyStatus
	var trailers abi.TrailersStatus
	s.W.Do(func() { body, trailers = s.Filter.OnRequestBody(), s.Filter.OnRequestTrailers() })
	if body == abi.BodyContinue || trailers == abi.TrailersContinue {
		t.Errorf("before the headers: body %v trailers %v", body, trailers)
	}
	v.headers(s)
	s.W.Do(func() { body, trailers = s.Filter.OnRequestBody(), s.Filter.OnRequestTrailers() })
	if body == abi.BodyContinue || trailers == abi.TrailersContinue {
		t.Errorf("while pending: body %v trailers %v", body, trailers)
	}
	v.answer(s, s.Callouts()[0].ID, abi.CalloutSuccess, 200, policy("alice", "Allow"))
	s.W.Do(func() { body, trailers = s.Filter.OnRequestBody(), s.Filter.OnRequestTrailers() })
	if body != abi.BodyContinue || trailers != abi.TrailersContinue {
		t.Errorf("after allow: body %v trailers %v", body, trailers)
	}
}

// panicky is a stream whose header read panics.
type panicky struct{ *gatetest.Stream }

func (p panicky) RequestHeaders() []gate.Header { panic("boom") }

func TestPanicFailsClosed(t *testing.T) {
	v := newEnv(t, tokenConfig)
	s := v.stream(v.w, "GET", "/pets/1", "authorization", "Bearer a1")
	var st abi.HeadersStatus
	s.W.Do(func() { st = s.Filter.OnRequestHeaders(panicky{s}, true) })
	if r := s.Responses(); st != abi.HeadersStopIteration || len(r) != 1 || r[0].Status != 500 {
		t.Fatalf("status %v responses %+v, want a 500", st, r)
	}
	if !slices.ContainsFunc(v.e.Log(), func(l string) bool { return strings.HasPrefix(l, "error: panic on request headers") }) {
		t.Errorf("no error line for the panic: %q", v.e.Log())
	}
}

const httpConfig = `{
  "apiType": "HTTP", "region": "us-east-1", "accountId": "123456789012", "apiId": "h1t2t3p4", "stage": "$default",
  "authorizers": {"v2": {"type": "REQUEST", "cluster": "authz", "authorizerPayloadFormatVersion": "2.0",
                         "identitySource": "$request.header.Authorization"}},
  "routes": [{"method": "ANY", "path": "$default", "authorizer": "v2"}]
}`

// TestEventCarriesEnvoyAttributes: an HTTP API event reads the source
// address (without its port), the protocol, the request id and the
// authority from Envoy.
func TestEventCarriesEnvoyAttributes(t *testing.T) {
	v := newEnv(t, httpConfig)
	s := v.stream(v.w, "GET", "/pets/1?x=1", "authorization", "Bearer h1", "x-request-id", "rid-header")
	v.headers(s)
	calls := s.Callouts()
	if len(calls) != 1 {
		t.Fatalf("%d callouts", len(calls))
	}
	var ev struct {
		RequestContext struct {
			DomainName string `json:"domainName"`
			RequestID  string `json:"requestId"`
			HTTP       struct {
				Protocol string `json:"protocol"`
				SourceIP string `json:"sourceIp"`
			} `json:"http"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal([]byte(calls[0].Body), &ev); err != nil {
		t.Fatal(err)
	}
	rc := ev.RequestContext
	if rc.DomainName != "api.example.com" || rc.RequestID != "rid-header" || rc.HTTP.Protocol != "HTTP/1.1" || rc.HTTP.SourceIP != "198.51.100.7" {
		t.Errorf("requestContext %+v", rc)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name, filter, config, want string
	}{
		{"bad field", gate.FilterName, strings.Replace(tokenConfig, `"timeoutMs": 1500`, `"timeoutMs": -5`, 1),
			"invalid plugin configuration: authorizers.jwt.timeoutMs"},
		{"not JSON", gate.FilterName, `{"region":`, "invalid plugin configuration: "},
		{"empty", gate.FilterName, "", "invalid plugin configuration: filter_config is empty"},
		{"other filter", "other", tokenConfig, `invalid plugin configuration: filter_name "other"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := gatetest.New()
			if _, err := gate.NewConfig(e.Host(), e.Metrics(), tt.filter, []byte(tt.config)); err == nil {
				t.Fatal("NewConfig accepted the configuration")
			}
			if !slices.ContainsFunc(e.Log(), func(l string) bool { return strings.HasPrefix(l, "error: "+tt.want) }) {
				t.Errorf("log %q has no error line starting %q", e.Log(), tt.want)
			}
		})
	}
}

// TestMetricsDefinedUpFront: every counter the wasm filter defines exists
// (at zero) once the configuration does, since Envoy refuses definitions
// later.
func TestMetricsDefinedUpFront(t *testing.T) {
	v := newEnv(t, tokenConfig)
	var want []string
	for _, s := range []string{pipeline.MetricAllow, pipeline.MetricDeny, pipeline.MetricUnauthorized, pipeline.MetricError, pipeline.MetricBadRequest,
		pipeline.MetricErrorRefused, pipeline.MetricErrorReset, pipeline.MetricErrorTimeout, pipeline.MetricErrorStatus,
		pipeline.MetricErrorMalformed, pipeline.MetricTimeout, pipeline.MetricCacheHit, pipeline.MetricCacheMiss, pipeline.MetricSharedHit,
		pipeline.MetricCoalesced, pipeline.MetricStaleServed, pipeline.MetricAuthorizerLatency} {
		want = append(want, pipeline.MetricName("jwt", s))
	}
	for _, s := range []string{pipeline.MetricAllow, pipeline.MetricError, pipeline.MetricNoRoute, pipeline.MetricBadRequest} {
		want = append(want, pipeline.MetricName("", s))
	}
	got := v.e.Stats()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("metrics\n got %q\nwant %q", got, want)
	}
}

// TestPostRunsOnTheStreamsWorker: a continuation posted from another
// goroutine runs later, on the worker that owns the stream, with the
// stream; never in the poster, never after the stream is gone.
func TestPostRunsOnTheStreamsWorker(t *testing.T) {
	v := newEnv(t, tokenConfig)
	other := v.e.NewWorker()
	t.Cleanup(other.Stop)
	s := v.stream(v.w, "GET", "/pets/1", "authorization", "Bearer a1")
	if s.Filter.Post(func(gate.Stream) {}) {
		t.Fatal("Post succeeded before Prepare")
	}
	s.W.Do(func() { s.Filter.Prepare(s); s.Filter.Prepare(s) })
	if made, _ := s.Schedulers(); made != 1 {
		t.Errorf("%d schedulers made, want 1", made)
	}
	var mu sync.Mutex
	var ran []string
	// Posted from the other worker, as a leader's callout on another
	// thread would post.
	other.Do(func() {
		for i := range 3 {
			ok := s.Filter.Post(func(st gate.Stream) {
				st.SetRequestHeader("x-step", fmt.Sprint(i)) // checked by the fake: on s's worker only
				mu.Lock()
				ran = append(ran, fmt.Sprint(i))
				mu.Unlock()
			})
			if !ok {
				t.Errorf("Post %d refused", i)
			}
		}
	})
	v.w.Drain()
	if !slices.Equal(ran, []string{"0", "1", "2"}) || !slices.Equal(s.Delivered(), []uint64{1, 2, 3}) {
		t.Errorf("ran %q delivered %v", ran, s.Delivered())
	}

	// An event queued before the stream is destroyed is dropped by Envoy;
	// Post refuses after the destroy hook, which closes the scheduler.
	s.W.Do(func() {
		// Queued behind this task, so it arrives after the destroy.
		s.Filter.Post(func(gate.Stream) { t.Error("event ran on a destroyed stream") })
		s.Destroy()
		s.Filter.OnDestroy()
	})
	if s.Filter.Post(func(gate.Stream) { t.Error("event ran after OnDestroy") }) {
		t.Error("Post accepted after OnDestroy")
	}
	v.w.Drain()
	if _, open := s.Schedulers(); open != 0 {
		t.Errorf("%d schedulers left open", open)
	}
}

// TestUpstreamReadings: the module removes names a CGI-style upstream
// reads as authorizer or override headers, on a NONE route, refuses a
// method outside API Gateway's, and writes an IPv4-mapped peer as IPv4,
// as every other host does.
func TestUpstreamReadings(t *testing.T) {
	v := newEnv(t, tokenConfig)
	s := v.stream(v.w, "GET", "/health", "x_authorizer_principal_id", "admin", "x-authorizer_tier", "gold",
		"x-original-url", "/admin", "accept", "*/*")
	if st := v.headers(s); st != abi.HeadersContinue {
		t.Fatalf("NONE route: status %v, want continue", st)
	}
	for _, name := range []string{"x_authorizer_principal_id", "x-authorizer_tier", "x-original-url"} {
		if got := header(s.Headers, name); got != nil {
			t.Errorf("%s still there: %q", name, got)
		}
	}
	if got := header(s.Headers, "accept"); !slices.Equal(got, []string{"*/*"}) {
		t.Errorf("accept = %q, want it kept", got)
	}

	m := v.stream(v.w, "delete", "/pets/1", "authorization", "Bearer m1")
	v.headers(m)
	if r := m.Responses(); len(r) != 1 || r[0].Status != 403 || len(m.Callouts()) != 0 {
		t.Errorf("lower-case delete: responses %+v, callouts %d; want 403 without a call", r, len(m.Callouts()))
	}

	h := newEnv(t, httpConfig)
	hs := h.stream(h.w, "GET", "/pets/1", "authorization", "Bearer h2")
	hs.Attributes[abi.AttrSourceAddress] = "[::ffff:10.1.2.3]:51234"
	h.headers(hs)
	calls := hs.Callouts()
	if len(calls) != 1 {
		t.Fatalf("%d callouts", len(calls))
	}
	var ev struct {
		RequestContext struct {
			HTTP struct {
				SourceIP string `json:"sourceIp"`
			} `json:"http"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal([]byte(calls[0].Body), &ev); err != nil {
		t.Fatal(err)
	}
	if got := ev.RequestContext.HTTP.SourceIP; got != "10.1.2.3" {
		t.Errorf("sourceIp %q, want 10.1.2.3", got)
	}
}

// TestDecisionLines: a final decision is logged at debug, or at info with
// logDecisions, with the record first and the stream after it, as the
// wasm filter logs; a failed call at warn in either case.
func TestDecisionLines(t *testing.T) {
	withLog := strings.Replace(tokenConfig, `"stage": "prod",`, `"stage": "prod", "logDecisions": true,`, 1)
	tests := []struct {
		name, cfg, token string
		result           abi.CalloutResult
		status           int
		want             string
	}{
		{"allow at debug", tokenConfig, "Bearer d1", abi.CalloutSuccess, 200,
			"debug: method=GET path=/pets/1 route=/{proxy+} authorizer=jwt cache=miss decision=ALLOW status=200 request_id=rid-1 stream="},
		{"allow at info with logDecisions", withLog, "Bearer d2", abi.CalloutSuccess, 200,
			"info: method=GET path=/pets/1 route=/{proxy+} authorizer=jwt cache=miss decision=ALLOW status=200 request_id=rid-1 stream="},
		{"reset at warn", withLog, "Bearer d3", abi.CalloutReset, 0,
			"warning: method=GET path=/pets/1 route=/{proxy+} authorizer=jwt cache=miss decision=ERROR status=500 reason=\"authorizer call reset\" request_id=rid-1 stream="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEnv(t, tt.cfg)
			s := v.stream(v.w, "GET", "/pets/1?secret=q", "authorization", tt.token)
			v.headers(s)
			calls := s.Callouts()
			if len(calls) != 1 {
				t.Fatalf("%d callouts, want 1", len(calls))
			}
			body := ""
			if tt.status == 200 {
				body = `{"principalId":"u1","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}}`
			}
			v.answer(s, calls[0].ID, tt.result, tt.status, body)
			var found []string
			for _, l := range v.e.Log() {
				if strings.Contains(l, "decision=") && !strings.Contains(l, "callout=") {
					found = append(found, l)
				}
			}
			if len(found) != 1 || !strings.HasPrefix(found[0], tt.want) {
				t.Errorf("decision lines %q, want one starting %q", found, tt.want)
			}
			if len(found) == 1 && strings.Contains(found[0], "secret") {
				t.Errorf("decision line %q shows the query", found[0])
			}
		})
	}
}

// TestConfigurationWarnings: the module logs what validate warns about
// when Envoy loads the configuration.
func TestConfigurationWarnings(t *testing.T) {
	cfg := strings.Replace(tokenConfig, `"stage": "prod",`, `"stage": "prod", "keepOverrideHeaders": true,`, 1)
	v := newEnv(t, cfg)
	want := "warning: configuration: " + config.WarnKeepOverrideHeaders
	if got := v.e.Log(); !slices.Contains(got, want) {
		t.Errorf("log %q, want the line %q", got, want)
	}
	if got := newEnv(t, tokenConfig).e.Log(); slices.ContainsFunc(got, func(l string) bool { return strings.HasPrefix(l, "warning:") }) {
		t.Errorf("warnings for a plain configuration: %q", got)
	}
}
