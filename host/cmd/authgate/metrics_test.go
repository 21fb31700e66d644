package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/pipeline"
	"github.com/authgate/authgate/core/stats"
	"github.com/authgate/authgate/host/native"
)

func TestPromName(t *testing.T) {
	tests := []struct {
		name, in, family, authorizer string
	}{
		{"authorizer counter", "authgate.jwt.allow", "authgate_allow", "jwt"},
		{"dotted authorizer", "authgate.a.b.cache_hit", "authgate_cache_hit", "a.b"},
		{"no route", "authgate.NONE.no_route", "authgate_no_route", "NONE"},
		{"foreign name", "my-metric.x", "my_metric_x", ""},
		{"leading digit", "9lives", "_lives", ""},
		{"prefix only", "authgate.allow", "authgate_allow", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, a := promName(tt.in)
			if f != tt.family || a != tt.authorizer {
				t.Fatalf("promName(%q) = %q, %q, want %q, %q", tt.in, f, a, tt.family, tt.authorizer)
			}
		})
	}
}

type fakeSource snapshot

func (f fakeSource) snapshot() snapshot { return snapshot(f) }

func TestAdminHandler(t *testing.T) {
	var h stats.Histogram
	h.Record(3)
	h.Record(40)
	src := fakeSource{
		counters: map[string]float64{"authgate.jwt.allow": 5, "authgate.keys.allow": 1, "other": 2},
		gauges:   map[string]float64{"authgate.jwt.inflight": -1},
		hists:    map[string]stats.Histogram{"authgate.jwt.authorizer_latency_ms": h},
	}
	var ready atomic.Bool
	ready.Store(true)
	srv := httptest.NewServer(adminHandler(src, &ready))
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_, body := get("/metrics")
	for _, want := range []string{
		"# TYPE authgate_allow_total counter\n" +
			`authgate_allow_total{authorizer="jwt"} 5` + "\n" +
			`authgate_allow_total{authorizer="keys"} 1` + "\n",
		"# TYPE authgate_inflight gauge\n" + `authgate_inflight{authorizer="jwt"} -1` + "\n",
		"# TYPE other_total counter\nother_total 2\n",
		`authgate_authorizer_latency_ms_bucket{authorizer="jwt",le="1"} 0` + "\n" +
			`authgate_authorizer_latency_ms_bucket{authorizer="jwt",le="5"} 1` + "\n" +
			`authgate_authorizer_latency_ms_bucket{authorizer="jwt",le="10"} 1` + "\n" +
			`authgate_authorizer_latency_ms_bucket{authorizer="jwt",le="25"} 1` + "\n" +
			`authgate_authorizer_latency_ms_bucket{authorizer="jwt",le="50"} 2` + "\n",
		`authgate_authorizer_latency_ms_bucket{authorizer="jwt",le="+Inf"} 2` + "\n" +
			`authgate_authorizer_latency_ms_sum{authorizer="jwt"} 43` + "\n" +
			`authgate_authorizer_latency_ms_count{authorizer="jwt"} 2` + "\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks\n%s\nin\n%s", want, body)
		}
	}
	tests := []struct {
		name  string
		ready bool
		code  int
		body  string
	}{
		{"serving", true, 200, "LIVE\n"},
		{"draining", false, 503, "DRAINING\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready.Store(tt.ready)
			if code, body := get("/ready"); code != tt.code || body != tt.body {
				t.Fatalf("/ready = %d %q, want %d %q", code, body, tt.code, tt.body)
			}
		})
	}
}

// FuzzPromName checks that any name a guest defines becomes a valid
// Prometheus metric name, and that authgate names keep their authorizer.
func FuzzPromName(f *testing.F) {
	for _, s := range []string{"authgate.jwt.allow", "authgate.a.b.c", "authgate.", "9x", "", "é.ü", "authgate..x"} {
		f.Add(s)
	}
	valid := regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	f.Fuzz(func(t *testing.T, name string) {
		family, authz := promName(name)
		if name != "" && !valid.MatchString(family) {
			t.Fatalf("promName(%q) = %q: not a valid metric name", name, family)
		}
		if rest, ok := strings.CutPrefix(name, "authgate."+authz+"."); authz != "" && (!ok || strings.Contains(rest, ".")) {
			t.Fatalf("promName(%q) = %q, %q: not the authorizer part of the name", name, family, authz)
		}
	})
}

// TestMetricsConventions scrapes what the native engine exports for a
// plan and checks Prometheus's conventions on every family: HELP that
// says what it counts, TYPE, counters named _total, histograms as
// _bucket (up to +Inf), _sum and _count, every sample labelled with its
// authorizer.
func TestMetricsConventions(t *testing.T) {
	plan, err := config.Parse([]byte(`{"region":"us-east-1","accountId":"123456789012","restApiId":"a1b2c3d4e5","stage":"prod",
	 "authorizers":{"jwt":{"type":"TOKEN","cluster":"c"}},"routes":[{"method":"ANY","path":"/a","authorizer":"jwt"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	mw, err := native.New(plan, native.Options{Clusters: map[string]string{"c": "http://127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	var ready atomic.Bool
	srv := httptest.NewServer(adminHandler(nativeEngine{mw}, &ready))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	help, typ := map[string]string{}, map[string]string{}
	sample := regexp.MustCompile(`^([a-zA-Z_][a-zA-Z0-9_]*)\{authorizer="[^"]+"(,le="[^"]+")?\} [0-9.e+]+$`)
	samples := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(body)), "\n") {
		switch {
		case strings.HasPrefix(line, "# HELP "):
			name, text, _ := strings.Cut(strings.TrimPrefix(line, "# HELP "), " ")
			help[name] = text
		case strings.HasPrefix(line, "# TYPE "):
			name, kind, _ := strings.Cut(strings.TrimPrefix(line, "# TYPE "), " ")
			typ[name] = kind
		default:
			m := sample.FindStringSubmatch(line)
			if m == nil {
				t.Errorf("sample %q: not a name{authorizer=...} value line", line)
				continue
			}
			samples[m[1]]++
		}
	}
	for name, kind := range typ {
		if h := help[name]; len(h) < 30 || strings.Contains(h, "defined") {
			t.Errorf("%s: HELP %q says nothing about what it counts", name, h)
		}
		switch kind {
		case "counter":
			if !strings.HasSuffix(name, "_total") || samples[name] == 0 {
				t.Errorf("counter %s: want a _total name and samples (%d)", name, samples[name])
			}
		case "histogram":
			if samples[name+"_bucket"] != 20 || samples[name+"_sum"] != 1 || samples[name+"_count"] != 1 {
				t.Errorf("histogram %s: %d buckets, %d sums, %d counts; want 20 (Envoy's 19 bounds and +Inf), 1, 1",
					name, samples[name+"_bucket"], samples[name+"_sum"], samples[name+"_count"])
			}
		default:
			t.Errorf("%s: type %s", name, kind)
		}
	}
	for _, m := range pipeline.PlanMetrics(plan) {
		want, kind := "authgate_"+m.Suffix+"_total", "counter"
		if m.Histogram {
			want, kind = "authgate_"+m.Suffix, "histogram"
		}
		if typ[want] != kind {
			t.Errorf("/metrics has %s as %q, want %s", want, typ[want], kind)
		}
	}
}
