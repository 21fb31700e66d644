package wasm

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authgate/authgate/filter/abi"
)

// TestFailureResponse checks that a trap answers Config.FailureResponse,
// for the trapping request and for a request paused on the failed VM.
func TestFailureResponse(t *testing.T) {
	failure := &LocalResponse{Status: 500, Body: []byte(`{"message":null}`), Headers: []abi.Header{
		{Name: "content-type", Value: "application/json"}, {Name: "x-amzn-ErrorType", Value: "AuthorizerConfigurationException"}}}
	h, _ := newHost(t, Config{FailureResponse: failure})
	paused := make(chan result)
	go func() { paused <- do(h, "GET", "/", map[string]string{"x-test": "pause"}) }()
	waitFor(t, func() bool {
		v := h.slots[0].Load()
		v.mu.Lock()
		defer v.mu.Unlock()
		return len(v.streams) == 1
	})
	trapped := do(h, "GET", "/", map[string]string{"x-test": "panic"})
	for name, got := range map[string]result{"trapping request": trapped, "paused request": <-paused} {
		if got.status != 500 || got.body != `{"message":null}` ||
			got.header.Get("Content-Type") != "application/json" || got.header.Get("X-Amzn-Errortype") != "AuthorizerConfigurationException" {
			t.Errorf("%s: %d %v %q, want the failure response", name, got.status, got.header, got.body)
		}
	}
	if got := do(h, "GET", "/", nil); got.status != 200 {
		t.Errorf("request after the trap: %d %q", got.status, got.body)
	}
}

// TestCalloutBodyLimit checks what the guest is told of an answer longer
// than MaxCalloutBody (its size, not its bytes), with and without a
// content-length, and that the host decodes no content-encoding.
func TestCalloutBodyLimit(t *testing.T) {
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	io.WriteString(zw, "hello")
	zw.Close()
	authz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/length":
			w.Header().Set("Content-Length", fmt.Sprint(1<<20))
			w.WriteHeader(200)
			w.Write(bytes.Repeat([]byte("x"), 1<<20))
		case "/stream":
			w.WriteHeader(200)
			for range 64 {
				w.Write(bytes.Repeat([]byte("x"), 1<<14))
				w.(http.Flusher).Flush()
			}
		case "/small":
			io.WriteString(w, strings.Repeat("x", 4096))
		case "/gzip":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(zipped.Bytes())
		}
	}))
	defer authz.Close()
	h, _ := newHost(t, Config{Clusters: map[string]string{"authz": authz.URL}, MaxCalloutBody: 4096})
	tests := []struct{ path, want string }{
		{"/small", "status=200 size=4096 read=4096"},
		{"/length", "status=200 size=4097 read=0"},
		{"/stream", "status=200 size=4097 read=0"},
		{"/gzip", fmt.Sprintf("status=200 size=%d read=%d", zipped.Len(), zipped.Len())},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got := do(h, "GET", "/", map[string]string{"x-test": "call-size", "x-cluster": "authz", "x-call-path": tt.path})
			if got.status != 200 || got.body != tt.want {
				t.Errorf("got %d %q, want %q", got.status, got.body, tt.want)
			}
		})
	}
}
