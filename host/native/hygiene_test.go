package native

import (
	"net/http/httptest"
	"testing"
)

// TestRequestHygiene sends requests a hostile client would, through the
// middleware, and checks what reaches the upstream.
func TestRequestHygiene(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		target  string
		hdr     map[string]string
		h2      bool // sent over HTTP/2, where Envoy's codec takes any method token
		status  int
		uri     string // what the upstream's RequestURI must be when it is reached
		host    string
		absent  []string
		present map[string]string
	}{
		{name: "absolute form routes like origin form", method: "GET", target: "http://api.example/pets/1?q=1", hdr: bearer("allow"),
			status: 200, uri: "/pets/1?q=1", host: "api.example", present: map[string]string{"X-Authorizer-Principal-Id": "alice"}},
		{name: "absolute form on a NONE route", method: "GET", target: "http://api.example/health", status: 200, uri: "/health", host: "api.example"},
		{name: "forged principal with underscores on a NONE route", method: "GET", target: "/health",
			hdr:    map[string]string{"X_authorizer_principal_id": "admin", "X-Authorizer_tier": "gold", "X_forwarded_for": "10.0.0.1"},
			status: 200, uri: "/health", absent: []string{"X_authorizer_principal_id", "X-Authorizer_tier", "X_forwarded_for"}},
		{name: "forged principal with underscores on an authorized route", method: "GET", target: "/pets/1",
			hdr:    map[string]string{"Authorization": "Bearer allow", "X_authorizer_principal_id": "admin", "X_Authorizer_Tier": "platinum"},
			status: 200, uri: "/pets/1", absent: []string{"X_authorizer_principal_id", "X_Authorizer_Tier"},
			present: map[string]string{"X-Authorizer-Principal-Id": "alice", "X-Authorizer-Tier": "gold"}},
		{name: "override headers removed", method: "GET", target: "/health",
			hdr:    map[string]string{"X-HTTP-Method-Override": "DELETE", "X-Http-Method": "DELETE", "X-Method-Override": "DELETE", "X-Original-URL": "/admin", "X-Rewrite-URL": "/admin"},
			status: 200, uri: "/health", absent: []string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override", "X-Original-Url", "X-Rewrite-Url"}},
		{name: "query kept as sent", method: "GET", target: "/health?a=%ZZ;b", status: 200, uri: "/health?a=%ZZ;b"},
		{name: "lower-case method, refused as Envoy's HTTP/1 codec does", method: "delete", target: "/pets/1", hdr: bearer("allow"), status: 400},
		{name: "lower-case method over HTTP/2", method: "delete", target: "/pets/1", hdr: bearer("allow"), h2: true, status: 403},
		{name: "lower-case method on a NONE route over HTTP/2", method: "get", target: "/health", h2: true, status: 403},
		{name: "path parameter", method: "GET", target: "/pets/1;x=..", hdr: bearer("allow"), status: 400},
		{name: "double encoding", method: "GET", target: "/pets/%252e%252e", hdr: bearer("allow"), status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t)
			r := httptest.NewRequest(tt.method, tt.target, nil)
			if tt.h2 {
				r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
			}
			for k, v := range tt.hdr {
				r.Header[k] = []string{v}
			}
			w := httptest.NewRecorder()
			g.handler.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d (%s), want %d", w.Code, w.Body, tt.status)
			}
			if tt.uri == "" {
				if g.up.calls != 0 {
					t.Errorf("the upstream was reached")
				}
				return
			}
			// The middleware hands next the request it was given, edited.
			uri, host := r.RequestURI, r.Host
			if uri != tt.uri || (tt.host != "" && host != tt.host) {
				t.Errorf("upstream saw %s (host %s), want %s (host %s)", uri, host, tt.uri, tt.host)
			}
			for _, k := range tt.absent {
				if v, ok := g.up.headers[k]; ok {
					t.Errorf("upstream received %s: %q", k, v)
				}
			}
			for k, want := range tt.present {
				if got := g.up.headers.Get(k); got != want {
					t.Errorf("upstream %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestSourceAddressLikeTheFilter: the middleware and the filter derive the
// source address with one function, so an IPv4-mapped peer is IPv4 in both.
func TestSourceAddressLikeTheFilter(t *testing.T) {
	r := httptest.NewRequest("GET", "/health", nil)
	for remote, want := range map[string]string{"[::ffff:10.1.2.3]:5": "10.1.2.3", "10.1.2.3:5": "10.1.2.3", "[2001:db8::1]:9": "2001:db8::1", "@": ""} {
		r.RemoteAddr = remote
		if got := NewRequest(r).SourceIP; got != want {
			t.Errorf("SourceIP for %q = %q, want %q", remote, got, want)
		}
	}
}
