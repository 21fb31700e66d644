package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/authgate/authgate/examples/envoy/envoyrun"
	"github.com/prometheus/procfs"
)

// target is one gateway under load.
type target struct {
	url        string        // base URL requests go to
	pid        int           // the process whose memory is reported
	readyAfter time.Duration // exec to first good answer
	stop       func() error
	logTail    func() string
	// stats reads the admin /stats of an Envoy; nil for other gateways.
	stats func(context.Context) (map[string]string, error)
}

// env is what every scenario shares: the upstream, the authorizer and the
// files the gateways run.
type env struct {
	dir            string
	example        []byte // examples/envoy/envoy.yaml
	pluginConfig   []byte // its plugin configuration JSON
	wasmFile       string
	moduleExample  []byte // examples/envoy/envoy-module.yaml
	moduleFile     string
	envoyBin       string
	authgateBin    string
	upstreamPort   int
	authorizerPort int
	envoyWorkers   int
	readyTimeout   time.Duration
	// clockHz is the unit of /proc/<pid>/stat's CPU times, ticks per second.
	clockHz int64
	// rssCache is the authorizerCache JSON object of the memory check's
	// plugin configuration; empty keeps the configuration's defaults.
	rssCache string
}

// extAuthzFilter is Envoy's own external authorization filter calling the
// JWT authorizer's ext_authz endpoint: the same token check, no cache.
const extAuthzFilter = `name: envoy.filters.http.ext_authz
typed_config:
  "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
  http_service:
    server_uri:
      uri: http://127.0.0.1:%d
      cluster: authorizer
      timeout: 1s
    path_prefix: /ext_authz
    authorization_request:
      allowed_headers:
        patterns:
        - exact: authorization
    authorization_response:
      allowed_upstream_headers:
        patterns:
        - exact: x-authorizer-principal-id
`

// envoyConfig builds the Envoy configuration of a scenario from the
// example file; the listener binds a port the kernel chooses. It also
// returns the environment the filter's code needs.
func (e *env) envoyConfig(sc scenario) ([]byte, []string, error) {
	kind, example, code := sc.kind, e.example, e.wasmFile
	if sc.module {
		example, code = e.moduleExample, e.moduleFile
	}
	b, err := envoyrun.ParseBootstrap(example)
	if err != nil {
		return nil, nil, err
	}
	b.SetListener("127.0.0.1", 0)
	b.SetAdmin("127.0.0.1", 0)
	if err := b.SetCluster("upstream", fmt.Sprintf("127.0.0.1:%d", e.upstreamPort)); err != nil {
		return nil, nil, err
	}
	if err := b.SetCluster("authorizer", fmt.Sprintf("127.0.0.1:%d", e.authorizerPort)); err != nil {
		return nil, nil, err
	}
	var codeEnv []string
	switch kind {
	case envoyBare:
		err = b.ReplaceFilter(nil)
	case envoyExtAuthz:
		err = b.ReplaceFilter(fmt.Appendf(nil, extAuthzFilter, e.authorizerPort))
	case envoyFilterHit, envoyFilterTokens:
		codeEnv, err = b.SetCode(code)
	case envoyRSS:
		if codeEnv, err = b.SetCode(code); err == nil && e.rssCache != "" {
			err = editPluginConfig(b, func(doc map[string]any) error {
				doc["authorizerCache"] = json.RawMessage(e.rssCache)
				return nil
			})
		}
	case envoyFilterMiss:
		if codeEnv, err = b.SetCode(code); err == nil {
			err = editPluginConfig(b, withoutCache)
		}
	default:
		err = fmt.Errorf("bench: scenario kind %d is not an Envoy one", kind)
	}
	if err != nil {
		return nil, nil, err
	}
	cfg, err := b.Marshal()
	return cfg, codeEnv, err
}

// editPluginConfig changes the bootstrap's plugin configuration as a JSON
// document. Numbers are kept as written.
func editPluginConfig(b *envoyrun.Bootstrap, edit func(map[string]any) error) error {
	dec := json.NewDecoder(bytes.NewReader(b.PluginConfig()))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("bench: plugin configuration: %w", err)
	}
	if err := edit(doc); err != nil {
		return fmt.Errorf("bench: plugin configuration: %w", err)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("bench: plugin configuration: %w", err)
	}
	return b.SetPluginConfig(out)
}

// withoutCache sets every authorizer's result TTL to 0, so every request
// calls the authorizer.
func withoutCache(doc map[string]any) error {
	authorizers, ok := doc["authorizers"].(map[string]any)
	if !ok || len(authorizers) == 0 {
		return errors.New("authorizers: missing or empty")
	}
	for name, a := range authorizers {
		m, ok := a.(map[string]any)
		if !ok {
			return fmt.Errorf("authorizers.%s: not an object", name)
		}
		m["authorizerResultTtlInSeconds"] = 0
	}
	return nil
}

// workersOf is the --concurrency a scenario's Envoy runs with (0 for
// gateways that are not Envoy).
func (e *env) workersOf(sc scenario) int {
	switch {
	case sc.workers > 0:
		return sc.workers
	case strings.HasPrefix(sc.id, "envoy-"):
		return e.envoyWorkers
	}
	return 0
}

