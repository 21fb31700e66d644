package native

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/host/internal/testutil"
)

// TestFailureCauses: an authorizer that cannot be reached, hangs up,
// takes too long or answers badly gets the same 500, and the log line and
// the counters say which it was. An answer refused for its size, encoding
// or nesting is malformed, and its reason names the limit.
func TestFailureCauses(t *testing.T) {
	serve := func(h http.HandlerFunc) func(t *testing.T) string {
		return func(t *testing.T) string {
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			return srv.URL
		}
	}
	tests := []struct {
		name       string
		authorizer func(t *testing.T) string // its base URL
		wantReason string
		wantCause  string
		// patient gives the authorizer 10 s instead of 200 ms: streaming
		// a megabyte under the race detector on a busy machine can take
		// longer than the timeout, which would be another cause.
		patient bool
	}{
		{
			name: "refused",
			authorizer: func(t *testing.T) string {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				addr := ln.Addr().String()
				ln.Close()
				return "http://" + addr
			},
			wantReason: `reason="authorizer call refused: dial tcp 127.0.0.1:`, wantCause: "error_refused",
		},
		{
			name: "reset before the answer",
			authorizer: serve(func(w http.ResponseWriter, r *http.Request) {
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					conn.Close()
				}
			}),
			wantReason: `reason="authorizer call reset: `, wantCause: "error_reset",
		},
		{
			name: "timeout",
			authorizer: func(t *testing.T) string {
				release := make(chan struct{})
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
				t.Cleanup(func() { close(release); srv.Close() })
				return srv.URL
			},
			wantReason: `reason="authorizer call timed out after 200ms"`, wantCause: "error_timeout",
		},
		{
			name: "a 503",
			authorizer: serve(func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "maintenance", http.StatusServiceUnavailable)
			}),
			wantReason: `reason="authorizer answered status 503"`, wantCause: "error_status",
		},
		{
			name: "larger than maxResponseBytes, by its content-length",
			authorizer: serve(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "2000000")
				io.WriteString(w, "{")
			}),
			wantReason: `reason="authorizer answer larger than maxResponseBytes (1048576)"`, wantCause: "error_malformed",
		},
		{
			name: "larger than maxResponseBytes, sent chunked",
			authorizer: serve(func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte("{"))
				http.NewResponseController(w).Flush()
				w.Write([]byte(strings.Repeat(" ", 1<<20)))
			}),
			wantReason: `reason="authorizer answer larger than maxResponseBytes (1048576)"`, wantCause: "error_malformed",
			patient: true,
		},
		{
			name: "compressed",
			authorizer: serve(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", "gzip")
				io.WriteString(w, "\x1f\x8b")
			}),
			wantReason: `reason="authorizer answer has content-encoding \"gzip\"; only identity is read"`, wantCause: "error_malformed",
		},
		{
			name: "nested too deep",
			authorizer: serve(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, `{"principalId":"a","x":`+strings.Repeat("[", 5000)+strings.Repeat("]", 5000)+`}`)
			}),
			wantReason: `reason="invalid authorizer response: response: nested deeper than 32 levels"`, wantCause: "error_malformed",
		},
		{
			name:       "garbage",
			authorizer: serve(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>") }),
			wantReason: `reason="invalid authorizer response: `, wantCause: "error_malformed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig
			if tt.patient {
				cfg = strings.Replace(cfg, `"timeoutMs": 200`, `"timeoutMs": 10000`, 1)
			}
			plan, err := config.Parse([]byte(cfg))
			if err != nil {
				t.Fatal(err)
			}
			logs := &testutil.SyncBuffer{}
			mw, err := New(plan, Options{
				Clusters: map[string]string{"authz": tt.authorizer(t)},
				Logger:   slog.New(slog.NewTextHandler(logs, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("forwarded") }))
			r := httptest.NewRequest("GET", "/pets/1", nil)
			r.Header.Set("Authorization", "Bearer abc")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 500 || w.Body.String() != bodyError {
				t.Errorf("answer %d %s, want 500 %s", w.Code, w.Body, bodyError)
			}
			line := strings.TrimSpace(logs.String())
			if strings.Count(line, "\n") != 0 || !strings.Contains(line, "level=WARN msg=request ") || !strings.Contains(line, "decision=ERROR status=500 "+tt.wantReason) {
				t.Errorf("log %q: want one warning with decision=ERROR status=500 %s", line, tt.wantReason)
			}
			var moved []string
			for name, v := range mw.Metrics().Counters {
				if n, ok := strings.CutPrefix(name, "authgate.jwt."); ok && v != 0 && strings.HasPrefix(n, "error") {
					moved = append(moved, n)
				}
			}
			slices.Sort(moved)
			if want := []string{"error", tt.wantCause}; !slices.Equal(moved, want) {
				t.Errorf("error counters moved %q, want %q", moved, want)
			}
		})
	}
}
