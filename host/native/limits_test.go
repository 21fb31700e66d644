package native

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/pipeline"
)

// hostileAuthorizer answers by token with the answers an authorizer must
// not be able to hurt the gateway with, recording each request's
// accept-encoding. Answers that stop part-way wait until stop is called,
// so a gateway that reads past the limit would time out instead of
// refusing; stop also waits for every handler to return.
func hostileAuthorizer(t *testing.T, encodings *[]string) (url string, stop func()) {
	t.Helper()
	var mu sync.Mutex
	held := make(chan struct{})
	allow := authorizerResponse("alice", "Allow", arnPrefix+"*", nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		*encodings = append(*encodings, r.Header.Get("Accept-Encoding"))
		mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		switch {
		case bytes.Contains(body, []byte("Bearer deep")):
			// 20000 levels inside a member the parser ignores.
			fmt.Fprintf(w, `{"principalId":"p","x":%s1%s,"policyDocument":{}}`, strings.Repeat("[", 20000), strings.Repeat("]", 20000))
		case bytes.Contains(body, []byte("Bearer gzip")):
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			zw.Write(allow)
			zw.Close()
		case bytes.Contains(body, []byte("Bearer biglength")):
			// Says 2 MiB, sends nothing more.
			w.Header().Set("Content-Length", fmt.Sprint(2<<20))
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			<-held
		case bytes.Contains(body, []byte("Bearer bigstream")):
			// No content-length: 1 MiB and a byte, then nothing more.
			w.WriteHeader(200)
			w.Write(bytes.Repeat([]byte(" "), 1<<20+1))
			w.(http.Flusher).Flush()
			<-held
		default:
			w.Write(allow)
		}
	}))
	var once sync.Once
	stop = func() { once.Do(func() { close(held); srv.Close() }) }
	t.Cleanup(stop)
	return srv.URL, stop
}

// TestHostileAnswers sends each hostile answer, then an ordinary request
// through the same middleware: every hostile answer is a 500 at once, for
// the reason given, and the gateway keeps answering.
func TestHostileAnswers(t *testing.T) {
	plan, err := config.Parse([]byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	var encodings []string
	var last pipeline.Result
	authzURL, srvClose := hostileAuthorizer(t, &encodings)
	mw, err := New(plan, Options{
		Clusters:   map[string]string{"authz": authzURL},
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnDecision: func(r pipeline.Result) { last = r },
	})
	if err != nil {
		t.Fatal(err)
	}
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "upstream") }))
	do := func(token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/fresh/x", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	tests := []struct {
		name, token, reason string
	}{
		{"deeply nested", "deep", "invalid authorizer response: response: nested deeper than 32 levels"},
		{"gzip", "gzip", `authorizer answer has content-encoding "gzip"; only identity is read`},
		{"content-length over the limit", "biglength", "authorizer answer larger than maxResponseBytes (1048576)"},
		{"stream over the limit", "bigstream", "authorizer answer larger than maxResponseBytes (1048576)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(tt.token)
			if w.Code != 500 || w.Body.String() != bodyError || w.Header().Get("X-Amzn-Errortype") != "AuthorizerConfigurationException" {
				t.Errorf("answer %d %q, want 500 %q", w.Code, w.Body, bodyError)
			}
			if last.Reason != tt.reason {
				t.Errorf("reason %q, want %q", last.Reason, tt.reason)
			}
			if w := do("ordinary"); w.Code != 200 || w.Body.String() != "upstream" {
				t.Errorf("next request: %d %q, want 200 upstream", w.Code, w.Body)
			}
		})
	}
	srvClose()
	for _, e := range encodings {
		if e != "identity" {
			t.Errorf("authorizer request with accept-encoding %q, want identity", e)
		}
	}
}
