package plugin

import (
	"slices"
	"strings"
	"testing"

	"github.com/authgate/authgate/core/pipeline"
	"github.com/authgate/authgate/filter/abi"
)

// TestLogDecisions: with logDecisions the final decision lines come at
// info level, where Envoy writes them by default; the pending line stays
// at debug, and an authorizer failure is a warning either way.
func TestLogDecisions(t *testing.T) {
	withLog := strings.Replace(testConfig, `"stage": "prod",`, `"stage": "prod", "logDecisions": true,`, 1)
	if withLog == testConfig {
		t.Fatal("the test configuration changed: no stage to add logDecisions after")
	}
	tests := []struct {
		name      string
		cfg       string
		wantInfo  []string
		wantDebug []string
	}{
		{
			name: "off: decisions at debug", cfg: testConfig,
			wantDebug: []string{
				`method=GET path=/health route=/health authorizer=- cache=- decision=NONE status=200 ctx=2`,
				`method=GET path=/pets/1 route=/pets/{id} authorizer=tok cache=miss decision=PENDING ctx=3 callout=1`,
				`method=GET path=/pets/1 route=/pets/{id} authorizer=tok cache=miss decision=ALLOW status=200 ctx=3`,
			},
		},
		{
			name: "on: final decisions at info", cfg: withLog,
			wantInfo: []string{
				`method=GET path=/health route=/health authorizer=- cache=- decision=NONE status=200 ctx=2`,
				`method=GET path=/pets/1 route=/pets/{id} authorizer=tok cache=miss decision=ALLOW status=200 ctx=3`,
			},
			wantDebug: []string{
				`method=GET path=/pets/1 route=/pets/{id} authorizer=tok cache=miss decision=PENDING ctx=3 callout=1`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnvWith(t, tt.cfg)
			e.request(2, "GET", "/health")
			e.request(3, "GET", "/pets/1", bearer("abc"))
			e.answer(e.h.Callouts[0].ID, 200, policy("Allow", nil))
			e.request(4, "GET", "/pets/1", bearer("bad"))
			e.answer(e.h.Callouts[1].ID, 0, "")
			info := decisionLines(e.h.LogsAt(abi.LogInfo))
			debug := decisionLines(e.h.LogsAt(abi.LogDebug))
			if !slices.Equal(info, tt.wantInfo) {
				t.Errorf("info lines\n got %q\nwant %q", info, tt.wantInfo)
			}
			if !slices.Equal(debug[:min(len(debug), len(tt.wantDebug))], tt.wantDebug) {
				t.Errorf("debug lines\n got %q\nwant %q first", debug, tt.wantDebug)
			}
			warn := e.h.LogsAt(abi.LogWarn)
			want := `method=GET path=/pets/1 route=/pets/{id} authorizer=tok cache=miss decision=ERROR status=500 reason="authorizer call reset" ctx=4`
			if !slices.Contains(warn, want) {
				t.Errorf("warnings %q lack %q", warn, want)
			}
		})
	}
}

// decisionLines keeps the lines hosts read as decisions.
func decisionLines(lines []string) []string {
	var out []string
	for _, l := range lines {
		if _, ok := pipeline.ParseText(l); ok {
			out = append(out, l)
		}
	}
	return out
}

// TestCoalescedDecision: a request that waited for another's callout says
// so in its line.
func TestCoalescedDecision(t *testing.T) {
	e := newEnv(t)
	e.request(2, "GET", "/pets/1", bearer("abc"))
	e.request(3, "GET", "/pets/2", bearer("abc"))
	e.answer(e.h.Callouts[0].ID, 200, policy("Allow", nil))
	want := []string{
		`method=GET path=/pets/1 route=/pets/{id} authorizer=tok cache=miss decision=ALLOW status=200 ctx=2`,
		`method=GET path=/pets/2 route=/pets/{id} authorizer=tok cache=coalesced decision=ALLOW status=200 ctx=3`,
	}
	var got []string
	for _, l := range decisionLines(e.h.LogsAt(abi.LogDebug)) {
		if !strings.Contains(l, "PENDING") {
			got = append(got, l)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("lines\n got %q\nwant %q", got, want)
	}
}

// TestErrorCauses: the filter tells Envoy's reports of a refused, reset
// or timed-out callout, and the authorizer's bad answers, apart in the
// warning line and in the counters.
func TestErrorCauses(t *testing.T) {
	tests := []struct {
		name       string
		status     int // 0: a failure without headers
		body       string
		wantReason string
		wantCount  []string // counters that moved, besides cache_miss
	}{
		{"refused", 503, pipeline.ResetBodyPrefix + "remote connection failure", `"authorizer call refused: remote connection failure"`,
			[]string{"error", "error_refused"}},
		{"closed before headers", 503, pipeline.ResetBodyPrefix + "connection termination", `"authorizer call reset: connection termination"`,
			[]string{"error", "error_reset"}},
		{"broke off after headers", 0, "", `"authorizer call reset"`, []string{"error", "error_reset"}},
		{"timeout", 504, "upstream request timeout", `"authorizer call timed out after 500ms"`, []string{"error", "error_timeout", "timeout"}},
		{"authorizer's 503", 503, `{"message":"down"}`, `"authorizer answered status 503"`, []string{"error", "error_status"}},
		{"authorizer's garbage", 200, `<html>`, `"invalid authorizer response: `, []string{"error", "error_malformed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.request(2, "GET", "/pets/1", bearer("abc"))
			e.answer(e.h.Callouts[0].ID, tt.status, tt.body)
			if s := e.h.Streams[2]; len(s.Local) != 1 || s.Local[0].Status != 500 {
				t.Fatalf("answer %+v, want 500", s.Local)
			}
			warn := strings.Join(e.h.LogsAt(abi.LogWarn), "\n")
			if !strings.Contains(warn, "decision=ERROR status=500 reason="+tt.wantReason) {
				t.Errorf("warnings %q lack reason %s", warn, tt.wantReason)
			}
			var moved []string
			for _, m := range e.h.Store.Metrics() {
				name, ok := strings.CutPrefix(m.Name, "authgate.tok.")
				if ok && m.Value != 0 && name != "cache_miss" && name != "authorizer_latency_ms" {
					moved = append(moved, name)
				}
			}
			slices.Sort(moved)
			if !slices.Equal(moved, tt.wantCount) {
				t.Errorf("counters moved %q, want %q", moved, tt.wantCount)
			}
		})
	}
}
