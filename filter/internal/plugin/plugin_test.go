package plugin

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/filter/abi"
	"github.com/authgate/authgate/filter/internal/proxywasm/proxywasmtest"
)

const rootID = 1

const testConfig = `{
  "region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
  "authorizers": {
    "tok": {"type": "TOKEN", "cluster": "authz", "path": "/check", "timeoutMs": 500},
    "req": {"type": "REQUEST", "cluster": "authz", "identitySource": "method.request.header.X-Api-Key"}
  },
  "routes": [
    {"method": "ANY", "path": "/health", "authorizer": "NONE"},
    {"method": "GET", "path": "/req", "authorizer": "req"},
    {"method": "ANY", "path": "/pets/{id}", "authorizer": "tok"}
  ]
}`

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// env is a configured plugin on a fake host.
type env struct {
	t *testing.T
	h *proxywasmtest.Host
	p *Plugin
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, testConfig)
}

// newEnvWith is newEnv with another plugin configuration.
func newEnvWith(t *testing.T, cfg string) *env {
	t.Helper()
	h := proxywasmtest.New(t0)
	h.PluginConfig = []byte(cfg)
	h.AddRoot(rootID)
	p := New(h)
	h.Current = rootID
	p.OnContextCreate(rootID, 0)
	if !p.OnVMStart(rootID, 0) || !p.OnConfigure(rootID, uint32(len(cfg))) {
		t.Fatalf("configure failed: %v", h.Logs)
	}
	return &env{t, h, p}
}

// request starts stream id with the given request headers and runs its
// request-headers callback.
func (e *env) request(id uint32, method, path string, headers ...abi.Header) abi.Action {
	hs := append([]abi.Header{{Name: ":method", Value: method}, {Name: ":path", Value: path},
		{Name: ":scheme", Value: "http"}, {Name: ":authority", Value: "api.example.com"}}, headers...)
	e.h.AddStream(id, rootID, "10.1.2.3:40000", hs...)
	e.h.Current = id
	e.p.OnContextCreate(id, rootID)
	return e.p.OnRequestHeaders(id, uint32(len(hs)), true)
}

// answer delivers the authorizer's answer to callout token on the root
// context, as Envoy does. status 0 delivers a failed call (no headers).
func (e *env) answer(token uint32, status int, body string) {
	e.h.Current = rootID
	if status == 0 {
		e.h.SetCalloutResponse(rootID, nil, nil)
		e.p.OnHTTPCallResponse(rootID, token, 0, 0, 0)
		return
	}
	hs := []abi.Header{{Name: ":status", Value: itoa(status)}, {Name: "content-type", Value: "application/json"}}
	e.h.SetCalloutResponse(rootID, hs, []byte(body))
	e.p.OnHTTPCallResponse(rootID, token, uint32(len(hs)), uint32(len(body)), 0)
}

// end finishes stream id the way Envoy does: done, then delete.
func (e *env) end(id uint32) {
	e.h.Current = id
	if !e.p.OnDone(id) {
		e.t.Errorf("OnDone(%d) = false", id)
	}
	e.p.OnDelete(id)
	e.h.Streams[id].Deleted = true
}

