// Command bench compares, in one run on loopback, what authorizing a
// request costs in each place authgate runs, against the same request with
// no authorizer:
//
//  1. bare Envoy in front of an upstream (the limit);
//  2. Envoy with the authgate filter, every request a cache hit;
//  3. Envoy with the authgate filter and no cache (TTL 0): one authorizer
//     call per request;
//  4. Envoy with its own ext_authz HTTP filter calling the same JWT check;
//  5. `authgate serve` with the wasm and with the native engine, cache hit;
//  6. a plain Go httputil.ReverseProxy, the reference for serve;
//  7. Envoy with the filter and 10,000 distinct tokens, each reused: how
//     many authorizer calls a token costs the whole Envoy (goal: one);
//  8. Envoy with the filter and 100,000 distinct tokens, far more than its
//     caches hold: whether Envoy's memory stays flat once they are full
//     (bounded by -rss-cap; -rss=false leaves it out).
//
// Each scenario is warmed up, then measured Repeats times with a closed-loop
// load generator; the table reports medians and ratios, the authorizer calls
// made during each run, and whether every answer was a 200 (a run with any
// other answer is reported as broken, never as fast), and the CPU time the
// gateway process spent per request, read from /proc/<pid>/stat around each
// run: on a machine shared with other work that measure holds still while
// rps swings, so the filter's goal against bare Envoy is also stated in it.
// Results go to build/bench/ as JSON. The goals it prints are targets, not
// assertions.
//
//	make bench                     # builds first, then runs this
//	go run ./e2e/bench -repeats 1  # a quicker look
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/authgate/authgate/examples/envoy/envoyrun"
	"github.com/authgate/authgate/examples/jwt-authorizer/jwtauth"
	"github.com/authgate/authgate/host/wasm"
)

// flags are the bench's settings.
type flags struct {
	requests     int
	concurrency  int
	repeats      int
	maxDuration  time.Duration
	warmup       time.Duration
	envoyWorkers int
	// workerSweep are the other --concurrency values at which bare Envoy
	// and the filter's hit path are measured (the table's per-worker rows).
	workerSweep  string
	wasmFile     string
	moduleFile   string
	authgateBin  string
	outDir       string
	only         string
	stall        time.Duration
	readyTimeout time.Duration

	// The many-tokens scenario (envoy-filter-10k-tokens).
	tokens            int
	tokensRequests    int
	tokensMaxDuration time.Duration

	// The memory check (envoy-rss-100k-tokens).
	rss         bool
	rssTokens   int
	rssRequests int
	rssCap      time.Duration
	rssCache    string
}

