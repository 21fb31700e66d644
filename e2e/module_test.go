package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/authgate/authgate/e2e/internal/authz"
	"github.com/authgate/authgate/e2e/internal/echo"
	"github.com/authgate/authgate/examples/envoy/envoyrun"
	"github.com/authgate/authgate/filter/module/abi"
)

// The Envoy dynamic module (build/libauthgate.so) in real Envoy: the example
// configuration examples/envoy/envoy-module.yaml with its ports and plugin
// configuration substituted, against the suite's test authorizer and echo
// upstream.

const (
	exampleModuleYAML = "../examples/envoy/envoy-module.yaml"
	// The wasm example and its plugin configuration, which the module
	// example follows.
	moduleWasmYAML   = "../examples/envoy/envoy.yaml"
	modulePluginJSON = "../examples/envoy/authgate.json"
	moduleLibrary    = "libauthgate.so"
	// moduleName is the name Envoy loads moduleLibrary by.
	moduleName = "authgate"
)

// moduleEnvoy is the Envoy dynamic module in Envoy, from the example
// envoy-module.yaml, with the library built with tags ("" for the
// release build). Its workers share one engine: one cache, and concurrent
// misses coalesce across workers, so it counts as one VM.
func moduleEnvoy(tags string) *envoyGateway {
	name := "module"
	if tags != "" {
		name += "-" + tags
	}
	return &envoyGateway{host: name, example: "envoy-module.yaml", module: moduleName, workers: envoyWorkers, oneEngine: true,
		code: func() (string, error) { return moduleFile(tags) }}
}

// moduleWorkers is the release module in an Envoy with n workers.
func moduleWorkers(n int) *envoyGateway {
	g := moduleEnvoy("")
	g.host, g.workers = fmt.Sprintf("module-c%d", n), n
	return g
}

var (
	moduleBuilds    sync.Map // build tags -> *moduleBuild
	moduleBuildDirs struct {
		mu   sync.Mutex
		dirs []string // removed by TestMain
	}
)

type moduleBuild struct {
	once sync.Once
	file string
	err  error
}

// moduleFile returns libauthgate.so built with tags: without tags
// $AUTHGATE_MODULE when set (the Makefile points it at
// build/libauthgate.so), else a fresh build of ./filter/module.
func moduleFile(tags string) (string, error) {
	if p := os.Getenv("AUTHGATE_MODULE"); p != "" && tags == "" {
		if filepath.Base(p) != moduleLibrary {
			return "", fmt.Errorf("AUTHGATE_MODULE=%s: Envoy loads the library by the name %s", p, moduleLibrary)
		}
		return filepath.Abs(p)
	}
	v, _ := moduleBuilds.LoadOrStore(tags, &moduleBuild{})
	b := v.(*moduleBuild)
	b.once.Do(func() {
		args := []string{"-buildmode=c-shared"}
		if tags != "" {
			args = append(args, "-tags", tags)
		}
		b.file, b.err = goBuild("./filter/module", moduleLibrary, "AUTHGATE_MODULE", []string{"CGO_ENABLED=1"}, args...)
	})
	return b.file, b.err
}

// moduleRun is one Envoy running the module.
type moduleRun struct {
	proc *envoyrun.Envoy
	base string // http://127.0.0.1:port of the gateway listener
	env  *env
}

// startModuleEnvoy runs the example module configuration with plugin
// configuration cfg (nil keeps the example's), the library built with
// tags, and the module's debug log.
func startModuleEnvoy(t *testing.T, tags string, cfg []byte, workers int) (*moduleRun, error) {
	t.Helper()
	gw := moduleEnvoy(tags)
	gw.workers = workers
	needHost(t, gw)
	e := newEnv(t)
	inst, err := gw.start(t, spec{cfgs: [][]byte{cfg}, env: e, envoyArgs: []string{"--component-log-level", "dynamic_modules:debug"}})
	if err != nil {
		return nil, err
	}
	return &moduleRun{proc: inst.envoy, base: inst.bases[0], env: e}, nil
}

// moduleAnswer is one gateway answer.
type moduleAnswer struct {
	status   int
	body     string
	header   http.Header
	upstream *echo.Request // nil unless the upstream answered
}

