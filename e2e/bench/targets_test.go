package main

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/authgate/authgate/examples/envoy/envoyrun"
	"go.yaml.in/yaml/v3"
)

// TestEnvoyConfig renders every Envoy scenario from the example and reads
// the result back: the filter is there, gone or replaced as the scenario
// says, and the plugin configuration changed only where it should.
func TestEnvoyConfig(t *testing.T) {
	example, err := os.ReadFile("../../examples/envoy/envoy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	boot, err := envoyrun.ParseBootstrap(example)
	if err != nil {
		t.Fatal(err)
	}
	moduleExample, err := os.ReadFile("../../examples/envoy/envoy-module.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{example: example, pluginConfig: boot.PluginConfig(), wasmFile: "/b/authgate.wasm",
		moduleExample: moduleExample, moduleFile: "/m/libauthgate.so",
		upstreamPort: 9100, authorizerPort: 9101, rssCache: `{"sharedSlots": 262144}`}
	ttls := func(t *testing.T, doc map[string]any) []any {
		var out []any
		for _, a := range doc["authorizers"].(map[string]any) {
			out = append(out, a.(map[string]any)["authorizerResultTtlInSeconds"])
		}
		return out
	}
	tests := []struct {
		kind   scenarioKind
		module bool
		filter envoyrun.FilterKind
		// filters, for scenarios without the authgate filter, are the
		// names of http_filters.
		filters []string
		check   func(t *testing.T, b *envoyrun.Bootstrap, doc map[string]any)
	}{
		{kind: envoyBare, filters: []string{"envoy.filters.http.router"}},
		{kind: envoyExtAuthz, filters: []string{"envoy.filters.http.ext_authz", "envoy.filters.http.router"}},
		{kind: envoyFilterHit, filter: envoyrun.WasmFilter, check: func(t *testing.T, b *envoyrun.Bootstrap, doc map[string]any) {
			if got := ttls(t, doc); len(got) != 1 || got[0] != 300.0 {
				t.Errorf("TTLs %v, want the example's 300", got)
			}
		}},
		{kind: envoyFilterMiss, filter: envoyrun.WasmFilter, check: func(t *testing.T, b *envoyrun.Bootstrap, doc map[string]any) {
			if got := ttls(t, doc); len(got) != 1 || got[0] != 0.0 {
				t.Errorf("TTLs %v, want 0", got)
			}
			if doc["routes"] == nil || doc["stage"] != "prod" {
				t.Errorf("the rest of the configuration was lost: %v", doc)
			}
		}},
		{kind: envoyFilterHit, module: true, filter: envoyrun.ModuleFilter, check: func(t *testing.T, b *envoyrun.Bootstrap, doc map[string]any) {
			if got := ttls(t, doc); len(got) != 1 || got[0] != 300.0 {
				t.Errorf("TTLs %v, want the example's 300", got)
			}
		}},
		{kind: envoyFilterMiss, module: true, filter: envoyrun.ModuleFilter, check: func(t *testing.T, b *envoyrun.Bootstrap, doc map[string]any) {
			if got := ttls(t, doc); len(got) != 1 || got[0] != 0.0 {
				t.Errorf("TTLs %v, want 0", got)
			}
		}},
		{kind: envoyRSS, filter: envoyrun.WasmFilter, check: func(t *testing.T, b *envoyrun.Bootstrap, doc map[string]any) {
			if c, _ := doc["authorizerCache"].(map[string]any); c["sharedSlots"] != 262144.0 {
				t.Errorf("authorizerCache = %v", doc["authorizerCache"])
			}
		}},
	}
	for _, tt := range tests {
		t.Run(scenarioName(tt.kind, tt.module), func(t *testing.T) {
			cfg, codeEnv, err := e.envoyConfig(scenario{kind: tt.kind, module: tt.module})
			if err != nil {
				t.Fatal(err)
			}
			wantEnv, wantCode := "", "/b/authgate.wasm"
			if tt.module {
				// The example names the module; Envoy finds it on its
				// search path.
				wantEnv, wantCode = envoyrun.ModuleSearchPathVar+"=/m", ""
			}
			if got := strings.Join(codeEnv, " "); got != wantEnv {
				t.Errorf("environment %q, want %q", got, wantEnv)
			}
			b, err := envoyrun.ParseBootstrap(cfg)
			if tt.filter == 0 {
				// Without the authgate filter the result is no longer an
				// example-shaped bootstrap; its filters are read directly.
				if err == nil {
					t.Fatal("the authgate filter is still there")
				}
				if got := httpFilterNames(t, cfg); !slices.Equal(got, tt.filters) {
					t.Errorf("http_filters %v, want %v", got, tt.filters)
				}
				if tt.kind == envoyExtAuthz && !strings.Contains(string(cfg), "uri: http://127.0.0.1:9101") {
					t.Errorf("the ext_authz filter does not call the authorizer:\n%s", cfg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.Kind() != tt.filter || b.Code() != wantCode {
				t.Errorf("kind %v, code %q", b.Kind(), b.Code())
			}
			if up, _ := b.Cluster("upstream"); up != "127.0.0.1:9100" {
				t.Errorf("upstream %s", up)
			}
			var doc map[string]any
			if err := json.Unmarshal(b.PluginConfig(), &doc); err != nil {
				t.Fatal(err)
			}
			tt.check(t, b, doc)
		})
	}
}

// httpFilterNames lists the names of the listener's http_filters.
func httpFilterNames(t *testing.T, cfg []byte) []string {
	t.Helper()
	var doc struct {
		StaticResources struct {
			Listeners []struct {
				FilterChains []struct {
					Filters []struct {
						TypedConfig struct {
							HTTPFilters []struct {
								Name string `yaml:"name"`
							} `yaml:"http_filters"`
						} `yaml:"typed_config"`
					} `yaml:"filters"`
				} `yaml:"filter_chains"`
			} `yaml:"listeners"`
		} `yaml:"static_resources"`
	}
	if err := yaml.Unmarshal(cfg, &doc); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range doc.StaticResources.Listeners[0].FilterChains[0].Filters[0].TypedConfig.HTTPFilters {
		names = append(names, f.Name)
	}
	return names
}

func scenarioName(k scenarioKind, module bool) string {
	for _, sc := range scenarios {
		if sc.kind == k && sc.module == module {
			return sc.id
		}
	}
	return "unknown"
}