func main() {
	var f flags
	var childListen, childUpstream, childCacheDir string
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	fs.IntVar(&f.requests, "requests", 20000, "requests per measured run (a run also stops at -max-duration)")
	fs.IntVar(&f.concurrency, "concurrency", 32, "concurrent workers (and keep-alive connections) of the load generator")
	fs.IntVar(&f.repeats, "repeats", 3, "measured runs per scenario; the table shows their median")
	fs.DurationVar(&f.maxDuration, "max-duration", 4*time.Second, "time bound of one run")
	fs.DurationVar(&f.warmup, "warmup", time.Second, "unmeasured load before a scenario's runs (fills caches and connection pools)")
	fs.IntVar(&f.envoyWorkers, "envoy-concurrency", 2, "Envoy --concurrency (worker threads, each with its own wasm VM)")
	fs.StringVar(&f.workerSweep, "worker-sweep", "1,4,8", "other Envoy --concurrency values for the bare, filter-hit and module-hit rows (envoy-*-w<N>); empty: none")
	fs.StringVar(&f.wasmFile, "wasm", "", "the filter (default $AUTHGATE_WASM, else build/authgate.wasm)")
	fs.StringVar(&f.moduleFile, "module", "", "the dynamic module (default $AUTHGATE_MODULE, else build/libauthgate.so)")
	fs.StringVar(&f.authgateBin, "authgate", "", "the authgate binary (default build/authgate)")
	fs.StringVar(&f.outDir, "out", "", "where the JSON results go (default build/bench)")
	fs.StringVar(&f.only, "only", "", "comma-separated scenario ids to run (default all)")
	fs.DurationVar(&f.stall, "stall", 2*time.Second, "a request waiting longer than this marks the run broken (loopback answers take milliseconds)")
	fs.DurationVar(&f.readyTimeout, "ready-timeout", 60*time.Second, "how long a gateway may take to become ready (V8 compiles the filter once per Envoy worker)")
	fs.IntVar(&f.tokens, "tokens", 10000, "distinct tokens of envoy-filter-10k-tokens")
	fs.IntVar(&f.tokensRequests, "tokens-requests", 50000, "requests per measured run of envoy-filter-10k-tokens (each token used requests/tokens times)")
	fs.DurationVar(&f.tokensMaxDuration, "tokens-max-duration", 15*time.Second, "time bound of one run (and of the warm-up pass) of envoy-filter-10k-tokens")
	fs.BoolVar(&f.rss, "rss", true, "run the memory check envoy-rss-100k-tokens (also run when named in -only)")
	fs.IntVar(&f.rssTokens, "rss-tokens", 100000, "distinct tokens of the memory check")
	fs.IntVar(&f.rssRequests, "rss-requests", 1000000, "requests of the memory check after its warm-up pass")
	fs.DurationVar(&f.rssCap, "rss-cap", 9*time.Minute, "time cap of the whole memory check (start, warm-up, requests); when hit, the result is marked partial")
	fs.StringVar(&f.rssCache, "rss-cache", "", `authorizerCache JSON object for the memory check, e.g. '{"sharedSlots": 262144}' (default: the configuration's defaults)`)
	fs.StringVar(&childListen, "child-proxy-listen", "", "internal: run as the reference reverse proxy on this address")
	fs.StringVar(&childUpstream, "child-proxy-upstream", "", "internal: the reference proxy's upstream URL")
	fs.StringVar(&childCacheDir, "child-wasm-new", "", "internal: time wasm.New with this compilation cache directory and print milliseconds")
	_ = fs.Parse(os.Args[1:])
	if childCacheDir != "" {
		if err := runChildWasmNew(f.wasmFile, childCacheDir); err != nil {
			fmt.Fprintln(os.Stderr, "bench child wasm.New:", err)
			os.Exit(1)
		}
		return
	}
	if childListen != "" {
		if err := runChildProxy(childListen, childUpstream); err != nil {
			fmt.Fprintln(os.Stderr, "bench child proxy:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, f, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// scenarioKind says how a scenario's gateway is started.
type scenarioKind int

const (
	envoyBare scenarioKind = iota
	envoyFilterHit
	envoyFilterMiss
	envoyExtAuthz
	serveWasm
	serveNative
	goProxy
	// envoyFilterTokens runs the filter's default configuration against
	// many distinct tokens.
	envoyFilterTokens
	// envoyRSS is envoyFilterTokens with -rss-cache applied, for the
	// memory check.
	envoyRSS
)

// scenario is one row of the table.
type scenario struct {
	id    string
	title string
	kind  scenarioKind
	// authorizes says the gateway authorizes: the upstream must see a
	// principal on every request it gets.
	authorizes bool
	// perWorkerTokens gives each worker its own token, so requests of
	// different workers can never share an authorizer call.
	perWorkerTokens bool
	// module runs build/libauthgate.so (examples/envoy/envoy-module.yaml)
	// instead of the wasm filter.
	module bool
	// workers is Envoy's --concurrency; zero means -envoy-concurrency.
	workers int
}

var scenarios = []scenario{
	{id: "envoy-bare", title: "Envoy, no auth filter", kind: envoyBare},
	{id: "envoy-filter-hit", title: "Envoy + authgate, cache hit", kind: envoyFilterHit, authorizes: true},
	{id: "envoy-filter-miss", title: "Envoy + authgate, TTL 0 (miss)", kind: envoyFilterMiss, authorizes: true, perWorkerTokens: true},
	{id: "envoy-filter-10k-tokens", title: "Envoy + authgate, 10k tokens reused", kind: envoyFilterTokens, authorizes: true},
	{id: "envoy-ext-authz", title: "Envoy + ext_authz (HTTP, no cache)", kind: envoyExtAuthz, authorizes: true},
	{id: "envoy-module-hit", title: "Envoy + authgate dynamic module, cache hit", kind: envoyFilterHit, authorizes: true, module: true},
	{id: "envoy-module-miss", title: "Envoy + authgate dynamic module, TTL 0 (miss)", kind: envoyFilterMiss, authorizes: true, perWorkerTokens: true, module: true},
	{id: "envoy-module-10k-tokens", title: "Envoy + authgate dynamic module, 10k tokens reused", kind: envoyFilterTokens, authorizes: true, module: true},
	{id: "serve-wasm", title: "authgate serve, wasm, hit", kind: serveWasm, authorizes: true},
	{id: "serve-native", title: "authgate serve, native, hit", kind: serveNative, authorizes: true},
	{id: "go-proxy", title: "Go httputil.ReverseProxy", kind: goProxy},
	// Last: the longest, and the one the others must not wait behind.
	{id: rssScenarioID, title: "Envoy + authgate, RSS over 100k tokens", kind: envoyRSS, authorizes: true},
}

// withWorkerSweep adds, before the memory check, a bare Envoy, a filter
// hit and a module hit row for every --concurrency in sweep ("1,4,8")
// other than def: envoy-bare-w<N>, envoy-filter-hit-w<N> and
// envoy-module-hit-w<N>.
func withWorkerSweep(base []scenario, sweep string, def int) ([]scenario, error) {
	var rows []scenario
	for _, w := range strings.Split(sweep, ",") {
		if w = strings.TrimSpace(w); w == "" {
			continue
		}
		n, err := strconv.Atoi(w)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bench: -worker-sweep: want positive worker counts, got %q", w)
		}
		if n == def {
			continue
		}
		rows = append(rows,
			scenario{id: fmt.Sprintf("envoy-bare-w%d", n), title: fmt.Sprintf("Envoy, no auth filter, --concurrency %d", n), kind: envoyBare, workers: n},
			scenario{id: fmt.Sprintf("envoy-filter-hit-w%d", n), title: fmt.Sprintf("Envoy + authgate, cache hit, --concurrency %d", n), kind: envoyFilterHit, authorizes: true, workers: n},
			scenario{id: fmt.Sprintf("envoy-module-hit-w%d", n), title: fmt.Sprintf("Envoy + authgate dynamic module, cache hit, --concurrency %d", n), kind: envoyFilterHit, authorizes: true, module: true, workers: n})
	}
	out := append([]scenario(nil), base[:len(base)-1]...)
	out = append(out, rows...)
	return append(out, base[len(base)-1]), nil
}

// rssScenarioID is the memory check's id.
const rssScenarioID = "envoy-rss-100k-tokens"

// counters are kept by the in-process upstream and authorizer.
type counters struct {
	upstream      atomic.Int64 // requests the upstream answered
	withPrincipal atomic.Int64 // of those, with x-authorizer-principal-id
	authorizer    atomic.Int64 // requests the authorizer answered, both endpoints
}

func run(ctx context.Context, f flags, out io.Writer) error {
	began := time.Now()
	progress := func(format string, args ...any) {
		fmt.Fprintf(out, "[%6.1fs] %s\n", time.Since(began).Seconds(), fmt.Sprintf(format, args...))
	}
	root, err := envoyrun.RepoRoot()
	if err != nil {
		return fmt.Errorf("%w (make bench)", err)
	}
	if f.wasmFile == "" {
		if f.wasmFile, err = envoyrun.FilterFile(); err != nil {
			return fmt.Errorf("%w (make bench builds it)", err)
		}
	}
	if f.moduleFile == "" {
		f.moduleFile = os.Getenv("AUTHGATE_MODULE")
	}
	if f.moduleFile == "" {
		f.moduleFile = filepath.Join(root, "build", "libauthgate.so")
	}
	if f.authgateBin == "" {
		f.authgateBin = filepath.Join(root, "build", "authgate")
	}
	if f.outDir == "" {
		f.outDir = filepath.Join(root, "build", "bench")
	}
	for _, p := range []*string{&f.wasmFile, &f.moduleFile, &f.authgateBin, &f.outDir} {
		if *p, err = filepath.Abs(*p); err != nil {
			return err
		}
	}
	if err := checkRSSCache(f.rssCache); err != nil {
		return err
	}
	if f.tokens <= 0 || f.tokensRequests <= 0 || f.rssTokens <= 0 || f.rssRequests <= 0 {
		return errors.New("bench: -tokens, -tokens-requests, -rss-tokens and -rss-requests must be positive")
	}
	wasmBytes, err := os.ReadFile(f.wasmFile)
	if err != nil {
		return fmt.Errorf("no compiled filter: run `make build` (make bench does): %w", err)
	}
	envoyBin, err := envoyrun.Binary()
	if err != nil {
		return err
	}
	envoyVersion, err := envoyrun.Version(ctx, envoyBin)
	if err != nil {
		return err
	}
	example, err := os.ReadFile(filepath.Join(root, "examples", "envoy", "envoy.yaml"))
	if err != nil {
		return err
	}
	boot, err := envoyrun.ParseBootstrap(example)
	if err != nil {
		return err
	}
	pluginConfig := boot.PluginConfig()
	moduleExample, err := os.ReadFile(filepath.Join(root, "examples", "envoy", "envoy-module.yaml"))
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "authgate-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	var cnt counters
	upLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	stopUp := envoyrun.Serve(upLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cnt.upstream.Add(1)
		if r.Header.Get(jwtauth.PrincipalHeader) != "" {
			cnt.withPrincipal.Add(1)
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	}))
	defer stopUp()
	secret := make([]byte, jwtauth.MinHS256SecretBytes)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	auth, err := jwtauth.New(jwtauth.Config{HS256Secret: secret})
	if err != nil {
		return err
	}
	authzHandler, err := auth.Handler(jwtauth.API{Region: "us-east-1", AccountID: "123456789012", APIID: "a1b2c3d4e5", Stage: "prod"})
	if err != nil {
		return err
	}
	authzLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	stopAuthz := envoyrun.Serve(authzLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cnt.authorizer.Add(1)
		authzHandler.ServeHTTP(w, r)
	}))
	defer stopAuthz()

	hz, hzSource := clockTicks()
	e := &env{
		dir: dir, example: example, pluginConfig: pluginConfig,
		wasmFile: f.wasmFile, envoyBin: envoyBin, authgateBin: f.authgateBin,
		moduleExample: moduleExample, moduleFile: f.moduleFile,
		clockHz:        hz,
		upstreamPort:   upLn.Addr().(*net.TCPAddr).Port,
		authorizerPort: authzLn.Addr().(*net.TCPAddr).Port,
		envoyWorkers:   f.envoyWorkers,
		readyTimeout:   f.readyTimeout,
		rssCache:       f.rssCache,
	}
	mint := func(sub string) string {
		tok, err := jwtauth.Mint(jwtauth.MintOptions{Subject: sub, TTL: time.Hour, Now: time.Now(), HS256Secret: secret})
		if err != nil {
			panic(err) // a constant subject: cannot fail
		}
		return "Bearer " + tok
	}
	// A user token: GET is allowed by its policy, and it is not an admin,
	// so the policy has two statements' worth of resources to evaluate.
	oneToken := mint("bench-user")
	workerTokens := make([]string, f.concurrency)
	for i := range workerTokens {
		workerTokens[i] = mint(fmt.Sprintf("bench-worker-%d", i))
	}

	rep := &Report{
		Started:         began.UTC().Format(time.RFC3339),
		GoVersion:       runtime.Version(),
		EnvoyVersion:    envoyVersion,
		CPUs:            runtime.NumCPU(),
		LoadAvgAtStart:  readLoadAvg(),
		EnvoyWorkers:    f.envoyWorkers,
		Concurrency:     f.concurrency,
		Requests:        f.requests,
		Repeats:         f.repeats,
		MaxDurationSecs: f.maxDuration.Seconds(),
		Path:            "/pets",
		ServeMode:       "subprocess: " + rel(root, f.authgateBin) + " serve (stderr to a file)",
		ProxyMode:       "subprocess: this program re-run as a plain httputil.ReverseProxy",
		TokensSettings: TokensSettings{
			Tokens: f.tokens, RequestsPerRun: f.tokensRequests, MaxDurationPerRunSecs: f.tokensMaxDuration.Seconds(),
			Selection: "round-robin: request n sends token n mod tokens",
		},
		GatewayCPU: GatewayCPUSettings{
			ClockTicksPerSec: hz, ClockTicksSource: hzSource,
			Measure: "the gateway process's user+system CPU time (utime+stime of /proc/<pid>/stat, all its threads) from just before a measured run " +
				"to just after it, over the requests answered; median of the runs. Only for gateways in their own process (Envoy, authgate serve, the Go proxy)",
		},
		RSSSettings: RSSSettings{
			Enabled: f.rss, Tokens: f.rssTokens, Requests: f.rssRequests, CapSecs: f.rssCap.Seconds(),
			AuthorizerCache: authorizerCacheText(f.rssCache),
		},
	}
	fmt.Fprintf(out, "authgate bench: %d workers, %d requests or %v per run, %d runs per scenario, Envoy --concurrency %d, %d CPUs (load %.1f)\n",
		f.concurrency, f.requests, f.maxDuration, f.repeats, f.envoyWorkers, rep.CPUs, rep.LoadAvgAtStart)
	fmt.Fprintf(out, "envoy %s; %s\n", envoyVersion, runtime.Version())

	rep.WasmFileBytes = int64(len(wasmBytes))
	if st, err := os.Stat(f.moduleFile); err == nil {
		rep.ModuleFileBytes = st.Size()
	}
	progress("cold start: wasm.New (wazero compile + instantiate one VM), then again from the compilation cache ...")
	cacheDir := filepath.Join(dir, "wazero-cache")
	if rep.ColdStart.WasmNewMs, err = measureWasmNew(ctx, f.wasmFile, cacheDir); err == nil {
		rep.ColdStart.WasmNewCachedMs, err = measureWasmNew(ctx, f.wasmFile, cacheDir)
	}
	if err != nil {
		progress("cold start: wasm.New failed: %v", err)
		rep.ColdStart.WasmNewError = err.Error()
	}

	selected := map[string]bool{}
	for _, id := range strings.Split(f.only, ",") {
		if id = strings.TrimSpace(id); id != "" {
			selected[id] = true
		}
	}
	all, err := withWorkerSweep(scenarios, f.workerSweep, f.envoyWorkers)
	if err != nil {
		return err
	}
	var chosen []scenario
	needTokens := 0
	for _, sc := range all {
		switch {
		case len(selected) > 0 && !selected[sc.id]:
			continue
		case sc.kind == envoyRSS && len(selected) == 0 && !f.rss:
			continue
		case sc.kind == envoyFilterTokens:
			needTokens = max(needTokens, f.tokens)
		case sc.kind == envoyRSS:
			needTokens = max(needTokens, f.rssTokens)
		}
		chosen = append(chosen, sc)
	}
	// One set of tokens, minted before any gateway starts: the 10k
	// scenario takes the first f.tokens of them. Every scenario starts its
	// own Envoy, so sharing them carries no cached result across.
	var manyTokens []string
	if needTokens > 0 {
		progress("minting %d distinct HS256 tokens ...", needTokens)
		if manyTokens, err = mintMany(secret, needTokens, runtime.NumCPU()); err != nil {
			return err
		}
		progress("minted %d tokens", len(manyTokens))
	}
	for _, sc := range chosen {
		if ctx.Err() != nil {
			break
		}
		header := func(int) http.Header { return http.Header{"Authorization": {oneToken}} }
		if sc.perWorkerTokens {
			header = func(w int) http.Header { return http.Header{"Authorization": {workerTokens[w]}} }
		}
		warm := LoadConfig{Concurrency: f.concurrency, Requests: 1 << 30, MaxDuration: f.warmup, Header: header}
		measured := LoadConfig{Concurrency: f.concurrency, Requests: f.requests, MaxDuration: f.maxDuration, Header: header}
		var res *ScenarioResult
		switch sc.kind {
		case envoyFilterTokens:
			toks := manyTokens[:f.tokens]
			// The warm-up is one pass over every token (the calls they
			// cost are counted); the runs then reuse them.
			warm = LoadConfig{Concurrency: f.concurrency, Requests: len(toks), MaxDuration: f.tokensMaxDuration, Tokens: toks, TokenHeader: "Authorization"}
			measured = LoadConfig{Concurrency: f.concurrency, Requests: f.tokensRequests, MaxDuration: f.tokensMaxDuration, Tokens: toks, TokenHeader: "Authorization"}
			res = runScenario(ctx, e, sc, f, warm, measured, &cnt, progress)
		case envoyRSS:
			res = runRSSScenario(ctx, e, sc, f, manyTokens[:f.rssTokens], &cnt, progress)
		default:
			res = runScenario(ctx, e, sc, f, warm, measured, &cnt, progress)
		}
		rep.Scenarios = append(rep.Scenarios, res)
	}
	rep.finish()
	rep.Elapsed = time.Since(began).Round(time.Millisecond).String()
	rep.print(out)
	if err := rep.write(f.outDir, began); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nresults: %s (and latest.json)\n", filepath.Join(rel(root, f.outDir), rep.fileName(began)))
	return ctx.Err()
}

