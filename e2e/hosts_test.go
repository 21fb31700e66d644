package e2e

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/e2e/internal/authz"
	"github.com/authgate/authgate/e2e/internal/echo"
	"github.com/authgate/authgate/examples/envoy/envoyrun"
	"github.com/authgate/authgate/examples/lambdarun"
	"github.com/authgate/authgate/host/awssign"
	"github.com/authgate/authgate/host/native"
	"github.com/authgate/authgate/host/wasm"
)

// gateway is one embedding of authgate the suite runs against. Adding an
// embedding is adding one type (or one value of envoyGateway): its name,
// how many VMs serve its requests, why it cannot run on this machine, and
// how to start one instance.
type gateway interface {
	name() string
	// vms is how many independent VMs (each with its own in-flight call
	// table) serve requests: 1 when concurrent misses coalesce globally.
	vms() int
	// unavailable says why this host cannot run here ("" when it can): a
	// missing executable or build output. The run's summary lists it, or
	// the run fails where required says so.
	unavailable() string
	// required reports whether an unavailable host fails the run.
	required() bool
	// start runs a gateway for each plugin configuration of s in front of
	// s.env's upstream and clusters, each serving HTTP/1.1 and HTTP/2 with
	// prior knowledge (h2c) on a port of its own, and stops them when t
	// ends. It may run on a goroutine of its own, so it reports failure as
	// an error instead of ending t.
	start(t *testing.T, s spec) (*instance, error)
}

// spec is what one start runs.
type spec struct {
	// cfgs are the plugin configurations, one gateway each; a nil one
	// keeps an Envoy example's own.
	cfgs [][]byte
	// names label the configurations in logs; "" or missing ones go by
	// their index.
	names []string
	env   *env
	// together is how many starts run at the same time, which share the
	// machine and so may each take that much longer.
	together int
	// envoyExample, when set, is the Envoy example (a file under
	// examples/envoy that loads the wasm filter) an Envoy host starts
	// from instead of its own; a dynamic-module host puts its module in
	// place of the filter.
	envoyExample string
	// envoyArgs are extra Envoy command-line arguments; procEnv extra
	// entries of the environment of a host that runs as a process (Envoy,
	// authgate serve).
	envoyArgs, procEnv []string
}

// instance is what one start runs.
type instance struct {
	bases []string        // base URL of each gateway, "http://127.0.0.1:1234", in spec order
	envoy *envoyrun.Envoy // the process, for Envoy hosts
}

// gateways lists the hosts in the order the suite runs against them: the
// embeddings, then both engines of `authgate serve`. What serve adds to
// its engine (flags, signing client, reverse proxy) is the same for both,
// so serve-native runs every group and serve-wasm, whose every process
// first compiles the filter, only the security and limits rows; its
// engine runs every group in process as the wasm host.
func gateways() []gateway {
	return []gateway{nativeGateway{}, wasmGateway{}, wasmEnvoy(0), moduleEnvoy(""),
		cliGateway{engine: "native"}, cliGateway{engine: "wasm", groups: []string{groupSecurity, groupLimits}}}
}

// env is what a gateway talks to: the authorizer, the echo upstream and
// the clusters configurations name.
type env struct {
	authz     *authz.Server
	stopAuthz func() // shuts the authorizer down, for "authorizer down" cases
	up        *echo.Server
	clusters  map[string]string // cluster name -> base URL
	// envoyExample and procEnv, when set, are how hosts must be set up to
	// reach what a group's environment adds (see spec).
	envoyExample string
	procEnv      []string
	// lambda is the Lambda Invoke endpoint of the Lambda group.
	lambda *lambdarun.Endpoint
}

// Cluster names the configurations use.
const (
	clusterAuthorizer = "authorizer"
	clusterDead       = "deadauthz" // nobody listens there
)

// newEnv starts an authorizer and an echo upstream for t.
func newEnv(t *testing.T) *env {
	a := authz.New()
	srv := httptest.NewServer(a)
	stop := sync.OnceFunc(srv.Close)
	t.Cleanup(stop)
	up := echo.NewServer()
	t.Cleanup(up.Close)
	return &env{authz: a, stopAuthz: stop, up: up, clusters: map[string]string{
		clusterAuthorizer: srv.URL,
		clusterDead:       "http://" + closedPort(t),
	}}
}