// assertEmpty checks that no per-request state survives.
func (e *env) assertEmpty() {
	e.t.Helper()
	if len(e.p.streams) != 0 || !e.p.vm.Idle() {
		e.t.Errorf("state left: streams=%d, protocol idle %v", len(e.p.streams), e.p.vm.Idle())
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func policy(effect string, ctx map[string]any) string {
	doc := map[string]any{
		"principalId": "user-1",
		"policyDocument": map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Action": "execute-api:Invoke", "Effect": effect,
				"Resource": "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/*",
			}},
		},
	}
	if ctx != nil {
		doc["context"] = ctx
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

func bearer(tok string) abi.Header { return abi.Header{Name: "authorization", Value: "Bearer " + tok} }

func header(hs []abi.Header, name string) (string, bool) {
	for _, h := range hs {
		if h.Name == name {
			return h.Value, true
		}
	}
	return "", false
}

var (
	unauthorized = `{"message":"Unauthorized"}`
	failure      = `{"message":null}`
	denied       = `{"Message":"User is not authorized to access this resource with an explicit deny"}`
	noRoute      = `{"Message":"Missing Authentication Token"}`
)

func TestRequestHeaders(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		path      string
		headers   []abi.Header
		action    abi.Action
		status    uint32 // local response, 0 for none
		body      string
		errorType string
		callouts  int
	}{
		{name: "no route", method: "GET", path: "/nope", action: abi.ActionPause,
			status: 403, body: `{"message":"Missing Authentication Token"}`, errorType: "MissingAuthenticationTokenException"},
		{name: "route without authorizer", method: "GET", path: "/health", action: abi.ActionContinue},
		{name: "missing token", method: "GET", path: "/pets/1", action: abi.ActionPause,
			status: 401, body: unauthorized, errorType: "UnauthorizedException"},
		{name: "bad path", method: "GET", path: "/pets/../x", action: abi.ActionPause,
			status: 400, body: `{"message":"Bad Request"}`, errorType: "BadRequestException"},
		{name: "token needs a call", method: "GET", path: "/pets/1", headers: []abi.Header{bearer("a")},
			action: abi.ActionPause, callouts: 1},
		{name: "lower-case method", method: "get", path: "/health", action: abi.ActionPause,
			status: 403, body: `{"message":"Missing Authentication Token"}`, errorType: "MissingAuthenticationTokenException"},
		{name: "path parameter", method: "GET", path: "/pets/1;..;", headers: []abi.Header{bearer("a")}, action: abi.ActionPause,
			status: 400, body: `{"message":"Bad Request"}`, errorType: "BadRequestException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if got := e.request(2, tt.method, tt.path, tt.headers...); got != tt.action {
				t.Errorf("action = %d, want %d", got, tt.action)
			}
			local := e.h.Streams[2].Local
			if tt.status == 0 {
				if len(local) != 0 {
					t.Errorf("local responses %+v, want none", local)
				}
			} else {
				if len(local) != 1 {
					t.Fatalf("local responses %+v, want one", local)
				}
				lr := local[0]
				et, _ := header(lr.Headers, "x-amzn-ErrorType")
				if lr.Status != tt.status || lr.Body != tt.body || et != tt.errorType || lr.Details != "authgate" || lr.GRPC != -1 {
					t.Errorf("local response %+v, want %d %s %s", lr, tt.status, tt.body, tt.errorType)
				}
			}
			if len(e.h.Callouts) != tt.callouts {
				t.Errorf("callouts %d, want %d", len(e.h.Callouts), tt.callouts)
			}
			e.end(2)
			for _, c := range e.h.Callouts {
				// A late answer clears the callout left without waiters.
				e.answer(c.ID, 0, "")
			}
			e.assertEmpty()
		})
	}
}

func TestCalloutRequest(t *testing.T) {
	e := newEnv(t)
	e.request(2, "GET", "/pets/7", bearer("abc"))
	if len(e.h.Callouts) != 1 {
		t.Fatalf("callouts %d, want 1", len(e.h.Callouts))
	}
	c := e.h.Callouts[0]
	wantHeaders := []abi.Header{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/check"},
		{Name: ":authority", Value: "authz"}, {Name: "content-type", Value: "application/json"}, {Name: "accept-encoding", Value: "identity"}}
	if c.Cluster != "authz" || c.TimeoutMs != 500 || c.Context != rootID || !slices.Equal(c.Headers, wantHeaders) || c.Trailers != nil {
		t.Errorf("callout %+v", c)
	}
	var ev map[string]string
	if err := json.Unmarshal([]byte(c.Body), &ev); err != nil {
		t.Fatalf("event %q: %v", c.Body, err)
	}
	want := map[string]string{"type": "TOKEN", "authorizationToken": "Bearer abc",
		"methodArn": "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets/7"}
	if len(ev) != len(want) {
		t.Errorf("event %v, want %v", ev, want)
	}
	for k, v := range want {
		if ev[k] != v {
			t.Errorf("event[%s] = %q, want %q", k, ev[k], v)
		}
	}
}

