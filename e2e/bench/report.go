package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/authgate/authgate/core/config"
)

// Report is one invocation's results, as printed and as written to JSON.
type Report struct {
	Started         string  `json:"started"`
	Elapsed         string  `json:"elapsed"`
	GoVersion       string  `json:"goVersion"`
	EnvoyVersion    string  `json:"envoyVersion"`
	CPUs            int     `json:"cpus"`
	LoadAvgAtStart  float64 `json:"loadAvgAtStart"`
	EnvoyWorkers    int     `json:"envoyConcurrency"`
	Concurrency     int     `json:"loadConcurrency"`
	Requests        int     `json:"requestsPerRun"`
	Repeats         int     `json:"repeats"`
	MaxDurationSecs float64 `json:"maxDurationPerRunSecs"`
	Path            string  `json:"path"`
	ServeMode       string  `json:"serveMode"`
	ProxyMode       string  `json:"referenceProxyMode"`

	WasmFileBytes   int64 `json:"wasmFileBytes"`
	ModuleFileBytes int64 `json:"moduleFileBytes,omitempty"`

	GatewayCPU GatewayCPUSettings `json:"gatewayCpu"`

	TokensSettings TokensSettings `json:"manyTokens"`
	RSSSettings    RSSSettings    `json:"memoryCheck"`

	ColdStart struct {
		WasmNewMs        float64 `json:"wasmNewMs"`
		WasmNewCachedMs  float64 `json:"wasmNewFromCacheMs"`
		WasmNewError     string  `json:"wasmNewError,omitempty"`
		EnvoyBareReadyMs float64 `json:"envoyBareReadyMs"`
		EnvoyWasmReadyMs float64 `json:"envoyWithFilterReadyMs"`
	} `json:"coldStart"`

	Scenarios []*ScenarioResult `json:"scenarios"`
	Goals     []Goal            `json:"goals"`
}

// GatewayCPUSettings say how the gateway CPU per request is measured.
type GatewayCPUSettings struct {
	ClockTicksPerSec int64  `json:"clockTicksPerSec"`
	ClockTicksSource string `json:"clockTicksSource"`
	Measure          string `json:"measure"`
}

// TokensSettings are the settings of envoy-filter-10k-tokens.
type TokensSettings struct {
	Tokens                int     `json:"distinctTokens"`
	RequestsPerRun        int     `json:"requestsPerRun"`
	MaxDurationPerRunSecs float64 `json:"maxDurationPerRunSecs"`
	Selection             string  `json:"tokenSelection"`
}

// RSSSettings are the settings of the memory check.
type RSSSettings struct {
	Enabled         bool    `json:"enabled"`
	Tokens          int     `json:"distinctTokens"`
	Requests        int     `json:"requestsAfterWarmup"`
	CapSecs         float64 `json:"capSecs"`
	AuthorizerCache string  `json:"authorizerCache"`
}

// TokensResult is what a scenario with many distinct tokens adds: the
// authorizer calls they cost and the filter's cache counters.
type TokensResult struct {
	DistinctTokens        int   `json:"distinctTokens"`
	WarmupRequests        int   `json:"warmupRequests"`
	WarmupAuthorizerCalls int64 `json:"warmupAuthorizerCalls"`
	// AuthorizerCalls counts over CountedOver; CallsPerToken divides it by
	// DistinctTokens (goal 1.0).
	AuthorizerCalls int64   `json:"authorizerCallsSinceStart"`
	CallsPerToken   float64 `json:"authorizerCallsPerToken"`
	CountedOver     string  `json:"countedOver"`
	// The filter's counters (wasmcustom.authgate.<authorizer>.*) from
	// Envoy's admin /stats, cumulative since Envoy started.
	FilterStatsAfterWarmup map[string]int64 `json:"filterStatsAfterWarmup,omitempty"`
	FilterStats            map[string]int64 `json:"filterStats,omitempty"`
}

