package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/examples/envoy/envoyrun"
	"github.com/authgate/authgate/examples/jwt-authorizer/jwtauth"
)

// benchAuthorizer is the name of the authorizer in the example's plugin
// configuration, which names the filter's counters.
const benchAuthorizer = "jwt"

// filterStatPrefix starts the filter's counters of benchAuthorizer in
// Envoy's admin /stats.
const filterStatPrefix = "wasmcustom.authgate." + benchAuthorizer + "."

// shownStats are the counters the printed report names, in its order; the
// JSON keeps every counter of the authorizer.
var shownStats = []string{"cache_hit", "cache_miss", "shared_hit", "coalesced"}

// mintMany mints n distinct user tokens ("Bearer " included), on workers
// goroutines: HS256 signing is cheap, but 100,000 of them are still worth
// spreading over the cores. All share one issue time and a one-hour life,
// far longer than any run.
func mintMany(secret []byte, n, workers int) ([]string, error) {
	out := make([]string, n)
	now := time.Now()
	workers = max(1, min(workers, n))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				tok, err := jwtauth.Mint(jwtauth.MintOptions{
					Subject: "bench-token-" + strconv.Itoa(i), TTL: time.Hour, Now: now, HS256Secret: secret,
				})
				if err != nil {
					errs[w] = fmt.Errorf("bench: minting token %d: %w", i, err)
					return
				}
				out[i] = "Bearer " + tok
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// filterStats returns the filter's counters of benchAuthorizer from
// Envoy's admin /stats (cumulative since Envoy started, summed over its
// VMs), or nil when the gateway has no stats or they cannot be read: the
// stats illustrate a result, they never decide one.
func filterStats(ctx context.Context, t *target) map[string]int64 {
	if t.stats == nil {
		return nil
	}
	all, err := t.stats(ctx)
	if err != nil {
		return nil
	}
	out := map[string]int64{}
	for name, v := range all {
		if !strings.HasPrefix(name, filterStatPrefix) {
			continue
		}
		// Histograms keep their summary text; only counters parse.
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			out[name] = n
		}
	}
	return out
}

// fmtStats prints the counters of shownStats.
func fmtStats(stats map[string]int64) string {
	if stats == nil {
		return "filter stats: n/a"
	}
	parts := make([]string, 0, len(shownStats))
	for _, s := range shownStats {
		v, ok := stats[filterStatPrefix+s]
		if !ok {
			parts = append(parts, s+" -")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %d", s, v))
	}
	return "filter stats: " + strings.Join(parts, ", ")
}

// checkRSSCache validates -rss-cache before any gateway starts: a JSON
// object, or nothing. Its fields are the filter's to judge (Envoy refuses
// the configuration, and the scenario reports that it did not start).
func checkRSSCache(s string) error {
	if s == "" {
		return nil
	}
	var v map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return fmt.Errorf("bench: -rss-cache must be a JSON object: %w", err)
	}
	return nil
}

// authorizerCacheText describes the memory check's cache settings.
func authorizerCacheText(s string) string {
	if s == "" {
		return fmt.Sprintf("defaults: maxEntries %d, maxBytes %d per VM (L1); sharedSlots %d, sharedMaxEntryBytes %d (shared)",
			config.DefaultCacheEntries, config.DefaultCacheBytes, config.DefaultSharedSlots, config.DefaultSharedMaxEntryBytes)
	}
	return "authorizerCache " + s
}

// slotSpread is what hashing n identities into m direct-mapped slots is
// expected to give: occupied slots, and identities alone in theirs (the
// others overwrite each other). Poisson approximation, close for the
// sizes used here.
func slotSpread(n, m int) (occupied, alone float64) {
	if n <= 0 || m <= 0 {
		return 0, 0
	}
	load := float64(n) / float64(m)
	return float64(m) * (1 - math.Exp(-load)), float64(n) * math.Exp(-float64(n-1)/float64(m))
}

