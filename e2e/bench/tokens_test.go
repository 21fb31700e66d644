package main

import (
	"context"
	"errors"
	"maps"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/examples/jwt-authorizer/jwtauth"
)

func TestMintMany(t *testing.T) {
	secret := []byte(strings.Repeat("s", jwtauth.MinHS256SecretBytes))
	auth, err := jwtauth.New(jwtauth.Config{HS256Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		n, workers int
	}{
		{name: "one worker", n: 5, workers: 1},
		{name: "more workers than tokens", n: 3, workers: 8},
		{name: "uneven split", n: 103, workers: 4},
		{name: "zero workers means one", n: 2, workers: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			toks, err := mintMany(secret, tt.n, tt.workers)
			if err != nil {
				t.Fatal(err)
			}
			if len(toks) != tt.n {
				t.Fatalf("got %d tokens, want %d", len(toks), tt.n)
			}
			for i, tok := range toks {
				id, err := auth.Authenticate(tok)
				if err != nil {
					t.Fatalf("token %d: %v", i, err)
				}
				if want := "bench-token-" + strconv.Itoa(i); id.Subject != want {
					t.Errorf("token %d has subject %q, want %q", i, id.Subject, want)
				}
			}
		})
	}
}

func TestMintManyShortSecret(t *testing.T) {
	if _, err := mintMany([]byte("short"), 3, 2); err == nil {
		t.Fatal("mintMany accepted a secret shorter than HS256 allows")
	}
}

func TestSlotSpread(t *testing.T) {
	// Exact expectations for n keys hashed uniformly into m slots:
	// occupied m(1-(1-1/m)^n), alone n(1-1/m)^(n-1).
	exact := func(n, m int) (float64, float64) {
		q := 1 - 1/float64(m)
		return float64(m) * (1 - math.Pow(q, float64(n))), float64(n) * math.Pow(q, float64(n-1))
	}
	tests := []struct {
		name string
		n, m int
	}{
		{name: "10k tokens, default slots", n: 10000, m: 65536},
		{name: "100k tokens, default slots", n: 100000, m: 65536},
		{name: "100k tokens, 4x slots", n: 100000, m: 262144},
		{name: "one token", n: 1, m: 65536},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			occ, alone := slotSpread(tt.n, tt.m)
			wantOcc, wantAlone := exact(tt.n, tt.m)
			if math.Abs(occ-wantOcc) > 0.001*wantOcc || math.Abs(alone-wantAlone) > 0.001*wantAlone {
				t.Errorf("slotSpread(%d, %d) = %.1f, %.1f; want %.1f, %.1f (±0.1%%)", tt.n, tt.m, occ, alone, wantOcc, wantAlone)
			}
		})
	}
	if occ, alone := slotSpread(0, 10); occ != 0 || alone != 0 {
		t.Errorf("slotSpread(0, 10) = %v, %v; want 0, 0", occ, alone)
	}
}

func TestMergeLoad(t *testing.T) {
	a := &LoadResult{Latency: &Histogram{}}
	b := &LoadResult{Sent: 10, OK: 9, Non200: 1, Elapsed: time.Second, Cut: 1, MaxCutWait: 5 * time.Millisecond, Latency: &Histogram{}, FirstProblem: "status 403"}
	b.Latency.Record(2 * time.Millisecond)
	c := &LoadResult{Sent: 5, OK: 4, Errors: 1, Elapsed: 2 * time.Second, TimedOut: true, Cut: 2, MaxCutWait: 3 * time.Millisecond, Latency: &Histogram{}, FirstProblem: "reset"}
	c.Latency.Record(7 * time.Millisecond)
	mergeLoad(a, b)
	mergeLoad(a, c)
	if a.Sent != 15 || a.OK != 13 || a.Non200 != 1 || a.Errors != 1 || a.Cut != 3 {
		t.Errorf("counts: sent %d ok %d non200 %d errors %d cut %d; want 15 13 1 1 3", a.Sent, a.OK, a.Non200, a.Errors, a.Cut)
	}
	if a.Elapsed != 3*time.Second || !a.TimedOut || a.MaxCutWait != 5*time.Millisecond {
		t.Errorf("elapsed %v timedOut %v maxCutWait %v; want 3s true 5ms", a.Elapsed, a.TimedOut, a.MaxCutWait)
	}
	if a.Latency.Count() != 2 || a.Latency.Max() != 7*time.Millisecond || a.FirstProblem != "status 403" {
		t.Errorf("latency count %d max %v first problem %q; want 2 7ms \"status 403\"", a.Latency.Count(), a.Latency.Max(), a.FirstProblem)
	}
}

func TestCacheBounds(t *testing.T) {
	tests := []struct {
		name                   string
		flag                   string
		wantEntries, wantSlots int
	}{
		{name: "defaults", flag: "", wantEntries: 10000, wantSlots: 65536},
		{name: "slots only", flag: `{"sharedSlots": 262144}`, wantEntries: 10000, wantSlots: 262144},
		{name: "both", flag: `{"maxEntries": 200000, "sharedSlots": 0}`, wantEntries: 200000, wantSlots: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkRSSCache(tt.flag); err != nil {
				t.Fatal(err)
			}
			entries, slots := cacheBounds(authorizerCacheText(tt.flag))
			if entries != tt.wantEntries || slots != tt.wantSlots {
				t.Errorf("cacheBounds = %d, %d; want %d, %d", entries, slots, tt.wantEntries, tt.wantSlots)
			}
		})
	}
}

