package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/examples/envoy/envoyrun"
	"go.yaml.in/yaml/v3"
)

// envoyWorkers is the --concurrency of every Envoy the suite starts: two
// workers, so two wasm VMs, which is what the cache and coalescing
// scenarios must cope with.
const envoyWorkers = 2

// Bounds on waiting for Envoy.
const (
	envoyReadyTimeout = 60 * time.Second
	envoyStopTimeout  = 10 * time.Second
)

// exampleEnvoyYAML is the configuration a user copies; the suite runs the
// same file with ports, paths and the plugin configuration substituted, so
// the example cannot rot.
const exampleEnvoyYAML = "../examples/envoy/envoy.yaml"

// envoyGateway is the compiled filter in a real Envoy with workers worker
// threads (0: envoyWorkers). proc is the Envoy started last, for tests
// that read its admin API.
type envoyGateway struct {
	workers int
	proc    *envoyrun.Envoy
}

func (g *envoyGateway) name() string {
	if g.workers == 0 {
		return "envoy"
	}
	return fmt.Sprintf("envoy-c%d", g.workers)
}

func (g *envoyGateway) vms() int {
	if g.workers == 0 {
		return envoyWorkers
	}
	return g.workers
}

func (g *envoyGateway) start(t *testing.T, cfg []byte, up *upstream) string {
	t.Helper()
	e, base, err := startEnvoy(t, envoyOptions(t, cfg, up, g.vms()))
	if err != nil {
		t.Fatalf("envoy did not become ready: %v", err)
	}
	t.Logf("envoy ready after %v, listening on %s", e.ReadyAfter().Round(time.Millisecond), base)
	g.proc = e
	return base
}

// envoyBinary returns the envoy on PATH. Without one the test is skipped,
// unless CI is set: there a missing Envoy means the suite did not run.
func envoyBinary(t *testing.T) string {
	t.Helper()
	p, err := envoyrun.Binary()
	if err != nil {
		if ci := os.Getenv("CI"); ci != "" && ci != "false" {
			t.Fatalf("CI=%s: %v", ci, err)
		}
		t.Skipf("%v; skipping the Envoy host", err)
	}
	envoyVersionOnce.Do(func() {
		v, err := envoyrun.Version(t.Context(), p)
		if err != nil {
			v = err.Error()
		}
		envoyVersion = v
	})
	t.Logf("envoy: %s", envoyVersion)
	return p
}

var (
	envoyVersionOnce sync.Once
	envoyVersion     string
)

// envoyOptions describes an Envoy running the example envoy.yaml with cfg
// as the plugin configuration (nil keeps the example's), the given number
// of worker threads and extra command-line arguments. It may skip or fail
// t, so it runs on the test's goroutine. When t ends failed, the
// configuration and Envoy's whole log are printed: Envoy's own directory
// is t's, so the log outlives both Stop and a failed start.
func envoyOptions(t *testing.T, cfg []byte, up *upstream, workers int, extra ...string) envoyrun.Options {
	t.Helper()
	bin := envoyBinary(t)
	wasmFile := wasmPath(t)
	example, err := os.ReadFile(exampleEnvoyYAML)
	if err != nil {
		t.Fatal(err)
	}
	clusters := map[string]string{"upstream": hostPort(up.url)}
	for name, u := range up.clusters {
		clusters[name] = hostPort(u)
	}
	yml, err := renderEnvoyConfig(example, wasmFile, cfg, clusters)
	if err != nil {
		t.Fatalf("building envoy.yaml from %s: %v", exampleEnvoyYAML, err)
	}
	dir := t.TempDir()
	logPath := filepath.Join(dir, "envoy.log")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("envoy.yaml:\n%s", yml)
			t.Logf("envoy log:\n%s", readEnvoyLog(logPath))
		}
	})
	return envoyrun.Options{
		ConfigYAML:   yml,
		Binary:       bin,
		Dir:          dir,
		LogPath:      logPath,
		Concurrency:  workers,
		ReadyTimeout: envoyReadyTimeout,
		StopTimeout:  envoyStopTimeout,
		Args:         extra,
	}
}

