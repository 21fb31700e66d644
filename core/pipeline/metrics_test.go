package pipeline

import (
	"strings"
	"testing"

	"github.com/authgate/authgate/core/config"
)

func TestPlanMetrics(t *testing.T) {
	plan, err := config.Parse([]byte(`{"region":"us-east-1","accountId":"123456789012","restApiId":"a1b2c3d4e5","stage":"prod",
	 "authorizers":{"zeta":{"type":"TOKEN","cluster":"c"},"alpha":{"type":"TOKEN","cluster":"c"}},
	 "routes":[{"method":"ANY","path":"/a","authorizer":"alpha"},{"method":"ANY","path":"/z","authorizer":"zeta"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	counters := "allow,deny,unauthorized,error,bad_request,error_refused,error_reset,error_timeout,error_status,error_malformed,timeout,cache_hit,cache_miss,shared_hit,coalesced,stale_served"
	var want []string
	for _, a := range []string{"alpha", "zeta"} {
		for _, c := range strings.Split(counters, ",") {
			want = append(want, "counter authgate."+a+"."+c)
		}
		want = append(want, "histogram authgate."+a+".authorizer_latency_ms")
	}
	for _, c := range []string{"allow", "error", "no_route", "bad_request"} {
		want = append(want, "counter authgate.NONE."+c)
	}
	var got []string
	for _, m := range PlanMetrics(plan) {
		kind := "counter"
		if m.Histogram {
			kind = "histogram"
		}
		got = append(got, kind+" "+m.Name())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("metrics\n got %q\nwant %q", got, want)
	}
}

// TestMetricHelp: every metric an embedding defines is described.
func TestMetricHelp(t *testing.T) {
	plan, err := config.Parse([]byte(`{"region":"us-east-1","accountId":"123456789012","restApiId":"a1b2c3d4e5","stage":"prod",
	 "authorizers":{"a":{"type":"TOKEN","cluster":"c"}},"routes":[{"method":"ANY","path":"/a","authorizer":"a"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range PlanMetrics(plan) {
		if h := MetricHelp(m.Suffix); len(h) < 20 || !strings.HasSuffix(h, ".") {
			t.Errorf("%s: help %q", m.Suffix, h)
		}
	}
	if MetricHelp("nonsense") != "" {
		t.Errorf("help for an unknown suffix")
	}
}
