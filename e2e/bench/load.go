package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// LoadConfig is one closed-loop run: Concurrency workers each send a
// request, wait for the whole answer and send the next, until Requests have
// been sent or MaxDuration has passed, whichever comes first.
type LoadConfig struct {
	URL         string
	Concurrency int
	Requests    int
	MaxDuration time.Duration
	// Header returns the headers worker w sends on every request; nil
	// sends none. It is called once per worker, before the clock starts.
	Header func(w int) http.Header
	// Tokens, when not empty, rotate through the requests: the n-th request
	// started (n from 0, over all workers) sends TokenHeader:
	// Tokens[n%len(Tokens)]. Round-robin rather than random choice, so that
	// a run of k*len(Tokens) requests uses every token exactly k times and
	// two requests with one token are never in flight together (a token
	// comes back only after len(Tokens)-Concurrency other requests).
	Tokens      []string
	TokenHeader string
}

// LoadResult is what one run measured.
type LoadResult struct {
	Sent     int           // requests whose answer (or error) came back
	OK       int           // answers with status 200
	Non200   int           // answers with another status
	Errors   int           // transport errors: no answer at all
	Elapsed  time.Duration // first request sent to last answer read
	TimedOut bool          // MaxDuration ended the run before Requests
	// Cut counts requests in flight when MaxDuration ended the run: the
	// gateway may still pass them on, so the upstream can see up to Cut
	// more requests than were answered. MaxCutWait is the longest any of
	// them had waited.
	Cut        int
	MaxCutWait time.Duration
	Latency    *Histogram // of every request, answered or not
	// FirstProblem describes the first non-200 or error, for the report.
	FirstProblem string
}

// RPS is answered requests per second.
func (r *LoadResult) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Sent-r.Errors) / r.Elapsed.Seconds()
}

// Broken reports whether any request failed: such a run measures a failure,
// not the gateway, and its rate must not be read as a result.
func (r *LoadResult) Broken() bool { return r.Non200 > 0 || r.Errors > 0 || r.Sent == 0 }

// newClient returns a keep-alive client with one connection per worker and
// no compression, so every request costs the gateway the same.
func newClient(concurrency int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        concurrency,
			MaxIdleConnsPerHost: concurrency,
			MaxConnsPerHost:     concurrency,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
		Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// RunLoad performs one run with a fresh client (so connections from an
// earlier run, or another target, never carry over).
func RunLoad(ctx context.Context, c LoadConfig) (*LoadResult, error) {
	if c.Concurrency <= 0 || c.Requests <= 0 || c.MaxDuration <= 0 {
		return nil, fmt.Errorf("load: concurrency, requests and max duration must be positive, got %d, %d, %v", c.Concurrency, c.Requests, c.MaxDuration)
	}
	client := newClient(c.Concurrency)
	defer client.CloseIdleConnections()
	type worker struct {
		hist                       Histogram
		sent, ok, non200, err, cut int
		maxCutWait                 time.Duration
		problem                    string
		header                     http.Header
	}
	workers := make([]worker, c.Concurrency)
	for i := range workers {
		if c.Header != nil {
			workers[i].header = c.Header(i)
		}
	}
	if len(c.Tokens) > 0 && c.TokenHeader == "" {
		return nil, errors.New("load: tokens given without a header to send them in")
	}
	tokenHeader := http.CanonicalHeaderKey(c.TokenHeader)
	var tickets atomic.Int64
	ctx, cancel := context.WithTimeout(ctx, c.MaxDuration)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for i := range workers {
		wg.Add(1)
		go func(w *worker) {
			defer wg.Done()
			for {
				ticket := tickets.Add(1)
				if ticket > int64(c.Requests) || ctx.Err() != nil {
					return
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
				if err != nil {
					w.err++
					w.problem = err.Error()
					return
				}
				for k, v := range w.header {
					req.Header[k] = v
				}
				if len(c.Tokens) > 0 {
					req.Header[tokenHeader] = []string{c.Tokens[(ticket-1)%int64(len(c.Tokens))]}
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				d := time.Since(t0)
				if err != nil && ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
					// Cut off by the time bound, not a failure of the target.
					w.cut++
					w.maxCutWait = max(w.maxCutWait, d)
					return
				}
				w.sent++
				w.hist.Record(d)
				switch {
				case err != nil:
					w.err++
					if w.problem == "" {
						w.problem = err.Error()
					}
				case resp.StatusCode == http.StatusOK:
					w.ok++
				default:
					w.non200++
					if w.problem == "" {
						w.problem = "status " + resp.Status
					}
				}
			}
		}(&workers[i])
	}
	wg.Wait()
	res := &LoadResult{Elapsed: time.Since(start), Latency: &Histogram{}}
	res.TimedOut = ctx.Err() != nil && tickets.Load() <= int64(c.Requests)
	for i := range workers {
		w := &workers[i]
		res.Sent += w.sent
		res.OK += w.ok
		res.Non200 += w.non200
		res.Errors += w.err
		res.Cut += w.cut
		res.MaxCutWait = max(res.MaxCutWait, w.maxCutWait)
		res.Latency.Merge(&w.hist)
		if res.FirstProblem == "" {
			res.FirstProblem = w.problem
		}
	}
	return res, nil
}

// Histogram counts durations in log-linear buckets: exact below 128ns,
// then 64 buckets per power of two, so any quantile it reports is within
// 1/64 (1.6%) of the true value, in constant memory.
type Histogram struct {
	counts [histBuckets]uint64
	total  uint64
	max    time.Duration
}

const (
	histSubBits = 6
	histSub     = 1 << histSubBits // buckets per power of two
	histBuckets = 64 * histSub     // covers every int64
)

// bucketOf maps a duration in ns to its bucket. Below 2*histSub the value
// is its own bucket; above, the top histSubBits+1 bits pick it.
func bucketOf(ns int64) int {
	if ns < 0 {
		ns = 0
	}
	if ns < 2*histSub {
		return int(ns)
	}
	shift := bits.Len64(uint64(ns)) - (histSubBits + 1)
	return shift*histSub + int(ns>>shift)
}

// bucketRange is the smallest value of bucket i and its width.
func bucketRange(i int) (low, width int64) {
	if i < 2*histSub {
		return int64(i), 1
	}
	shift := i/histSub - 1
	m := int64(i%histSub + histSub)
	return m << shift, 1 << shift
}

// Record adds one duration.
func (h *Histogram) Record(d time.Duration) {
	h.counts[bucketOf(int64(d))]++
	h.total++
	if d > h.max {
		h.max = d
	}
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	if o.max > h.max {
		h.max = o.max
	}
}

// Count is the number of durations recorded.
func (h *Histogram) Count() uint64 { return h.total }

// Max is the largest duration recorded.
func (h *Histogram) Max() time.Duration { return h.max }

// Quantile returns the q-quantile (0 < q <= 1): the middle of the bucket
// holding the ceil(q*n)-th smallest duration, never above Max.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			low, width := bucketRange(i)
			v := time.Duration(low + width/2)
			if v > h.max {
				v = h.max
			}
			return v
		}
	}
	return h.max
}
