package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/authgate/authgate/host/wasm"
)

// embedded holds the filter `make build` copied into embedded/; the README
// there keeps the directory, and so this pattern, valid in a plain checkout.
//
//go:embed embedded
var embedded embed.FS

const embeddedFilter = "embedded/authgate.wasm"

// errNoFilter explains how to get a filter when none is embedded.
var errNoFilter = errors.New("no filter embedded in this build of authgate: run `make build` (which embeds build/authgate.wasm) or pass --filter FILE.wasm")

// loadFilter returns the --filter file or the embedded filter.
func loadFilter(file string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--filter: %w", err)
		}
		return b, nil
	}
	b, err := embedded.ReadFile(embeddedFilter)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(b) == 0) {
		return nil, errNoFilter
	}
	return b, err
}

// wasmEngine runs the compiled filter in the wazero host. The filter logs
// its own decisions through proxy_log; the engine adds what the host sees.
type wasmEngine struct {
	host *wasm.Host
	log  *slog.Logger
}

func newWasmEngine(ctx context.Context, o *serveOptions, pluginConfig []byte, logger *slog.Logger, client *http.Client) (engine, error) {
	bin, err := loadFilter(o.filter)
	if err != nil {
		return nil, err
	}
	h, err := wasm.New(ctx, wasm.Config{
		Wasm:         bin,
		PluginConfig: pluginConfig,
		VMID:         "authgate",
		PluginName:   "authgate",
		RootID:       "authgate",
		PoolSize:     o.pool,
		Clusters:     o.clusters,
		Logger:       logger.With("source", "filter"),
		HTTPClient:   client,
		CacheDir:     o.cacheDir,
	})
	if err != nil {
		return nil, err
	}
	return &wasmEngine{host: h, log: logger}, nil
}

func (e *wasmEngine) Handler(next http.Handler) http.Handler {
	inner := e.host.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		inner.ServeHTTP(sw, r)
		e.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.EscapedPath()),
			slog.Int("status", sw.statusCode()),
			slog.Duration("latency", time.Since(start)))
	})
}

func (e *wasmEngine) Close(ctx context.Context) error { return e.host.Close(ctx) }

// statusWriter records the status a handler answered with. Unwrap lets
// http.ResponseController reach the real writer (ReverseProxy flushes
// through it).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 && code >= 200 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Flush() {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) statusCode() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}
