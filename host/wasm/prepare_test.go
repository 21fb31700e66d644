package wasm

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/authgate/authgate/filter/abi"
)

// TestRequestAsEnvoyPresentsIt checks what the host does to a request
// before the guest sees it, as the example's Envoy does: an absolute-form
// target becomes origin form (for the guest and for the upstream), and
// headers whose names have underscores are dropped.
func TestRequestAsEnvoyPresentsIt(t *testing.T) {
	h, _ := newHost(t, Config{})

	req := httptest.NewRequest("GET", "http://api.example/p/a?q=%ZZ", nil)
	req.Header.Set("X-Test", "pairs")
	req.Header.Set("X_authorizer_principal_id", "admin")
	req.Header.Set("X-Authorizer_Tier", "gold")
	req.Header.Set("X-Request-Id", "rid-1")
	rec := httptest.NewRecorder()
	h.Handler(echo).ServeHTTP(rec, req)
	_, raw, _ := strings.Cut(rec.Body.String(), "\n")
	got, err := abi.DecodeHeaders([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	want := []abi.Header{{Name: ":authority", Value: "api.example"}, {Name: ":path", Value: "/p/a?q=%ZZ"},
		{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
		{Name: "x-envoy-external-address", Value: "192.0.2.1"}, {Name: "x-forwarded-for", Value: "192.0.2.1"}, {Name: "x-forwarded-proto", Value: "http"},
		{Name: "x-request-id", Value: "rid-1"}, {Name: "x-test", Value: "pairs"}}
	if !slices.Equal(got, want) {
		t.Fatalf("pairs\n got %v\nwant %v", got, want)
	}

	// The upstream receives origin form too, and the query as sent.
	if got := do(h, "GET", "http://api.example/a?b=%ZZ;c", nil); got.status != 200 || got.body != "GET /a?b=%ZZ;c host=api.example\nX-Envoy-External-Address: 192.0.2.1\nX-Forwarded-For: 192.0.2.1\nX-Forwarded-Proto: http\n" {
		t.Fatalf("continue: got %d %q", got.status, got.body)
	}
}
