package native

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/authgate/authgate/core/config"
)

// benchMiddleware is the test gateway with the log off, as the benchmarks
// measure the decision, not the log handler.
func benchMiddleware(b *testing.B) (*Middleware, *fakeAuthorizer) {
	b.Helper()
	plan, err := config.Parse([]byte(testConfig))
	if err != nil {
		b.Fatal(err)
	}
	fa := &fakeAuthorizer{}
	fa.srv = httptest.NewServer(http.HandlerFunc(fa.serve))
	b.Cleanup(fa.srv.Close)
	mw, err := New(plan, Options{
		Clusters: map[string]string{"authz": fa.srv.URL},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		b.Fatal(err)
	}
	return mw, fa
}

var benchNext = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

// BenchmarkHit measures one request answered from the cache, one goroutine.
func BenchmarkHit(b *testing.B) {
	mw, _ := benchMiddleware(b)
	h := mw.Handler(benchNext)
	req := httptest.NewRequest("GET", "/pets/7", nil)
	req.Header.Set("Authorization", "Bearer allow")
	req.Header.Set("User-Agent", "curl/8")
	req.Header.Set("X-Request-Id", "0f3e1a2b-1111-2222-3333-444455556666")
	h.ServeHTTP(httptest.NewRecorder(), req) // fills the cache
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkHitParallel measures cache hits from every processor at once:
// what the shared state (cache, metrics) costs under contention.
func BenchmarkHitParallel(b *testing.B) {
	mw, _ := benchMiddleware(b)
	h := mw.Handler(benchNext)
	newReq := func() *http.Request {
		req := httptest.NewRequest("GET", "/pets/7", nil)
		req.Header.Set("Authorization", "Bearer allow")
		req.Header.Set("User-Agent", "curl/8")
		req.Header.Set("X-Request-Id", "0f3e1a2b-1111-2222-3333-444455556666")
		return req
	}
	h.ServeHTTP(httptest.NewRecorder(), newReq())
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := newReq()
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("status %d", rec.Code)
				return
			}
		}
	})
}

// BenchmarkMiss measures a request that calls the authorizer (TTL 0): the
// loopback HTTP call dominates.
func BenchmarkMiss(b *testing.B) {
	mw, fa := benchMiddleware(b)
	h := mw.Handler(benchNext)
	req := httptest.NewRequest("GET", "/fresh/x", nil)
	req.Header.Set("Authorization", "Bearer allow")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
	b.StopTimer()
	if got := fa.calls.Load(); got != int64(b.N) {
		b.Fatalf("authorizer calls = %d, want %d", got, b.N)
	}
}
