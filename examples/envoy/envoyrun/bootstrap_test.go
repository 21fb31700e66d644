package envoyrun

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/core/config"
	"go.yaml.in/yaml/v3"
)

const (
	exampleFile     = "../envoy.yaml"
	exampleJSONFile = "../authgate.json"
)

func readExample(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseExample(t *testing.T) *Bootstrap {
	t.Helper()
	b, err := ParseBootstrap(readExample(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestExampleBootstrap checks the files a user copies: envoy.yaml has the
// documented addresses, filter and clusters, accepts HTTP/2 without TLS as
// well as HTTP/1.1, and carries authgate.json, a valid configuration, inline.
func TestExampleBootstrap(t *testing.T) {
	b := parseExample(t)
	raw, err := os.ReadFile(exampleJSONFile)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := config.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", exampleJSONFile, err)
	}
	if len(plan.Routes) != 2 || plan.Authorizers["jwt"] == nil || plan.Authorizers["jwt"].Cluster != "authorizer" {
		t.Errorf("%s: want routes /health and /{proxy+} and authorizer jwt on cluster authorizer, got %d routes, %v",
			exampleJSONFile, len(plan.Routes), plan.Authorizers)
	}
	if !reflect.DeepEqual(jsonValue(t, b.PluginConfig()), jsonValue(t, raw)) {
		t.Errorf("the plugin configuration inline in %s differs from %s", exampleFile, exampleJSONFile)
	}
	fc := b.FilterConfig()
	vm, _ := lookupPath(fc, "config", "vm_config").(map[string]any)
	upstream, upErr := b.Cluster("upstream")
	authorizer, authzErr := b.Cluster("authorizer")
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"kind", b.Kind(), WasmFilter},
		{"listener", b.Listener(), "127.0.0.1:8080"},
		{"admin", b.Admin(), "127.0.0.1:9901"},
		{"cluster upstream", upstream, "127.0.0.1:9000"},
		{"cluster upstream error", upErr, nil},
		{"cluster authorizer", authorizer, "127.0.0.1:9001"},
		{"cluster authorizer error", authzErr, nil},
		{"code", b.Code(), "build/authgate.wasm"},
		{"runtime", vm["runtime"], "envoy.wasm.runtime.v8"},
		{"vm_id", vm["vm_id"], "authgate"},
		// No codec_type means AUTO: HTTP/1.1, and HTTP/2 with prior
		// knowledge (h2c), on one port.
		{"codec_type", lookupPath(b.main.hcm, "codec_type"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func jsonValue(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return v
}

// lookupPath follows keys through nested mappings; nil when one is missing.
func lookupPath(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// TestBootstrapRender changes everything the programs change and reads the
// result back from the YAML it writes.
func TestBootstrapRender(t *testing.T) {
	b := parseExample(t)
	b.SetListener("127.0.0.1", 0)
	b.SetAdmin("127.0.0.1", 0)
	for name, hp := range map[string]string{"upstream": "127.0.0.1:1001", "authorizer": "127.0.0.1:1002"} {
		if err := b.SetCluster(name, hp); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.AddCluster("extra", "authorizer", "127.0.0.1:1003"); err != nil {
		t.Fatal(err)
	}
	env, err := b.SetCode("/x/authgate.wasm")
	if err != nil || env != nil {
		t.Fatalf("SetCode = %v, %v; want no environment and no error", env, err)
	}
	if err := b.SetPluginConfig([]byte(`{"k":1}`)); err != nil {
		t.Fatal(err)
	}
	out, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseBootstrap(out)
	if err != nil {
		t.Fatalf("the rendered bootstrap does not parse: %v\n%s", err, out)
	}
	cluster := func(name string) string {
		hp, err := back.Cluster(name)
		if err != nil {
			t.Fatal(err)
		}
		return hp
	}
	checks := []struct{ what, got, want string }{
		{"listener", back.Listener(), "127.0.0.1:0"},
		{"admin", back.Admin(), "127.0.0.1:0"},
		{"upstream", cluster("upstream"), "127.0.0.1:1001"},
		{"authorizer", cluster("authorizer"), "127.0.0.1:1002"},
		{"extra (copied)", cluster("extra"), "127.0.0.1:1003"},
		{"extra's cluster_name", lookupPath(ByName(back.clusters, "extra"), "load_assignment", "cluster_name").(string), "extra"},
		{"code", back.Code(), "/x/authgate.wasm"},
		{"plugin configuration", string(back.PluginConfig()), `{"k":1}`},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %s, want %s", c.what, c.got, c.want)
		}
	}
	// The example itself is untouched by the edits of another Bootstrap.
	if again := parseExample(t); again.Listener() != "127.0.0.1:8080" {
		t.Errorf("the example changed: %s", again.Listener())
	}
}

// TestBootstrapRefuses checks a bootstrap the programs cannot follow is an
// error naming what is missing, never a guess.
func TestBootstrapRefuses(t *testing.T) {
	example := string(readExample(t))
	tests := []struct {
		name    string
		edit    func(string) string
		wantErr string
	}{
		{"no authgate filter", func(s string) string {
			return strings.Replace(s, "name: envoy.filters.http.wasm", "name: envoy.filters.http.lua", 1)
		}, "want envoy.filters.http.wasm or envoy.filters.http.dynamic_modules before envoy.filters.http.router"},
		{"filter after the router", func(s string) string {
			return strings.Replace(s, "name: envoy.filters.http.router", "name: envoy.filters.http.other", 1)
		}, "before envoy.filters.http.router, got positions 0 and -1"},
		{"configuration not a StringValue", func(s string) string {
			return strings.Replace(s, "google.protobuf.StringValue", "google.protobuf.Struct", 1)
		}, "plugin configuration @type"},
		{"no code file", func(s string) string {
			return strings.Replace(s, "filename: build/authgate.wasm", "inline_string: x", 1)
		}, "vm_config.code.local.filename is not a string"},
		{"route to a missing cluster", func(s string) string {
			return strings.Replace(s, "- name: upstream", "- name: backend", 1)
		}, `cluster "upstream" is not defined`},
		{"no connection manager", func(s string) string {
			return strings.Replace(s, "envoy.filters.network.http_connection_manager", "envoy.filters.network.tcp_proxy", 1)
		}, "listener: no envoy.filters.network.http_connection_manager"},
		{"two listeners", func(s string) string {
			return strings.Replace(s, "  listeners:\n", "  listeners:\n  - name: other\n", 1)
		}, "want one listener, got 2"},
		{"no admin", func(s string) string { return s[:strings.Index(s, "\nadmin:")] }, "admin: missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.edit(example)
			if in == example {
				t.Fatal("the edit changed nothing: the example moved on")
			}
			_, err := ParseBootstrap([]byte(in))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "envoyrun: bootstrap: ") {
				t.Errorf("error %q does not say where it comes from", err)
			}
		})
	}

	t.Run("setters", func(t *testing.T) {
		b := parseExample(t)
		for _, c := range []struct {
			name    string
			err     error
			wantErr string
		}{
			{"SetCluster of a missing cluster", b.SetCluster("nope", "127.0.0.1:1"), `no cluster "nope"`},
			{"AddCluster of an existing cluster", b.AddCluster("upstream", "authorizer", "127.0.0.1:1"), `cluster "upstream" exists`},
			{"AddCluster copying a missing cluster", b.AddCluster("x", "nope", "127.0.0.1:1"), `no cluster "nope" to copy for "x"`},
			{"SetCluster without a port", b.SetCluster("upstream", "127.0.0.1"), "cluster[upstream]: address 127.0.0.1: missing port"},
		} {
			if c.err == nil || !strings.Contains(c.err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want one containing %q", c.name, c.err, c.wantErr)
			}
		}
	})
}

// moduleEntry is an http_filters item loading authgate as a dynamic module
// by name, with its plugin configuration as a StringValue.
const moduleEntry = `name: envoy.filters.http.dynamic_modules
typed_config:
  "@type": type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter
  dynamic_module_config: {name: authgate, do_not_close: true}
  filter_name: authgate
  filter_config:
    "@type": type.googleapis.com/google.protobuf.StringValue
    value: '{"m":1}'
`

// moduleBootstrap is the example with the wasm filter swapped for
// moduleEntry, the shape of a bootstrap that loads the dynamic module.
func moduleBootstrap(t *testing.T, entry string) []byte {
	t.Helper()
	b := parseExample(t)
	if err := b.ReplaceFilter([]byte(entry)); err != nil {
		t.Fatal(err)
	}
	out, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBootstrapModule(t *testing.T) {
	t.Run("by name", func(t *testing.T) {
		b, err := ParseBootstrap(moduleBootstrap(t, moduleEntry))
		if err != nil {
			t.Fatal(err)
		}
		if b.Kind() != ModuleFilter || string(b.PluginConfig()) != `{"m":1}` || b.Code() != "" {
			t.Fatalf("kind %v, plugin configuration %s, code %q", b.Kind(), b.PluginConfig(), b.Code())
		}
		env, err := b.SetCode("/repo/build/libauthgate.so")
		if err != nil || len(env) != 1 || env[0] != ModuleSearchPathVar+"=/repo/build" {
			t.Errorf("SetCode = %v, %v; want the search path of /repo/build", env, err)
		}
		if _, err := b.SetCode("/repo/build/authgate.so"); err == nil || !strings.Contains(err.Error(), "must be called libauthgate.so") {
			t.Errorf("SetCode of a wrongly named file: %v", err)
		}
		if err := b.SetPluginConfig([]byte(`{"m":2}`)); err != nil || string(b.PluginConfig()) != `{"m":2}` {
			t.Errorf("SetPluginConfig: %v, %s", err, b.PluginConfig())
		}
	})
	t.Run("by file", func(t *testing.T) {
		entry := strings.Replace(moduleEntry, "{name: authgate, do_not_close: true}",
			"{name: authgate, do_not_close: true, module: {local: {filename: build/libauthgate.so}}}", 1)
		b, err := ParseBootstrap(moduleBootstrap(t, entry))
		if err != nil {
			t.Fatal(err)
		}
		if b.Code() != "build/libauthgate.so" {
			t.Fatalf("Code() = %q", b.Code())
		}
		if env, err := b.SetCode("/abs/libauthgate.so"); err != nil || env != nil || b.Code() != "/abs/libauthgate.so" {
			t.Errorf("SetCode = %v, %v; code %q", env, err, b.Code())
		}
	})
	t.Run("no name", func(t *testing.T) {
		entry := strings.Replace(moduleEntry, "name: authgate,", "", 1)
		if _, err := ParseBootstrap(moduleBootstrap(t, entry)); err == nil || !strings.Contains(err.Error(), "dynamic_module_config.name") {
			t.Errorf("error %v, want one about dynamic_module_config.name", err)
		}
	})
}

// TestBootstrapUseModule checks the wasm filter becomes the dynamic module
// with the same plugin configuration, in every gateway.
func TestBootstrapUseModule(t *testing.T) {
	b := parseExample(t)
	g, err := b.AddGateway("second")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.SetPluginConfig([]byte(`{"g":2}`)); err != nil {
		t.Fatal(err)
	}
	want := string(b.PluginConfig())
	if err := b.UseModule("authgate"); err != nil {
		t.Fatal(err)
	}
	if b.Kind() != ModuleFilter || g.Kind() != ModuleFilter || string(b.PluginConfig()) != want || string(g.PluginConfig()) != `{"g":2}` {
		t.Errorf("kinds %v %v, plugin configurations %s %s", b.Kind(), g.Kind(), b.PluginConfig(), g.PluginConfig())
	}
	env, err := b.SetCode("/repo/build/libauthgate.so")
	if err != nil || len(env) != 1 || env[0] != ModuleSearchPathVar+"=/repo/build" {
		t.Errorf("SetCode = %v, %v", env, err)
	}
	out, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), wasmFilterName) || strings.Count(string(out), moduleFilterName) != 2 {
		t.Errorf("rendered bootstrap:\n%s", out)
	}
	// What UseModule writes is what envoy-module.yaml holds.
	module, err := os.ReadFile("../envoy-module.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := ParseBootstrap(module)
	if err != nil {
		t.Fatal(err)
	}
	wb := parseExample(t)
	if err := wb.UseModule("authgate"); err != nil {
		t.Fatal(err)
	}
	if got, want := wb.FilterConfig(), mb.FilterConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("UseModule wrote\n%v\nwhere envoy-module.yaml has\n%v", got, want)
	}
	if err := b.UseModule("authgate"); err == nil {
		t.Error("UseModule replaced a module")
	}
}

func TestBootstrapReplaceFilter(t *testing.T) {
	t.Run("removed", func(t *testing.T) {
		b := parseExample(t)
		if err := b.ReplaceFilter(nil); err != nil {
			t.Fatal(err)
		}
		if b.Kind() != 0 || b.PluginConfig() != nil || b.FilterConfig() != nil {
			t.Errorf("kind %v, plugin configuration %s after removal", b.Kind(), b.PluginConfig())
		}
		if _, err := b.SetCode("/x.wasm"); err == nil {
			t.Error("SetCode without a filter succeeded")
		}
		if err := b.ReplaceFilter(nil); err == nil {
			t.Error("a second removal succeeded")
		}
		names := filterNames(t, b)
		if len(names) != 1 || names[0] != routerName {
			t.Errorf("http_filters = %v, want the router alone", names)
		}
	})
	t.Run("replaced", func(t *testing.T) {
		b := parseExample(t)
		if err := b.ReplaceFilter([]byte("name: envoy.filters.http.ext_authz\ntyped_config: {a: b}\n")); err != nil {
			t.Fatal(err)
		}
		if names := filterNames(t, b); len(names) != 2 || names[0] != "envoy.filters.http.ext_authz" || names[1] != routerName {
			t.Errorf("http_filters = %v", names)
		}
		if err := b.ReplaceFilter(nil); err == nil {
			t.Error("the replacement was taken for the authgate filter")
		}
	})
	t.Run("no name", func(t *testing.T) {
		if err := parseExample(t).ReplaceFilter([]byte("typed_config: {a: b}\n")); err == nil {
			t.Error("a replacement without a name was accepted")
		}
	})
}

// TestBootstrapAddGateway checks a copy of the listener gets its own name,
// address, plugin configuration and VM, and the code file SetCode sets.
func TestBootstrapAddGateway(t *testing.T) {
	b := parseExample(t)
	g, err := b.AddGateway("second")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddGateway("second"); err == nil {
		t.Error("a second gateway of the same name was accepted")
	}
	g.SetAddress("127.0.0.1", 0)
	if err := g.SetPluginConfig([]byte(`{"g":2}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SetCode("/x/authgate.wasm"); err != nil {
		t.Fatal(err)
	}
	out, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	listeners, _ := lookupPath(doc, "static_resources", "listeners").([]any)
	if len(listeners) != 2 {
		t.Fatalf("%d listeners, want 2", len(listeners))
	}
	type seen struct{ name, address, vmID, code, config, statPrefix string }
	var got []seen
	for _, l := range listeners {
		m, err := parseListener(l.(map[string]any))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, seen{m.Name(), m.Address(), m.vm["vm_id"].(string), m.code["filename"].(string),
			string(m.PluginConfig()), m.hcm["stat_prefix"].(string)})
	}
	want := []seen{
		{"gateway", "127.0.0.1:8080", "authgate", "/x/authgate.wasm", string(b.PluginConfig()), "gateway"},
		{"second", "127.0.0.1:0", "authgate.second", "/x/authgate.wasm", `{"g":2}`, "second"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("listeners\n got %+v\nwant %+v", got, want)
	}
	if err := b.ReplaceFilter(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddGateway("third"); err == nil {
		t.Error("a gateway was copied from a listener without the filter")
	}
}

// filterNames renders b and lists the names of its http_filters.
func filterNames(t *testing.T, b *Bootstrap) []string {
	t.Helper()
	out, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), wasmFilterName) {
		t.Errorf("the rendered bootstrap still mentions %s", wasmFilterName)
	}
	var names []string
	for _, f := range b.main.filters {
		names = append(names, f.(map[string]any)["name"].(string))
	}
	return names
}

// TestExampleStartsInEnvoy runs the rendered example, filter included, with
// a second gateway; it checks that Envoy accepts it and listens where the
// kernel said.
func TestExampleStartsInEnvoy(t *testing.T) {
	bin := envoyOrSkip(t)
	wasm, err := FilterFile()
	if err != nil {
		if Required() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	b := parseExample(t)
	b.SetListener("127.0.0.1", 0)
	b.SetAdmin("127.0.0.1", 0)
	g, err := b.AddGateway("second")
	if err != nil {
		t.Fatal(err)
	}
	g.SetAddress("127.0.0.1", 0)
	if _, err := b.SetCode(wasm); err != nil {
		t.Fatal(err)
	}
	cfg, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// V8 compiles the filter before Envoy is ready, which on a loaded
	// machine takes far longer than DefaultReadyTimeout.
	e, err := Start(context.Background(), Options{ConfigYAML: cfg, Binary: bin, ReadyTimeout: 3 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := e.Stop(); err != nil {
			t.Error(err)
		}
	}()
	ls, err := e.Listeners(context.Background())
	if err != nil || len(ls) != 2 || ls[0].Name != "gateway" || ls[1].Name != "second" ||
		strings.HasSuffix(ls[0].Address, ":0") || strings.HasSuffix(ls[1].Address, ":0") {
		t.Errorf("Listeners() = %v, %v; want gateway and second on ports the kernel chose", ls, err)
	}
}
