package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/e2e/internal/authz"
	"github.com/authgate/authgate/examples/envoy/envoyrun"
)

const (
	exampleConfigJSON = "../examples/envoy/authgate.json"
	exampleIstioYAML  = "../examples/istio/wasmplugin.yaml"
)

// must unwraps a document lookup in a test. A failed lookup panics, which
// fails the test with the missing path in the message.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// readJSON decodes a JSON document into generic values, so two documents
// compare by meaning (key order, spacing and number spelling aside).
func readJSON(t *testing.T, what string, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func readYAML(t *testing.T, path string) map[string]any {
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

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestIstioWasmPlugin checks the Istio example: a well-formed WasmPlugin whose
// pluginConfig is a valid authgate configuration equal to the Envoy
// example's, except the authorizer's cluster and authority, which inside a
// mesh name the sidecar's outbound cluster and the Service's host.
func TestIstioWasmPlugin(t *testing.T) {
	doc := readYAML(t, exampleIstioYAML)
	spec, err := envoyrun.MapAt(doc, "spec")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  any
		ok   func(any) bool
	}{
		{"apiVersion", doc["apiVersion"], eq("extensions.istio.io/v1alpha1")},
		{"kind", doc["kind"], eq("WasmPlugin")},
		{"metadata.name", must(envoyrun.MapAt(doc, "metadata"))["name"], nonEmpty},
		{"spec.selector.matchLabels", len(must(envoyrun.MapAt(spec, "selector", "matchLabels"))), func(v any) bool { return v.(int) > 0 && v.(int) < 100 }},
		{"spec.url", spec["url"], func(v any) bool { s, _ := v.(string); return strings.HasPrefix(s, "oci://") }},
		{"spec.phase", spec["phase"], eq("AUTHN")},
		{"spec.type", spec["type"], eq("HTTP")},
		{"spec.imagePullPolicy", spec["imagePullPolicy"], oneOf("IfNotPresent", "Always")},
		{"spec.failStrategy", spec["failStrategy"], eq("FAIL_RELOAD")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok(tt.got) {
				t.Errorf("got %#v", tt.got)
			}
		})
	}

	pc, err := envoyrun.MapAt(spec, "pluginConfig")
	if err != nil {
		t.Fatal(err)
	}
	asJSON, err := json.Marshal(pc)
	if err != nil {
		t.Fatalf("pluginConfig as JSON: %v", err)
	}
	if _, err := config.Parse(asJSON); err != nil {
		t.Fatalf("pluginConfig rejected by config.Parse: %v\n%s", err, asJSON)
	}
	got := readJSON(t, "pluginConfig", asJSON).(map[string]any)
	raw, err := os.ReadFile(exampleConfigJSON)
	if err != nil {
		t.Fatal(err)
	}
	want := readJSON(t, exampleConfigJSON, raw).(map[string]any)

	// The mesh-specific fields, checked and then set aside.
	istioCluster := regexp.MustCompile(`^outbound\|[0-9]+\|\|[a-z0-9.-]+\.svc\.cluster\.local$`)
	gotAuth := must(envoyrun.MapAt(got, "authorizers", "jwt"))
	if c, _ := gotAuth["cluster"].(string); !istioCluster.MatchString(c) {
		t.Errorf("pluginConfig authorizers.jwt.cluster = %q, want an Istio outbound cluster name", c)
	} else if a, _ := gotAuth["authority"].(string); !strings.HasSuffix(c, "||"+a) {
		t.Errorf("pluginConfig authorizers.jwt.authority = %q, want the host of cluster %q", a, c)
	}
	for _, m := range []map[string]any{gotAuth, must(envoyrun.MapAt(want, "authorizers", "jwt"))} {
		delete(m, "cluster")
		delete(m, "authority")
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pluginConfig differs from %s beyond cluster and authority:\n got %s\nwant %s", exampleConfigJSON, jsonText(got), jsonText(want))
	}
}

func eq(want string) func(any) bool { return func(v any) bool { return v == want } }

func oneOf(vals ...string) func(any) bool {
	return func(v any) bool {
		for _, w := range vals {
			if v == w {
				return true
			}
		}
		return false
	}
}

func nonEmpty(v any) bool { s, _ := v.(string); return s != "" }

