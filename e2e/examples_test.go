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
	"github.com/authgate/authgate/e2e/internal/testauthz"
)

const (
	exampleConfigJSON = "../examples/envoy/authgate.json"
	exampleIstioYAML  = "../examples/istio/wasmplugin.yaml"
)

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

// TestExampleEnvoyConfig checks the files a user copies: the plugin
// configuration is valid, envoy.yaml carries the same one inline, and
// envoy.yaml has the documented addresses, filter order and clusters.
func TestExampleEnvoyConfig(t *testing.T) {
	raw, err := os.ReadFile(exampleConfigJSON)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := config.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", exampleConfigJSON, err)
	}
	if len(plan.Routes) != 2 || plan.Authorizers["jwt"] == nil || plan.Authorizers["jwt"].Cluster != "authorizer" {
		t.Errorf("%s: want routes /health and /{proxy+} and authorizer jwt on cluster authorizer, got %d routes, %v",
			exampleConfigJSON, len(plan.Routes), plan.Authorizers)
	}

	root := readYAML(t, exampleEnvoyYAML)
	sr, err := obj(root, "static_resources")
	if err != nil {
		t.Fatal(err)
	}
	listeners, err := list(sr, "listeners")
	if err != nil || len(listeners) != 1 {
		t.Fatalf("listeners: %v, %d", err, len(listeners))
	}
	listener := listeners[0].(map[string]any)
	wf, err := findWasmFilter(listener)
	if err != nil {
		t.Fatal(err)
	}
	plugin, err := obj(wf, "typed_config", "config")
	if err != nil {
		t.Fatal(err)
	}
	conf, err := obj(plugin, "configuration")
	if err != nil {
		t.Fatal(err)
	}
	inline, _ := conf["value"].(string)
	if !reflect.DeepEqual(readJSON(t, "envoy.yaml plugin configuration", []byte(inline)), readJSON(t, exampleConfigJSON, raw)) {
		t.Errorf("the plugin configuration inline in %s differs from %s", exampleEnvoyYAML, exampleConfigJSON)
	}
	vm, err := obj(plugin, "vm_config")
	if err != nil {
		t.Fatal(err)
	}
	hcm := connectionManager(t, listener)
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"listener", socketOf(t, listener), "127.0.0.1:8080"},
		{"admin", socketOf(t, root["admin"]), "127.0.0.1:9901"},
		{"cluster upstream", clusterSocket(t, sr, "upstream"), "127.0.0.1:9000"},
		{"cluster authorizer", clusterSocket(t, sr, "authorizer"), "127.0.0.1:9001"},
		{"runtime", vm["runtime"], "envoy.wasm.runtime.v8"},
		{"vm_id", vm["vm_id"], "authgate"},
		{"code", must(obj(vm, "code", "local"))["filename"], "build/authgate.wasm"},
		{"configuration type", conf["@type"], "type.googleapis.com/google.protobuf.StringValue"},
		// aws:SourceIp is the connection's peer, never X-Forwarded-For.
		{"use_remote_address", hcm["use_remote_address"], true},
		{"xff_num_trusted_hops", hcm["xff_num_trusted_hops"], 0},
		{"headers_with_underscores_action", must(obj(hcm, "common_http_protocol_options"))["headers_with_underscores_action"], "DROP_HEADER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

// TestExampleConnectionManagers: every Envoy example a user may copy takes
// the client's address from the connection and drops header names with
// underscores (see RATIONALE.md, "What the upstream reads").
func TestExampleConnectionManagers(t *testing.T) {
	paths, err := filepath.Glob("../examples/envoy/*.yaml")
	if err != nil || len(paths) < 3 {
		t.Fatalf("Envoy examples: %v %v", paths, err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			root := readYAML(t, path)
			listeners, err := list(must(obj(root, "static_resources")), "listeners")
			if err != nil || len(listeners) == 0 {
				t.Fatalf("listeners: %v", err)
			}
			for _, l := range listeners {
				hcm := connectionManager(t, l.(map[string]any))
				opts, _ := hcm["common_http_protocol_options"].(map[string]any)
				if hcm["use_remote_address"] != true || hcm["xff_num_trusted_hops"] != 0 || opts["headers_with_underscores_action"] != "DROP_HEADER" {
					t.Errorf("connection manager: use_remote_address %v, xff_num_trusted_hops %v, headers_with_underscores_action %v; want true, 0, DROP_HEADER",
						hcm["use_remote_address"], hcm["xff_num_trusted_hops"], opts["headers_with_underscores_action"])
				}
			}
		})
	}
}

// connectionManager returns the typed_config of the listener's one HTTP
// connection manager.
func connectionManager(t *testing.T, listener map[string]any) map[string]any {
	t.Helper()
	chains, err := list(listener, "filter_chains")
	if err != nil || len(chains) != 1 {
		t.Fatalf("filter_chains: %v, %d", err, len(chains))
	}
	filters, err := list(chains[0], "filters")
	if err != nil {
		t.Fatal(err)
	}
	f := byName(filters, "envoy.filters.network.http_connection_manager")
	if f == nil {
		t.Fatal("no http_connection_manager")
	}
	return must(obj(f, "typed_config"))
}