func TestResume(t *testing.T) {
	tests := []struct {
		name      string
		status    int // authorizer status, 0 for a failed call
		body      string
		continued int
		local     uint32
		localBody string
	}{
		{name: "allow", status: 200, body: policy("Allow", map[string]any{"tier": "gold"}), continued: 1},
		{name: "explicit deny", status: 200, body: policy("Deny", nil), local: 403, localBody: denied},
		{name: "unauthorized", status: 401, body: `{"message":"Unauthorized"}`, local: 401, localBody: unauthorized},
		{name: "authorizer error", status: 502, body: "bad gateway", local: 500, localBody: failure},
		{name: "malformed answer", status: 200, body: "{", local: 500, localBody: failure},
		{name: "call failed", status: 0, local: 500, localBody: failure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.request(2, "GET", "/pets/7", bearer("abc"), abi.Header{Name: "x-authorizer-principal-id", Value: "forged"})
			before := len(e.h.Calls)
			e.answer(e.h.Callouts[0].ID, tt.status, tt.body)
			s := e.h.Streams[2]
			if s.Continued != tt.continued {
				t.Errorf("continued %d, want %d", s.Continued, tt.continued)
			}
			if tt.local == 0 {
				if len(s.Local) != 0 {
					t.Errorf("local responses %+v", s.Local)
				}
				p, _ := header(s.Headers, "x-authorizer-principal-id")
				tier, _ := header(s.Headers, "x-authorizer-tier")
				if p != "user-1" || tier != "gold" {
					t.Errorf("upstream headers %v", s.Headers)
				}
			} else if len(s.Local) != 1 || s.Local[0].Status != tt.local || s.Local[0].Body != tt.localBody {
				t.Errorf("local responses %+v, want %d %s", s.Local, tt.local, tt.localBody)
			}
			// The answer was read on the root, then the stream was made
			// effective before anything acted on it.
			var onStream []string
			for _, c := range e.h.Calls[before:] {
				if c.Context == 2 {
					onStream = append(onStream, c.Name)
				} else if len(onStream) > 0 {
					t.Errorf("%s on context %d after switching to the stream", c.Name, c.Context)
				}
			}
			if len(onStream) < 2 || onStream[0] != abi.FnSetEffectiveContext {
				t.Errorf("calls on the stream %v, want %s first", onStream, abi.FnSetEffectiveContext)
			}
			e.end(2)
			e.assertEmpty()
		})
	}
}

func TestCacheHitNeedsNoCall(t *testing.T) {
	e := newEnv(t)
	e.request(2, "GET", "/pets/1", bearer("abc"))
	e.answer(e.h.Callouts[0].ID, 200, policy("Allow", nil))
	e.end(2)
	if got := e.request(3, "DELETE", "/pets/2", bearer("abc")); got != abi.ActionContinue {
		t.Errorf("cached request: action %d, want continue", got)
	}
	if len(e.h.Callouts) != 1 {
		t.Errorf("callouts %d, want 1", len(e.h.Callouts))
	}
	if p, _ := header(e.h.Streams[3].Headers, "x-authorizer-principal-id"); p != "user-1" {
		t.Errorf("headers %v", e.h.Streams[3].Headers)
	}
	e.end(3)
	e.assertEmpty()
}

func TestSharedCallout(t *testing.T) {
	e := newEnv(t)
	e.request(2, "GET", "/pets/1", bearer("abc"))
	e.request(3, "GET", "/pets/2", bearer("abc"))
	e.request(4, "GET", "/pets/3", bearer("other"))
	if len(e.h.Callouts) != 2 {
		t.Fatalf("callouts %d, want 2 (one per token)", len(e.h.Callouts))
	}
	e.answer(e.h.Callouts[0].ID, 200, policy("Allow", nil))
	for _, id := range []uint32{2, 3} {
		if s := e.h.Streams[id]; s.Continued != 1 || len(s.Local) != 0 {
			t.Errorf("stream %d: continued %d, local %+v", id, s.Continued, s.Local)
		}
	}
	if s := e.h.Streams[4]; s.Continued != 0 || len(s.Local) != 0 {
		t.Errorf("stream 4 resumed by another token's answer")
	}
	e.answer(e.h.Callouts[1].ID, 200, policy("Deny", nil))
	if s := e.h.Streams[4]; len(s.Local) != 1 || s.Local[0].Status != 403 {
		t.Errorf("stream 4: local %+v", s.Local)
	}
	for _, id := range []uint32{2, 3, 4} {
		e.end(id)
	}
	e.assertEmpty()
}

