package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
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

	ColdStart struct {
		WasmNewMs        float64 `json:"wasmNewMs"`
		WasmNewError     string  `json:"wasmNewError,omitempty"`
		EnvoyBareReadyMs float64 `json:"envoyBareReadyMs"`
		EnvoyWasmReadyMs float64 `json:"envoyWithFilterReadyMs"`
	} `json:"coldStart"`

	Scenarios []*ScenarioResult `json:"scenarios"`
	Goals     []Goal            `json:"goals"`
}

// ScenarioResult is one row of the table.
type ScenarioResult struct {
	ID      string      `json:"id"`
	Title   string      `json:"title"`
	ReadyMs float64     `json:"readyMs"`
	RSSMiB  float64     `json:"rssMiB"`
	Runs    []RunResult `json:"runs"`
	Problem string      `json:"problem,omitempty"`

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
	Problem         string  `json:"problem,omitempty"`
}

// Goal is a target ratio between two scenarios' median rps.
type Goal struct {
	Text     string   `json:"goal"`
	Want     float64  `json:"want"`
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

// usable reports whether s has runs and none of them is broken.
func usable(s *ScenarioResult) bool { return s != nil && !s.Broken }

// finish computes the summaries, ratios and goals.
func (r *Report) finish() {
	for _, s := range r.Scenarios {
		var rps, p50, p99, calls, sent []float64
		s.Broken = s.Problem != "" || len(s.Runs) == 0
		for _, run := range s.Runs {
			if run.Problem != "" {
				s.Broken = true
			}
			rps = append(rps, run.RPS)
			p50 = append(p50, run.P50Ms)
			p99 = append(p99, run.P99Ms)
			calls = append(calls, float64(run.AuthorizerCalls))
			sent = append(sent, float64(run.Sent))
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
		s.VsBareEnvoy = ratio(s, bare)
		if strings.HasPrefix(s.ID, "serve-") || s.ID == "go-proxy" {
			s.VsGoProxy = ratio(s, proxy)
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
	goal("Envoy + authgate (hit) >= 3 x Envoy + ext_authz", 3, "envoy-filter-hit", "envoy-ext-authz")
	goal("authgate serve (wasm) >= 0.70 x Go ReverseProxy", 0.70, "serve-wasm", "go-proxy")
}

func (r *Report) print(out io.Writer) {
	fmt.Fprintf(out, "\nResults (median of %d runs; %d workers; Envoy --concurrency %d; GET %s through each gateway to the same upstream):\n\n",
		r.Repeats, r.Concurrency, r.EnvoyWorkers, r.Path)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\trps\tmin rps\tp50 ms\tp99 ms\t/bare Envoy\t/Go proxy\tauthz calls/run\trequests/run\tRSS MiB\tready ms\t")
	for _, s := range r.Scenarios {
		if s.Broken {
			problem := s.Problem
			for _, run := range s.Runs {
				if problem == "" && run.Problem != "" {
					problem = run.Problem
				}
			}
			fmt.Fprintf(tw, "%s\tBROKEN\t\t\t\t\t\t\t\t\t\t\n", s.ID)
			defer fmt.Fprintf(out, "  %s: BROKEN: %s\n", s.ID, firstLine(problem))
			continue
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.2f\t%.2f\t%s\t%s\t%.0f\t%.0f\t%.0f\t%.0f\t\n",
			s.ID, s.MedianRPS, s.MinRPS, s.MedianP50Ms, s.MedianP99Ms, fmtRatio(s.VsBareEnvoy), fmtRatio(s.VsGoProxy),
			s.MedianAuthzCalls, s.MedianSent, s.RSSMiB, s.ReadyMs)
	}
	_ = tw.Flush()
	fmt.Fprintf(out, "\nCold start: Envoy ready %s bare vs %s with the filter (--concurrency %d: V8 compiles one VM per worker plus the main thread);",
		fmtMs(r.ColdStart.EnvoyBareReadyMs), fmtMs(r.ColdStart.EnvoyWasmReadyMs), r.EnvoyWorkers)
	if r.ColdStart.WasmNewError != "" {
		fmt.Fprintf(out, " wasm.New failed: %s\n", r.ColdStart.WasmNewError)
	} else {
		fmt.Fprintf(out, " wasm.New (wazero compile + 1 VM, in process) %.0fms.\n", r.ColdStart.WasmNewMs)
	}
	fmt.Fprintf(out, "authgate serve: %s; reference proxy: %s.\n", r.ServeMode, r.ProxyMode)
	fmt.Fprintf(out, "\nGoals (targets, not assertions):\n")
	for _, g := range r.Goals {
		switch {
		case g.Measured == nil:
			fmt.Fprintf(out, "  [ -- ] %s: %s\n", g.Text, g.Note)
		case *g.Met:
			fmt.Fprintf(out, "  [ met] %s: measured %.2f\n", g.Text, *g.Measured)
		default:
			fmt.Fprintf(out, "  [MISS] %s: measured %.2f\n", g.Text, *g.Measured)
		}
	}
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
