package pipeline

import (
	"strings"
	"testing"
	"time"
)

func TestProtocolName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"HTTP/1.0", "HTTP/1.0"},
		{"HTTP/1.1", "HTTP/1.1"},
		{"HTTP/2", "HTTP/2.0"},   // Envoy's request.protocol
		{"HTTP/2.0", "HTTP/2.0"}, // Go's Request.Proto
		{"HTTP/3", "HTTP/3.0"},
		{"", ""},
		{"SPDY/3", "SPDY/3"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := ProtocolName(tt.in); got != tt.want {
				t.Errorf("ProtocolName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestContextProtocolIdentity: an HTTP API authorizer whose identity
// source is $context.protocol is called with the request's protocol as
// API Gateway writes it, asked of the embedding once; REST requests never
// ask.
func TestContextProtocolIdentity(t *testing.T) {
	const cfg = `{"apiType": "HTTP", "region": "us-east-1", "accountId": "123456789012", "apiId": "h1t2t3p4", "stage": "$default",
	  "authorizers": {"p": {"type": "REQUEST", "cluster": "authz", "authorizerPayloadFormatVersion": "2.0",
	    "identitySource": "$request.header.X-Key, $context.protocol"}},
	  "routes": [{"method": "ANY", "path": "$default", "authorizer": "p"}]}`
	p := newHTTPPipeline(t, cfg)
	tests := []struct {
		name     string
		proto    string
		wantCall bool
		wantIn   string
	}{
		{"HTTP/1.1", "HTTP/1.1", true, `"identitySource":["k","HTTP/1.1"]`},
		{"Envoy's HTTP/2", "HTTP/2", true, `"protocol":"HTTP/2.0"`},
		{"unknown protocol is a missing identity", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asked := 0
			r := p.Evaluate(&Request{Method: "GET", Target: "/x", Headers: []Header{{Name: "x-key", Value: "k"}},
				ProtocolFunc: func() string { asked++; return tt.proto }}, time.Now())
			if asked != 1 {
				t.Errorf("ProtocolFunc called %d times, want 1", asked)
			}
			if (r.Kind == KindCall) != tt.wantCall {
				t.Fatalf("result %v (%s), want a call: %v", r.Kind, r.Reason, tt.wantCall)
			}
			if tt.wantCall && !strings.Contains(string(r.Call.Event), tt.wantIn) {
				t.Errorf("event %s lacks %s", r.Call.Event, tt.wantIn)
			}
			if !tt.wantCall && (r.Status != 401 || !strings.Contains(r.Reason, "$context.protocol")) {
				t.Errorf("status %d reason %q, want 401 naming $context.protocol", r.Status, r.Reason)
			}
		})
	}
	t.Run("REST never asks", func(t *testing.T) {
		rest := newPipeline(t)
		asked := 0
		rest.Evaluate(&Request{Method: "GET", Target: "/pets", Headers: bearer("p1"),
			ProtocolFunc: func() string { asked++; return "HTTP/1.1" }}, time.Now())
		if asked != 0 {
			t.Errorf("a REST request asked for its protocol %d times", asked)
		}
	})
}