// startTarget starts a scenario's gateway.
func startTarget(ctx context.Context, e *env, sc scenario) (*target, error) {
	switch sc.kind {
	case envoyBare, envoyFilterHit, envoyFilterMiss, envoyExtAuthz, envoyFilterTokens, envoyRSS:
		return e.startEnvoy(ctx, sc)
	case serveWasm:
		return e.startServe(ctx, "wasm", sc.id)
	case serveNative:
		return e.startServe(ctx, "native", sc.id)
	case goProxy:
		return e.startGoProxy(ctx, sc.id)
	}
	return nil, fmt.Errorf("bench: scenario %s: unknown kind %d", sc.id, sc.kind)
}

// runScenario starts the scenario's gateway, warms it up with warm,
// measures it f.repeats times with measured and stops it (both configs get
// the gateway's URL). A warm-up that sends tokens must cover all of them
// within its time bound. Failures are recorded in the result.
func runScenario(ctx context.Context, e *env, sc scenario, f flags, warm, measured LoadConfig, cnt *counters, progress func(string, ...any)) *ScenarioResult {
	res := &ScenarioResult{ID: sc.id, Title: sc.title, Workers: e.workersOf(sc)}
	progress("%s: starting", sc.id)
	t, err := startTarget(ctx, e, sc)
	if err != nil {
		res.Problem = "did not start: " + err.Error()
		progress("%s: %s", sc.id, res.Problem)
		return res
	}
	defer func() {
		if err := t.stop(); err != nil {
			progress("%s: %v", sc.id, err)
		}
	}()
	res.ReadyMs = ms(t.readyAfter)
	warm.URL = t.url + "/pets"
	measured.URL = warm.URL
	if len(warm.Tokens) > 0 {
		progress("%s: ready after %v; warming up: one pass over %d distinct tokens (bound %v)", sc.id, t.readyAfter.Round(time.Millisecond), len(warm.Tokens), warm.MaxDuration)
	} else {
		progress("%s: ready after %v; warming up for %v", sc.id, t.readyAfter.Round(time.Millisecond), warm.MaxDuration)
	}
	// The authorizer calls this gateway causes, from its first request.
	calls0 := cnt.authorizer.Load()
	wr, err := RunLoad(ctx, warm)
	if err != nil {
		res.Problem = err.Error()
		return res
	}
	if wr.Broken() {
		res.Problem = fmt.Sprintf("warm-up: %d of %d requests failed (%s)", wr.Non200+wr.Errors, wr.Sent, wr.FirstProblem)
		progress("%s: %s; skipping its runs\n%s", sc.id, res.Problem, t.logTail())
		return res
	}
	if len(warm.Tokens) > 0 && wr.TimedOut {
		res.Problem = fmt.Sprintf("warm-up: only %d of %d tokens sent within %v", wr.Sent, len(warm.Tokens), warm.MaxDuration)
		progress("%s: %s; skipping its runs", sc.id, res.Problem)
		return res
	}
	quiesce(cnt)
	var tr *TokensResult
	if len(measured.Tokens) > 0 {
		tr = &TokensResult{
			DistinctTokens:        len(measured.Tokens),
			WarmupRequests:        wr.Sent,
			WarmupAuthorizerCalls: cnt.authorizer.Load() - calls0,
			CountedOver:           "one Envoy from its start: the warm-up pass and every run (the 300s TTL outlives the scenario, so every call after a token's first is one too many)",
		}
		res.Tokens = tr
		tr.FilterStatsAfterWarmup = filterStats(ctx, t)
		progress("%s: warm-up: %d requests, %d authorizer calls (%.3f per token), %s", sc.id, wr.Sent, tr.WarmupAuthorizerCalls,
			float64(tr.WarmupAuthorizerCalls)/float64(tr.DistinctTokens), fmtStats(tr.FilterStatsAfterWarmup))
	}
	logged := false
	meter := cpuMeter{pid: t.pid, hz: e.clockHz}
	for i := 0; i < f.repeats && ctx.Err() == nil; i++ {
		authz0, up0, pr0 := cnt.authorizer.Load(), cnt.upstream.Load(), cnt.withPrincipal.Load()
		cpu0, ok0 := meter.sample()
		lr, err := RunLoad(ctx, measured)
		if err != nil {
			res.Problem = err.Error()
			return res
		}
		// Read before quiesce: its idle wait is not part of the run.
		cpu1, ok1 := meter.sample()
		// Requests cut by the time bound may still reach the upstream; let
		// them land so they are counted in this run, not the next.
		quiesce(cnt)
		r := runResult(lr, cnt.authorizer.Load()-authz0, cnt.upstream.Load()-up0, cnt.withPrincipal.Load()-pr0)
		r.Problem = judge(sc, lr, &r, f.stall)
		meter.perRequest(&r, cpu0, cpu1, ok0, ok1, lr.Sent-lr.Errors)
		res.Runs = append(res.Runs, r)
		mark := "ok"
		if r.Problem != "" {
			mark = "BROKEN: " + r.Problem
			if !logged {
				logged = true
				progress("%s: gateway log, last lines:\n%s", sc.id, t.logTail())
			}
		}
		progress("%s: run %d/%d: %.0f rps, p50 %.2fms, p99 %.2fms, %d requests in %.1fs, gateway CPU %s µs/req, %d authorizer calls, %s",
			sc.id, i+1, f.repeats, r.RPS, r.P50Ms, r.P99Ms, r.Sent, r.ElapsedMs/1000, fmtCPU(r.GatewayCPUUsPerReq), r.AuthorizerCalls, mark)
	}
	if tr != nil {
		tr.AuthorizerCalls = cnt.authorizer.Load() - calls0
		tr.CallsPerToken = float64(tr.AuthorizerCalls) / float64(tr.DistinctTokens)
		tr.FilterStats = filterStats(ctx, t)
		progress("%s: %d authorizer calls for %d tokens since Envoy started (%.3f per token); %s", sc.id,
			tr.AuthorizerCalls, tr.DistinctTokens, tr.CallsPerToken, fmtStats(tr.FilterStats))
	}
	if rss, err := envoyrun.RSS(t.pid); err == nil {
		res.RSSMiB = float64(rss) / (1 << 20)
	}
	return res
}

