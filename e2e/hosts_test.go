package e2e

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/host/native"
	"github.com/authgate/authgate/host/wasm"
)

// gateway is one way of running authgate. start runs it with a plugin
// configuration in front of the upstream and returns its base URL; it stops
// it through t.Cleanup, and fails or skips t when it cannot run.
type gateway interface {
	name() string
	// vms is how many independent VMs (each with its own in-flight call
	// table) serve requests: 1 when concurrent misses coalesce globally.
	vms() int
	start(t *testing.T, cfg []byte, up *upstream) string
}

// upstream is what a gateway talks to: the echo server (as a handler for the
// in-process hosts and as a listening server for Envoy) and the clusters
// the configuration names.
type upstream struct {
	handler  http.Handler
	url      string            // the echo server's base URL
	clusters map[string]string // cluster name -> base URL
	requests atomic.Int64      // requests the upstream received
}

// gateways lists the hosts in the order the table runs against them.
func gateways() []gateway {
	return []gateway{nativeGateway{}, wasmGateway{}, &envoyGateway{}}
}

// syncBuffer collects a host's log lines; printed when a test fails.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testLogger returns a logger whose lines are shown only if t fails.
func testLogger(t *testing.T, host string) (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s log:\n%s", host, buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// serve runs h on a fresh 127.0.0.1 port until t ends.
func serve(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// nativeGateway is host/native: the pipeline as net/http middleware.
type nativeGateway struct{}

func (nativeGateway) name() string { return "native" }
func (nativeGateway) vms() int     { return 1 }

func (nativeGateway) start(t *testing.T, cfg []byte, up *upstream) string {
	t.Helper()
	plan, err := config.Parse(cfg)
	if err != nil {
		t.Fatalf("config.Parse: %v", err)
	}
	logger, _ := testLogger(t, "native")
	mw, err := native.New(plan, native.Options{Clusters: up.clusters, Logger: logger})
	if err != nil {
		t.Fatalf("native.New: %v", err)
	}
	return serve(t, mw.Handler(up.handler))
}

// wasmPool is the wasm host's VM count: two, like the Envoy run's workers.
const wasmPool = 2

// wasmGateway is host/wasm: build/authgate.wasm on wazero, with pool VMs
// (0: wasmPool).
type wasmGateway struct{ pool int }

func (g wasmGateway) name() string {
	if g.pool == 0 {
		return "wasm"
	}
	return fmt.Sprintf("wasm-pool%d", g.pool)
}

func (g wasmGateway) vms() int {
	if g.pool == 0 {
		return wasmPool
	}
	return g.pool
}

func (g wasmGateway) start(t *testing.T, cfg []byte, up *upstream) string {
	t.Helper()
	h, _, err := newWasmHostPool(t, cfg, up.clusters, g.vms())
	if err != nil {
		t.Fatalf("wasm.New: %v", err)
	}
	return serve(t, h.Handler(up.handler))
}

// newWasmHost loads the filter with cfg; it returns the host's log too.
func newWasmHost(t *testing.T, cfg []byte, clusters map[string]string) (*wasm.Host, *syncBuffer, error) {
	t.Helper()
	return newWasmHostPool(t, cfg, clusters, wasmPool)
}

// newWasmHostPool is newWasmHost with pool VMs.
func newWasmHostPool(t *testing.T, cfg []byte, clusters map[string]string, pool int) (*wasm.Host, *syncBuffer, error) {
	t.Helper()
	code, err := os.ReadFile(wasmPath(t))
	if err != nil {
		t.Fatalf("reading the filter: %v", err)
	}
	logger, logs := testLogger(t, "wasm")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := wasm.New(ctx, wasm.Config{
		Wasm:         code,
		PluginConfig: cfg,
		VMID:         "authgate",
		PluginName:   "authgate",
		RootID:       "authgate",
		PoolSize:     pool,
		Clusters:     clusters,
		Logger:       logger,
	})
	if err != nil {
		return nil, logs, err
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Errorf("wasm host Close: %v", err)
		}
	})
	return h, logs, nil
}

// The filter is built at most once per test binary when AUTHGATE_WASM is
// not set.
var (
	wasmOnce  sync.Once
	wasmFile  string
	wasmErr   error
	wasmBuild string // temporary directory to remove in TestMain
)

// wasmPath returns the compiled filter: $AUTHGATE_WASM, or a fresh build of
// ./filter with the go command.
func wasmPath(t *testing.T) string {
	t.Helper()
	wasmOnce.Do(func() {
		if p := os.Getenv("AUTHGATE_WASM"); p != "" {
			wasmFile, wasmErr = filepath.Abs(p)
			if wasmErr == nil {
				_, wasmErr = os.Stat(wasmFile)
			}
			return
		}
		dir, err := os.MkdirTemp("", "authgate-e2e-wasm-")
		if err != nil {
			wasmErr = err
			return
		}
		wasmBuild = dir
		out := filepath.Join(dir, "authgate.wasm")
		goCmd := goCommand()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, goCmd, "build", "-buildmode=c-shared", "-trimpath", "-o", out, "./filter")
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			wasmErr = fmt.Errorf("building ./filter: %w\n%s", err, b)
			return
		}
		wasmFile = out
	})
	if wasmErr != nil {
		t.Fatalf("the compiled filter (set AUTHGATE_WASM or fix the build): %v", wasmErr)
	}
	return wasmFile
}

// goCommand finds the go command: the one on PATH (what `go test` was run
// with, normally), else the one of the toolchain that built the tests.
func goCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if wasmBuild != "" {
		_ = os.RemoveAll(wasmBuild)
	}
	if bootstrapDir != "" {
		_ = os.RemoveAll(bootstrapDir)
	}
	os.Exit(code)
}

// closedPort returns a 127.0.0.1 address nothing listens on (a port just
// released by the kernel), for the unreachable authorizer.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// hostPort returns "127.0.0.1:1234" from "http://127.0.0.1:1234".
func hostPort(baseURL string) string {
	return strings.TrimPrefix(strings.TrimPrefix(baseURL, "http://"), "https://")
}
