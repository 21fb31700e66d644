package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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
	proc    *envoyProc
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
	e := startEnvoy(t, cfg, up, "--concurrency", strconv.Itoa(g.vms()))
	began := time.Now()
	if err := e.waitReady(envoyReadyTimeout); err != nil {
		t.Fatalf("envoy did not become ready: %v", err)
	}
	t.Logf("envoy ready after %v, listening on %s", time.Since(began).Round(time.Millisecond), e.base)
	g.proc = e
	return e.base
}

// envoyBinary returns the envoy on PATH. Without one the test is skipped,
// unless CI is set: there a missing Envoy means the suite did not run.
func envoyBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("envoy")
	if err != nil {
		if os.Getenv("CI") != "" && os.Getenv("CI") != "false" {
			t.Fatalf("envoy is not on PATH and CI=%s: install it with `make envoy`", os.Getenv("CI"))
		}
		t.Skip("envoy is not on PATH (install it with `make envoy`); skipping the Envoy host")
	}
	envoyVersionOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, p, "--version").CombinedOutput()
		envoyVersion = strings.TrimSpace(string(out))
		if err != nil {
			envoyVersion += " (" + err.Error() + ")"
		}
	})
	t.Logf("envoy: %s", envoyVersion)
	return p
}

var (
	envoyVersionOnce sync.Once
	envoyVersion     string
)

// envoyProc is one running Envoy.
type envoyProc struct {
	t       *testing.T
	cmd     *exec.Cmd
	dir     string
	logPath string
	admin   string // admin base URL, once known
	base    string // listener base URL, once known
	done    chan struct{}
	exitErr error // valid after done is closed
}

// startEnvoy writes an envoy.yaml built from the example with cfg as the
// plugin configuration (nil keeps the example's) and starts Envoy on it,
// with extra command-line arguments (a --concurrency among them replaces
// the default envoyWorkers). Envoy is stopped, and its log printed if t
// failed, when t ends.
func startEnvoy(t *testing.T, cfg []byte, up *upstream, extra ...string) *envoyProc {
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
	e := &envoyProc{t: t, dir: dir, logPath: filepath.Join(dir, "envoy.log"), done: make(chan struct{})}
	cfgPath := filepath.Join(dir, "envoy.yaml")
	if err := os.WriteFile(cfgPath, yml, 0o644); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(e.logPath)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{
		"-c", cfgPath,
		// A random base id keeps parallel Envoys (other packages, other
		// runs) from sharing hot-restart shared memory.
		"--base-id", strconv.Itoa(10000 + rand.IntN(1_000_000)),
		"--log-level", "info",
		"--admin-address-path", filepath.Join(dir, "admin.address"),
	}
	if !slices.Contains(extra, "--concurrency") {
		args = append(args, "--concurrency", strconv.Itoa(envoyWorkers))
	}
	e.cmd = exec.Command(bin, append(args, extra...)...)
	dieWithParent(e.cmd)
	e.cmd.Dir = dir
	e.cmd.Stdout = logFile
	e.cmd.Stderr = logFile
	if err := e.cmd.Start(); err != nil {
		_ = logFile.Close()
		t.Fatalf("starting envoy: %v", err)
	}
	go func() {
		e.exitErr = e.cmd.Wait()
		_ = logFile.Close()
		close(e.done)
	}()
	t.Cleanup(func() {
		e.stop()
		if t.Failed() {
			t.Logf("envoy.yaml:\n%s", yml)
			t.Logf("envoy log:\n%s", e.log())
		}
	})
	return e
}

// stop sends SIGTERM and waits, killing Envoy if it does not exit in time.
func (e *envoyProc) stop() {
	select {
	case <-e.done:
		return
	default:
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(envoyStopTimeout):
		e.t.Errorf("envoy did not exit %v after SIGTERM; killing it", envoyStopTimeout)
		_ = e.cmd.Process.Kill()
		<-e.done
	}
}

// exited reports whether Envoy has exited, and how.
func (e *envoyProc) exited() (bool, error) {
	select {
	case <-e.done:
		return true, e.exitErr
	default:
		return false, nil
	}
}

func (e *envoyProc) log() string {
	b, err := os.ReadFile(e.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return string(b)
}

// errEnvoyExited is returned by waitReady when Envoy exits before it is ready.
var errEnvoyExited = errors.New("envoy exited")

// waitReady waits until Envoy's admin /ready answers 200, then learns the
// listener's port from the admin's /listeners.
func (e *envoyProc) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		if ok, err := e.exited(); ok {
			return fmt.Errorf("%w before it was ready: %v", errEnvoyExited, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v", timeout)
		}
		if e.admin == "" {
			if b, err := os.ReadFile(filepath.Join(e.dir, "admin.address")); err == nil && len(bytes.TrimSpace(b)) > 0 {
				e.admin = "http://" + strings.TrimSpace(string(b))
			}
		}
		if e.admin != "" {
			if resp, err := client.Get(e.admin + "/ready"); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return e.findListener(client)
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// findListener reads the port the kernel gave the gateway listener.
func (e *envoyProc) findListener(client *http.Client) error {
	resp, err := client.Get(e.admin + "/listeners?format=json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out struct {
		ListenerStatuses []struct {
			Name         string `json:"name"`
			LocalAddress struct {
				SocketAddress struct {
					Address   string `json:"address"`
					PortValue int    `json:"port_value"`
				} `json:"socket_address"`
			} `json:"local_address"`
		} `json:"listener_statuses"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return fmt.Errorf("admin /listeners: %w", err)
	}
	if len(out.ListenerStatuses) != 1 {
		return fmt.Errorf("admin /listeners: want exactly one listener, got %+v", out.ListenerStatuses)
	}
	sa := out.ListenerStatuses[0].LocalAddress.SocketAddress
	if sa.Address != "127.0.0.1" || sa.PortValue == 0 {
		return fmt.Errorf("admin /listeners: listener on %s:%d, want 127.0.0.1 and a port", sa.Address, sa.PortValue)
	}
	e.base = "http://" + net.JoinHostPort(sa.Address, strconv.Itoa(sa.PortValue))
	return nil
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
