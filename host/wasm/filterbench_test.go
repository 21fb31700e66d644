package wasm_test

// The filter's end-to-end micro-benchmark: the compiled build/authgate.wasm
// run in this host, so that the cost of one request through the guest can
// be measured without a proxy.

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/authgate/authgate/host/internal/testutil"
	"github.com/authgate/authgate/host/wasm"
)

// benchConfig has one TOKEN authorizer with a validation expression on every
// path, like the example Envoy configuration.
const benchConfig = `{"region":"us-east-1","accountId":"123456789012","restApiId":"a1b2c3d4e5","stage":"prod",
 "authorizers":{"jwt":{"type":"TOKEN","cluster":"authorizer","identityValidationExpression":"^Bearer [-0-9a-zA-Z._]+$"}},
 "routes":[{"method":"ANY","path":"/{proxy+}","authorizer":"jwt"}]}`

// benchAnswer is what the JWT example authorizer answers for alice.
const benchAnswer = `{"principalId":"alice","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/*","arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/POST/users/alice"]}]},"context":{"sub":"alice","groups":"","admin":false,"tokenExpiresAt":1795597395}}`

const benchToken = "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3OTU1OTczOTUsImlhdCI6MTc5NTU5Mzc5NSwic3ViIjoiYWxpY2UifQ.J0evAuA_gFcA34KIpQrIrthtubVcDo3ZTQgEGVJ0drU"

// filterWasm reads the compiled filter (testutil.FilterFile); the test or
// benchmark is skipped without one (run `make build` first).
func filterWasm(b testing.TB) []byte {
	b.Helper()
	path, err := testutil.FilterFile()
	if err != nil {
		b.Skip(err)
	}
	code, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return code
}

// BenchmarkHit measures one request answered from the filter's cache: one
// VM, one cached token, the upstream a no-op handler. The debug log is off,
// as in a production Envoy.
func BenchmarkHit(b *testing.B) {
	authz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, benchAnswer) }))
	defer authz.Close()
	h, err := wasm.New(context.Background(), wasm.Config{
		Wasm: filterWasm(b), PluginConfig: []byte(benchConfig), PoolSize: 1,
		Clusters: map[string]string{"authorizer": authz.URL},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})),
		CacheDir: wasm.DefaultCacheDir(),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close(context.Background())
	var seen string
	handler := h.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Get("x-authorizer-principal-id")
	}))
	req := httptest.NewRequest("GET", "/pets", nil)
	req.Header.Set("Authorization", benchToken)
	req.Header.Set("User-Agent", "curl/8")
	req.Header.Set("Accept", "*/*")
	req.Header.Set("X-Request-Id", "0f3e1a2b-1111-2222-3333-444455556666")
	handler.ServeHTTP(httptest.NewRecorder(), req) // fills the cache
	if seen != "alice" {
		b.Fatalf("principal %q after the first request, want alice", seen)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d, want 200", rec.Code)
		}
	}
}
