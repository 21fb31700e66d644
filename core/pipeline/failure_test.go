package pipeline

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// envoyLocal is an answer Envoy makes up for a callout it could not
// complete, as Envoy 1.40 sends it (the bodies were read from its
// callouts to a closed port, a server that closed the connection, and one
// that never answered).
func envoyLocal(status int, body string) Response {
	return Response{Status: status, Body: []byte(body), Headers: []Header{{Name: "content-type", Value: "text/plain"}}}
}

func TestResponseFailed(t *testing.T) {
	tests := []struct {
		name       string
		resp       Response
		want       Cause
		wantDetail string
	}{
		{"envoy refused", envoyLocal(503, ResetBodyPrefix+"remote connection failure"), CauseRefused, "remote connection failure"},
		{"envoy refused with transport reason", envoyLocal(503, ResetBodyPrefix+"remote connection failure, transport failure reason: delayed connect error: Connection refused"),
			CauseRefused, "remote connection failure, transport failure reason: delayed connect error: Connection refused"},
		{"envoy older wording", envoyLocal(503, ResetBodyPrefix+"connection failure"), CauseRefused, "connection failure"},
		{"envoy connect timeout", envoyLocal(503, ResetBodyPrefix+"connection timeout"), CauseRefused, "connection timeout"},
		{"envoy closed before headers", envoyLocal(503, ResetBodyPrefix+"connection termination"), CauseReset, "connection termination"},
		{"envoy remote reset", envoyLocal(503, ResetBodyPrefix+"remote reset"), CauseReset, "remote reset"},
		{"envoy no healthy host", envoyLocal(503, "no healthy upstream"), CauseRefused, "no healthy upstream"},
		{"envoy timeout", envoyLocal(504, "upstream request timeout"), CauseTimeout, ""},
		{"broke off after the headers", Response{}, CauseReset, ""},
		{"embedding says timeout", Response{Cause: CauseTimeout}, CauseTimeout, ""},
		{"embedding says refused", Response{Cause: CauseRefused, Detail: "connect: connection refused"}, CauseRefused, "connect: connection refused"},
		{"authorizer's own 503", envoyLocal(503, `{"message":"maintenance"}`), CauseNone, ""},
		{"authorizer's own 504", envoyLocal(504, "gateway timeout"), CauseNone, ""},
		{"authorizer's 500", Response{Status: 500, Body: []byte(ResetBodyPrefix + "x")}, CauseNone, ""},
		{"a 200 is an answer", Response{Status: 200, Body: []byte("upstream request timeout")}, CauseNone, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, detail := tt.resp.Failed()
			if got != tt.want || detail != tt.wantDetail {
				t.Errorf("Failed() = %v, %q; want %v, %q", got, detail, tt.want, tt.wantDetail)
			}
		})
	}
}

