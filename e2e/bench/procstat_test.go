package main

import (
	"os"
	"testing"
)

func TestProcessCPUTicks(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	hz, source := clockTicks()
	if hz <= 0 || source == "" {
		t.Fatalf("clockTicks = %d, %q", hz, source)
	}
	if _, err := processCPUTicks(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	// A pid above the kernel's limit (2^22) never exists.
	if _, err := processCPUTicks(1 << 23); err == nil {
		t.Error("read the CPU of a process that cannot exist")
	}
}

func TestPerRequest(t *testing.T) {
	tests := []struct {
		name          string
		hz            int64
		before, after uint64
		ok0, ok1      bool
		answered      int
		wantUs        *float64
		wantTicks     int64
		wantMs        float64
	}{
		// 150 ticks at 100 Hz = 1.5s over 20000 requests = 75µs each.
		{name: "100 Hz", hz: 100, before: 1000, after: 1150, ok0: true, ok1: true, answered: 20000, wantUs: ptr(75.0), wantTicks: 150, wantMs: 1500},
		{name: "250 Hz", hz: 250, before: 0, after: 500, ok0: true, ok1: true, answered: 4000, wantUs: ptr(500.0), wantTicks: 500, wantMs: 2000},
		{name: "no CPU used", hz: 100, before: 7, after: 7, ok0: true, ok1: true, answered: 10, wantUs: ptr(0.0)},
		{name: "first reading failed", hz: 100, after: 10, ok1: true, answered: 10},
		{name: "second reading failed", hz: 100, before: 10, ok0: true, answered: 10},
		{name: "counter went back (another process)", hz: 100, before: 10, after: 5, ok0: true, ok1: true, answered: 10},
		{name: "nothing answered", hz: 100, before: 1, after: 5, ok0: true, ok1: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r RunResult
			cpuMeter{pid: 1, hz: tt.hz}.perRequest(&r, tt.before, tt.after, tt.ok0, tt.ok1, tt.answered)
			if !sameFloat(r.GatewayCPUUsPerReq, tt.wantUs) || r.GatewayCPUTicks != tt.wantTicks || r.GatewayCPUMs != tt.wantMs {
				t.Errorf("µs/req %v, ticks %d, ms %v; want %v, %d, %v", deref(r.GatewayCPUUsPerReq), r.GatewayCPUTicks, r.GatewayCPUMs,
					deref(tt.wantUs), tt.wantTicks, tt.wantMs)
			}
		})
	}
}

func TestCPURatiosAndGoal(t *testing.T) {
	withCPU := func(id string, us ...float64) *ScenarioResult {
		s := &ScenarioResult{ID: id}
		for _, v := range us {
			s.Runs = append(s.Runs, RunResult{Sent: 10, OK: 10, RPS: 100, GatewayCPUUsPerReq: ptr(v)})
		}
		return s
	}
	tests := []struct {
		name      string
		scenarios []*ScenarioResult
		// Medians and ratios by scenario id: {median, ×bare, ×Go proxy}.
		want     map[string][3]*float64
		measured *float64
		met      *bool
		note     string
	}{
		{
			name: "met",
			scenarios: []*ScenarioResult{withCPU("envoy-bare", 50, 40, 60), withCPU("envoy-filter-hit", 54, 55, 70),
				withCPU("envoy-ext-authz", 100), withCPU("serve-wasm", 90), withCPU("go-proxy", 60)},
			want: map[string][3]*float64{
				"envoy-bare":       {ptr(50.0), ptr(1.0), nil},
				"envoy-filter-hit": {ptr(55.0), ptr(1.1), nil},
				"envoy-ext-authz":  {ptr(100.0), ptr(2.0), nil},
				"serve-wasm":       {ptr(90.0), nil, ptr(1.5)},
				"go-proxy":         {ptr(60.0), nil, ptr(1.0)},
			},
			measured: ptr(1.1), met: ptrB(true),
		},
		{
			name:      "missed",
			scenarios: []*ScenarioResult{withCPU("envoy-bare", 50), withCPU("envoy-filter-hit", 56)},
			want:      map[string][3]*float64{"envoy-filter-hit": {ptr(56.0), ptr(1.12), nil}},
			measured:  ptr(1.12), met: ptrB(false),
		},
		{
			name:      "no reading",
			scenarios: []*ScenarioResult{{ID: "envoy-bare", Runs: []RunResult{{Sent: 10, OK: 10, RPS: 100}}}, withCPU("envoy-filter-hit", 56)},
			want:      map[string][3]*float64{"envoy-filter-hit": {ptr(56.0), nil, nil}},
			note:      "not measured (no CPU reading from /proc)",
		},
		{
			name:      "bare broken",
			scenarios: []*ScenarioResult{{ID: "envoy-bare", Problem: "did not start"}, withCPU("envoy-filter-hit", 56)},
			want:      map[string][3]*float64{"envoy-filter-hit": {ptr(56.0), nil, nil}},
			note:      "not measured (a run was broken)",
		},
		{
			name:      "not run",
			scenarios: []*ScenarioResult{withCPU("envoy-filter-hit", 56)},
			note:      "not measured (scenario not run)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{Scenarios: tt.scenarios}
			r.finish()
			for id, w := range tt.want {
				s := r.byID(id)
				if !sameFloat(s.MedianGatewayCPUUsPerReq, w[0]) || !sameFloat(s.CPUVsBareEnvoy, w[1]) || !sameFloat(s.CPUVsGoProxy, w[2]) {
					t.Errorf("%s: median %v, ×bare %v, ×Go proxy %v; want %v, %v, %v", id,
						deref(s.MedianGatewayCPUUsPerReq), deref(s.CPUVsBareEnvoy), deref(s.CPUVsGoProxy), deref(w[0]), deref(w[1]), deref(w[2]))
				}
			}
			// The CPU goal sits right after the throughput goal it restates.
			g := r.Goals[1]
			if g.Text != "Envoy + authgate (hit) gateway CPU <= 1.11 x bare Envoy's" {
				t.Fatalf("goal 1 is %q", g.Text)
			}
			if !sameFloat(g.Measured, tt.measured) || !sameBool(g.Met, tt.met) || g.Note != tt.note {
				t.Errorf("measured %v met %v note %q; want %v %v %q", deref(g.Measured), derefB(g.Met), g.Note, deref(tt.measured), derefB(tt.met), tt.note)
			}
		})
	}
}

func ptr(v float64) *float64 { return &v }

func ptrB(v bool) *bool { return &v }