// MemoryResult is the memory check's outcome.
type MemoryResult struct {
	DistinctTokens        int     `json:"distinctTokens"`
	AuthorizerCache       string  `json:"authorizerCache"`
	CapSecs               float64 `json:"capSecs"`
	WarmupRequests        int     `json:"warmupRequests"`
	WarmupAuthorizerCalls int64   `json:"warmupAuthorizerCalls"`
	RSSAfterWarmupMiB     float64 `json:"rssAfterWarmupMiB"`
	TargetRequests        int     `json:"targetRequests"`
	Sent                  int     `json:"requestsSent"`
	AuthorizerCalls       int64   `json:"authorizerCallsAfterWarmup"`
	RSSAfterMiB           float64 `json:"rssAfterMiB"`
	GrowthPct             float64 `json:"rssGrowthPct"`
	// Partial says the cap ended the check early; the numbers are those
	// at that point.
	Partial       bool        `json:"partial"`
	PartialReason string      `json:"partialReason,omitempty"`
	Samples       []RSSSample `json:"rssSamples"`

	FilterStatsAfterWarmup map[string]int64 `json:"filterStatsAfterWarmup,omitempty"`
	FilterStats            map[string]int64 `json:"filterStats,omitempty"`
}

// RSSSample is Envoy's RSS after Requests measured requests (0: before
// and right after the warm-up).
type RSSSample struct {
	Requests    int     `json:"requests"`
	RSSMiB      float64 `json:"rssMiB"`
	ElapsedSecs float64 `json:"elapsedSecs"`
}

// ScenarioResult is one row of the table.
type ScenarioResult struct {
	ID      string      `json:"id"`
	Title   string      `json:"title"`
	Workers int         `json:"envoyConcurrency,omitempty"`
	ReadyMs float64     `json:"readyMs"`
	RSSMiB  float64     `json:"rssMiB"`
	Runs    []RunResult `json:"runs"`
	Problem string      `json:"problem,omitempty"`

	Tokens *TokensResult `json:"tokens,omitempty"`
	Memory *MemoryResult `json:"memory,omitempty"`

	// Summary, filled by finish over the runs.
	Broken           bool     `json:"broken"`
	MedianRPS        float64  `json:"medianRps"`
	MinRPS           float64  `json:"minRps"`
	MedianP50Ms      float64  `json:"medianP50Ms"`
	MedianP99Ms      float64  `json:"medianP99Ms"`
	MedianAuthzCalls float64  `json:"medianAuthorizerCallsPerRun"`
	MedianSent       float64  `json:"medianRequestsPerRun"`
	VsBareEnvoy      *float64 `json:"rpsRatioToBareEnvoy,omitempty"`
	VsGoProxy        *float64 `json:"rpsRatioToGoProxy,omitempty"`
	// The gateway process's CPU per answered request, median over the
	// runs that have a reading, and its ratios: to bare Envoy's for Envoy
	// rows, to the Go proxy's for serve rows (and the proxy itself).
	MedianGatewayCPUUsPerReq *float64 `json:"medianGatewayCpuUsPerRequest,omitempty"`
	CPUVsBareEnvoy           *float64 `json:"gatewayCpuRatioToBareEnvoy,omitempty"`
	CPUVsGoProxy             *float64 `json:"gatewayCpuRatioToGoProxy,omitempty"`
}

// RunResult is one measured run.
type RunResult struct {
	Sent            int     `json:"sent"`
	OK              int     `json:"ok"`
	Non200          int     `json:"non200"`
	Errors          int     `json:"errors"`
	TimedOut        bool    `json:"timedOut"`
	Cut             int     `json:"cutByTimeBound"`
	ElapsedMs       float64 `json:"elapsedMs"`
	RPS             float64 `json:"rps"`
	P50Ms           float64 `json:"p50Ms"`
	P99Ms           float64 `json:"p99Ms"`
	MaxMs           float64 `json:"maxMs"`
	AuthorizerCalls int64   `json:"authorizerCalls"`
	UpstreamSaw     int64   `json:"upstreamSaw"`
	WithPrincipal   int64   `json:"upstreamSawPrincipal"`
	// The gateway process's user+system CPU during the run (ticks and
	// milliseconds) and per answered request; absent when /proc could
	// not be read.
	GatewayCPUTicks    int64    `json:"gatewayCpuTicks,omitempty"`
	GatewayCPUMs       float64  `json:"gatewayCpuMs,omitempty"`
	GatewayCPUUsPerReq *float64 `json:"gatewayCpuUsPerRequest,omitempty"`
	Problem            string   `json:"problem,omitempty"`
}

// Goal is a target: a ratio between two scenarios' median rps, or a
// number one scenario measures (Unit says which).
type Goal struct {
	Text     string   `json:"goal"`
	Want     float64  `json:"want"`
	Unit     string   `json:"unit,omitempty"`
	Measured *float64 `json:"measured,omitempty"`
	Met      *bool    `json:"met,omitempty"`
	Note     string   `json:"note,omitempty"`
}

