package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/authgate/authgate/e2e/internal/authz"
	"github.com/authgate/authgate/examples/envoy/envoyrun"
)

// statNaming is where Envoy shows authgate's metrics. A proxy-wasm
// filter's (proxy_define_metric) are in the admin /stats as "wasmcustom."
// + the name the filter gave (authgate.<authorizer>.<suffix>), and in
// /stats/prometheus without that prefix, dots turned into underscores and
// no "envoy_" prefix (authgate_<authorizer>_<suffix>). A dynamic module's
// are under its metrics namespace, "dynamicmodulescustom." by default, in
// both, and Prometheus names keep "envoy_".
type statNaming struct {
	stats string // prefix in /stats
	prom  string // prefix in /stats/prometheus
}

var (
	wasmStats   = statNaming{stats: "wasmcustom.", prom: ""}
	moduleStats = statNaming{stats: "dynamicmodulescustom.", prom: "envoy_dynamicmodulescustom_"}
)

// adminGet reads one admin endpoint.
func adminGet(admin, path string) (string, error) {
	resp, err := http.Get(admin + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("admin %s: status %d: %s", path, resp.StatusCode, b)
	}
	return string(b), nil
}

// envoyCounters reads the filter's counters from /stats ("name: value"
// lines), by the name the filter defined.
func envoyCounters(t *testing.T, admin string, n statNaming) map[string]int64 {
	t.Helper()
	text, err := adminGet(admin, "/stats?filter=^"+strings.ReplaceAll(n.stats, ".", "%5C.")+"authgate%5C.")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ": ")
		if !ok || !strings.HasPrefix(name, n.stats) {
			continue
		}
		if v, err := strconv.ParseInt(val, 10, 64); err == nil {
			out[strings.TrimPrefix(name, n.stats)] = v
		}
	}
	return out
}

// envoyPrometheus reads the filter's counters from /stats/prometheus
// ("name{} value" lines), by their Prometheus name without n's prefix.
func envoyPrometheus(t *testing.T, admin string, n statNaming) map[string]int64 {
	t.Helper()
	text, err := adminGet(admin, "/stats/prometheus")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, n.prom+"authgate_") {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if v, err := strconv.ParseInt(val, 10, 64); err == nil {
			out[strings.TrimPrefix(name, n.prom)] = v
		}
	}
	return out
}

// checkEnvoyStats sends a known sequence of requests on one connection
// (so one worker, one VM) and checks the filter's counters moved by
// exactly that much, in /stats and in /stats/prometheus.
func checkEnvoyStats(t *testing.T, e *envoyrun.Envoy, base string, n statNaming) {
	if e == nil || e.AdminURL() == "" {
		t.Fatal("no Envoy admin address")
	}
	client := newClient(t, protocols[0], true)
	before := envoyCounters(t, e.AdminURL(), n)
	if len(before) == 0 {
		t.Fatalf("no %sauthgate.* counters in /stats", n.stats)
	}
	promBefore := envoyPrometheus(t, e.AdminURL(), n)
	steps := []struct {
		path, token string
		status      int
	}{
		{"/a/1", bearer(authz.Allow, "stats1"), 200}, // miss
		{"/a/2", bearer(authz.Allow, "stats1"), 200}, // hit
		{"/a/3", bearer(authz.Allow, "stats1"), 200}, // hit
		{"/a/1", bearer(authz.Deny, "stats2"), 403},  // miss, deny
		{"/a/1", "", 401},     // no identity: unauthorized, no cache
		{"/nowhere", "", 403}, // no route
		// A method ARN past 1600 bytes on an authorized route: 414,
		// counted under the route's authorizer, which every embedding
		// defines up front (a dynamic module can define nothing later).
		{"/a/" + strings.Repeat("x", 1700), bearer(authz.Allow, "stats1"), 414},
	}
	for i, s := range steps {
		req := get(s.path)
		if s.token != "" {
			req = get(s.path, auth(s.token))
		}
		r, err := send(client, base, req)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if r.status != s.status {
			t.Fatalf("step %d: status %d, want %d (%s)", i, r.status, s.status, r.body)
		}
	}
	after := envoyCounters(t, e.AdminURL(), n)
	promAfter := envoyPrometheus(t, e.AdminURL(), n)
	want := map[string]int64{
		"authgate.a.allow":        3,
		"authgate.a.cache_miss":   2,
		"authgate.a.cache_hit":    2,
		"authgate.a.deny":         1,
		"authgate.a.unauthorized": 1,
		"authgate.a.bad_request":  1,
		"authgate.a.error":        0,
		"authgate.a.timeout":      0,
		"authgate.a.shared_hit":   0,
		"authgate.NONE.no_route":  1,
		"authgate.b.allow":        0,
	}
	for name, delta := range want {
		a, ok := after[name]
		if !ok {
			t.Errorf("/stats has no %s%s", n.stats, name)
			continue
		}
		if got := a - before[name]; got != delta {
			t.Errorf("%s%s moved by %d, want %d", n.stats, name, got, delta)
		}
		prom := strings.ReplaceAll(name, ".", "_") + "{}"
		pa, ok := promAfter[prom]
		if !ok {
			t.Errorf("/stats/prometheus has no %s", prom)
			continue
		}
		if got := pa - promBefore[prom]; got != delta {
			t.Errorf("prometheus %s moved by %d, want %d", prom, got, delta)
		}
	}
	t.Logf("filter stats after the run: %v", after)
}