// mergeLoad adds the load of b into a: the memory check sends its requests
// in passes and reports them as one run.
func mergeLoad(a, b *LoadResult) {
	a.Sent += b.Sent
	a.OK += b.OK
	a.Non200 += b.Non200
	a.Errors += b.Errors
	a.Elapsed += b.Elapsed
	a.TimedOut = a.TimedOut || b.TimedOut
	a.Cut += b.Cut
	a.MaxCutWait = max(a.MaxCutWait, b.MaxCutWait)
	a.Latency.Merge(b.Latency)
	if a.FirstProblem == "" {
		a.FirstProblem = b.FirstProblem
	}
}

// runRSSScenario is the memory check: one pass over every token fills the
// filter's caches (and the authorizer's answers into them), Envoy's RSS is
// read, then f.rssRequests requests go round-robin over the same tokens in
// passes, reading RSS after each. The whole scenario, start included,
// stays within f.rssCap: when the cap ends it, the result says how far it
// got and is marked partial, never lost.
func runRSSScenario(ctx context.Context, e *env, sc scenario, f flags, tokens []string, cnt *counters, progress func(string, ...any)) *ScenarioResult {
	began := time.Now()
	res := &ScenarioResult{ID: sc.id, Title: sc.title, Workers: e.workersOf(sc)}
	m := &MemoryResult{
		DistinctTokens:  len(tokens),
		TargetRequests:  f.rssRequests,
		CapSecs:         f.rssCap.Seconds(),
		AuthorizerCache: authorizerCacheText(f.rssCache),
	}
	res.Memory = m
	left := func() time.Duration { return f.rssCap - time.Since(began) }
	partial := func(why string) {
		m.Partial = true
		m.PartialReason = why
		progress("%s: PARTIAL: %s", sc.id, why)
	}
	progress("%s: starting (cap %v for the whole check)", sc.id, f.rssCap)
	t, err := startTarget(ctx, e, sc)
	if err != nil {
		res.Problem = "did not start: " + err.Error()
		progress("%s: %s", sc.id, res.Problem)
		return res
	}
	defer func() {
		if err := t.stop(); err != nil {
			progress("%s: %v", sc.id, err)
		}
	}()
	res.ReadyMs = ms(t.readyAfter)
	rss := func() float64 {
		v, err := envoyrun.RSS(t.pid)
		if err != nil {
			return 0
		}
		return float64(v) / (1 << 20)
	}
	sample := func(sent int) {
		m.Samples = append(m.Samples, RSSSample{Requests: sent, RSSMiB: rss(), ElapsedSecs: time.Since(began).Seconds()})
	}
	url := t.url + "/pets"
	load := func(n int) (*LoadResult, error) {
		return RunLoad(ctx, LoadConfig{URL: url, Concurrency: f.concurrency, Requests: n, MaxDuration: left(),
			Tokens: tokens, TokenHeader: "Authorization"})
	}
	sample(0)
	progress("%s: ready after %v, RSS %.1f MiB; warming up: one pass over %d distinct tokens", sc.id,
		t.readyAfter.Round(time.Millisecond), m.Samples[0].RSSMiB, len(tokens))

	calls0 := cnt.authorizer.Load()
	if left() <= 0 {
		partial("the cap was reached before the warm-up")
		return res
	}
	wr, err := load(len(tokens))
	if err != nil {
		res.Problem = err.Error()
		return res
	}
	if wr.Broken() {
		res.Problem = fmt.Sprintf("warm-up: %d of %d requests failed (%s)", wr.Non200+wr.Errors, wr.Sent, wr.FirstProblem)
		progress("%s: %s\n%s", sc.id, res.Problem, t.logTail())
		return res
	}
	quiesce(cnt)
	m.WarmupRequests = wr.Sent
	m.WarmupAuthorizerCalls = cnt.authorizer.Load() - calls0
	m.FilterStatsAfterWarmup = filterStats(ctx, t)
	sample(0)
	m.RSSAfterWarmupMiB = m.Samples[len(m.Samples)-1].RSSMiB
	res.RSSMiB = m.RSSAfterWarmupMiB
	progress("%s: warm-up: %d requests in %.1fs, %d authorizer calls, RSS %.1f MiB; %s", sc.id, wr.Sent, wr.Elapsed.Seconds(),
		m.WarmupAuthorizerCalls, m.RSSAfterWarmupMiB, fmtStats(m.FilterStatsAfterWarmup))
	if wr.TimedOut {
		partial(fmt.Sprintf("the cap of %v was reached during the warm-up, after %d of %d requests", f.rssCap, wr.Sent, len(tokens)))
		return res
	}

	// The measured requests, in passes of one round over the tokens, so
	// that every pass uses each token once and RSS is read between them.
	total := &LoadResult{Latency: &Histogram{}}
	authz0, up0, pr0 := cnt.authorizer.Load(), cnt.upstream.Load(), cnt.withPrincipal.Load()
	// The CPU spans the passes and the RSS reads between them, which cost
	// Envoy nothing.
	meter := cpuMeter{pid: t.pid, hz: e.clockHz}
	cpu0, ok0 := meter.sample()
	for total.Sent < f.rssRequests && ctx.Err() == nil {
		if left() <= 0 {
			partial(fmt.Sprintf("the cap of %v was reached after %d of %d requests", f.rssCap, total.Sent, f.rssRequests))
			break
		}
		lr, err := load(min(len(tokens), f.rssRequests-total.Sent))
		if err != nil {
			res.Problem = err.Error()
			return res
		}
		mergeLoad(total, lr)
		sample(total.Sent)
		now := m.Samples[len(m.Samples)-1].RSSMiB
		progress("%s: %d/%d requests, %.0f rps, %d authorizer calls so far, RSS %.1f MiB (%+.1f%% since warm-up), %.0fs of %v cap",
			sc.id, total.Sent, f.rssRequests, lr.RPS(), cnt.authorizer.Load()-authz0, now,
			growthPct(m.RSSAfterWarmupMiB, now), time.Since(began).Seconds(), f.rssCap)
		if lr.Broken() {
			break
		}
		if lr.TimedOut {
			partial(fmt.Sprintf("the cap of %v was reached after %d of %d requests", f.rssCap, total.Sent, f.rssRequests))
			break
		}
	}
	cpu1, ok1 := meter.sample()
	quiesce(cnt)
	m.Sent = total.Sent
	m.AuthorizerCalls = cnt.authorizer.Load() - authz0
	m.FilterStats = filterStats(ctx, t)
	sample(total.Sent)
	m.RSSAfterMiB = m.Samples[len(m.Samples)-1].RSSMiB
	m.GrowthPct = growthPct(m.RSSAfterWarmupMiB, m.RSSAfterMiB)
	res.RSSMiB = m.RSSAfterMiB
	if total.Sent > 0 {
		r := runResult(total, m.AuthorizerCalls, cnt.upstream.Load()-up0, cnt.withPrincipal.Load()-pr0)
		r.Problem = judge(sc, total, &r, f.stall)
		meter.perRequest(&r, cpu0, cpu1, ok0, ok1, total.Sent-total.Errors)
		res.Runs = append(res.Runs, r)
	}
	progress("%s: RSS %.1f MiB after warm-up, %.1f MiB after %d more requests: %+.2f%%%s; %d authorizer calls; %s", sc.id,
		m.RSSAfterWarmupMiB, m.RSSAfterMiB, m.Sent, m.GrowthPct, map[bool]string{true: " (PARTIAL)"}[m.Partial],
		m.AuthorizerCalls, fmtStats(m.FilterStats))
	return res
}

// growthPct is the growth from before to after, in percent.
func growthPct(before, after float64) float64 {
	if before <= 0 {
		return 0
	}
	return (after - before) / before * 100
}