// TestEnvoyExample runs examples/envoy/envoy.yaml as shipped (its own plugin
// configuration; only addresses and the code path changed) and checks the
// filter's log lines reach Envoy's log at their levels: the start-up line at
// info, per-request decisions at debug.
func TestEnvoyExample(t *testing.T) {
	gw := wasmEnvoy(0)
	needHost(t, gw)
	e := newEnv(t)
	inst, err := gw.start(t, spec{cfgs: [][]byte{nil}, env: e, envoyArgs: []string{"--component-log-level", "wasm:debug"}})
	if err != nil {
		t.Fatalf("envoy did not become ready: %v", err)
	}
	client := newClient(t, protocols[0], true)
	token := bearer(authz.Allow, "example")
	r := &runner{run: gw.name() + "/" + protocols[0].name, kd: &knownDiffs{seen: map[string]map[string]bool{}}}
	steps := []struct {
		name string
		st   step
	}{
		{"health", step{req: get("/health"), want: allowed("", nil)}},
		{"no token", step{req: get("/pets/1"), want: rejected(unauthorized)}},
		{"allowed", step{req: get("/pets/1", auth(token)), want: allowed("user-example", nil)}},
		{"denied", step{req: get("/pets/1", auth(bearer(authz.Deny, "example"))), want: rejected(explicitDeny)}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			rp, err := send(client, inst.bases[0], s.st.req)
			if err != nil {
				t.Fatal(err)
			}
			r.check(t, s.name, inst.bases[0], &s.st, rp)
		})
	}
	if n := e.authz.Calls(token); n != 1 {
		t.Errorf("authorizer calls for %q = %d, want 1", token, n)
	}
	// Stopping flushes the log; a failure to stop is reported by the
	// cleanup, which calls Stop again and gets the same error.
	_ = inst.envoy.Stop()
	log := inst.envoy.Log()
	lines := []struct {
		name string
		re   *regexp.Regexp
	}{
		{"start-up at info", regexp.MustCompile(`\[info\]\[wasm\] .*wasm log authgate.*: configured: 2 routes, 1 authorizers`)},
		{"decision at debug", regexp.MustCompile(`\[debug\]\[wasm\] .*wasm log authgate.*decision=UNAUTHORIZED`)},
		{"allow at debug", regexp.MustCompile(`\[debug\]\[wasm\] .*wasm log authgate.*decision=ALLOW`)},
	}
	for _, l := range lines {
		t.Run("log "+l.name, func(t *testing.T) {
			if !l.re.MatchString(log) {
				t.Errorf("envoy log has no line matching %s", l.re)
			}
		})
	}
	if strings.Contains(log, token) {
		t.Errorf("envoy log contains the token %q", token)
	}
}

// TestExampleConnectionManagers: every Envoy example a user may copy takes
// the client's address from the connection and drops header names with
// underscores (see RATIONALE.md, "What upstreams read"), bounds clients as
// authgate serve does by default (idle 60 s, headers within 10 s, the
// request within 60 s, 100 header fields), and replaces a wasm VM that
// fails (FAIL_RELOAD) instead of failing closed for good.
func TestExampleConnectionManagers(t *testing.T) {
	paths, err := filepath.Glob("../examples/envoy/*.yaml")
	if err != nil || len(paths) < 3 {
		t.Fatalf("Envoy examples: %v %v", paths, err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			root := readYAML(t, path)
			listeners, err := envoyrun.ListAt(must(envoyrun.MapAt(root, "static_resources")), "listeners")
			if err != nil || len(listeners) == 0 {
				t.Fatalf("listeners: %v", err)
			}
			for _, l := range listeners {
				hcm := connectionManager(t, l.(map[string]any))
				opts, _ := hcm["common_http_protocol_options"].(map[string]any)
				if hcm["use_remote_address"] != true || hcm["xff_num_trusted_hops"] != 0 || opts["headers_with_underscores_action"] != "DROP_HEADER" ||
					hcm["append_x_forwarded_port"] != true {
					t.Errorf("connection manager: use_remote_address %v, xff_num_trusted_hops %v, headers_with_underscores_action %v, append_x_forwarded_port %v; want true, 0, DROP_HEADER, true",
						hcm["use_remote_address"], hcm["xff_num_trusted_hops"], opts["headers_with_underscores_action"], hcm["append_x_forwarded_port"])
				}
				if opts["idle_timeout"] != "60s" || opts["max_headers_count"] != 100 ||
					hcm["request_headers_timeout"] != "10s" || hcm["request_timeout"] != "60s" {
					t.Errorf("client bounds: idle_timeout %v, max_headers_count %v, request_headers_timeout %v, request_timeout %v; want 60s, 100, 10s, 60s",
						opts["idle_timeout"], opts["max_headers_count"], hcm["request_headers_timeout"], hcm["request_timeout"])
				}
				filters, err := envoyrun.ListAt(hcm, "http_filters")
				if err != nil {
					t.Fatal(err)
				}
				if f := envoyrun.ByName(filters, "envoy.filters.http.wasm"); f != nil {
					if c := must(envoyrun.MapAt(f, "typed_config", "config")); c["failure_policy"] != "FAIL_RELOAD" {
						t.Errorf("wasm filter failure_policy %v, want FAIL_RELOAD", c["failure_policy"])
					}
				}
			}
		})
	}
}

