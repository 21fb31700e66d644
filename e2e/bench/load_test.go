package main

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	// Every bucket's range must start right after the previous one ends,
	// and every value must land in the bucket whose range holds it.
	var next int64
	for i := 0; i < bucketOf(int64(time.Hour))+1; i++ {
		low, width := bucketRange(i)
		if low != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, low, next)
		}
		for _, v := range []int64{low, low + width - 1} {
			if got := bucketOf(v); got != i {
				t.Fatalf("bucketOf(%d) = %d, want %d", v, got, i)
			}
		}
		next = low + width
	}
	if got := bucketOf(1<<63 - 1); got >= histBuckets {
		t.Fatalf("bucketOf(max int64) = %d, beyond %d buckets", got, histBuckets)
	}
}

func TestQuantile(t *testing.T) {
	tests := []struct {
		name   string
		values []time.Duration
		q      float64
		want   time.Duration
		tol    float64 // relative
	}{
		{name: "empty", q: 0.5, want: 0},
		{name: "one value", values: []time.Duration{100}, q: 0.99, want: 100},
		{name: "median of 1..1000us", values: seq(1000, time.Microsecond), q: 0.5, want: 500 * time.Microsecond, tol: 1.0 / 64},
		{name: "p99 of 1..1000us", values: seq(1000, time.Microsecond), q: 0.99, want: 990 * time.Microsecond, tol: 1.0 / 64},
		{name: "p100 is max", values: seq(1000, time.Microsecond), q: 1, want: 1000 * time.Microsecond, tol: 1.0 / 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			for _, v := range tt.values {
				h.Record(v)
			}
			got := h.Quantile(tt.q)
			diff := float64(got - tt.want)
			if diff < 0 {
				diff = -diff
			}
			if diff > tt.tol*float64(tt.want) {
				t.Errorf("Quantile(%v) = %v, want %v (±%.1f%%)", tt.q, got, tt.want, tt.tol*100)
			}
		})
	}
}

func seq(n int, unit time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * unit
	}
	return out
}

func TestRunLoad(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := served.Add(1)
		if r.Header.Get("X-Worker") == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if r.URL.Path == "/flaky" && n%10 == 0 {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	header := func(w int) http.Header { return http.Header{"X-Worker": {string(rune('a' + w))}} }

	tests := []struct {
		name       string
		path       string
		header     func(int) http.Header
		requests   int
		wantOK     int
		wantNon200 int
	}{
		{name: "all 200", path: "/", header: header, requests: 500, wantOK: 500},
		{name: "every tenth 403", path: "/flaky", header: header, requests: 500, wantOK: 450, wantNon200: 50},
		{name: "no header: all 400", path: "/", requests: 100, wantNon200: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			served.Store(0)
			res, err := RunLoad(context.Background(), LoadConfig{
				URL: srv.URL + tt.path, Concurrency: 8, Requests: tt.requests, MaxDuration: 30 * time.Second, Header: tt.header,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Sent != tt.requests || res.OK != tt.wantOK || res.Non200 != tt.wantNon200 || res.Errors != 0 {
				t.Errorf("sent %d ok %d non200 %d errors %d, want %d %d %d 0", res.Sent, res.OK, res.Non200, res.Errors, tt.requests, tt.wantOK, tt.wantNon200)
			}
			if got := served.Load(); got != int64(tt.requests) {
				t.Errorf("server saw %d requests, want exactly %d", got, tt.requests)
			}
			if res.Broken() != (tt.wantNon200 > 0) {
				t.Errorf("Broken() = %v with %d non-200 answers", res.Broken(), res.Non200)
			}
			if res.Latency.Count() != uint64(tt.requests) {
				t.Errorf("histogram holds %d values, want %d", res.Latency.Count(), tt.requests)
			}
		})
	}
}

func TestRunLoadTimeBound(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
	}))
	defer srv.Close()
	began := time.Now()
	res, err := RunLoad(context.Background(), LoadConfig{URL: srv.URL, Concurrency: 4, Requests: 1_000_000, MaxDuration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("run took %v, want it cut near 300ms", took)
	}
	if !res.TimedOut || res.Sent == 0 || res.Sent > 100 {
		t.Errorf("TimedOut %v, sent %d: want a timed-out run of a few dozen requests", res.TimedOut, res.Sent)
	}
	if res.Cut < 1 || res.Cut > 4 {
		t.Errorf("Cut = %d, want 1..4: the workers were all waiting on the slow server when time ran out", res.Cut)
	}
	if res.Errors != 0 {
		t.Errorf("%d errors: requests cut by the time bound must not count as failures (%s)", res.Errors, res.FirstProblem)
	}
}

func TestRunLoadTokens(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[strings.Join(r.Header.Values("Authorization"), ",")]++
		mu.Unlock()
	}))
	defer srv.Close()

	tests := []struct {
		name     string
		tokens   []string
		requests int
		want     map[string]int
	}{
		{name: "every token equally", tokens: []string{"a", "b", "c", "d"}, requests: 400,
			want: map[string]int{"a": 100, "b": 100, "c": 100, "d": 100}},
		{name: "remainder to the first tokens", tokens: []string{"a", "b", "c"}, requests: 7,
			want: map[string]int{"a": 3, "b": 2, "c": 2}},
		{name: "more tokens than requests", tokens: []string{"a", "b", "c", "d", "e"}, requests: 2,
			want: map[string]int{"a": 1, "b": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			clear(seen)
			mu.Unlock()
			res, err := RunLoad(context.Background(), LoadConfig{
				URL: srv.URL, Concurrency: 3, Requests: tt.requests, MaxDuration: 30 * time.Second,
				Tokens: tt.tokens, TokenHeader: "authorization",
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.OK != tt.requests {
				t.Fatalf("ok %d of %d (%s)", res.OK, tt.requests, res.FirstProblem)
			}
			mu.Lock()
			defer mu.Unlock()
			if !maps.Equal(seen, tt.want) {
				t.Errorf("requests per token %v, want %v", seen, tt.want)
			}
		})
	}
}

func TestRunLoadTokensNeedHeader(t *testing.T) {
	_, err := RunLoad(context.Background(), LoadConfig{URL: "http://127.0.0.1:1", Concurrency: 1, Requests: 1, MaxDuration: time.Second, Tokens: []string{"a"}})
	if err == nil {
		t.Fatal("RunLoad accepted tokens without a header name")
	}
}