func socketOf(t *testing.T, v any) string {
	t.Helper()
	sa, err := obj(v, "address", "socket_address")
	if err != nil {
		t.Fatal(err)
	}
	return sa["address"].(string) + ":" + strings.TrimSpace(jsonText(sa["port_value"]))
}

func clusterSocket(t *testing.T, sr map[string]any, name string) string {
	t.Helper()
	cl, err := list(sr, "clusters")
	if err != nil {
		t.Fatal(err)
	}
	c := byName(cl, name)
	if c == nil {
		t.Fatalf("no cluster %q", name)
	}
	eps, err := list(c, "load_assignment", "endpoints")
	if err != nil || len(eps) != 1 {
		t.Fatalf("cluster %s endpoints: %v", name, err)
	}
	lbs, err := list(eps[0], "lb_endpoints")
	if err != nil || len(lbs) != 1 {
		t.Fatalf("cluster %s lb_endpoints: %v", name, err)
	}
	ep, err := obj(lbs[0], "endpoint")
	if err != nil {
		t.Fatal(err)
	}
	return socketOf(t, ep)
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
	spec, err := obj(doc, "spec")
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
		{"metadata.name", must(obj(doc, "metadata"))["name"], nonEmpty},
		{"spec.selector.matchLabels", len(must(obj(spec, "selector", "matchLabels"))), func(v any) bool { return v.(int) > 0 && v.(int) < 100 }},
		{"spec.url", spec["url"], func(v any) bool { s, _ := v.(string); return strings.HasPrefix(s, "oci://") }},
		{"spec.phase", spec["phase"], eq("AUTHN")},
		{"spec.type", spec["type"], eq("HTTP")},
		{"spec.imagePullPolicy", spec["imagePullPolicy"], oneOf("IfNotPresent", "Always")},
		{"spec.failStrategy", spec["failStrategy"], eq("FAIL_CLOSE")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok(tt.got) {
				t.Errorf("got %#v", tt.got)
			}
		})
	}

	pc, err := obj(spec, "pluginConfig")
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
	gotAuth := must(obj(got, "authorizers", "jwt"))
	if c, _ := gotAuth["cluster"].(string); !istioCluster.MatchString(c) {
		t.Errorf("pluginConfig authorizers.jwt.cluster = %q, want an Istio outbound cluster name", c)
	} else if a, _ := gotAuth["authority"].(string); !strings.HasSuffix(c, "||"+a) {
		t.Errorf("pluginConfig authorizers.jwt.authority = %q, want the host of cluster %q", a, c)
	}
	for _, m := range []map[string]any{gotAuth, must(obj(want, "authorizers", "jwt"))} {
		delete(m, "cluster")
		delete(m, "authority")
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pluginConfig differs from %s beyond cluster and authority:\n got %s\nwant %s", exampleConfigJSON, jsonText(got), jsonText(want))
	}
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
	plugin, filter := must(obj(docs[0], "spec")), must(obj(docs[1], "spec"))
	if !reflect.DeepEqual(must(obj(plugin, "selector", "matchLabels")), must(obj(filter, "workloadSelector", "labels"))) {
		t.Errorf("the EnvoyFilter selects other workloads than the WasmPlugin")
	}
	patches := must(list(filter, "configPatches"))
	if len(patches) != 1 {
		t.Fatalf("configPatches: %d, want 1", len(patches))
	}
	p := patches[0].(map[string]any)
	name := must(obj(p, "match", "listener", "filterChain", "filter"))["name"]
	tc := must(obj(p, "patch", "value", "typed_config"))
	if p["applyTo"] != "NETWORK_FILTER" || name != "envoy.filters.network.http_connection_manager" ||
		must(obj(p, "match"))["context"] != "GATEWAY" || must(obj(p, "patch"))["operation"] != "MERGE" {
		t.Errorf("patch does not merge into the gateway's connection manager: %s", jsonText(p))
	}
	if tc["use_remote_address"] != true || must(obj(tc, "common_http_protocol_options"))["headers_with_underscores_action"] != "DROP_HEADER" {
		t.Errorf("patch value %s, want use_remote_address true and headers_with_underscores_action DROP_HEADER", jsonText(tc))
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
	authz, up := newEnv(t)
	e, base, err := startEnvoy(t, envoyOptions(t, nil, up, envoyWorkers, "--component-log-level", "wasm:debug"))
	if err != nil {
		t.Fatalf("envoy did not become ready: %v", err)
	}
	client := newClient(t, true)
	token := "Bearer " + testauthz.Allow + ".example"
	steps := []struct {
		name string
		req  request
		want want
	}{
		{"health", get("/health"), want{upstream: map[string]string{}}},
		{"no token", get("/pets/1"), rejected(unauthorized)},
		{"allowed", get("/pets/1", auth(token)), allowed("example", nil)},
		{"denied", get("/pets/1", auth("Bearer deny.example")), rejected(explicitDeny)},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r, err := send(client, base, st.req)
			if err != nil {
				t.Fatal(err)
			}
			check(t, st.name, &step{req: st.req, want: st.want}, r)
		})
	}
	if n := authz.Calls(token); n != 1 {
		t.Errorf("authorizer calls for %q = %d, want 1", token, n)
	}
	// Stopping flushes the log; a failure to stop is reported by the
	// cleanup, which calls Stop again and gets the same error.
	_ = e.Stop()
	log := e.Log()
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