func TestDispatchFailure(t *testing.T) {
	e := newEnv(t)
	e.h.HTTPCallError = abi.StatusBadArgument
	if got := e.request(2, "GET", "/pets/1", bearer("abc")); got != abi.ActionPause {
		t.Errorf("action %d, want pause", got)
	}
	s := e.h.Streams[2]
	if len(s.Local) != 1 || s.Local[0].Status != 500 || s.Local[0].Body != failure {
		t.Errorf("local %+v, want 500", s.Local)
	}
	if et, _ := header(s.Local[0].Headers, "x-amzn-ErrorType"); et != "AuthorizerConfigurationException" {
		t.Errorf("error type %q", et)
	}
	if !e.p.vm.Idle() {
		t.Errorf("callout state left after a failed dispatch")
	}
	if logs := e.h.LogsAt(abi.LogError); len(logs) != 1 || !strings.Contains(logs[0], `cluster "authz"`) {
		t.Errorf("error logs %q", logs)
	}
	e.end(2)
	e.assertEmpty()
}

func TestLateAnswer(t *testing.T) {
	tests := []struct {
		name    string
		waiters []uint32 // streams waiting on the callout
		gone    []uint32 // of them, those that end before the answer
		done    []uint32 // of them, those done but not yet deleted
	}{
		{name: "only waiter deleted", waiters: []uint32{2}, gone: []uint32{2}},
		{name: "one of two deleted", waiters: []uint32{2, 3}, gone: []uint32{2}},
		{name: "waiter done, not deleted", waiters: []uint32{2, 3}, done: []uint32{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			for _, id := range tt.waiters {
				e.request(id, "GET", "/pets/1", bearer("abc"))
			}
			for _, id := range tt.gone {
				e.end(id)
			}
			for _, id := range tt.done {
				e.h.Current = id
				e.p.OnDone(id)
			}
			before := len(e.h.Calls)
			e.answer(e.h.Callouts[0].ID, 200, policy("Allow", nil))
			for _, c := range e.h.Calls[before:] {
				if slices.Contains(tt.gone, c.Context) || slices.Contains(tt.done, c.Context) {
					t.Errorf("host call %s on ended context %d", c.Name, c.Context)
				}
			}
			for _, id := range tt.waiters {
				ended := slices.Contains(tt.gone, id) || slices.Contains(tt.done, id)
				if s := e.h.Streams[id]; (s.Continued == 1) == ended {
					t.Errorf("stream %d: continued %d, ended %v", id, s.Continued, ended)
				}
			}
			if w := e.h.LogsAt(abi.LogWarn); len(w) != 0 {
				t.Errorf("warnings %q", w)
			}
			for _, id := range tt.waiters {
				if !slices.Contains(tt.gone, id) {
					e.end(id)
				}
			}
			e.assertEmpty()
		})
	}
}

func TestAnswerAfterRootDeleted(t *testing.T) {
	e := newEnv(t)
	e.request(2, "GET", "/pets/1", bearer("abc"))
	e.end(2)
	e.h.Current = rootID
	e.p.OnDelete(rootID)
	e.answer(e.h.Callouts[0].ID, 200, policy("Allow", nil))
	if len(e.p.roots) != 0 {
		t.Errorf("root kept")
	}
	e.assertEmpty()
}

func TestPanicRecovery(t *testing.T) {
	tests := []struct {
		name    string
		panicOn string
		answer  bool // panic while resuming rather than on the request
	}{
		{name: "reading headers", panicOn: abi.FnGetHeaderMapPairs},
		{name: "reading a property", panicOn: abi.FnGetProperty},
		{name: "editing headers on resume", panicOn: abi.FnReplaceHeaderMapValue, answer: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if !tt.answer {
				e.h.PanicOn = tt.panicOn
			}
			act := e.request(2, "GET", "/pets/1", bearer("abc"))
			if tt.answer {
				e.h.PanicOn = tt.panicOn
				e.answer(e.h.Callouts[0].ID, 200, policy("Allow", nil))
			}
			if act != abi.ActionPause {
				t.Errorf("action %d, want pause", act)
			}
			s := e.h.Streams[2]
			if len(s.Local) != 1 || s.Local[0].Status != 500 || s.Local[0].Body != failure || s.Continued != 0 {
				t.Errorf("local %+v continued %d, want one 500", s.Local, s.Continued)
			}
			if et, _ := header(s.Local[0].Headers, "x-amzn-ErrorType"); et != "AuthorizerConfigurationException" {
				t.Errorf("error type %q", et)
			}
			if logs := e.h.LogsAt(abi.LogError); len(logs) != 1 || !strings.Contains(logs[0], "panic") {
				t.Errorf("error logs %q", logs)
			}
			e.h.PanicOn = ""
			e.end(2)
			e.assertEmpty()
		})
	}
}

