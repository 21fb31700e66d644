package pipeline

import (
	"strings"
	"testing"
	"time"
)

// call evaluates a bearer-token request that must need an authorizer call.
func call(t testing.TB, p *Pipeline, target, token string, now time.Time) *Call {
	t.Helper()
	r := p.Evaluate(&Request{Method: "GET", Target: target, Headers: bearer(token)}, now)
	if r.Kind != KindCall {
		t.Fatalf("Evaluate(%s, %s) = %s, want a call", target, token, summary(r))
	}
	return r.Call
}

func TestResumeTTL(t *testing.T) {
	big := policyResponse("alice", "Allow", []string{"*"}, map[string]any{"pad": strings.Repeat("x", 1024)})
	tests := []struct {
		name   string
		target string
		resp   Response
		want   time.Duration
	}{
		{"valid allow is cached for the ttl", "/pos", allowAll, 300 * time.Second},
		{"valid deny is cached too", "/pos", denyAll, 300 * time.Second},
		{"a large body is cached (sharing bounds it, not the pipeline)", "/pos", big, 300 * time.Second},
		{"cached 401", "/both", answer401, 60 * time.Second},
		{"uncached 401", "/pos", answer401, 0},
		{"401 of a negative-only authorizer", "/neg", answer401, 60 * time.Second},
		{"allow of a negative-only authorizer", "/neg", allowAll, 0},
		{"ttl 0", "/off", allowAll, 0},
		{"error status", "/pos", answer500, 0},
		{"failed call", "/pos", unreached, 0},
		{"malformed", "/pos", malformed, 0},
		{"bad header", "/pos", badHeader, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newModesPipeline(t, nil)
			r := p.Resume(call(t, p, tt.target, "tok", t0), tt.resp, t0)
			if r.TTL != tt.want {
				t.Errorf("TTL = %v, want %v (%s)", r.TTL, tt.want, summary(r))
			}
		})
	}
	t.Run("stale result served caches nothing new", func(t *testing.T) {
		p := newModesPipeline(t, nil)
		p.Resume(call(t, p, "/stale", "tok", t0), allowAll, t0)
		later := t0.Add(time.Minute)
		r := p.Resume(call(t, p, "/stale", "tok", later), answer500, later)
		if r.CacheState != CacheStale || r.TTL != 0 {
			t.Errorf("cache %v, TTL %v", r.CacheState, r.TTL)
		}
	})
}

func TestAdopt(t *testing.T) {
	tests := []struct {
		name      string
		target    string
		body      []byte // nil: adopt an Unauthorized answer
		remaining time.Duration
		opts      []Option
		ok        bool
		want      string // summary of the Result when ok
	}{
		{"result", "/pos", allowAll.Body, time.Minute, nil, true, "allow shared ALLOW"},
		{"deny", "/pos", denyAll.Body, time.Minute, nil, true, "reject 403 shared DENY"},
		{"a nanosecond left", "/pos", allowAll.Body, 1, nil, true, "allow shared ALLOW"},
		{"nothing left", "/pos", allowAll.Body, 0, nil, false, ""},
		{"does not parse", "/pos", malformed.Body, time.Minute, nil, false, ""},
		{"could not allow", "/pos", badHeader.Body, time.Minute, nil, false, ""},
		{"ttl 0 authorizer", "/off", allowAll.Body, time.Minute, nil, false, ""},
		{"result for a negative-only authorizer", "/neg", allowAll.Body, time.Minute, nil, false, ""},
		{"without sharing", "/pos", allowAll.Body, time.Minute, []Option{WithoutSharing()}, false, ""},
		{"unauthorized", "/both", nil, time.Minute, nil, true, "reject 401 shared UNAUTHORIZED"},
		{"unauthorized, negative-only authorizer", "/neg", nil, time.Minute, nil, true, "reject 401 shared UNAUTHORIZED"},
		{"unauthorized where 401s are not cached", "/pos", nil, time.Minute, nil, false, ""},
		{"unauthorized, nothing left", "/both", nil, 0, nil, false, ""},
		{"unauthorized without sharing", "/both", nil, time.Minute, []Option{WithoutSharing()}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newModesPipeline(t, nil)
			p = New(p.Plan(), tt.opts...)
			c := call(t, p, tt.target, "tok", t0)
			var r Result
			var ok bool
			if tt.body != nil {
				r, ok = p.Adopt(c, tt.body, tt.remaining, t0)
			} else {
				r, ok = p.AdoptUnauthorized(c, tt.remaining, t0)
			}
			if ok != tt.ok || (ok && summary(r) != tt.want) {
				t.Errorf("adopt = %s, %v; want %s, %v (reason %q)", summary(r), ok, tt.want, tt.ok, r.Reason)
			}
			wantLen := 0
			if ok {
				wantLen = 1
			}
			if p.CacheLen() != wantLen {
				t.Errorf("cache holds %d entries, want %d", p.CacheLen(), wantLen)
			}
		})
	}
}

// TestAdoptKeepsTheRemainingTime: an adopted answer is cached here until
// it expires where it came from, never for a fresh TTL, and never longer
// than this pipeline's own TTL.
func TestAdoptKeepsTheRemainingTime(t *testing.T) {
	for _, tt := range []struct {
		name      string
		target    string
		body      []byte
		remaining time.Duration
		fresh     time.Duration // how long the adopted answer then hits
	}{
		{"result, remaining time", "/pos", allowAll.Body, 100 * time.Second, 100 * time.Second},
		{"result, cut to the ttl", "/pos", allowAll.Body, time.Hour, 300 * time.Second},
		{"unauthorized, remaining time", "/both", nil, 20 * time.Second, 20 * time.Second},
		{"unauthorized, cut to its ttl", "/both", nil, time.Hour, 60 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newModesPipeline(t, nil)
			c := call(t, p, tt.target, "u", t0)
			var ok bool
			if tt.body != nil {
				_, ok = p.Adopt(c, tt.body, tt.remaining, t0)
			} else {
				_, ok = p.AdoptUnauthorized(c, tt.remaining, t0)
			}
			if !ok {
				t.Fatal("not adopted")
			}
			req := &Request{Method: "GET", Target: tt.target, Headers: bearer("u")}
			if r := p.Evaluate(req, t0.Add(tt.fresh-1)); r.CacheState != CacheHit {
				t.Errorf("just before %v: %s, want a hit", tt.fresh, summary(r))
			}
			if r := p.Evaluate(req, t0.Add(tt.fresh)); r.Kind != KindCall {
				t.Errorf("at %v: %s, want a call", tt.fresh, summary(r))
			}
		})
	}
}

// TestAdoptKeepsTheStaleWindow: an adopted result can be served stale by
// the adopting pipeline, as if it had called itself.
func TestAdoptKeepsTheStaleWindow(t *testing.T) {
	p := newModesPipeline(t, nil)
	if _, ok := p.Adopt(call(t, p, "/stale", "s", t0), allowAll.Body, time.Minute, t0); !ok {
		t.Fatal("not adopted")
	}
	later := t0.Add(90 * time.Second)
	r := p.Resume(call(t, p, "/stale", "s", later), unreached, later)
	if summary(r) != "allow stale ALLOW" {
		t.Errorf("after a failure = %s", summary(r))
	}
}
