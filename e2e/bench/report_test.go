package main

import (
	"math"
	"testing"
)

// TestWeightGoals checks the filter's cost figures against hand-computed
// values: CPU over bare Envoy at each worker count, the RSS slope per
// worker, memory per cached token per VM, size and start times.
func TestWeightGoals(t *testing.T) {
	row := func(id string, workers int, cpu, rss float64) *ScenarioResult {
		return &ScenarioResult{ID: id, Workers: workers, RSSMiB: rss, ReadyMs: 100 * float64(workers),
			Runs: []RunResult{{Sent: 10, OK: 10, RPS: 100, GatewayCPUUsPerReq: &cpu}}}
	}
	tokens := row("envoy-filter-10k-tokens", 2, 60, 120)
	tokens.Tokens = &TokensResult{DistinctTokens: 10240}
	r := &Report{EnvoyWorkers: 2, WasmFileBytes: 5_500_000, Scenarios: []*ScenarioResult{
		row("envoy-bare", 2, 40, 60),
		row("envoy-filter-hit", 2, 70, 100), // +30 µs, +40 MiB
		row("envoy-filter-miss", 2, 200, 100),
		row("envoy-bare-w1", 1, 30, 58),
		row("envoy-filter-hit-w1", 1, 40, 90), // +10 µs, +32 MiB
		row("envoy-bare-w4", 4, 45, 64),
		row("envoy-filter-hit-w4", 4, 85, 120), // +40 µs, +56 MiB
		tokens,
	}}
	r.ColdStart.WasmNewMs, r.ColdStart.WasmNewCachedMs = 1500, 250
	r.finish()
	tests := []struct {
		text string
		want float64 // NaN: not measured
		met  bool
	}{
		{text: "filter CPU per cached request over bare Envoy, --concurrency 1", want: 10, met: true},
		{text: "filter CPU per cached request over bare Envoy, --concurrency 2", want: 30},
		{text: "filter CPU per cached request over bare Envoy, --concurrency 4", want: 40},
		{text: "module CPU per cached request over bare Envoy, --concurrency 2", want: math.NaN()},
		{text: "filter CPU per request on a miss (TTL 0, one call each)", want: 200},
		{text: "Envoy RSS with the filter over bare Envoy, --concurrency 2, one token", want: 40, met: true},
		// Points (1, 32), (2, 40), (4, 56): slope 8.
		{text: "Envoy RSS per added worker with the filter (slope of filter − bare over the worker counts)", want: 8},
		// 20 MiB over 10240 tokens and 2 VMs: 1 KiB.
		{text: "Envoy RSS per cached token per VM (10k tokens, over one token)", want: 1, met: true},
		{text: "Envoy ready after start with the filter, --concurrency 2", want: 200, met: true},
		{text: "build/authgate.wasm", want: 5.5},
		{text: "wasm.New on a second start (compilation cache on disk)", want: 250, met: true},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			g := goalNamed(r, tt.text)
			switch {
			case g == nil:
				t.Fatal("no such goal")
			case math.IsNaN(tt.want):
				if g.Measured != nil {
					t.Errorf("measured %v, want not measured", *g.Measured)
				}
			case g.Measured == nil:
				t.Errorf("not measured (%s), want %v", g.Note, tt.want)
			case math.Abs(*g.Measured-tt.want) > 1e-9 || *g.Met != tt.met:
				t.Errorf("measured %v met %v, want %v %v", *g.Measured, *g.Met, tt.want, tt.met)
			}
		})
	}
}

// TestModuleGoals checks the dynamic module's targets against
// hand-computed values: rps and CPU against bare Envoy and ext_authz, the
// miss against ext_authz's CPU, memory at each worker count, ready time
// and calls per token.
func TestModuleGoals(t *testing.T) {
	row := func(id string, workers int, rps, cpu, rss float64) *ScenarioResult {
		return &ScenarioResult{ID: id, Workers: workers, RSSMiB: rss, ReadyMs: 100 * float64(workers),
			Runs: []RunResult{{Sent: 10, OK: 10, RPS: rps, GatewayCPUUsPerReq: &cpu}}}
	}
	tokens := row("envoy-module-10k-tokens", 2, 900, 45, 80)
	tokens.Tokens = &TokensResult{DistinctTokens: 10000, AuthorizerCalls: 10000, CallsPerToken: 1}
	r := &Report{EnvoyWorkers: 2, Scenarios: []*ScenarioResult{
		row("envoy-bare", 2, 1000, 40, 60),
		row("envoy-module-hit", 2, 950, 44, 70), // 0.95x rps, 1.1x CPU, +10 MiB
		row("envoy-module-miss", 2, 500, 90, 70),
		row("envoy-ext-authz", 2, 300, 80, 60),
		row("envoy-bare-w8", 8, 1000, 40, 68),
		row("envoy-filter-hit-w8", 8, 900, 60, 200),
		row("envoy-module-hit-w8", 8, 950, 44, 110), // +42 MiB
		tokens,
	}}
	r.finish()
	tests := []struct {
		text string
		want float64
		met  bool
	}{
		{"Envoy + module (hit) >= 0.90 x bare Envoy", 0.95, true},
		{"Envoy + module (hit) gateway CPU <= 1.15 x bare Envoy's", 1.1, true},
		{"Envoy + module (hit) >= 3 x Envoy + ext_authz", 950.0 / 300, true},
		{"module CPU per request on a miss <= Envoy + ext_authz's", 90, false},
		{"Envoy RSS with the module over bare Envoy, --concurrency 2, one token", 10, true},
		{"Envoy RSS with the module over bare Envoy, --concurrency 8, one token", 42, false},
		{"Envoy ready after start with the module, --concurrency 2", 200, true},
		{"Envoy + module, 10k tokens: authorizer calls per token == 1.0", 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			g := goalNamed(r, tt.text)
			switch {
			case g == nil:
				t.Fatal("no such goal")
			case g.Measured == nil:
				t.Errorf("not measured (%s), want %v", g.Note, tt.want)
			case math.Abs(*g.Measured-tt.want) > 1e-9 || *g.Met != tt.met:
				t.Errorf("measured %v met %v, want %v %v", *g.Measured, *g.Met, tt.want, tt.met)
			}
		})
	}
}

// goalNamed returns the report's goal with the given text, or nil.
func goalNamed(r *Report, text string) *Goal {
	for i := range r.Goals {
		if r.Goals[i].Text == text {
			return &r.Goals[i]
		}
	}
	return nil
}