func TestConfigure(t *testing.T) {
	tests := []struct {
		name   string
		config string
		ok     bool
		log    string // substring of the error log
	}{
		{name: "valid", config: testConfig, ok: true},
		{name: "empty", config: "", log: "plugin configuration is empty"},
		{name: "not json", config: "{", log: "invalid plugin configuration"},
		{name: "bad ttl", config: strings.Replace(testConfig, `"timeoutMs": 500`, `"timeoutMs": 500, "authorizerResultTtlInSeconds": 7200`, 1),
			log: "authorizers.tok.authorizerResultTtlInSeconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := proxywasmtest.New(t0)
			h.PluginConfig = []byte(tt.config)
			h.AddRoot(rootID)
			h.Current = rootID
			p := New(h)
			p.OnContextCreate(rootID, 0)
			if got := p.OnConfigure(rootID, uint32(len(tt.config))); got != tt.ok {
				t.Errorf("OnConfigure = %v, want %v (logs %v)", got, tt.ok, h.Logs)
			}
			errs := h.LogsAt(abi.LogError)
			if tt.ok != (len(errs) == 0) || (!tt.ok && !strings.Contains(errs[0], tt.log)) {
				t.Errorf("error logs %q, want one containing %q", errs, tt.log)
			}
			if !tt.ok {
				// A stream under a refused configuration fails closed.
				h.AddStream(2, rootID, "")
				h.Current = 2
				p.OnContextCreate(2, rootID)
				if p.OnRequestHeaders(2, 0, true) != abi.ActionPause || len(h.Streams[2].Local) != 1 || h.Streams[2].Local[0].Status != 500 {
					t.Errorf("request under refused configuration: %+v", h.Streams[2].Local)
				}
			}
		})
	}
}

func TestRequestFields(t *testing.T) {
	tests := []struct {
		name      string
		source    string
		requestID string // property request.id
		headerID  string // x-request-id header
		wantIP    string
		wantID    string
	}{
		// Envoy's request.id is its x-request-id header: the header is
		// read first, saving a host call.
		{name: "ipv4, header id wins", source: "10.1.2.3:40000", requestID: "prop-id", headerID: "hdr-id", wantIP: "10.1.2.3", wantID: "hdr-id"},
		{name: "property id without header", source: "10.1.2.3:40000", requestID: "prop-id", wantIP: "10.1.2.3", wantID: "prop-id"},
		{name: "ipv6 with header id", source: "[2001:db8::1]:443", headerID: "hdr-id", wantIP: "2001:db8::1", wantID: "hdr-id"},
		{name: "no port", source: "192.0.2.7", wantIP: "192.0.2.7"},
		// The Go hosts write an IPv4 peer as IPv4; so does the filter.
		{name: "ipv4-mapped ipv6", source: "[::ffff:10.1.2.3]:40000", wantIP: "10.1.2.3"},
		{name: "garbage", source: "pipe:/x", wantIP: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			hs := []abi.Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/req?x=1"},
				{Name: ":authority", Value: "api.example.com"}, {Name: "x-api-key", Value: "k"}}
			if tt.headerID != "" {
				hs = append(hs, abi.Header{Name: "x-request-id", Value: tt.headerID})
			}
			s := e.h.AddStream(2, rootID, tt.source, hs...)
			if tt.requestID != "" {
				s.Properties["request\x00id"] = tt.requestID
			}
			e.h.Current = 2
			e.p.OnContextCreate(2, rootID)
			e.p.OnRequestHeaders(2, uint32(len(hs)), true)
			if len(e.h.Callouts) != 1 {
				t.Fatalf("callouts %d (logs %v)", len(e.h.Callouts), e.h.Logs)
			}
			var ev struct {
				Headers        map[string]string `json:"headers"`
				RequestContext struct {
					RequestID string `json:"requestId"`
					Identity  struct {
						SourceIP string `json:"sourceIp"`
					} `json:"identity"`
				} `json:"requestContext"`
			}
			if err := json.Unmarshal([]byte(e.h.Callouts[0].Body), &ev); err != nil {
				t.Fatalf("event: %v", err)
			}
			if ev.RequestContext.Identity.SourceIP != tt.wantIP || ev.RequestContext.RequestID != tt.wantID {
				t.Errorf("sourceIp %q requestId %q, want %q %q", ev.RequestContext.Identity.SourceIP, ev.RequestContext.RequestID, tt.wantIP, tt.wantID)
			}
			for name := range ev.Headers {
				if strings.HasPrefix(name, ":") {
					t.Errorf("pseudo header %s in event", name)
				}
			}
			if h := ev.Headers["host"] + ev.Headers["Host"]; h != "api.example.com" {
				t.Errorf("host header %q in event %v", h, ev.Headers)
			}
		})
	}
}

