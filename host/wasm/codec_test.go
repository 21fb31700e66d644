package wasm

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestCodecRefusals checks that requests Envoy's codec refuses never reach
// the guest.
func TestCodecRefusals(t *testing.T) {
	h, lg := newHost(t, Config{})
	many := httptest.NewRequest("GET", "/", nil)
	for i := range 100 {
		many.Header.Set(fmt.Sprintf("X-H%d", i), "v")
	}
	old := httptest.NewRequest("GET", "/", nil)
	old.Proto, old.ProtoMinor = "HTTP/1.0", 0
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
			c.r.Header.Set("x-test", "local")
			rec := httptest.NewRecorder()
			h.Handler(echo).ServeHTTP(rec, c.r)
			if rec.Code != c.status || rec.Body.String() != c.body {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body, c.status, c.body)
			}
		})
	}
	if n := len(lg.messages()); n != 0 {
		t.Errorf("the guest ran: %q", lg.messages())
	}
}