// connectionManager returns the typed_config of the listener's one HTTP
// connection manager.
func connectionManager(t *testing.T, listener map[string]any) map[string]any {
	t.Helper()
	chains, err := envoyrun.ListAt(listener, "filter_chains")
	if err != nil || len(chains) != 1 {
		t.Fatalf("filter_chains: %v, %d", err, len(chains))
	}
	filters, err := envoyrun.ListAt(chains[0], "filters")
	if err != nil {
		t.Fatal(err)
	}
	f := envoyrun.ByName(filters, "envoy.filters.network.http_connection_manager")
	if f == nil {
		t.Fatal("no http_connection_manager")
	}
	return must(envoyrun.MapAt(f, "typed_config"))
}

// TestIstioConnectionManager checks the EnvoyFilter next to the
// WasmPlugin: it patches the same gateway's connection manager as the
// Envoy example sets its own.
func TestIstioConnectionManager(t *testing.T) {
	b, err := os.ReadFile(exampleIstioYAML)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []map[string]any
	for {
		var d map[string]any
		if err := dec.Decode(&d); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", exampleIstioYAML, err)
		}
		docs = append(docs, d)
	}
	if len(docs) != 2 || docs[1]["kind"] != "EnvoyFilter" || docs[1]["apiVersion"] != "networking.istio.io/v1alpha3" {
		t.Fatalf("%s: want a WasmPlugin and an EnvoyFilter, got %d documents", exampleIstioYAML, len(docs))
	}
	plugin, filter := must(envoyrun.MapAt(docs[0], "spec")), must(envoyrun.MapAt(docs[1], "spec"))
	if !reflect.DeepEqual(must(envoyrun.MapAt(plugin, "selector", "matchLabels")), must(envoyrun.MapAt(filter, "workloadSelector", "labels"))) {
		t.Errorf("the EnvoyFilter selects other workloads than the WasmPlugin")
	}
	patches := must(envoyrun.ListAt(filter, "configPatches"))
	if len(patches) != 1 {
		t.Fatalf("configPatches: %d, want 1", len(patches))
	}
	p := patches[0].(map[string]any)
	name := must(envoyrun.MapAt(p, "match", "listener", "filterChain", "filter"))["name"]
	tc := must(envoyrun.MapAt(p, "patch", "value", "typed_config"))
	if p["applyTo"] != "NETWORK_FILTER" || name != "envoy.filters.network.http_connection_manager" ||
		must(envoyrun.MapAt(p, "match"))["context"] != "GATEWAY" || must(envoyrun.MapAt(p, "patch"))["operation"] != "MERGE" {
		t.Errorf("patch does not merge into the gateway's connection manager: %s", jsonText(p))
	}
	if tc["use_remote_address"] != true || tc["append_x_forwarded_port"] != true || must(envoyrun.MapAt(tc, "common_http_protocol_options"))["headers_with_underscores_action"] != "DROP_HEADER" {
		t.Errorf("patch value %s, want use_remote_address true and headers_with_underscores_action DROP_HEADER", jsonText(tc))
	}
}