func (m *moduleRun) get(t *testing.T, path string, headers ...string) moduleAnswer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, m.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := moduleAnswer{status: resp.StatusCode, body: string(b), header: resp.Header}
	if resp.Header.Get(echo.Marker) != "" {
		if a.upstream, err = echo.Decode(b); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// checkABIVersion fails when Envoy warned about the library's ABI version
// or did not confirm it: the library was built for another Envoy.
func checkABIVersion(t *testing.T, e *envoyrun.Envoy) {
	t.Helper()
	log := e.Log()
	if strings.Contains(log, "is deprecated") && strings.Contains(log, "ABI version") {
		v, _ := e.Version(t.Context())
		t.Errorf("Envoy warned about the module's ABI version: libauthgate.so is built for Envoy %s (ABI %s), this Envoy is %s",
			abi.EnvoyVersion, abi.Version, v)
	}
	if !strings.Contains(log, "Dynamic module ABI version "+abi.Version+" matched") {
		t.Errorf("Envoy did not confirm the module's ABI version %s (built for Envoy %s)", abi.Version, abi.EnvoyVersion)
	}
}

// TestModuleEnvoy runs the example module configuration in Envoy 1.40:
// the answers of the wasm filter, the stats it defines, and the ABI
// handshake.
func TestModuleEnvoy(t *testing.T) {
	m, err := startModuleEnvoy(t, "", nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	checkABIVersion(t, m.proc)
	tests := []struct {
		name      string
		path      string
		headers   []string
		status    int
		body      string
		principal string // x-authorizer-principal-id the upstream must see
		calls     string // token whose authorizer calls are counted
		wantCalls int
	}{
		{name: "allow", path: "/pets/1", headers: []string{"Authorization", "Bearer allow.m1"},
			status: 200, principal: "user-m1", calls: "Bearer allow.m1", wantCalls: 1},
		{name: "allow from the cache", path: "/pets/2", headers: []string{"Authorization", "Bearer allow.m1"},
			status: 200, principal: "user-m1", calls: "Bearer allow.m1", wantCalls: 1},
		{name: "forged principal header removed", path: "/pets/3",
			headers: []string{"Authorization", "Bearer allow.m2", "X-Authorizer-Principal-Id", "admin"},
			status:  200, principal: "user-m2", calls: "Bearer allow.m2", wantCalls: 1},
		{name: "no token", path: "/pets/1", status: 401, body: `{"message":"Unauthorized"}`},
		{name: "token fails validation", path: "/pets/1", headers: []string{"Authorization", "Basic abc"},
			status: 401, body: `{"message":"Unauthorized"}`},
		{name: "deny", path: "/pets/1", headers: []string{"Authorization", "Bearer deny.m3"},
			status: 403, body: `{"Message":"User is not authorized to access this resource with an explicit deny"}`,
			calls: "Bearer deny.m3", wantCalls: 1},
		{name: "authorizer error", path: "/pets/1", headers: []string{"Authorization", "Bearer fail500.m4"},
			status: 500, body: `{"message":null}`, calls: "Bearer fail500.m4", wantCalls: 1},
		{name: "no authorizer on /health", path: "/health", status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := m.get(t, tt.path, tt.headers...)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d (body %q)", a.status, tt.status, a.body)
			}
			if tt.body != "" && a.body != tt.body {
				t.Errorf("body %q, want %q", a.body, tt.body)
			}
			if tt.status == 200 {
				if a.upstream == nil {
					t.Fatalf("answered by the gateway, not the upstream: %q", a.body)
				}
				got, _ := a.upstream.Plain().Get("x-authorizer-principal-id")
				want := []string(nil)
				if tt.principal != "" {
					want = []string{tt.principal}
				}
				if strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("upstream saw x-authorizer-principal-id %q, want %q", got, want)
				}
			} else if a.upstream != nil {
				t.Errorf("a %d answer came from the upstream", a.status)
			}
			if tt.calls != "" {
				if n := m.env.authz.Calls(tt.calls); n != tt.wantCalls {
					t.Errorf("authorizer called %d times for %q, want %d", n, tt.calls, tt.wantCalls)
				}
			}
		})
	}

	t.Run("stats", func(t *testing.T) {
		stats, err := m.proc.Stats(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"authgate.jwt.allow":        "3",
			"authgate.jwt.cache_hit":    "1",
			"authgate.jwt.cache_miss":   "4",
			"authgate.jwt.deny":         "1",
			"authgate.jwt.unauthorized": "2",
			"authgate.jwt.error":        "1",
			"authgate.NONE.allow":       "1",
		}
		for name, v := range want {
			got, ok := moduleStat(stats, name)
			if !ok || got != v {
				t.Errorf("stat *.%s = %q (found %v), want %s", name, got, ok, v)
			}
		}
	})

	t.Run("authorizer down", func(t *testing.T) {
		m.env.stopAuthz()
		a := m.get(t, "/pets/1", "Authorization", "Bearer allow.m5")
		if a.status != 500 || a.body != `{"message":null}` {
			t.Errorf("got %d %q, want 500 {\"message\":null}", a.status, a.body)
		}
	})
}