// startEnvoy starts the Envoy o describes, waits until it is ready and
// returns it with the base URL of its one listener. It does not end the
// test, so several can start at once from goroutines; an Envoy that quits
// before it is ready gives an error wrapping envoyrun.ErrExited and the
// process's *exec.ExitError. Envoy is stopped when t ends, and t fails if
// it had to be killed.
func startEnvoy(t *testing.T, o envoyrun.Options) (*envoyrun.Envoy, string, error) {
	e, err := envoyrun.Start(t.Context(), o)
	if err != nil {
		return nil, "", err
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Errorf("stopping envoy: %v", err)
		}
	})
	base, err := listenerBase(t, e)
	if err != nil {
		return nil, "", err
	}
	return e, base, nil
}

// listenerBase reads back the port the kernel gave the gateway listener,
// which the suite's envoy.yaml leaves at 0.
func listenerBase(t *testing.T, e *envoyrun.Envoy) (string, error) {
	ls, err := e.Listeners(t.Context())
	if err != nil {
		return "", err
	}
	if len(ls) != 1 {
		return "", fmt.Errorf("admin /listeners: want exactly one listener, got %+v", ls)
	}
	host, port, err := net.SplitHostPort(ls[0].Address)
	if err != nil {
		return "", fmt.Errorf("admin /listeners[%s]: %w", ls[0].Name, err)
	}
	if host != "127.0.0.1" || port == "0" {
		return "", fmt.Errorf("admin /listeners[%s]: listener on %s, want 127.0.0.1 and a port", ls[0].Name, ls[0].Address)
	}
	return "http://" + ls[0].Address, nil
}

// readEnvoyLog returns the log at path, or why there is none.
func readEnvoyLog(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return string(b)
}

// renderEnvoyConfig turns the example envoy.yaml into the suite's: the one
// listener and the admin on 127.0.0.1 port 0 (the kernel picks; the suite
// asks the admin API), the filter's code file replaced, the plugin
// configuration replaced unless pluginConfig is nil, and each cluster in clusters pointed at its host:port. A cluster
// the example lacks is cloned from its "authorizer" cluster. Anything the
// example no longer has where expected is an error, so a change to the
// example that the suite cannot follow fails loudly.
func renderEnvoyConfig(example []byte, wasmFile string, pluginConfig []byte, clusters map[string]string) ([]byte, error) {
	var root map[string]any
	if err := yaml.Unmarshal(example, &root); err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	sr, err := obj(root, "static_resources")
	if err != nil {
		return nil, err
	}
	listeners, err := list(sr, "listeners")
	if err != nil {
		return nil, err
	}
	if len(listeners) != 1 {
		return nil, fmt.Errorf("static_resources.listeners: want one listener, got %d", len(listeners))
	}
	listener, _ := listeners[0].(map[string]any)
	if err := setSocket(listener, "static_resources.listeners[0]", "127.0.0.1", 0); err != nil {
		return nil, err
	}
	wasmFilter, err := findWasmFilter(listener)
	if err != nil {
		return nil, err
	}
	plugin, err := obj(wasmFilter, "typed_config", "config")
	if err != nil {
		return nil, err
	}
	local, err := obj(plugin, "vm_config", "code", "local")
	if err != nil {
		return nil, err
	}
	if _, ok := local["filename"].(string); !ok {
		return nil, errors.New("wasm filter: vm_config.code.local.filename is not a string")
	}
	local["filename"] = wasmFile
	conf, err := obj(plugin, "configuration")
	if err != nil {
		return nil, err
	}
	if conf["@type"] != "type.googleapis.com/google.protobuf.StringValue" {
		return nil, fmt.Errorf("wasm filter: configuration.@type = %v, want google.protobuf.StringValue", conf["@type"])
	}
	if _, ok := conf["value"].(string); !ok {
		return nil, errors.New("wasm filter: configuration.value is not a string")
	}
	if pluginConfig != nil {
		conf["value"] = string(pluginConfig)
	}

	cl, err := list(sr, "clusters")
	if err != nil {
		return nil, err
	}
	for _, name := range sortedKeys(clusters) {
		c := byName(cl, name)
		if c == nil {
			tmpl := byName(cl, "authorizer")
			if tmpl == nil {
				return nil, fmt.Errorf("static_resources.clusters: no %q cluster to clone for %q", "authorizer", name)
			}
			c, err = deepCopy(tmpl)
			if err != nil {
				return nil, err
			}
			c["name"] = name
			cl = append(cl, c)
		}
		if err := pointCluster(c, name, clusters[name]); err != nil {
			return nil, err
		}
	}
	sr["clusters"] = cl
	admin, err := obj(root, "admin")
	if err != nil {
		return nil, err
	}
	if err := setSocket(admin, "admin", "127.0.0.1", 0); err != nil {
		return nil, err
	}
	return yaml.Marshal(root)
}