func TestDecisionLogOmitsIdentity(t *testing.T) {
	e := newEnv(t)
	e.request(2, "GET", "/pets/1?secret=q", bearer("s3cr3t-token"))
	e.answer(e.h.Callouts[0].ID, 200, policy("Allow", nil))
	e.request(3, "GET", "/pets/1", bearer("s3cr3t-token"))
	debug := e.h.LogsAt(abi.LogDebug)
	if len(debug) != 3 {
		t.Errorf("debug lines %q, want 3 (call, allow, cached allow)", debug)
	}
	for _, l := range e.h.Logs {
		if strings.Contains(l.Msg, "s3cr3t") || strings.Contains(l.Msg, "secret=q") {
			t.Errorf("log line leaks identity: %q", l.Msg)
		}
	}
	if !strings.Contains(debug[len(debug)-1], "cache=hit decision=ALLOW") {
		t.Errorf("last line %q", debug[len(debug)-1])
	}
}

func TestLogLevel(t *testing.T) {
	tests := []struct {
		name      string
		level     abi.LogLevel
		wantDebug int // decision lines at debug for one allowed request
	}{
		{name: "debug logs decisions", level: abi.LogDebug, wantDebug: 2},
		{name: "info skips them", level: abi.LogInfo, wantDebug: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.h.Level = tt.level
			e.p.OnTick(rootID) // the level is read again on every tick
			e.request(2, "GET", "/health")
			e.request(3, "GET", "/pets/1", bearer("abc"))
			e.answer(e.h.Callouts[0].ID, 200, policy("Allow", nil))
			if got := len(e.h.LogsAt(abi.LogDebug)); got < tt.wantDebug || (tt.wantDebug == 0 && got != 0) {
				t.Errorf("%d debug lines, want %d or more: %v", got, tt.wantDebug, e.h.LogsAt(abi.LogDebug))
			}
			if e.h.Streams[3].Continued != 1 {
				t.Errorf("stream continued %d times, want 1", e.h.Streams[3].Continued)
			}
		})
	}
}

func TestDecisionLine(t *testing.T) {
	e := newEnv(t)
	e.request(2, "GET", "/pets/1?q=secret", bearer("abc"), abi.Header{Name: "x-request-id", Value: "r\"1"})
	e.answer(e.h.Callouts[0].ID, 200, policy("Deny", nil))
	want := `method=GET path=/pets/1 route=/pets/{id} authorizer=tok cache=miss decision=DENY status=403 reason="explicit deny" request_id="r\"1" ctx=2`
	lines := e.h.LogsAt(abi.LogDebug)
	if !slices.Contains(lines, want) {
		t.Errorf("no line %s in %q", want, lines)
	}
}