func TestCheckRSSCache(t *testing.T) {
	tests := []struct {
		name    string
		flag    string
		wantErr bool
	}{
		{name: "empty keeps defaults", flag: ""},
		{name: "object", flag: `{"sharedSlots": 1024}`},
		{name: "not JSON", flag: `sharedSlots=1024`, wantErr: true},
		{name: "array", flag: `[1]`, wantErr: true},
		{name: "trailing text", flag: `{} x`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkRSSCache(tt.flag); (err != nil) != tt.wantErr {
				t.Errorf("checkRSSCache(%q) = %v, want error %v", tt.flag, err, tt.wantErr)
			}
		})
	}
}

func TestFilterStats(t *testing.T) {
	admin := map[string]string{
		"wasmcustom.authgate.jwt.cache_hit":             "7",
		"wasmcustom.authgate.jwt.cache_miss":            "3",
		"wasmcustom.authgate.jwt.authorizer_latency_ms": "P0(nan,1) P25(nan,2)",
		"wasmcustom.authgate.NONE.allow":                "5",
		"http.gateway.downstream_rq_total":              "10",
	}
	tests := []struct {
		name  string
		stats func(context.Context) (map[string]string, error)
		want  map[string]int64
	}{
		{name: "counters of the authorizer only",
			stats: func(context.Context) (map[string]string, error) { return admin, nil },
			want:  map[string]int64{"wasmcustom.authgate.jwt.cache_hit": 7, "wasmcustom.authgate.jwt.cache_miss": 3}},
		{name: "unreadable stats", stats: func(context.Context) (map[string]string, error) { return nil, errors.New("down") }},
		{name: "not an Envoy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := filterStats(context.Background(), &target{stats: tt.stats})
			if !maps.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Errorf("filterStats = %v, want %v", got, tt.want)
			}
		})
	}
	if got, want := fmtStats(map[string]int64{"wasmcustom.authgate.jwt.cache_hit": 7}), "filter stats: cache_hit 7, cache_miss -, shared_hit -, coalesced -"; got != want {
		t.Errorf("fmtStats = %q, want %q", got, want)
	}
}

func TestNewGoals(t *testing.T) {
	run := []RunResult{{Sent: 10, OK: 10, RPS: 100}}
	tokens := func(calls int64) *ScenarioResult {
		return &ScenarioResult{ID: "envoy-filter-10k-tokens", Runs: run,
			Tokens: &TokensResult{DistinctTokens: 100, AuthorizerCalls: calls, CallsPerToken: float64(calls) / 100}}
	}
	memory := func(growth float64, partial bool, problem string) *ScenarioResult {
		s := &ScenarioResult{ID: rssScenarioID, Runs: run, Problem: problem,
			Memory: &MemoryResult{RSSAfterWarmupMiB: 100, GrowthPct: growth, Partial: partial, Sent: 5, TargetRequests: 10}}
		if partial {
			s.Runs = nil
		}
		return s
	}
	type want struct {
		measured *float64
		met      *bool
		note     string
	}
	f := func(v float64) *float64 { return &v }
	b := func(v bool) *bool { return &v }
	tests := []struct {
		name       string
		scenarios  []*ScenarioResult
		calls, rss want
	}{
		{name: "not run", calls: want{note: "not measured (scenario not run)"}, rss: want{note: "not measured (scenario not run)"}},
		{name: "one call per token, flat memory", scenarios: []*ScenarioResult{tokens(100), memory(1.5, false, "")},
			calls: want{measured: f(1), met: b(true)}, rss: want{measured: f(1.5), met: b(true)}},
		{name: "extra calls, growth", scenarios: []*ScenarioResult{tokens(104), memory(5, false, "")},
			calls: want{measured: f(1.04), met: b(false)}, rss: want{measured: f(5), met: b(false)}},
		{name: "partial memory check", scenarios: []*ScenarioResult{memory(-0.5, true, "")},
			calls: want{note: "not measured (scenario not run)"},
			rss:   want{measured: f(-0.5), met: b(true), note: "partial: 5 of 10 requests within the cap"}},
		{name: "memory check did not start", scenarios: []*ScenarioResult{memory(0, false, "did not start: x")},
			calls: want{note: "not measured (scenario not run)"}, rss: want{note: "not measured (the check failed)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{Scenarios: tt.scenarios}
			r.finish()
			if len(r.Goals) < 7 {
				t.Fatalf("%d goals, want the 7 throughput and cache goals first", len(r.Goals))
			}
			for i, w := range []want{tt.calls, tt.rss} {
				g := r.Goals[5+i]
				if !sameFloat(g.Measured, w.measured) || !sameBool(g.Met, w.met) || g.Note != w.note {
					t.Errorf("goal %q: measured %v met %v note %q; want %v %v %q", g.Text, deref(g.Measured), derefB(g.Met), g.Note, deref(w.measured), derefB(w.met), w.note)
				}
			}
			for _, s := range r.Scenarios {
				if s.Memory != nil && s.VsBareEnvoy != nil {
					t.Errorf("%s has a ratio to bare Envoy; the memory check compares with nothing", s.ID)
				}
			}
		})
	}
}

func sameFloat(a, b *float64) bool {
	return (a == nil) == (b == nil) && (a == nil || math.Abs(*a-*b) < 1e-9)
}

func sameBool(a, b *bool) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func derefB(p *bool) any {
	if p == nil {
		return nil
	}
	return *p
}