// runResult is the record of one measured load: its numbers and what the
// upstream and the authorizer saw meanwhile.
func runResult(lr *LoadResult, authzCalls, upstreamSaw, withPrincipal int64) RunResult {
	return RunResult{
		Sent: lr.Sent, OK: lr.OK, Non200: lr.Non200, Errors: lr.Errors, TimedOut: lr.TimedOut, Cut: lr.Cut,
		ElapsedMs: ms(lr.Elapsed), RPS: lr.RPS(),
		P50Ms: ms(lr.Latency.Quantile(0.50)), P99Ms: ms(lr.Latency.Quantile(0.99)), MaxMs: ms(lr.Latency.Max()),
		AuthorizerCalls: authzCalls,
		UpstreamSaw:     upstreamSaw,
		WithPrincipal:   withPrincipal,
	}
}

// judge returns why a run cannot count as a measurement, or "": a failed
// or stalled request, or an upstream that did not see exactly the answered
// requests (with a principal when the gateway authorizes).
func judge(sc scenario, lr *LoadResult, r *RunResult, stall time.Duration) string {
	ok, slack := int64(lr.OK), int64(lr.Cut)
	switch {
	case lr.Broken():
		return fmt.Sprintf("%d non-200, %d errors (%s)", lr.Non200, lr.Errors, lr.FirstProblem)
	case lr.Latency.Max() > stall || lr.MaxCutWait > stall:
		return fmt.Sprintf("stalled: a request waited %v (answered) / %v (cut by the time bound)",
			lr.Latency.Max().Round(time.Millisecond), lr.MaxCutWait.Round(time.Millisecond))
	case r.UpstreamSaw < ok || r.UpstreamSaw > ok+slack:
		return fmt.Sprintf("the upstream saw %d requests for %d answers of 200 (%d cut by the time bound)", r.UpstreamSaw, lr.OK, lr.Cut)
	case sc.authorizes && (r.WithPrincipal < ok || r.WithPrincipal > ok+slack):
		return fmt.Sprintf("the upstream saw a principal on %d of %d requests", r.WithPrincipal, lr.OK)
	case !sc.authorizes && r.AuthorizerCalls != 0:
		return fmt.Sprintf("%d authorizer calls from a gateway that should make none", r.AuthorizerCalls)
	}
	return ""
}

