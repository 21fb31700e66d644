package envoyrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// envoyOrSkip returns the envoy binary; without one the test is skipped,
// unless CI is set, where a missing Envoy means the test did not run.
func envoyOrSkip(t *testing.T) string {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		if ci := os.Getenv("CI"); ci != "" && ci != "false" {
			t.Fatalf("CI=%s: %v", ci, err)
		}
		t.Skip(err)
	}
	return bin
}

// directResponse is a bootstrap with one route answering 200 itself.
func directResponse(listenerPort int) string {
	return fmt.Sprintf(`static_resources:
  listeners:
  - name: plain
    address:
      socket_address: {address: 127.0.0.1, port_value: %d}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: plain
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {prefix: "/"}
                direct_response: {status: 200, body: {inline_string: "hello from envoy"}}
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
admin:
  address:
    socket_address: {address: 127.0.0.1, port_value: 0}
`, listenerPort)
}

func TestStartStop(t *testing.T) {
	bin := envoyOrSkip(t)
	ctx := context.Background()
	e, err := Start(ctx, Options{
		ConfigYAML: []byte(directResponse(0)), Binary: bin, LogLevel: "warn",
		Args: []string{"--service-node", "envoyrun-test-node"},
	})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = e.Stop()
		}
	}()
	if !strings.HasPrefix(e.AdminURL(), "http://127.0.0.1:") {
		t.Errorf("AdminURL() = %q, want http://127.0.0.1:<port>", e.AdminURL())
	}
	if e.ReadyAfter() <= 0 || e.ReadyAfter() > DefaultReadyTimeout {
		t.Errorf("ReadyAfter() = %v, want in (0, %v]", e.ReadyAfter(), DefaultReadyTimeout)
	}
	ls, err := e.Listeners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 || ls[0].Name != "plain" || !strings.HasPrefix(ls[0].Address, "127.0.0.1:") || strings.HasSuffix(ls[0].Address, ":0") {
		t.Fatalf("Listeners() = %+v, want one \"plain\" on 127.0.0.1 with the port the kernel chose", ls)
	}
	addr := ls[0].Address

	resp, err := http.Get("http://" + addr + "/anything")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello from envoy" {
		t.Errorf("GET /anything = %d %q, want 200 %q", resp.StatusCode, body, "hello from envoy")
	}

	resp, err = http.Get(e.AdminURL() + "/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/ready = %d, want 200", resp.StatusCode)
	}

	// Options.Args reached Envoy's command line.
	resp, err = http.Get(e.AdminURL() + "/server_info")
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		CommandLineOptions struct {
			ServiceNode string `json:"service_node"`
		} `json:"command_line_options"`
	}
	err = json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := info.CommandLineOptions.ServiceNode; got != "envoyrun-test-node" {
		t.Errorf("server_info service_node = %q, want the --service-node of Options.Args", got)
	}

	stats, err := e.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := stats["http.plain.downstream_rq_2xx"]; got != "1" {
		t.Errorf("stats[http.plain.downstream_rq_2xx] = %q, want \"1\"", got)
	}
	rss, err := e.RSS()
	if err != nil {
		t.Fatal(err)
	}
	if rss < 1<<20 {
		t.Errorf("RSS() = %d bytes, want at least 1 MiB for a running Envoy", rss)
	}
	v, err := e.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(v, "/") {
		t.Errorf("Version() = %q, want Envoy's build string (sha/version/...)", v)
	}

	began := time.Now()
	if err := e.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	if took := time.Since(began); took > StopGrace {
		t.Errorf("Stop took %v, want under %v (SIGTERM was not enough)", took, StopGrace)
	}
	if done, _ := e.Exited(); !done {
		t.Error("Exited() = false after Stop")
	}
	if _, err := http.Get("http://" + addr + "/"); err == nil {
		t.Error("listener still answers after Stop")
	}
	if err := e.Stop(); err != nil {
		t.Errorf("second Stop() = %v, want nil", err)
	}
}

func TestStartBadConfig(t *testing.T) {
	bin := envoyOrSkip(t)
	_, err := Start(context.Background(), Options{ConfigYAML: []byte("static_resources: {listeners: [{name: x}]}\nnot_a_field: 1\n"), Binary: bin, ReadyTimeout: 20 * time.Second})
	if err == nil {
		t.Fatal("Start succeeded on an invalid configuration")
	}
	if !strings.Contains(err.Error(), "exited before it was ready") || !strings.Contains(err.Error(), "envoy log") {
		t.Errorf("error = %v, want it to say Envoy exited and quote the log", err)
	}
	if !errors.Is(err, ErrExited) {
		t.Errorf("error = %v, want it to wrap ErrExited", err)
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
		t.Errorf("error = %v, want it to wrap Envoy's exit status 1", err)
	}
}

