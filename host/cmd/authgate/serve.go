package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/host/awssign"
	"github.com/authgate/authgate/host/native"
	"github.com/authgate/authgate/host/wasm"
)

// shutdownTimeout bounds how long serve waits for requests in progress
// after SIGINT/SIGTERM.
const shutdownTimeout = 10 * time.Second

// Defaults of serve's client timeouts, the values examples/envoy/envoy.yaml
// gives Envoy's connection manager (idle_timeout, request_headers_timeout,
// request_timeout), so that both gateways drop the same slow or idle
// clients.
const (
	defaultIdleTimeout           = 60 * time.Second
	defaultRequestHeadersTimeout = 10 * time.Second
	defaultRequestTimeout        = 60 * time.Second
)

// engine authorizes requests in front of the upstream proxy and reports
// its metrics.
type engine interface {
	Handler(next http.Handler) http.Handler
	Close(ctx context.Context) error
	metricsSource
}

// clusterFlags collects repeated --cluster NAME=URL flags.
type clusterFlags map[string]string

func (cf clusterFlags) String() string { return "" }

func (cf clusterFlags) Set(s string) error {
	name, raw, ok := strings.Cut(s, "=")
	if !ok || name == "" || raw == "" {
		return fmt.Errorf("want NAME=URL, got %q", s)
	}
	if _, dup := cf[name]; dup {
		return fmt.Errorf("cluster %q given twice", name)
	}
	if err := checkHTTPURL(raw); err != nil {
		return fmt.Errorf("cluster %q: %w", name, err)
	}
	cf[name] = raw
	return nil
}

func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("want an http or https URL with a host, got %q", raw)
	}
	return nil
}

// serveOptions are serve's parsed flags.
type serveOptions struct {
	configFile string
	listen     string
	upstream   string
	clusters   clusterFlags
	engine     string
	filter     string
	pool       int
	admin      string
	logFormat  string
	cacheDir   string

	idleTimeout, headersTimeout, requestTimeout time.Duration
}