// findWasmFilter returns the envoy.filters.http.wasm entry of the
// listener's HTTP connection manager, checking it runs before the router.
func findWasmFilter(listener map[string]any) (map[string]any, error) {
	chains, err := list(listener, "filter_chains")
	if err != nil {
		return nil, err
	}
	for _, ch := range chains {
		filters, err := list(ch, "filters")
		if err != nil {
			return nil, err
		}
		hcm := byName(filters, "envoy.filters.network.http_connection_manager")
		if hcm == nil {
			continue
		}
		hf, err := list(hcm, "typed_config", "http_filters")
		if err != nil {
			return nil, err
		}
		wasmAt, routerAt := -1, -1
		for i, f := range hf {
			m, _ := f.(map[string]any)
			switch m["name"] {
			case "envoy.filters.http.wasm":
				wasmAt = i
			case "envoy.filters.http.router":
				routerAt = i
			}
		}
		if wasmAt < 0 || routerAt < wasmAt {
			return nil, fmt.Errorf("http_filters: want envoy.filters.http.wasm before envoy.filters.http.router, got positions %d and %d", wasmAt, routerAt)
		}
		return hf[wasmAt].(map[string]any), nil
	}
	return nil, errors.New("listener: no http_connection_manager filter")
}

// pointCluster makes cluster c send to the one endpoint hostport.
func pointCluster(c map[string]any, name, hostport string) error {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("cluster %s: %w", name, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Errorf("cluster %s: port: %w", name, err)
	}
	la, err := obj(c, "load_assignment")
	if err != nil {
		return fmt.Errorf("cluster %s: %w", name, err)
	}
	la["cluster_name"] = name
	eps, err := list(la, "endpoints")
	if err != nil || len(eps) != 1 {
		return fmt.Errorf("cluster %s: want one endpoints entry (%v)", name, err)
	}
	lbs, err := list(eps[0], "lb_endpoints")
	if err != nil || len(lbs) != 1 {
		return fmt.Errorf("cluster %s: want one lb_endpoints entry (%v)", name, err)
	}
	ep, err := obj(lbs[0], "endpoint")
	if err != nil {
		return fmt.Errorf("cluster %s: %w", name, err)
	}
	return setSocket(ep, "cluster "+name, host, p)
}

// setSocket sets m.address.socket_address.
func setSocket(m map[string]any, where, address string, port int) error {
	sa, err := obj(m, "address", "socket_address")
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if _, ok := sa["port_value"]; !ok {
		return fmt.Errorf("%s: address.socket_address has no port_value", where)
	}
	sa["address"] = address
	sa["port_value"] = port
	return nil
}

// obj follows keys through nested maps.
func obj(v any, keys ...string) (map[string]any, error) {
	cur, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("not a mapping")
	}
	for i, k := range keys {
		next, ok := cur[k].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: missing or not a mapping", strings.Join(keys[:i+1], "."))
		}
		cur = next
	}
	return cur, nil
}

