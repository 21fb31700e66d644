package envoyrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// envoyOrSkip returns the envoy binary; without one the test is skipped,
// unless Required says a missing Envoy means the test did not run.
func envoyOrSkip(t *testing.T) string {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		if Required() {
			t.Fatalf("Envoy is required here (CI or %s=1): %v", RequireVar, err)
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