// serve runs the authorizing reverse proxy until ctx is done.
func (c *cli) serve(ctx context.Context, args []string) int {
	fs := c.flags("serve", "--config FILE --listen ADDR --upstream URL --cluster NAME=URL [--cluster ...] [--engine wasm|native] [--filter FILE.wasm] [--pool N] [--admin ADDR] [--log-format text|json] [--cache-dir DIR] [--idle-timeout D] [--request-headers-timeout D] [--request-timeout D]")
	o := serveOptions{clusters: clusterFlags{}}
	fs.StringVar(&o.configFile, "config", "", "gateway configuration `FILE` (JSON)")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "`ADDR` to listen on")
	fs.StringVar(&o.upstream, "upstream", "", "`URL` allowed requests are proxied to")
	fs.Var(o.clusters, "cluster", "authorizer cluster `NAME=URL`; repeat for each cluster")
	fs.StringVar(&o.engine, "engine", "wasm", "`wasm` (the compiled filter on wazero) or native (the Go pipeline)")
	fs.StringVar(&o.filter, "filter", "", "filter `FILE.wasm` for the wasm engine; default: the one embedded at build time")
	fs.IntVar(&o.pool, "pool", 0, "number of wasm VMs (`N`); default GOMAXPROCS")
	fs.StringVar(&o.cacheDir, "cache-dir", wasm.DefaultCacheDir(), "`DIR` keeping the compiled filter between runs of the wasm engine; empty: compile at every start")
	fs.StringVar(&o.admin, "admin", "", "`ADDR` of the admin listener serving /metrics and /ready, e.g. 127.0.0.1:9902; default none")
	fs.StringVar(&o.logFormat, "log-format", "text", "log lines on stderr as `text` (logfmt) or json (one object per line)")
	fs.DurationVar(&o.idleTimeout, "idle-timeout", defaultIdleTimeout, "close a keep-alive connection idle this `long`; 0: the request timeout applies")
	fs.DurationVar(&o.headersTimeout, "request-headers-timeout", defaultRequestHeadersTimeout, "`time` a client has to send a request's headers; 0: the request timeout applies")
	fs.DurationVar(&o.requestTimeout, "request-timeout", defaultRequestTimeout, "`time` a client has to send a whole request, body included; 0: none")
	if code, ok := c.parse(fs, args); !ok {
		return code
	}
	switch {
	case o.configFile == "":
		c.usageError(fs, "--config is required")
		return exitUsage
	case o.upstream == "":
		c.usageError(fs, "--upstream is required")
		return exitUsage
	case o.engine != "wasm" && o.engine != "native":
		c.usageError(fs, fmt.Sprintf("--engine: want wasm or native, got %q", o.engine))
		return exitUsage
	case o.pool < 0:
		c.usageError(fs, "--pool: must not be negative")
		return exitUsage
	case o.filter != "" && o.engine != "wasm":
		c.usageError(fs, "--filter: only with --engine wasm")
		return exitUsage
	case o.logFormat != "text" && o.logFormat != "json":
		c.usageError(fs, fmt.Sprintf("--log-format: want text or json, got %q", o.logFormat))
		return exitUsage
	case o.idleTimeout < 0 || o.headersTimeout < 0 || o.requestTimeout < 0:
		c.usageError(fs, "--idle-timeout, --request-headers-timeout, --request-timeout: must not be negative")
		return exitUsage
	}
	upstream, err := url.Parse(o.upstream)
	if err == nil {
		err = checkHTTPURL(o.upstream)
	}
	if err != nil {
		c.usageError(fs, fmt.Sprintf("--upstream: %v", err))
		return exitUsage
	}
	// The configuration is checked here for both engines, so a bad file is
	// a usage error with its JSON path rather than a failed plugin start.
	plan, raw, err := c.loadConfig(o.configFile)
	if err != nil {
		fmt.Fprintf(c.stderr, "authgate serve: %v\n", err)
		return exitUsage
	}
	for _, name := range sortedAuthorizers(plan) {
		if cl := plan.Authorizers[name].Cluster; o.clusters[cl] == "" {
			fmt.Fprintf(c.stderr, "authgate serve: authorizer %q uses cluster %q: pass --cluster %s=URL\n", name, cl, cl)
			return exitUsage
		}
	}

	var handler slog.Handler = slog.NewTextHandler(c.stderr, nil)
	if o.logFormat == "json" {
		handler = slog.NewJSONHandler(c.stderr, nil)
	}
	logger := slog.New(handler)
	eng, err := c.newEngine(ctx, &o, plan, raw, logger)
	if err != nil {
		fmt.Fprintf(c.stderr, "authgate serve: %v\n", err)
		return exitUsage
	}
	defer func() {
		if err := eng.Close(context.Background()); err != nil {
			logger.Warn("engine close", "error", err)
		}
	}()

	// The default transport keeps two idle connections per host, so under
	// concurrent load most requests would open a new connection to the
	// upstream; a gateway keeps a pool as large as its concurrency.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = 1024
	transport.MaxIdleConnsPerHost = 1024
	// Without this the transport asks the upstream for gzip on requests
	// that did not, and unpacks the answer: the upstream would receive an
	// Accept-Encoding the client never sent, where Envoy forwards the
	// request as it came.
	transport.DisableCompression = true
	proxy := &httputil.ReverseProxy{
		Transport: transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			forwardTarget(pr.Out, pr.In, upstream)
			// Keep the client's Host, as Envoy does without host_rewrite.
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			logger.Warn("upstream error", "method", r.Method, "path", r.URL.Path, "error", err)
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	// Like Envoy's listener, serve's speaks HTTP/1.1 and, without TLS,
	// HTTP/2 with prior knowledge (h2c). net/http's ReadTimeout is Envoy's
	// request_timeout: it runs from the request's first byte until its
	// last has been read, the wait for the authorizer included, and does
	// not bound the upstream's answer.
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler:           eng.Handler(proxy),
		Protocols:         protocols,
		IdleTimeout:       o.idleTimeout,
		ReadHeaderTimeout: o.headersTimeout,
		ReadTimeout:       o.requestTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// HTTP/2 without TLS (prior knowledge) too, as Envoy's listener accepts
	// it: a client gets the same gateway over either protocol.
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		fmt.Fprintf(c.stderr, "authgate serve: %v\n", err)
		return exitFailure
	}
	var ready atomic.Bool
	var admin *http.Server
	adminDone := make(chan error, 1)
	if o.admin != "" {
		aln, err := net.Listen("tcp", o.admin)
		if err != nil {
			_ = ln.Close()
			fmt.Fprintf(c.stderr, "authgate serve: --admin: %v\n", err)
			return exitFailure
		}
		admin = &http.Server{Handler: adminHandler(eng, &ready), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
		fmt.Fprintf(c.stderr, "authgate serve: admin on http://%s (/metrics, /ready)\n", aln.Addr())
		if c.adminReady != nil {
			c.adminReady(aln.Addr())
		}
		go func() { adminDone <- admin.Serve(aln) }()
	}
	fmt.Fprintf(c.stderr, "authgate serve: listening on http://%s, engine %s, upstream %s, %s\n",
		ln.Addr(), o.engine, upstream.Redacted(), summary(plan))
	ready.Store(true)
	if c.ready != nil {
		c.ready(ln.Addr())
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	// The admin listener outlives the gateway's shutdown, so /ready can say
	// DRAINING while requests finish; it closes last.
	defer func() {
		if admin != nil {
			_ = admin.Close()
			<-adminDone
		}
	}()
	select {
	case err := <-served:
		fmt.Fprintf(c.stderr, "authgate serve: %v\n", err)
		return exitFailure
	case <-ctx.Done():
	}
	ready.Store(false)
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("shutdown", "error", err)
		_ = srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("serve", "error", err)
	}
	return exitOK
}