func TestCalloutAnswerLogged(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string // the answer's debug line, "" for none
	}{
		{name: "valid answer", status: 200, body: policy("Allow", nil)},
		{name: "truncated JSON", status: 200, body: `{"principalId":"u","policyDocu`,
			want: `authorizer[tok]: callout 1 answered status=200 bytes=30 body="{\"principalId\":\"u\",\"policyDocu"`},
		{name: "error page, cut short", status: 503, body: strings.Repeat("upstream connect error ", 4),
			want: `authorizer[tok]: callout 1 answered status=503 bytes=92 body="upstream connect error upstream connect error up"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.request(2, "GET", "/pets/1", bearer("abc"))
			e.answer(e.h.Callouts[0].ID, tt.status, tt.body)
			var got []string
			for _, l := range e.h.LogsAt(abi.LogDebug) {
				if strings.HasPrefix(l, "authorizer[tok]: callout") {
					got = append(got, l)
				}
			}
			var want []string
			if tt.want != "" {
				want = []string{tt.want}
			}
			if !slices.Equal(got, want) {
				t.Errorf("answer lines %q, want %q", got, want)
			}
		})
	}
}

// TestForgedHeadersRemoved checks the filter removes, through the host,
// every header a CGI-style upstream would read as an authorizer header or
// an override, on a NONE route and on an allowed one.
func TestForgedHeadersRemoved(t *testing.T) {
	forged := []abi.Header{
		{Name: "x_authorizer_principal_id", Value: "admin"},
		{Name: "x-authorizer_tier", Value: "gold"},
		{Name: "x-authorizer-principal-id", Value: "admin"},
		{Name: "x-http-method-override", Value: "DELETE"},
		{Name: "x_original_url", Value: "/admin"},
		{Name: "accept", Value: "*/*"},
	}
	e := newEnv(t)
	if got := e.request(2, "GET", "/health", forged...); got != abi.ActionContinue {
		t.Fatalf("NONE route: action %d", got)
	}
	if hs := e.h.Streams[2].Headers; len(hs) != 5 || hs[4].Name != "accept" {
		t.Errorf("NONE route: headers left %v, want only the pseudo headers and accept", hs)
	}
	e.request(3, "GET", "/pets/1", append([]abi.Header{bearer("a")}, forged...)...)
	e.answer(e.h.Callouts[0].ID, 200, policy("Allow", map[string]any{"tier": "silver"}))
	var names []string
	for _, h := range e.h.Streams[3].Headers {
		names = append(names, h.Name+"="+h.Value)
	}
	want := []string{":method=GET", ":path=/pets/1", ":scheme=http", ":authority=api.example.com", "authorization=Bearer a",
		"accept=*/*", "x-authorizer-principal-id=user-1", "x-authorizer-tier=silver",
		"x-authorizer-context=eyJ0aWVyIjoic2lsdmVyIn0="}
	if !slices.Equal(names, want) {
		t.Errorf("allowed route: headers\n got %v\nwant %v", names, want)
	}
}

// TestRequestProtocol: an HTTP API event carries the protocol Envoy's
// request.protocol names, written as API Gateway writes it (the pipeline's
// tests check that a REST request never asks for it).
func TestRequestProtocol(t *testing.T) {
	const httpCfg = `{"apiType":"HTTP","region":"us-east-1","accountId":"123456789012","apiId":"h1t2t3p4","stage":"$default",
	 "authorizers":{"p":{"type":"REQUEST","cluster":"authz","authorizerPayloadFormatVersion":"2.0","identitySource":"$request.header.X-Key, $context.protocol"}},
	 "routes":[{"method":"ANY","path":"$default","authorizer":"p"}]}`
	tests := []struct{ property, want string }{
		{"HTTP/1.1", `"protocol":"HTTP/1.1"`},
		{"HTTP/2", `"protocol":"HTTP/2.0"`},
	}
	for _, tt := range tests {
		t.Run(tt.property, func(t *testing.T) {
			e := newEnvWith(t, httpCfg)
			hs := []abi.Header{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/x"}, {Name: "x-key", Value: "k"}}
			s := e.h.AddStream(2, rootID, "10.0.0.1:1", hs...)
			s.Properties["request\x00protocol"] = tt.property
			e.h.Current = 2
			e.p.OnContextCreate(2, rootID)
			e.p.OnRequestHeaders(2, uint32(len(hs)), true)
			if len(e.h.Callouts) != 1 {
				t.Fatalf("callouts %d (logs %v)", len(e.h.Callouts), e.h.Logs)
			}
			if body := e.h.Callouts[0].Body; !strings.Contains(body, tt.want) {
				t.Errorf("event %s lacks %s", body, tt.want)
			}
		})
	}
}

// TestConfigurationWarnings: what validate warns about, the filter logs
// at warn when it loads the configuration, and nothing when there is none.
func TestConfigurationWarnings(t *testing.T) {
	quiet := newEnv(t)
	if got := quiet.h.LogsAt(abi.LogWarn); len(got) != 0 {
		t.Errorf("warnings for a plain configuration: %q", got)
	}
	cfg := strings.Replace(testConfig, `"region"`, `"allowPathParameters": true, "region"`, 1)
	e := newEnvWith(t, cfg)
	want := "configuration: " + config.WarnAllowPathParameters
	if got := e.h.LogsAt(abi.LogWarn); !slices.Contains(got, want) {
		t.Errorf("warn lines %q, want %q", got, want)
	}
}
