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
	"sync/atomic"
	"time"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/pipeline"
	"github.com/authgate/authgate/filter/abi"
	"github.com/authgate/authgate/host/internal/decisionlog"
	"github.com/authgate/authgate/host/internal/envoyheaders"
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

// wasmEngine runs the compiled filter in the wazero host. The filter
// logs each decision as a line in the decision record's layout; the host
// hands the lines of each request to the engine (wasm.Config.StreamLog),
// which reads the record back and logs it as the native engine logs its
// own, with the latency the engine measures: both engines write the same
// line.
type wasmEngine struct {
	host *wasm.Host
	log  *slog.Logger
}

func newWasmEngine(ctx context.Context, o *serveOptions, plan *config.Plan, pluginConfig []byte, logger *slog.Logger, client *http.Client) (engine, error) {
	bin, err := loadFilter(o.filter)
	if err != nil {
		return nil, err
	}
	e := &wasmEngine{log: logger}
	h, err := wasm.New(ctx, wasm.Config{
		Wasm:            bin,
		PluginConfig:    pluginConfig,
		VMID:            "authgate",
		PluginName:      "authgate",
		RootID:          "authgate",
		PoolSize:        o.pool,
		Clusters:        o.clusters,
		Logger:          logger.With("source", "filter"),
		StreamLog:       e.decisionLine,
		MaxCalloutBody:  maxResponseBytes(plan),
		FailureResponse: failureResponse(plan),
		HTTPClient:      client,
		CacheDir:        o.cacheDir,
	})
	if err != nil {
		return nil, err
	}
	e.host = h
	return e, nil
}

// decisionKey keys a request's *requestLog in its context.
type decisionKey struct{}

// requestLog is what the engine knows of one request's decision line.
type requestLog struct {
	start  time.Time
	logged atomic.Bool
}

// decisionLine takes the filter's final decision line of a request and
// logs it, with the time since the engine began serving the request. Any
// other line (the filter's pending line, its debug notes) goes on to the
// host's logger at its own level.
func (e *wasmEngine) decisionLine(ctx context.Context, _ abi.LogLevel, msg string) bool {
	d, _ := ctx.Value(decisionKey{}).(*requestLog)
	if d == nil {
		return false
	}
	fields, ok := pipeline.ParseText(msg)
	if !ok || fieldText(fields, pipeline.RecordDecision) == pipeline.DecisionPending || d.logged.Swap(true) {
		return false
	}
	decisionlog.Log(ctx, e.log, fields, time.Since(d.start))
	return true
}

func fieldText(fields []pipeline.Field, key string) string {
	for _, f := range fields {
		if f.Key == key {
			return f.Text
		}
	}
	return ""
}

// maxResponseBytes is the largest answer any authorizer of plan accepts:
// the host reads no more of a callout's answer, and the filter refuses
// what is past the limit of the authorizer it asked.
func maxResponseBytes(plan *config.Plan) int {
	n := 0
	for _, a := range plan.Authorizers {
		n = max(n, a.MaxResponseBytes)
	}
	return n
}

// failureResponse is what the filter answers when it fails; the host gives
// the same answer when the filter cannot (a trap).
func failureResponse(plan *config.Plan) *wasm.LocalResponse {
	f := pipeline.New(plan).Failure("the filter failed")
	lr := &wasm.LocalResponse{Status: f.Status, Body: f.Body, Details: "authgate_filter_failed"}
	for _, h := range f.Headers {
		lr.Headers = append(lr.Headers, abi.Header(h))
	}
	return lr
}

func (e *wasmEngine) Handler(next http.Handler) http.Handler {
	inner := e.host.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if envoyheaders.Refuse(w, r) {
			// What Envoy's codec refuses never reaches a filter, and
			// gets no decision line (natively neither).
			return
		}
		d := &requestLog{start: time.Now()}
		r = r.WithContext(context.WithValue(r.Context(), decisionKey{}, d))
		sw := &statusWriter{ResponseWriter: w}
		inner.ServeHTTP(sw, r)
		if d.logged.Load() {
			return
		}
		// The filter decided nothing (it trapped, the host is closing,
		// the client left first): say so in the same layout.
		res := pipeline.Result{Decision: pipeline.DecisionError, Reason: "no decision from the filter"}
		if sw.status != 0 {
			res.Kind, res.Status = pipeline.KindReject, sw.status
		}
		rec := pipeline.NewRecord(r.Method, r.RequestURI, r.Header.Get("x-request-id"), &res)
		var buf [9]pipeline.Field
		decisionlog.Log(r.Context(), e.log, rec.Fields(buf[:0]), time.Since(d.start))
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