func (e *env) startEnvoy(ctx context.Context, sc scenario) (*target, error) {
	name := sc.id
	cfg, codeEnv, err := e.envoyConfig(sc)
	if err != nil {
		return nil, err
	}
	ev, err := envoyrun.Start(ctx, envoyrun.Options{
		ConfigYAML:   cfg,
		Binary:       e.envoyBin,
		Env:          codeEnv,
		Concurrency:  e.workersOf(sc),
		LogLevel:     "warn",
		ReadyTimeout: e.readyTimeout,
		LogPath:      filepath.Join(e.dir, name+".envoy.log"),
	})
	if err != nil {
		return nil, err
	}
	ls, err := ev.Listeners(ctx)
	if err == nil && len(ls) != 1 {
		err = fmt.Errorf("bench: want one Envoy listener, got %v", ls)
	}
	if err != nil {
		_ = ev.Stop()
		return nil, err
	}
	return &target{
		url:        "http://" + ls[0].Address,
		pid:        ev.PID(),
		readyAfter: ev.ReadyAfter(),
		stop:       ev.Stop,
		logTail:    func() string { return tailFile(ev.LogPath(), 20) },
		stats:      ev.Stats,
	}, nil
}

// startServe runs the built `authgate serve` with the example's plugin
// configuration.
func (e *env) startServe(ctx context.Context, engine, name string) (*target, error) {
	if _, err := os.Stat(e.authgateBin); err != nil {
		return nil, fmt.Errorf("bench: no %s: run `make build` (make bench does)", e.authgateBin)
	}
	cfgFile := filepath.Join(e.dir, "authgate.json")
	if err := os.WriteFile(cfgFile, e.pluginConfig, 0o600); err != nil {
		return nil, err
	}
	port, err := envoyrun.FreePort()
	if err != nil {
		return nil, err
	}
	args := []string{"serve",
		"--config", cfgFile,
		"--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--upstream", fmt.Sprintf("http://127.0.0.1:%d", e.upstreamPort),
		"--cluster", fmt.Sprintf("authorizer=http://127.0.0.1:%d", e.authorizerPort),
		"--engine", engine,
	}
	if engine == "wasm" {
		// The same file Envoy runs, not whatever was embedded at build time.
		args = append(args, "--filter", e.wasmFile)
	}
	return startProcess(ctx, filepath.Join(e.dir, name+".log"), port, e.readyTimeout, e.authgateBin, args...)
}

// startGoProxy re-runs this program as a plain httputil.ReverseProxy, in
// its own process like `authgate serve`, so both compete for the CPU the
// same way.
func (e *env) startGoProxy(ctx context.Context, name string) (*target, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	port, err := envoyrun.FreePort()
	if err != nil {
		return nil, err
	}
	return startProcess(ctx, filepath.Join(e.dir, name+".log"), port, e.readyTimeout, self,
		"-child-proxy-listen", fmt.Sprintf("127.0.0.1:%d", port),
		"-child-proxy-upstream", fmt.Sprintf("http://127.0.0.1:%d", e.upstreamPort))
}

// startProcess runs a gateway process and waits until GET /health through
// it answers 200 (the example routes /health without an authorizer).
func startProcess(ctx context.Context, logPath string, port int, readyTimeout time.Duration, bin string, args ...string) (*target, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	began := time.Now()
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("bench: starting %s: %w", bin, err)
	}
	done := make(chan struct{})
	var exitErr error
	go func() {
		exitErr = cmd.Wait()
		_ = logFile.Close()
		close(done)
	}()
	stop := func() error {
		select {
		case <-done:
			return nil
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
			return nil
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("bench: %s did not exit 5s after SIGTERM; killed it", filepath.Base(bin))
		}
	}
	t := &target{
		url:     fmt.Sprintf("http://127.0.0.1:%d", port),
		pid:     cmd.Process.Pid,
		stop:    stop,
		logTail: func() string { return tailFile(logPath, 20) },
	}
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-done:
			return nil, fmt.Errorf("bench: %s exited before it was ready: %v\n%s", filepath.Base(bin), exitErr, t.logTail())
		case <-ctx.Done():
			_ = stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if resp, err := client.Get(t.url + "/health"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.readyAfter = time.Since(began)
				return t, nil
			}
		}
		if time.Now().After(deadline) {
			_ = stop()
			return nil, fmt.Errorf("bench: %s not ready after %v\n%s", filepath.Base(bin), readyTimeout, t.logTail())
		}
	}
}

// runChildProxy is the reference gateway: a ReverseProxy set up the way
// `authgate serve` sets up its own (same Rewrite, same pool of idle
// upstream connections), minus the authorizer.
func runChildProxy(listen, upstream string) error {
	u, err := url.Parse(upstream)
	if err != nil {
		return err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = 1024
	transport.MaxIdleConnsPerHost = 1024
	proxy := &httputil.ReverseProxy{
		Transport: transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
	}
	srv := &http.Server{Addr: listen, Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// readLoadAvg returns the 1-minute load average, or -1.
func readLoadAvg() float64 {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return -1
	}
	l, err := fs.LoadAvg()
	if err != nil {
		return -1
	}
	return l.Load1
}