// serve runs h on a fresh 127.0.0.1 port until t ends.
func serve(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// serveGateway runs a Go host's middleware the way `authgate serve` does:
// in front of a reverse proxy to the upstream (the upstream receives a real
// request on a connection of its own, as behind Envoy), on a fresh port
// that speaks HTTP/1.1 and h2c.
func serveGateway(t *testing.T, middleware func(http.Handler) http.Handler, e *env) string {
	up, err := url.Parse(e.up.URL)
	if err != nil {
		panic(err) // httptest's own URL
	}
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	proxy := &httputil.ReverseProxy{
		Transport: tr,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(up)
			// The target goes on as the middleware left it, as Envoy
			// forwards :path: the reverse proxy would re-encode the path
			// and drop a query it cannot parse, and the rows would then
			// judge this proxy instead of the host.
			path, query, hasQuery := strings.Cut(pr.In.RequestURI, "?")
			pr.Out.URL.Opaque, pr.Out.URL.RawQuery, pr.Out.URL.ForceQuery = path, query, hasQuery && query == ""
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
	}
	srv := httptest.NewUnstartedServer(middleware(proxy))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
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

// label names configuration i of s in logs.
func (s spec) label(i int) string {
	if i < len(s.names) && s.names[i] != "" {
		return s.names[i]
	}
	return fmt.Sprint(i)
}

// testLogger returns a logger whose lines are shown only if t fails.
func testLogger(t *testing.T, host string) (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	t.Cleanup(func() {
		if log := buf.String(); t.Failed() && log != "" {
			t.Logf("%s log:\n%s", host, log)
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// nativeGateway is host/native: the pipeline as net/http middleware.
type nativeGateway struct{}

func (nativeGateway) name() string        { return "native" }
func (nativeGateway) vms() int            { return 1 }
func (nativeGateway) unavailable() string { return "" }
func (nativeGateway) required() bool      { return true }

func (nativeGateway) start(t *testing.T, s spec) (*instance, error) {
	inst := &instance{}
	for i, cfg := range s.cfgs {
		plan, err := config.Parse(cfg)
		if err != nil {
			return nil, fmt.Errorf("config.Parse: %w", err)
		}
		logger, _ := testLogger(t, "native gateway for "+s.label(i))
		client, err := signingClient(t, plan, s.env.clusters)
		if err != nil {
			return nil, err
		}
		mw, err := native.New(plan, native.Options{Clusters: s.env.clusters, Logger: logger, Client: client})
		if err != nil {
			return nil, fmt.Errorf("native.New: %w", err)
		}
		inst.bases = append(inst.bases, serveGateway(t, mw.Handler, s.env))
	}
	return inst, nil
}

// wasmPool is the wasm host's VM count: two, like the Envoy run's workers.
const wasmPool = 2

// wasmGateway is host/wasm: the compiled filter on wazero, with pool VMs
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

// unavailable is never set: without AUTHGATE_WASM the suite builds the
// filter, and a build that fails is a failure.
func (wasmGateway) unavailable() string { return "" }
func (wasmGateway) required() bool      { return true }

// wasmStarts makes wasm hosts start one at a time: the first compiles
// the filter into host/wasm's compilation cache and the others find it
// there, where starting together they would each compile it.
var wasmStarts sync.Mutex

func (g wasmGateway) start(t *testing.T, s spec) (*instance, error) {
	inst := &instance{}
	for i, cfg := range s.cfgs {
		plan, err := config.Parse(cfg)
		if err != nil {
			return nil, fmt.Errorf("config.Parse: %w", err)
		}
		client, err := signingClient(t, plan, s.env.clusters)
		if err != nil {
			return nil, err
		}
		wasmStarts.Lock()
		h, _, err := newWasmHost(t, g.name()+" gateway for "+s.label(i), cfg, s.env.clusters, g.vms(), client)
		wasmStarts.Unlock()
		if err != nil {
			return nil, fmt.Errorf("wasm.New: %w", err)
		}
		inst.bases = append(inst.bases, serveGateway(t, h.Handler, s.env))
	}
	return inst, nil
}

// signingClient is the client authorizer calls go through, as authgate
// serve builds it: nil (the host's own) without Lambda authorizers, else
// one that signs the Lambda clusters' requests with the AWS SDK's default
// credentials (the environment's, in the suite).
func signingClient(t *testing.T, plan *config.Plan, clusters map[string]string) (*http.Client, error) {
	if len(plan.LambdaClusters) == 0 {
		return nil, nil
	}
	tr, err := awssign.NewTransport(t.Context(), plan, clusters, awssign.Options{})
	if err != nil {
		return nil, err
	}
	return tr.Client(), nil
}

// newWasmHost loads the filter with cfg in pool VMs, its callouts sent
// through client (nil: the host's own); it returns the host's log too,
// which name labels.
func newWasmHost(t *testing.T, name string, cfg []byte, clusters map[string]string, pool int, client *http.Client) (*wasm.Host, *syncBuffer, error) {
	file, err := filterFile()
	if err != nil {
		return nil, nil, err
	}
	code, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the filter: %w", err)
	}
	logger, logs := testLogger(t, name)
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
		HTTPClient:   client,
		// The compiled filter is kept where authgate serve keeps it, so
		// this package and the serve processes compile it once between
		// them, not once per test process.
		CacheDir: wasm.DefaultCacheDir(),
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
	filterOnce sync.Once
	filterPath string
	filterErr  error
)

// filterFile returns the compiled filter: $AUTHGATE_WASM, or a fresh build
// of ./filter. Not build/authgate.wasm, which may predate the sources under
// test: the Makefile sets AUTHGATE_WASM right after building it.
func filterFile() (string, error) {
	filterOnce.Do(func() {
		if os.Getenv(envoyrun.FilterVar) != "" {
			filterPath, filterErr = envoyrun.FilterFile()
			return
		}
		filterPath, filterErr = goBuild("./filter", "authgate.wasm", envoyrun.FilterVar,
			[]string{"GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0"}, "-buildmode=c-shared", "-trimpath")
	})
	return filterPath, filterErr
}

// buildDirs are the temporary directories of the suite's own builds,
// removed by TestMain.
var buildDirs struct {
	sync.Mutex
	dirs []string
}

// goBuild builds pkg (a path below the module root) with args and env
// added to the environment into a fresh temporary directory, as file. A
// failure names the variable that would point at a build instead.
func goBuild(pkg, file, instead string, env []string, args ...string) (string, error) {
	dir, err := os.MkdirTemp("", "authgate-e2e-build-")
	if err != nil {
		return "", err
	}
	buildDirs.Lock()
	buildDirs.dirs = append(buildDirs.dirs, dir)
	buildDirs.Unlock()
	out := filepath.Join(dir, file)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goCommand(), append(append([]string{"build", "-o", out}, args...), pkg)...)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s %v (or set %s): %w\n%s", pkg, args, instead, err, b)
	}
	return out, nil
}

// goCommand finds the go command: the one on PATH (what `go test` was run
// with, normally), else the one of the toolchain that built the tests.
func goCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
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