// measureWasmNew times the wazero host's compile and start of one VM (the
// start of `authgate serve --engine wasm` before it can listen) in a new
// process, as a restart would: this program re-run with -child-wasm-new,
// keeping compiled code in cacheDir. The first call with a fresh directory
// compiles; a second finds the filter there.
func measureWasmNew(ctx context.Context, wasmFile, cacheDir string) (float64, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	out, err := exec.CommandContext(ctx, self, "-wasm", wasmFile, "-child-wasm-new", cacheDir).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return 0, fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return 0, err
	}
	return strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
}

// runChildWasmNew is -child-wasm-new: one wasm.New with the example's
// plugin configuration, its time in milliseconds on stdout. No request is
// sent, so the cluster points nowhere.
func runChildWasmNew(wasmFile, cacheDir string) error {
	if wasmFile == "" {
		return errors.New("-wasm is required")
	}
	bin, err := os.ReadFile(wasmFile)
	if err != nil {
		return err
	}
	root, err := envoyrun.RepoRoot()
	if err != nil {
		return err
	}
	example, err := os.ReadFile(filepath.Join(root, "examples", "envoy", "envoy.yaml"))
	if err != nil {
		return err
	}
	boot, err := envoyrun.ParseBootstrap(example)
	if err != nil {
		return err
	}
	ctx := context.Background()
	began := time.Now()
	h, err := wasm.New(ctx, wasm.Config{
		Wasm:         bin,
		PluginConfig: boot.PluginConfig(),
		VMID:         "authgate",
		PluginName:   "authgate",
		RootID:       "authgate",
		PoolSize:     1,
		Clusters:     map[string]string{"authorizer": "http://127.0.0.1:9"},
		Logger:       slog.New(slog.DiscardHandler),
		CacheDir:     cacheDir,
	})
	took := time.Since(began)
	if err != nil {
		return err
	}
	fmt.Printf("%.1f\n", ms(took))
	return h.Close(ctx)
}

// quiesce waits (at most 2s) until the upstream and the authorizer have
// seen no request for 100ms: the requests a gateway still forwards after
// the client gave up.
func quiesce(cnt *counters) {
	deadline := time.Now().Add(2 * time.Second)
	last := cnt.upstream.Load() + cnt.authorizer.Load()
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		now := cnt.upstream.Load() + cnt.authorizer.Load()
		if now == last {
			return
		}
		last = now
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func rel(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