// moduleStat finds a stat by its name after Envoy's metrics namespace
// prefix, whatever the namespace is.
func moduleStat(stats map[string]string, name string) (string, bool) {
	for k, v := range stats {
		if k == name || strings.HasSuffix(k, "."+name) {
			return v, true
		}
	}
	return "", false
}

// startSlowModule runs the module with crossVMConfig (authorizer a, whose
// calls may take 10 s, so authz.Slow's 3 s answer arrives) on two workers,
// with the module's debug log, which the tests read.
func startSlowModule(t *testing.T) *moduleRun {
	t.Helper()
	m, err := startModuleEnvoy(t, "", []byte(crossVMConfig), 2)
	if err != nil {
		t.Fatal(err)
	}
	checkABIVersion(t, m.proc)
	return m
}

// waitFor polls cond until it holds, failing t after a bound. Used only to
// know that Envoy has reached a state (a call received, streams waiting)
// before the test acts; no assertion depends on how long it took.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sendAll sends GET path+i with token for each i in ids at once, each on
// a connection of its own (so Envoy spreads them over its workers), and
// checks each reached the upstream as principal, at its own path.
func sendAll(t *testing.T, m *moduleRun, ids []int, path, token, principal string) {
	t.Helper()
	client := newClient(t, protocols[0], false)
	errs := make(chan error, len(ids))
	var wg sync.WaitGroup
	for _, i := range ids {
		wg.Go(func() {
			p := fmt.Sprintf("%s%d", path, i)
			r, err := send(client, m.base, get(p, auth(token)))
			switch {
			case err != nil:
				errs <- fmt.Errorf("%s: %w", p, err)
			case r.status != http.StatusOK || r.header.Get(echo.Marker) == "":
				errs <- fmt.Errorf("%s: status %d, body %q", p, r.status, r.body)
			default:
				up, err := echo.Decode(r.body)
				if err != nil {
					errs <- err
					return
				}
				got, _ := up.Plain().Get("x-authorizer-principal-id")
				if len(got) != 1 || got[0] != principal || up.Target != p {
					errs <- fmt.Errorf("%s: upstream got %s as %q, want %s as %q", p, up.Target, got, p, principal)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestModuleEnvoyCoalescesAcrossWorkers holds one authorizer call open
// (authz.Slow) and sends more first requests for its token on new
// connections, spread over both workers: they all wait for that call, each
// is resumed through its own stream's scheduler on its own worker, and
// each gets its own request forwarded.
func TestModuleEnvoyCoalescesAcrossWorkers(t *testing.T) {
	m := startSlowModule(t)
	token := bearer(authz.Slow, "c1")
	before := envoyCounters(t, m.proc.AdminURL(), moduleStats)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sendAll(t, m, []int{0}, "/a/", token, "user-c1")
	}()
	waitFor(t, "the authorizer call", func() bool { return m.env.authz.Calls(token) == 1 })
	const n = 24
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i + 1
	}
	sendAll(t, m, ids, "/a/", token, "user-c1")
	<-done
	if got := m.env.authz.Calls(token); got != 1 {
		t.Errorf("authorizer calls = %d, want 1", got)
	}
	after := envoyCounters(t, m.proc.AdminURL(), moduleStats)
	for name, want := range map[string]int64{"authgate.a.coalesced": n, "authgate.a.cache_miss": n + 1, "authgate.a.allow": n + 1} {
		if got := after[name] - before[name]; got != want {
			t.Errorf("%s moved by %d, want %d", name, got, want)
		}
	}
	log := m.proc.Log()
	if got := strings.Count(log, "coalesced=wait"); got != n {
		t.Errorf("%d streams logged waiting, want %d", got, n)
	}
	if got := strings.Count(log, "runs on its worker"); got != n {
		t.Errorf("%d results came through a scheduler, want one per waiter (%d)", got, n)
	}
}

// TestModuleEnvoyLeaderGoesAway lets the client whose request leads an
// authorizer call hang up while others wait for that call. Envoy cancels
// the call with the stream; the waiters are not failed: one of them calls
// again and all get through.
func TestModuleEnvoyLeaderGoesAway(t *testing.T) {
	m := startSlowModule(t)
	token := bearer(authz.Slow, "l1")
	ctx, hangUp := context.WithCancel(t.Context())
	left := make(chan error, 1)
	go func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.base+"/a/0", nil)
		if err != nil {
			left <- err
			return
		}
		req.Header.Set("Authorization", token)
		resp, err := newClient(t, protocols[0], false).Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("the leader's request was answered %d", resp.StatusCode)
		}
		left <- err
	}()
	waitFor(t, "the authorizer call", func() bool { return m.env.authz.Calls(token) == 1 })
	const n = 6
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i + 1
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sendAll(t, m, ids, "/a/", token, "user-l1")
	}()
	waitFor(t, "the waiters", func() bool { return strings.Count(m.proc.Log(), "coalesced=wait") == n })
	hangUp()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Errorf("the leader's client: %v, want its own cancellation", err)
	}
	<-done
	if got := m.env.authz.Calls(token); got != 2 {
		t.Errorf("authorizer calls = %d, want 2 (the abandoned one, then one for the waiters)", got)
	}
	if log := m.proc.Log(); !strings.Contains(log, "gone before its authorizer answer") || !strings.Contains(log, "evaluating again") {
		t.Errorf("the log does not show the leader going away and the waiters evaluating again")
	}
}

