package wasm

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/authgate/authgate/filter/abi"
)

type requestKey struct{}

// TestStreamLog: the lines a guest logs in a request's callbacks reach
// StreamLog with that request's context; what it takes stays out of the
// Logger, and the guest is told debug is logged even when the Logger
// records only warnings.
func TestStreamLog(t *testing.T) {
	var mu sync.Mutex
	seen := map[string][]string{} // by the request's context value
	lg := &logs{level: slog.LevelWarn}
	h, _ := newHost(t, Config{
		Logger: slog.New(lg),
		StreamLog: func(ctx context.Context, level abi.LogLevel, msg string) bool {
			name, _ := ctx.Value(requestKey{}).(string)
			mu.Lock()
			defer mu.Unlock()
			seen[name] = append(seen[name], level.String()+" "+msg)
			// Take the per-request lines, leave the rest to the Logger.
			return strings.HasPrefix(msg, "level debug") || strings.HasPrefix(msg, "on_")
		},
	})
	for _, name := range []string{"first", "second"} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("x-test", "log")
		req = req.WithContext(context.WithValue(req.Context(), requestKey{}, name))
		rec := httptest.NewRecorder()
		h.Handler(echo).ServeHTTP(rec, req)
		if rec.Body.String() != "level=1" {
			t.Fatalf("%s: the guest was told %q, want level=1 (debug)", name, rec.Body.String())
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, name := range []string{"first", "second"} {
		got := seen[name]
		for _, want := range []string{"debug level debug", "warn level warn", "debug on_done ctx="} {
			if !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, want) }) {
				t.Errorf("%s: StreamLog saw %q, lacks %q", name, got, want)
			}
		}
	}
	if len(seen) != 2 {
		t.Errorf("StreamLog saw requests %v, want first and second only", seen)
	}
	msgs := lg.messages()
	if slices.Contains(msgs, "level debug") || slices.ContainsFunc(msgs, func(s string) bool { return strings.HasPrefix(s, "on_") }) {
		t.Errorf("lines StreamLog took reached the Logger: %q", msgs)
	}
	if !slices.Contains(msgs, "level warn") {
		t.Errorf("a line StreamLog left did not reach the Logger: %q", msgs)
	}
	if slices.Contains(msgs, "level info") {
		t.Errorf("the Logger recorded a line below its level: %q", msgs)
	}
}