func (r *Report) byID(id string) *ScenarioResult {
	for _, s := range r.Scenarios {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// cpuRatio is a's median gateway CPU per request over b's, or nil when
// either is broken or has no reading.
func cpuRatio(a, b *ScenarioResult) *float64 {
	if !usable(a) || !usable(b) || a.MedianGatewayCPUUsPerReq == nil || b.MedianGatewayCPUUsPerReq == nil || *b.MedianGatewayCPUUsPerReq <= 0 {
		return nil
	}
	v := *a.MedianGatewayCPUUsPerReq / *b.MedianGatewayCPUUsPerReq
	return &v
}

// usable reports whether s has runs and none of them is broken.
func usable(s *ScenarioResult) bool { return s != nil && !s.Broken }

// finish computes the summaries, ratios and goals.
func (r *Report) finish() {
	for _, s := range r.Scenarios {
		var rps, p50, p99, calls, sent, cpu []float64
		// A memory check cut by its cap before any measured request is
		// partial, not broken: the RSS it read still says something.
		s.Broken = s.Problem != "" || (len(s.Runs) == 0 && (s.Memory == nil || !s.Memory.Partial))
		for _, run := range s.Runs {
			if run.Problem != "" {
				s.Broken = true
			}
			rps = append(rps, run.RPS)
			p50 = append(p50, run.P50Ms)
			p99 = append(p99, run.P99Ms)
			calls = append(calls, float64(run.AuthorizerCalls))
			sent = append(sent, float64(run.Sent))
			if run.GatewayCPUUsPerReq != nil {
				cpu = append(cpu, *run.GatewayCPUUsPerReq)
			}
		}
		if len(cpu) > 0 {
			v := median(cpu)
			s.MedianGatewayCPUUsPerReq = &v
		}
		s.MedianRPS, s.MedianP50Ms, s.MedianP99Ms = median(rps), median(p50), median(p99)
		s.MedianAuthzCalls, s.MedianSent = median(calls), median(sent)
		if len(rps) > 0 {
			s.MinRPS = rps[0]
			for _, v := range rps {
				s.MinRPS = math.Min(s.MinRPS, v)
			}
		}
	}
	ratio := func(a, b *ScenarioResult) *float64 {
		if !usable(a) || !usable(b) || b.MedianRPS == 0 {
			return nil
		}
		v := a.MedianRPS / b.MedianRPS
		return &v
	}
	bare, proxy := r.byID("envoy-bare"), r.byID("go-proxy")
	for _, s := range r.Scenarios {
		if s.Memory != nil {
			// Mostly authorizer calls by design (the tokens outnumber the
			// caches): a rate that compares with nothing else here.
			continue
		}
		s.VsBareEnvoy = ratio(s, bare)
		if strings.HasPrefix(s.ID, "serve-") || s.ID == "go-proxy" {
			s.VsGoProxy = ratio(s, proxy)
			s.CPUVsGoProxy = cpuRatio(s, proxy)
		}
		if strings.HasPrefix(s.ID, "envoy-") {
			s.CPUVsBareEnvoy = cpuRatio(s, bare)
		}
	}
	if bare != nil {
		r.ColdStart.EnvoyBareReadyMs = bare.ReadyMs
	}
	if hit := r.byID("envoy-filter-hit"); hit != nil {
		r.ColdStart.EnvoyWasmReadyMs = hit.ReadyMs
	}
	goal := func(text string, want float64, a, b string) {
		g := Goal{Text: text, Want: want}
		sa, sb := r.byID(a), r.byID(b)
		switch {
		case sa == nil || sb == nil:
			g.Note = "not measured (scenario not run)"
		case !usable(sa) || !usable(sb):
			g.Note = "not measured (a run was broken)"
		default:
			v := sa.MedianRPS / sb.MedianRPS
			met := v >= want
			g.Measured, g.Met = &v, &met
		}
		r.Goals = append(r.Goals, g)
	}
	goal("Envoy + authgate (hit) >= 0.90 x bare Envoy", 0.90, "envoy-filter-hit", "envoy-bare")
	// The same goal in CPU: 1/0.90 = 1.11 times bare Envoy's CPU per
	// request. Unlike the rps ratio it holds still when other work shares
	// the machine, so it is the one to judge a busy machine's run by.
	cpuGoal := func(text string, want float64, id string) {
		g := Goal{Text: text, Want: want, Unit: "x CPU"}
		switch sa, sb := r.byID(id), bare; {
		case sa == nil || sb == nil:
			g.Note = "not measured (scenario not run)"
		case !usable(sa) || !usable(sb):
			g.Note = "not measured (a run was broken)"
		case sa.CPUVsBareEnvoy == nil:
			g.Note = "not measured (no CPU reading from /proc)"
		default:
			v := *sa.CPUVsBareEnvoy
			met := v <= want
			g.Measured, g.Met = &v, &met
		}
		r.Goals = append(r.Goals, g)
	}
	cpuGoal("Envoy + authgate (hit) gateway CPU <= 1.11 x bare Envoy's", 1.11, "envoy-filter-hit")
	goal("Envoy + authgate (hit) >= 3 x Envoy + ext_authz", 3, "envoy-filter-hit", "envoy-ext-authz")
	goal("authgate serve (wasm) >= 0.75 x Go ReverseProxy", 0.75, "serve-wasm", "go-proxy")
	goal("authgate serve (native) >= 0.90 x Go ReverseProxy", 0.90, "serve-native", "go-proxy")

	calls := Goal{Text: "Envoy + authgate, 10k tokens: authorizer calls per token == 1.0", Want: 1, Unit: "calls/token"}
	switch s := r.byID("envoy-filter-10k-tokens"); {
	case s == nil:
		calls.Note = "not measured (scenario not run)"
	case !usable(s) || s.Tokens == nil:
		calls.Note = "not measured (a run was broken)"
	default:
		v := s.Tokens.CallsPerToken
		met := s.Tokens.AuthorizerCalls == int64(s.Tokens.DistinctTokens)
		calls.Measured, calls.Met = &v, &met
	}
	r.Goals = append(r.Goals, calls)

	growth := Goal{Text: "Envoy RSS growth < 5% after the warm-up over 100k tokens", Want: 5, Unit: "%"}
	switch s := r.byID(rssScenarioID); {
	case s == nil:
		growth.Note = "not measured (scenario not run)"
	case s.Memory == nil || s.Problem != "" || s.Memory.RSSAfterWarmupMiB == 0:
		growth.Note = "not measured (the check failed)"
	default:
		v := s.Memory.GrowthPct
		met := v < 5
		growth.Measured, growth.Met = &v, &met
		if s.Memory.Partial {
			growth.Note = fmt.Sprintf("partial: %d of %d requests within the cap", s.Memory.Sent, s.Memory.TargetRequests)
		}
		if s.Broken {
			growth.Note = strings.TrimPrefix(growth.Note+"; a run was broken", "; ")
		}
	}
	r.Goals = append(r.Goals, growth)
	// The dynamic module's own targets: native speed in Envoy.
	goal("Envoy + module (hit) >= 0.90 x bare Envoy", 0.90, "envoy-module-hit", "envoy-bare")
	cpuGoal("Envoy + module (hit) gateway CPU <= 1.15 x bare Envoy's", 1.15, "envoy-module-hit")
	goal("Envoy + module (hit) >= 3 x Envoy + ext_authz", 3, "envoy-module-hit", "envoy-ext-authz")
	r.Goals = append(r.Goals, r.weightGoals()...)
}

// weightGoals are the filter's costs against their targets: CPU per
// request over bare Envoy at each worker count, on a miss, memory, start
// times and size, and the same for the dynamic module where it applies.
func (r *Report) weightGoals() []Goal {
	var gs []Goal
	add := func(text string, want float64, unit string, measured *float64, note string) {
		g := Goal{Text: text, Want: want, Unit: unit, Note: note}
		if measured == nil {
			if g.Note == "" {
				g.Note = "not measured (scenario not run or broken)"
			}
		} else {
			met := *measured <= want
			g.Measured, g.Met = measured, &met
		}
		gs = append(gs, g)
	}
	cpu := func(id string) *float64 {
		if s := r.byID(id); usable(s) {
			return s.MedianGatewayCPUUsPerReq
		}
		return nil
	}
	rss := func(id string) *float64 {
		if s := r.byID(id); usable(s) && s.RSSMiB > 0 {
			return &s.RSSMiB
		}
		return nil
	}
	diff := func(a, b *float64) *float64 {
		if a == nil || b == nil {
			return nil
		}
		v := *a - *b
		return &v
	}
	// The CPU a filter adds per cached request, at every worker count run.
	pairs := []workerPair{{r.EnvoyWorkers, "envoy-filter-hit", "envoy-bare"}}
	for _, s := range r.Scenarios {
		if n, ok := strings.CutPrefix(s.ID, "envoy-filter-hit-w"); ok {
			pairs = append(pairs, workerPair{s.Workers, s.ID, "envoy-bare-w" + n})
		}
	}
	slices.SortFunc(pairs, func(a, b workerPair) int { return a.workers - b.workers })
	for _, p := range pairs {
		add(fmt.Sprintf("filter CPU per cached request over bare Envoy, --concurrency %d", p.workers), 15, "µs", diff(cpu(p.filter), cpu(p.bare)), "")
	}
	add(fmt.Sprintf("module CPU per cached request over bare Envoy, --concurrency %d", r.EnvoyWorkers), 15, "µs", diff(cpu("envoy-module-hit"), cpu("envoy-bare")), "")
	extAuthz := ""
	if v := cpu("envoy-ext-authz"); v != nil {
		extAuthz = fmt.Sprintf("Envoy + ext_authz: %.1f µs", *v)
	}
	add("filter CPU per request on a miss (TTL 0, one call each)", 120, "µs", cpu("envoy-filter-miss"), extAuthz)
	add("module CPU per request on a miss (TTL 0, one call each)", 120, "µs", cpu("envoy-module-miss"), extAuthz)
	if v := cpu("envoy-ext-authz"); v != nil {
		add("module CPU per request on a miss <= Envoy + ext_authz's", *v, "µs", cpu("envoy-module-miss"), "")
	}
	over := func(id string) *float64 { return diff(rss(id), rss("envoy-bare")) }
	add(fmt.Sprintf("Envoy RSS with the filter over bare Envoy, --concurrency %d, one token", r.EnvoyWorkers), 50, "MiB", over("envoy-filter-hit"),
		"bare: "+fmtMiB(rss("envoy-bare")))
	add(fmt.Sprintf("Envoy RSS with the module over bare Envoy, --concurrency %d, one token", r.EnvoyWorkers), 30, "MiB", over("envoy-module-hit"), "")
	for _, s := range r.Scenarios {
		if n, ok := strings.CutPrefix(s.ID, "envoy-module-hit-w"); ok {
			add(fmt.Sprintf("Envoy RSS with the module over bare Envoy, --concurrency %d, one token", s.Workers), 30, "MiB", diff(rss(s.ID), rss("envoy-bare-w"+n)), "")
		}
	}
	add("Envoy RSS per added worker with the filter (slope of filter − bare over the worker counts)", 5, "MiB", r.rssPerWorker(pairs, rss), "")
	perToken := func(id, hit string, vms int) *float64 {
		s, h := r.byID(id), rss(hit)
		if !usable(s) || s.Tokens == nil || h == nil || vms <= 0 {
			return nil
		}
		v := (s.RSSMiB - *h) * 1024 / float64(s.Tokens.DistinctTokens) / float64(vms)
		return &v
	}
	add("Envoy RSS per cached token per VM (10k tokens, over one token)", 2, "KiB", perToken("envoy-filter-10k-tokens", "envoy-filter-hit", r.EnvoyWorkers),
		fmt.Sprintf("%d VMs serve requests; 10k tokens: %s", r.EnvoyWorkers, fmtMiB(rss("envoy-filter-10k-tokens"))))
	add("module RSS per cached token (10k tokens, over one token; one cache per Envoy)", 2, "KiB", perToken("envoy-module-10k-tokens", "envoy-module-hit", 1),
		"10k tokens: "+fmtMiB(rss("envoy-module-10k-tokens")))
	ready := func(id string) *float64 {
		if s := r.byID(id); s != nil && s.ReadyMs > 0 {
			return &s.ReadyMs
		}
		return nil
	}
	add(fmt.Sprintf("Envoy ready after start with the filter, --concurrency %d", r.EnvoyWorkers), 1000, "ms", ready("envoy-filter-hit"), "bare: "+fmtMs(r.ColdStart.EnvoyBareReadyMs))
	add(fmt.Sprintf("Envoy ready after start with the module, --concurrency %d", r.EnvoyWorkers), 300, "ms", ready("envoy-module-hit"), "")
	modCalls := Goal{Text: "Envoy + module, 10k tokens: authorizer calls per token == 1.0", Want: 1, Unit: "calls/token"}
	if s := r.byID("envoy-module-10k-tokens"); usable(s) && s.Tokens != nil {
		v := s.Tokens.CallsPerToken
		met := s.Tokens.AuthorizerCalls == int64(s.Tokens.DistinctTokens)
		modCalls.Measured, modCalls.Met = &v, &met
	} else {
		modCalls.Note = "not measured (scenario not run or broken)"
	}
	gs = append(gs, modCalls)
	var size *float64
	if r.WasmFileBytes > 0 {
		v := float64(r.WasmFileBytes) / 1e6
		size = &v
	}
	add("build/authgate.wasm", 3, "MB", size, "")
	var cached *float64
	if r.ColdStart.WasmNewError == "" && r.ColdStart.WasmNewCachedMs > 0 {
		cached = &r.ColdStart.WasmNewCachedMs
	}
	add("wasm.New on a second start (compilation cache on disk)", 300, "ms", cached, "first start: "+fmtMs(r.ColdStart.WasmNewMs))
	return gs
}

// workerPair names the filter-hit and bare Envoy rows run at one worker
// count.
type workerPair struct {
	workers      int
	filter, bare string
}

// rssPerWorker is the least-squares slope of (filter RSS − bare RSS)
// over Envoy's worker counts: what each added worker's VM costs.
func (r *Report) rssPerWorker(pairs []workerPair, rss func(string) *float64) *float64 {
	var xs, ys []float64
	for _, p := range pairs {
		f, b := rss(p.filter), rss(p.bare)
		if f != nil && b != nil {
			xs, ys = append(xs, float64(p.workers)), append(ys, *f-*b)
		}
	}
	if len(xs) < 2 {
		return nil
	}
	var mx, my float64
	for i := range xs {
		mx, my = mx+xs[i], my+ys[i]
	}
	mx, my = mx/float64(len(xs)), my/float64(len(xs))
	var num, den float64
	for i := range xs {
		num += (xs[i] - mx) * (ys[i] - my)
		den += (xs[i] - mx) * (xs[i] - mx)
	}
	if den == 0 {
		return nil
	}
	v := num / den
	return &v
}

func fmtMiB(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", *v)
}

func (r *Report) print(out io.Writer) {
	fmt.Fprintf(out, "\nResults (median of %d runs; %d workers; Envoy --concurrency %d; GET %s through each gateway to the same upstream):\n\n",
		r.Repeats, r.Concurrency, r.EnvoyWorkers, r.Path)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\trps\tmin rps\tp50 ms\tp99 ms\t/bare Envoy\t/Go proxy\tgw CPU µs/req\tCPU ×bare\tCPU ×Go proxy\tauthz calls/run\trequests/run\tcalls/token\tRSS MiB\tready ms\t")
	for _, s := range r.Scenarios {
		if s.Broken {
			problem := s.Problem
			for _, run := range s.Runs {
				if problem == "" && run.Problem != "" {
					problem = run.Problem
				}
			}
			fmt.Fprintf(tw, "%s\tBROKEN\t\t\t\t\t\t\t\t\t\t\t\t\t\t\n", s.ID)
			defer fmt.Fprintf(out, "  %s: BROKEN: %s\n", s.ID, firstLine(problem))
			continue
		}
		id, perToken := s.ID, "-"
		if s.Tokens != nil {
			perToken = fmt.Sprintf("%.3f", s.Tokens.CallsPerToken)
		}
		if s.Memory != nil && s.Memory.Partial {
			id += " (partial)"
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.2f\t%.2f\t%s\t%s\t%s\t%s\t%s\t%.0f\t%.0f\t%s\t%.0f\t%.0f\t\n",
			id, s.MedianRPS, s.MinRPS, s.MedianP50Ms, s.MedianP99Ms, fmtRatio(s.VsBareEnvoy), fmtRatio(s.VsGoProxy),
			fmtCPU(s.MedianGatewayCPUUsPerReq), fmtRatio(s.CPUVsBareEnvoy), fmtRatio(s.CPUVsGoProxy),
			s.MedianAuthzCalls, s.MedianSent, perToken, s.RSSMiB, s.ReadyMs)
	}
	_ = tw.Flush()
	r.printCPU(out)
	fmt.Fprintf(out, "\nCold start: Envoy ready %s bare vs %s with the filter (--concurrency %d: V8 compiles the module once, then starts one VM per worker plus the main thread's);",
		fmtMs(r.ColdStart.EnvoyBareReadyMs), fmtMs(r.ColdStart.EnvoyWasmReadyMs), r.EnvoyWorkers)
	if r.ColdStart.WasmNewError != "" {
		fmt.Fprintf(out, " wasm.New failed: %s\n", r.ColdStart.WasmNewError)
	} else {
		fmt.Fprintf(out, " wasm.New (wazero compile + 1 VM, in a new process) %.0fms, again from the compilation cache on disk %.0fms.\n",
			r.ColdStart.WasmNewMs, r.ColdStart.WasmNewCachedMs)
	}
	fmt.Fprintf(out, "Sizes: build/authgate.wasm %.2f MB; build/libauthgate.so %.2f MB.\n", float64(r.WasmFileBytes)/1e6, float64(r.ModuleFileBytes)/1e6)
	fmt.Fprintf(out, "authgate serve: %s; reference proxy: %s.\n", r.ServeMode, r.ProxyMode)
	r.printTokens(out)
	r.printMemory(out)
	fmt.Fprintf(out, "\nGoals (targets, not assertions):\n")
	for _, g := range r.Goals {
		switch {
		case g.Measured == nil:
			fmt.Fprintf(out, "  [ -- ] %s: %s\n", g.Text, g.Note)
		default:
			mark := "[MISS]"
			if *g.Met {
				mark = "[ met]"
			}
			note := ""
			if g.Note != "" {
				note = " (" + g.Note + ")"
			}
			fmt.Fprintf(out, "  %s %s: measured %s%s\n", mark, g.Text, fmtGoal(g), note)
		}
	}
}

// printCPU is the legend of the CPU columns, and what the filter itself
// costs per request.
func (r *Report) printCPU(out io.Writer) {
	fmt.Fprintf(out, "\ngw CPU µs/req: the gateway process's user+system CPU (/proc/<pid>/stat utime+stime, all threads) over one measured\n"+
		"  run, divided by the requests answered; median of the runs. Clock: %d ticks/s (%s),\n"+
		"  so one tick in a run of %d requests is %.2f µs/req. It leaves out the authorizer and the load generator (both in this bench's process):\n"+
		"  Envoy + ext_authz's figure excludes the JWT check it calls out to on every request. CPU ×bare: over bare Envoy's\n"+
		"  (Envoy rows); CPU ×Go proxy: over the Go ReverseProxy's (serve rows). Other work on the machine moves rps far more\n"+
		"  than these: judge the goals by them on a busy machine.\n",
		r.GatewayCPU.ClockTicksPerSec, r.GatewayCPU.ClockTicksSource, r.Requests, tickUs(r.GatewayCPU.ClockTicksPerSec, r.Requests))
	hit, bare := r.byID("envoy-filter-hit"), r.byID("envoy-bare")
	if usable(hit) && usable(bare) && hit.MedianGatewayCPUUsPerReq != nil && bare.MedianGatewayCPUUsPerReq != nil {
		h, b := *hit.MedianGatewayCPUUsPerReq, *bare.MedianGatewayCPUUsPerReq
		fmt.Fprintf(out, "  envoy-filter-hit: filter CPU per request = (filter-hit − bare) = %.1f − %.1f = %.1f µs\n", h, b, h-b)
	}
}

// tickUs is what one clock tick adds to the CPU per request of a run of n
// requests, in µs.
func tickUs(hz int64, n int) float64 {
	if hz <= 0 || n <= 0 {
		return 0
	}
	return 1e6 / float64(hz) / float64(n)
}

func fmtCPU(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f", *v)
}

func fmtGoal(g Goal) string {
	switch g.Unit {
	case "%":
		return fmt.Sprintf("%+.2f%%", *g.Measured)
	case "calls/token":
		return fmt.Sprintf("%.3f calls/token", *g.Measured)
	case "x CPU":
		return fmt.Sprintf("%.2f x bare Envoy's CPU per request", *g.Measured)
	case "ms":
		return fmt.Sprintf("%.0f ms (target <= %g ms)", *g.Measured, g.Want)
	case "µs", "MiB", "KiB", "MB":
		return fmt.Sprintf("%.1f %s (target <= %g %s)", *g.Measured, g.Unit, g.Want, g.Unit)
	}
	return fmt.Sprintf("%.2f", *g.Measured)
}

// printTokens explains the many-tokens row: what the calls were counted
// over, and how the filter's caches answered.
func (r *Report) printTokens(out io.Writer) {
	s := r.byID("envoy-filter-10k-tokens")
	if s == nil || s.Tokens == nil {
		return
	}
	t := s.Tokens
	fmt.Fprintf(out, "\n%s: %d distinct tokens, %s; %d runs of %d requests.\n",
		s.ID, t.DistinctTokens, r.TokensSettings.Selection, len(s.Runs), r.TokensSettings.RequestsPerRun)
	fmt.Fprintf(out, "  authorizer calls: %d in the warm-up pass (%d requests), %d in all since Envoy started = %.3f per token (goal 1.0).\n",
		t.WarmupAuthorizerCalls, t.WarmupRequests, t.AuthorizerCalls, t.CallsPerToken)
	fmt.Fprintf(out, "  counted over %s.\n", t.CountedOver)
	fmt.Fprintf(out, "  after the warm-up: %s\n", fmtStats(t.FilterStatsAfterWarmup))
	fmt.Fprintf(out, "  at the end:        %s\n", fmtStats(t.FilterStats))
	occupied, alone := slotSpread(t.DistinctTokens, config.DefaultSharedSlots)
	fmt.Fprintf(out, "  (with the default %d shared slots, ~%.0f of the tokens are expected to share a slot with another: a token whose\n"+
		"   slot was overwritten costs a second call on a VM that has not cached it itself; ~%.0f slots in use.)\n",
		config.DefaultSharedSlots, float64(t.DistinctTokens)-alone, occupied)
}

// printMemory explains the memory check: RSS before and after, and why
// the caches keep it bounded.
func (r *Report) printMemory(out io.Writer) {
	s := r.byID(rssScenarioID)
	if s == nil || s.Memory == nil {
		return
	}
	m := s.Memory
	state := ""
	if m.Partial {
		state = " PARTIAL: " + m.PartialReason + "."
	}
	fmt.Fprintf(out, "\n%s: %d distinct tokens, cache %s.%s\n", s.ID, m.DistinctTokens, m.AuthorizerCache, state)
	fmt.Fprintf(out, "  Envoy RSS %.1f MiB after the warm-up pass (%d requests, %d authorizer calls), %.1f MiB after %d of %d more requests: %+.2f%% (goal < 5%%).\n",
		m.RSSAfterWarmupMiB, m.WarmupRequests, m.WarmupAuthorizerCalls, m.RSSAfterMiB, m.Sent, m.TargetRequests, m.GrowthPct)
	if len(m.Samples) > 0 {
		var b strings.Builder
		for i, x := range m.Samples {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%.1f", x.RSSMiB)
		}
		fmt.Fprintf(out, "  RSS samples (MiB: start, after warm-up, after each pass, end): %s\n", b.String())
	}
	fmt.Fprintf(out, "  authorizer calls after the warm-up: %d for %d requests; %s\n", m.AuthorizerCalls, m.Sent, fmtStats(m.FilterStats))
	entries, slots := cacheBounds(m.AuthorizerCache)
	occupied, alone := slotSpread(m.DistinctTokens, slots)
	l1 := "all the tokens fit, so L1 answers most requests"
	if m.DistinctTokens > entries {
		l1 = "round-robin over more tokens than that evicts each entry before its token comes back, so L1 never hits"
	}
	fmt.Fprintf(out, "  Why it stays bounded: each VM's L1 keeps at most %d entries (LRU; %s).\n", entries, l1)
	fmt.Fprintf(out, "   The shared store is direct-mapped: %d slots, a colliding token overwrites the slot; ~%.0f slots are in use\n", slots, occupied)
	fmt.Fprintf(out, "   and only ~%.0f tokens have one to themselves, so the other ~%.0f cost an authorizer call whenever no cache\n", alone, float64(m.DistinctTokens)-alone)
	fmt.Fprintf(out, "   holds them. Both caches stop growing once full: after the warm-up, memory should move only with allocator noise.\n")
}

// cacheBounds are the L1 entries and shared slots a cache description
// (authorizerCacheText) sets, the defaults where it sets none.
func cacheBounds(desc string) (entries, slots int) {
	entries, slots = config.DefaultCacheEntries, config.DefaultSharedSlots
	if js, ok := strings.CutPrefix(desc, "authorizerCache "); ok {
		var v struct {
			MaxEntries  *int `json:"maxEntries"`
			SharedSlots *int `json:"sharedSlots"`
		}
		if json.Unmarshal([]byte(js), &v) == nil {
			if v.MaxEntries != nil {
				entries = *v.MaxEntries
			}
			if v.SharedSlots != nil {
				slots = *v.SharedSlots
			}
		}
	}
	return entries, slots
}

func fmtMs(v float64) string {
	if v == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0fms", v)
}

func fmtRatio(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f", *v)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func (r *Report) fileName(began time.Time) string {
	return began.UTC().Format("20060102T150405Z") + ".json"
}

// write stores the report as a timestamped file and as latest.json.
func (r *Report) write(dir string, began time.Time) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: results: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: results: %w", err)
	}
	b = append(b, '\n')
	for _, name := range []string{r.fileName(began), "latest.json"} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("bench: results: %w", err)
		}
	}
	return nil
}