func TestStartOptions(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{name: "no config", o: Options{Binary: "/bin/true"}, want: "exactly one"},
		{name: "both configs", o: Options{Binary: "/bin/true", ConfigYAML: []byte("x"), ConfigPath: "x"}, want: "exactly one"},
		{name: "args repeat concurrency", o: Options{Binary: "/bin/true", ConfigPath: "x", Args: []string{"--concurrency", "4"}}, want: "args[--concurrency]: set by Start itself"},
		{name: "args repeat log level with =", o: Options{Binary: "/bin/true", ConfigPath: "x", Args: []string{"--log-level=debug"}}, want: "args[--log-level]: set by Start itself"},
		{name: "args repeat config", o: Options{Binary: "/bin/true", ConfigPath: "x", Args: []string{"-c", "y"}}, want: "args[-c]: set by Start itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Start(context.Background(), tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func readExample(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../envoy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRewriteExample(t *testing.T) {
	example := readExample(t)
	got, err := RewriteExample(example, ExampleOptions{
		ListenerPort: 18080, UpstreamPort: 19000, AuthorizerPort: 19001, AdminPort: AnyPort,
		WasmFile:     "/abs/authgate.wasm",
		PluginConfig: "{\n  \"x\": 1\n}\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"port_value: 18080}", "port_value: 19000}", "port_value: 19001}", "port_value: 0}",
		`filename: "/abs/authgate.wasm"`,
		"                  value: |\n                    {\n                      \"x\": 1\n                    }\n          - name: envoy.filters.http.router",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("rewritten example lacks %q", want)
		}
	}
	for _, gone := range []string{"port_value: 8080}", "port_value: 9000}", "port_value: 9001}", "port_value: 9901}", "filename: build/authgate.wasm", "identitySource"} {
		if strings.Contains(got, gone) {
			t.Errorf("rewritten example still has %q", gone)
		}
	}
}

func TestRewriteExampleFilter(t *testing.T) {
	example := readExample(t)
	tests := []struct {
		name     string
		item     string
		want     []string
		wantGone []string
	}{
		{
			name:     "removed",
			want:     []string{"          http_filters:\n          - name: envoy.filters.http.router"},
			wantGone: []string{"envoy.filters.http.wasm", "vm_config", "value: |", "authgate must come before"},
		},
		{
			name:     "replaced",
			item:     "- name: envoy.filters.http.ext_authz\n  typed_config:\n    a: b\n",
			want:     []string{"          - name: envoy.filters.http.ext_authz\n            typed_config:\n              a: b\n          - name: envoy.filters.http.router"},
			wantGone: []string{"envoy.filters.http.wasm"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RewriteExample(example, ExampleOptions{ReplaceWasmFilter: true, WasmFilterReplacement: tt.item})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("result lacks %q:\n%s", w, got)
				}
			}
			for _, g := range tt.wantGone {
				if strings.Contains(got, g) {
					t.Errorf("result still has %q", g)
				}
			}
		})
	}
}

func TestRewriteExampleFailsLoudly(t *testing.T) {
	example := readExample(t)
	tests := []struct {
		name string
		text string
		o    ExampleOptions
		want string
	}{
		{name: "port moved", text: strings.Replace(example, "port_value: 9000}", "port_value: 9100}", 1), o: ExampleOptions{UpstreamPort: 1}, want: `"port_value: 9000}" not found`},
		{name: "port twice", text: example + "\n# port_value: 8080}\n", o: ExampleOptions{ListenerPort: 1}, want: "found 2 times"},
		{name: "filename changed", text: strings.Replace(example, "filename: build/authgate.wasm", "filename: x.wasm", 1), o: ExampleOptions{WasmFile: "/y"}, want: "not found"},
		{name: "no plugin config", text: strings.Replace(example, "StringValue", "BytesValue", 1), o: ExampleOptions{PluginConfig: "{}"}, want: "plugin configuration"},
		{name: "no wasm filter", text: strings.Replace(example, "envoy.filters.http.wasm", "envoy.filters.http.lua", 1), o: ExampleOptions{ReplaceWasmFilter: true}, want: "wasm filter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := RewriteExample(tt.text, tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("RewriteExample() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestPluginConfigMatchesJSONFile(t *testing.T) {
	got, err := PluginConfig(readExample(t))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../authgate.json")
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("extracted plugin configuration is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("PluginConfig() = %s, want authgate.json's %s", gb, wb)
	}
}

// TestExampleStartsInEnvoy runs the rewritten example, filter included,
// when a built filter is at hand; it only checks that Envoy accepts it.
func TestExampleStartsInEnvoy(t *testing.T) {
	bin := envoyOrSkip(t)
	wasm := os.Getenv("AUTHGATE_WASM")
	if wasm == "" {
		t.Skip("AUTHGATE_WASM is not set (`make test` sets it)")
	}
	ports := make([]int, 3)
	for i := range ports {
		p, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
	}
	cfg, err := RewriteExample(readExample(t), ExampleOptions{
		ListenerPort: ports[0], UpstreamPort: ports[1], AuthorizerPort: ports[2], AdminPort: AnyPort, WasmFile: wasm,
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err := Start(context.Background(), Options{ConfigYAML: []byte(cfg), Binary: bin})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Stop(); err != nil {
		t.Error(err)
	}
}
