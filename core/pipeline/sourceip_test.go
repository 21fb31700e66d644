package pipeline

import (
	"encoding/json"
	"testing"
)

// TestSourceIPFuncIsAskedOnlyWhenNeeded checks the lazy source address: a
// cache hit whose policy has no aws:SourceIp condition never asks for it,
// one whose policy has one asks once and decides by it, and a call always
// settles it before the answer arrives.
func TestSourceIPFuncIsAskedOnlyWhenNeeded(t *testing.T) {
	ipPolicy := func() Response {
		doc := map[string]any{
			"principalId": "p",
			"policyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
				"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*",
				"Condition": map[string]any{"IpAddress": map[string]any{"aws:SourceIp": "10.0.0.0/8"}},
			}}},
		}
		b, _ := json.Marshal(doc)
		return Response{Status: 200, Body: b}
	}
	tests := []struct {
		name      string
		resp      Response
		ip        string
		wantAsks  int // over the miss and the hit
		wantHitOK bool
	}{
		{"no ip condition", policyResponse("p", "Allow", []string{"*"}, nil), "10.1.2.3", 1, true},
		{"ip condition, inside", ipPolicy(), "10.1.2.3", 2, true},
		{"ip condition, outside", ipPolicy(), "192.0.2.1", 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPipeline(t)
			asks := 0
			req := func() *Request {
				return &Request{Method: "GET", Target: "/pets", Headers: bearer("lazy"),
					SourceIPFunc: func() string { asks++; return tt.ip }}
			}
			r := p.Evaluate(req(), t0)
			if r.Kind != KindCall {
				t.Fatalf("first request: kind %v", r.Kind)
			}
			if asks != 1 {
				t.Fatalf("a call asked for the source address %d times, want 1", asks)
			}
			p.Resume(r.Call, tt.resp, t0)
			hit := p.Evaluate(req(), t0)
			if hit.CacheState != CacheHit {
				t.Fatalf("second request: cache %v, want hit", hit.CacheState)
			}
			if asks != tt.wantAsks {
				t.Errorf("source address asked %d times, want %d", asks, tt.wantAsks)
			}
			if ok := hit.Kind == KindAllow; ok != tt.wantHitOK {
				t.Errorf("hit allowed = %v, want %v (status %d)", ok, tt.wantHitOK, hit.Status)
			}
		})
	}
}