// forwardTarget makes out's request target the one in received, byte for
// byte, below upstream's path: the request the gateway authorized. The
// reverse proxy would re-encode the path and, before Rewrite runs, drop a
// query it cannot parse ("a=%ZZ", "a=1;b=2"), where Envoy forwards both as
// they came. The engines have already turned an absolute-form target into
// origin form, and the pipeline has refused any target that is not a path.
func forwardTarget(out, in *http.Request, upstream *url.URL) {
	path, query, _ := strings.Cut(in.RequestURI, "?")
	if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") {
		return
	}
	out.URL.Opaque = strings.TrimSuffix(upstream.EscapedPath(), "/") + path
	switch {
	case upstream.RawQuery == "":
		out.URL.RawQuery = query
	case query == "":
		out.URL.RawQuery = upstream.RawQuery
	default:
		out.URL.RawQuery = upstream.RawQuery + "&" + query
	}
	out.URL.ForceQuery = query == "" && strings.Contains(in.RequestURI, "?")
}

// newEngine starts the chosen engine.
func (c *cli) newEngine(ctx context.Context, o *serveOptions, plan *config.Plan, raw []byte, logger *slog.Logger) (engine, error) {
	client, err := clusterClient(ctx, plan, o.clusters, logger)
	if err != nil {
		return nil, err
	}
	if o.engine == "native" {
		mw, err := native.New(plan, native.Options{Clusters: o.clusters, Logger: logger, Client: client})
		if err != nil {
			return nil, err
		}
		return nativeEngine{mw}, nil
	}
	return newWasmEngine(ctx, o, plan, raw, logger, client)
}

// clusterClient is the client authorizer calls go through: nil (the
// engine's default) without Lambda authorizers, else one that signs the
// Lambda clusters' requests with the AWS SDK's default credentials, or an
// authorizerCredentials role assumed with them. The log names the
// clusters and regions, never a credential.
func clusterClient(ctx context.Context, plan *config.Plan, clusters map[string]string, logger *slog.Logger) (*http.Client, error) {
	if len(plan.LambdaClusters) == 0 {
		return nil, nil
	}
	t, err := awssign.NewTransport(ctx, plan, clusters, awssign.Options{})
	if err != nil {
		return nil, err
	}
	for _, lc := range plan.LambdaClusters {
		attrs := []any{"cluster", lc.Name, "region", lc.Region, "authorizers", lc.Authorizers}
		if lc.Role != "" {
			attrs = append(attrs, "role", lc.Role)
		}
		logger.Info("signing Lambda invocations (SigV4)", attrs...)
	}
	return t.Client(), nil
}

// nativeEngine adapts the native middleware, which holds nothing to close.
type nativeEngine struct{ *native.Middleware }

func (nativeEngine) Close(context.Context) error { return nil }

func sortedAuthorizers(plan *config.Plan) []string {
	names := make([]string, 0, len(plan.Authorizers))
	for name := range plan.Authorizers {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