// list follows keys to a sequence.
func list(v any, keys ...string) ([]any, error) {
	m, err := obj(v, keys[:len(keys)-1]...)
	if err != nil {
		return nil, err
	}
	l, ok := m[keys[len(keys)-1]].([]any)
	if !ok {
		return nil, fmt.Errorf("%s: missing or not a sequence", strings.Join(keys, "."))
	}
	return l, nil
}

// byName finds the entry of l whose name is name.
func byName(l []any, name string) map[string]any {
	for _, e := range l {
		if m, ok := e.(map[string]any); ok && m["name"] == name {
			return m
		}
	}
	return nil
}

func deepCopy(m map[string]any) (map[string]any, error) {
	b, err := yaml.Marshal(m)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, yaml.Unmarshal(b, &out)
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestRenderEnvoyConfig checks the example rewriting: it changes what it
// must, and refuses an example it cannot follow instead of guessing.
func TestRenderEnvoyConfig(t *testing.T) {
	example, err := os.ReadFile(exampleEnvoyYAML)
	if err != nil {
		t.Fatal(err)
	}
	clusters := map[string]string{"upstream": "127.0.0.1:1001", "authorizer": "127.0.0.1:1002", "extra": "127.0.0.1:1003"}
	tests := []struct {
		name    string
		edit    func(string) string
		wantErr string // "" = success
	}{
		{"example", func(s string) string { return s }, ""},
		{"no wasm filter", func(s string) string {
			return strings.Replace(s, "name: envoy.filters.http.wasm", "name: envoy.filters.http.other", 1)
		}, "want envoy.filters.http.wasm before envoy.filters.http.router"},
		{"configuration not a StringValue", func(s string) string {
			return strings.Replace(s, "google.protobuf.StringValue", "google.protobuf.Struct", 1)
		}, "configuration.@type"},
		{"no authorizer cluster to clone", func(s string) string {
			return strings.Replace(s, "- name: authorizer", "- name: authz", 1)
		}, `no "authorizer" cluster to clone`},
		{"no admin", func(s string) string { return s[:strings.Index(s, "\nadmin:")] }, "admin: missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.edit(string(example))
			if in == string(example) && tt.wantErr != "" {
				t.Fatal("the edit changed nothing: the example moved on")
			}
			out, err := renderEnvoyConfig([]byte(in), "/x/authgate.wasm", []byte(`{"k":1}`), clusters)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var root map[string]any
			if err := yaml.Unmarshal(out, &root); err != nil {
				t.Fatal(err)
			}
			sr := must(obj(root, "static_resources"))
			listener := must(list(sr, "listeners"))[0]
			wf, err := findWasmFilter(listener.(map[string]any))
			if err != nil {
				t.Fatal(err)
			}
			plugin := must(obj(wf, "typed_config", "config"))
			checks := []struct{ what, got, want string }{
				{"listener", socketOf(t, listener), "127.0.0.1:0"},
				{"admin", socketOf(t, root["admin"]), "127.0.0.1:0"},
				{"upstream", clusterSocket(t, sr, "upstream"), "127.0.0.1:1001"},
				{"authorizer", clusterSocket(t, sr, "authorizer"), "127.0.0.1:1002"},
				{"extra (cloned)", clusterSocket(t, sr, "extra"), "127.0.0.1:1003"},
				{"code", fmt.Sprint(must(obj(plugin, "vm_config", "code", "local"))["filename"]), "/x/authgate.wasm"},
				{"configuration", fmt.Sprint(must(obj(plugin, "configuration"))["value"]), `{"k":1}`},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s: got %s, want %s", c.what, c.got, c.want)
				}
			}
		})
	}
}

// must unwraps a document lookup in a test. A failed lookup panics, which
// fails the test with the missing path in the message.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