// tenThousandConfig is crossVMConfig's authorizer a with room in the cache
// for every token of TestModuleEnvoyTenThousandTokens.
const tenThousandConfig = `{
  "region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
  "authorizerCache": {"maxEntries": 20000},
  "authorizers": {
    "a": {"type": "TOKEN", "cluster": "authorizer", "path": "/authorize", "timeoutMs": 10000,
      "identitySource": "method.request.header.Authorization", "authorizerResultTtlInSeconds": 300}
  },
  "routes": [{"method": "ANY", "path": "/a/{proxy+}", "authorizer": "a"}]
}`

// TestModuleEnvoyTenThousandTokens sends two requests at once for each of
// 10,000 distinct tokens through the module on two workers: exactly one
// authorizer call per token (1.000 calls per token), the second request
// coalesced or answered from the cache.
func TestModuleEnvoyTenThousandTokens(t *testing.T) {
	const tokens, parallel = 10000, 64
	m, err := startModuleEnvoy(t, "", []byte(tenThousandConfig), 2)
	if err != nil {
		t.Fatal(err)
	}
	client := newClient(t, protocols[0], true)
	next := make(chan int)
	errs := make(chan error, 10)
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for i := range next {
				token := bearer(authz.Allow, fmt.Sprintf("t%d", i))
				var pair sync.WaitGroup
				for range 2 {
					pair.Go(func() {
						if err := expectPrincipal(client, m.base, fmt.Sprintf("/a/%d", i), token, fmt.Sprintf("user-t%d", i)); err != nil {
							select {
							case errs <- err:
							default:
							}
						}
					})
				}
				pair.Wait()
			}
		})
	}
	for i := range tokens {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	wrong := 0
	for i := range tokens {
		if got := m.env.authz.Calls(bearer(authz.Allow, fmt.Sprintf("t%d", i))); got != 1 {
			if wrong++; wrong <= 5 {
				t.Errorf("token %d: %d authorizer calls, want 1", i, got)
			}
		}
	}
	total := m.env.authz.Total()
	t.Logf("%d tokens, %d authorizer calls: %.3f calls per token", tokens, total, float64(total)/tokens)
	if total != tokens {
		t.Errorf("%d authorizer calls for %d tokens, want exactly one per token", total, tokens)
	}
	c := envoyCounters(t, m.proc.AdminURL(), moduleStats)
	if calls := c["authgate.a.cache_miss"] - c["authgate.a.coalesced"]; calls != tokens || c["authgate.a.allow"] != 2*tokens {
		t.Errorf("stats: %d misses that called, %d allowed; want %d and %d", calls, c["authgate.a.allow"], tokens, 2*tokens)
	}
}