// TestResumeCauses: every way an authorizer call fails answers 500, says
// why in the reason and counts error plus the cause's counter.
func TestResumeCauses(t *testing.T) {
	tests := []struct {
		name       string
		resp       Response
		wantCause  Cause
		wantReason string
	}{
		{"refused in envoy", envoyLocal(503, ResetBodyPrefix+"remote connection failure"), CauseRefused, "authorizer call refused: remote connection failure"},
		{"refused natively", Response{Cause: CauseRefused, Detail: "dial tcp 127.0.0.1:9: connect: connection refused"}, CauseRefused,
			"authorizer call refused: dial tcp 127.0.0.1:9: connect: connection refused"},
		{"reset in envoy", envoyLocal(503, ResetBodyPrefix+"connection termination"), CauseReset, "authorizer call reset: connection termination"},
		{"reset without words", Response{}, CauseReset, "authorizer call reset"},
		{"timeout in envoy", envoyLocal(504, TimeoutBody), CauseTimeout, "authorizer call timed out after 500ms"},
		{"timeout natively", Response{Cause: CauseTimeout}, CauseTimeout, "authorizer call timed out after 500ms"},
		{"authorizer's 503", Response{Status: 503, Body: []byte("down for maintenance")}, CauseStatus, "authorizer answered status 503"},
		{"authorizer's 403", Response{Status: 403}, CauseStatus, "authorizer answered status 403"},
		{"a redirect", Response{Status: 302, Headers: []Header{{Name: "location", Value: "/login"}}}, CauseStatus, "authorizer answered status 302"},
		{"not JSON", Response{Status: 200, Body: []byte("<html>")}, CauseMalformed, "invalid authorizer response: "},
		{"no policy", Response{Status: 200, Body: []byte(`{"principalId":"a"}`)}, CauseMalformed, "invalid authorizer response: "},
		{"a principal that cannot be a header", policyResponse("a\nb", "Allow", []string{"*"}, nil), CauseMalformed, "principalId: not a valid header value"},
		// Refused before the answer is read, or before a recursive parser
		// sees it: each is malformed, and the reason names the limit.
		{"larger than maxResponseBytes, unread", Response{Status: 200, BodySize: 1<<20 + 1}, CauseMalformed,
			"authorizer answer larger than maxResponseBytes (1048576)"},
		{"larger than maxResponseBytes, read", Response{Status: 200, Body: []byte(strings.Repeat(" ", 1<<20) + "{}")}, CauseMalformed,
			"authorizer answer larger than maxResponseBytes (1048576)"},
		{"a 401 larger than maxResponseBytes", Response{Status: 401, BodySize: 5 << 20}, CauseMalformed,
			"authorizer answer larger than maxResponseBytes (1048576)"},
		{"gzip", Response{Status: 200, Headers: []Header{{Name: "content-encoding", Value: "gzip"}}, Body: allowAll.Body}, CauseMalformed,
			`authorizer answer has content-encoding "gzip"; only identity is read`},
		{"nested too deep", Response{Status: 200, Body: []byte(`{"principalId":"a","x":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`)},
			CauseMalformed, "invalid authorizer response: response: nested deeper than 32 levels"},
		{"not UTF-8", Response{Status: 200, Body: []byte("{\"principalId\":\"\xff\"}")}, CauseMalformed,
			"invalid authorizer response: response: not valid UTF-8"},
		// The status decides first: an oversized error page is a status.
		{"a 503 larger than maxResponseBytes", Response{Status: 503, BodySize: 5 << 20}, CauseStatus, "authorizer answered status 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPipeline(t)
			call := p.Evaluate(&Request{Method: "GET", Target: "/pets", Headers: bearer("tok")}, t0)
			if call.Kind != KindCall {
				t.Fatalf("evaluate: %v", call.Kind)
			}
			r := p.Resume(call.Call, tt.resp, t0)
			if r.Status != 500 || r.Decision != DecisionError || r.Cause != tt.wantCause || !strings.HasPrefix(r.Reason, tt.wantReason) {
				t.Errorf("got %d %s cause %v reason %q; want 500 ERROR cause %v reason starting %q",
					r.Status, r.Decision, r.Cause, r.Reason, tt.wantCause, tt.wantReason)
			}
			want := []string{MetricError, MetricError + "_" + tt.wantCause.String(), MetricCacheMiss}
			if got := Counters(r); !slices.Equal(got, want) {
				t.Errorf("counters %v, want %v", got, want)
			}
			if p.CacheLen() != 0 {
				t.Errorf("a failure was cached")
			}
		})
	}
}

// TestCauseOnlyForErrors: only a failed call's 500 carries a cause; a
// stale result served for it, and every other decision, counts none.
func TestCauseOnlyForErrors(t *testing.T) {
	p := newModesPipeline(t, nil)
	req := &Request{Method: "GET", Target: "/stale", Headers: bearer("t")}
	p.Resume(p.Evaluate(req, t0).Call, allowAll, t0)
	later := t0.Add(time.Minute)
	r := p.Resume(p.Evaluate(req, later).Call, envoyLocal(503, ResetBodyPrefix+"remote connection failure"), later)
	if r.Decision != DecisionAllow || r.Cause != CauseNone || r.CacheState != CacheStale {
		t.Fatalf("stale: %s cause %v cache %v", r.Decision, r.Cause, r.CacheState)
	}
	if !strings.HasSuffix(r.Reason, "cached result served: authorizer call refused: remote connection failure") {
		t.Errorf("stale reason %q", r.Reason)
	}
	if got := Counters(r); !slices.Equal(got, []string{MetricAllow, MetricStaleServed}) {
		t.Errorf("stale counters %v", got)
	}
}

// FuzzResponseFailed: only Envoy's own 503 and 504 answers and status 0
// are failures, and status 0 always is.
func FuzzResponseFailed(f *testing.F) {
	f.Add(503, ResetBodyPrefix+"remote connection failure", uint8(0))
	f.Add(504, TimeoutBody, uint8(0))
	f.Add(0, "", uint8(3))
	f.Add(200, "{}", uint8(1))
	f.Fuzz(func(t *testing.T, status int, body string, cause uint8) {
		r := Response{Status: status, Body: []byte(body), Cause: Cause(cause % uint8(CauseStatus))} // what an embedding reports
		got, _ := r.Failed()
		switch {
		case status == 0 && got == CauseNone:
			t.Errorf("status 0 is not a failure")
		case status != 0 && status != 503 && status != 504 && got != CauseNone:
			t.Errorf("status %d is a failure %v", status, got)
		case got == CauseStatus || got == CauseMalformed:
			t.Errorf("Failed gave %v, which only reading an answer finds", got)
		}
	})
}
