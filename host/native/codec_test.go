package native

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestCodecRefusals checks that the middleware refuses what Envoy's codec
// refuses, before any authorizer call and with Envoy's answer.
func TestCodecRefusals(t *testing.T) {
	g := newGateway(t)
	many := httptest.NewRequest("GET", "/health", nil)
	for i := range 100 {
		many.Header.Set(fmt.Sprintf("X-H%d", i), "v")
	}
	old := httptest.NewRequest("GET", "/pets", nil)
	old.Proto, old.ProtoMinor = "HTTP/1.0", 0
	old.Header.Set("Authorization", "Bearer allow")
	for _, c := range []struct {
		name   string
		r      *http.Request
		status int
		body   string
	}{
		{"101 header fields", many, 431, "Request Header Fields Too Large"},
		{"HTTP/1.0", old, 426, "Upgrade Required"},
		{"a method Envoy's codec does not know", httptest.NewRequest("FOO", "/pets", nil), 400, "Bad Request"},
		{"a lower-case method", httptest.NewRequest("get", "/pets", nil), 400, "Bad Request"},
		{"UTF-8 not percent-encoded in the target", httptest.NewRequest("GET", "/pets/\xc3\xa9", nil), 400, "Bad Request"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			g.handler.ServeHTTP(w, c.r)
			if w.Code != c.status || w.Body.String() != c.body || w.Header().Get("Content-Type") != "text/plain" {
				t.Errorf("answer %d %q (%s), want %d %q text/plain", w.Code, w.Body, w.Header().Get("Content-Type"), c.status, c.body)
			}
		})
	}
	if n := g.fa.calls.Load(); n != 0 || g.up.calls != 0 || len(g.decisions) != 0 {
		t.Errorf("authorizer calls %d, upstream calls %d, decisions %d; want none", n, g.up.calls, len(g.decisions))
	}
}