// TestModuleEnvoyRefusesInvalidConfig checks that an invalid plugin
// configuration stops Envoy from starting, with the JSON path of the bad
// field in its log.
func TestModuleEnvoyRefusesInvalidConfig(t *testing.T) {
	bad := `{"region":"us-east-1","accountId":"123456789012","restApiId":"a1b2c3d4e5","stage":"prod",
"authorizers":{"jwt":{"type":"TOKEN","cluster":"authorizer","path":"/","timeoutMs":-5,
"identitySource":"method.request.header.Authorization"}},
"routes":[{"method":"ANY","path":"/{proxy+}","authorizer":"jwt"}]}`
	_, err := startModuleEnvoy(t, "", []byte(bad), 1)
	if err == nil {
		t.Fatal("Envoy started with an invalid plugin configuration")
	}
	if !errors.Is(err, envoyrun.ErrExited) {
		t.Fatalf("want Envoy to exit, got %v", err)
	}
	if !strings.Contains(err.Error(), "invalid plugin configuration: authorizers.jwt.timeoutMs") {
		t.Errorf("Envoy's log does not name the bad field authorizers.jwt.timeoutMs:\n%v", err)
	}
}

// TestExampleModuleConfig checks the module example a user copies: its
// plugin configuration is authgate.json, its filter entry loads the library
// as docs/envoy-module.md says, and everything else is envoy.yaml's.
func TestExampleModuleConfig(t *testing.T) {
	read := func(path string) map[string]any {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := yaml.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return v
	}
	filters := func(root map[string]any) []any {
		t.Helper()
		sr, _ := root["static_resources"].(map[string]any)
		ls, _ := sr["listeners"].([]any)
		if len(ls) != 1 {
			t.Fatalf("want one listener, got %d", len(ls))
		}
		chains, _ := ls[0].(map[string]any)["filter_chains"].([]any)
		fs, _ := chains[0].(map[string]any)["filters"].([]any)
		hcm, _ := fs[0].(map[string]any)["typed_config"].(map[string]any)
		hf, _ := hcm["http_filters"].([]any)
		if len(hf) != 2 {
			t.Fatalf("want the authgate filter and the router, got %d http filters", len(hf))
		}
		return hf
	}
	module, wasm := read(exampleModuleYAML), read(moduleWasmYAML)
	entry := filters(module)[0].(map[string]any)
	tc, _ := entry["typed_config"].(map[string]any)
	dmc, _ := tc["dynamic_module_config"].(map[string]any)
	fc, _ := tc["filter_config"].(map[string]any)
	checks := []struct {
		name      string
		got, want any
	}{
		{"filter", entry["name"], "envoy.filters.http.dynamic_modules"},
		{"module name", dmc["name"], "authgate"},
		{"do_not_close", dmc["do_not_close"], true},
		{"filter_name", tc["filter_name"], "authgate"},
		{"filter_config type", fc["@type"], "type.googleapis.com/google.protobuf.StringValue"},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}
	t.Run("plugin configuration", func(t *testing.T) {
		raw, err := os.ReadFile(modulePluginJSON)
		if err != nil {
			t.Fatal(err)
		}
		inline, _ := fc["value"].(string)
		var a, b any
		if err := json.Unmarshal([]byte(inline), &a); err != nil {
			t.Fatalf("inline plugin configuration: %v", err)
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("the plugin configuration in %s differs from %s", exampleModuleYAML, modulePluginJSON)
		}
	})
	t.Run("same layout as envoy.yaml", func(t *testing.T) {
		filters(wasm)[0] = entry
		if !reflect.DeepEqual(module, wasm) {
			t.Errorf("%s differs from %s in more than the authgate filter entry", exampleModuleYAML, moduleWasmYAML)
		}
	})
}
