package gate_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/authgate/authgate/filter/module/abi"
	"github.com/authgate/authgate/filter/module/internal/gate"
)

// TestHostileAnswers delivers each hostile answer, then serves ordinary
// requests on the same worker: each hostile answer is a 500 at once, and
// one past maxResponseBytes is never copied out of Envoy (the module gets
// its size only, CalloutBodyLimit).
func TestHostileAnswers(t *testing.T) {
	tests := []struct {
		name     string
		headers  []gate.Header
		body     string
		bodySize int    // the size Envoy reports; 0: len(body)
		reason   string // the warning's reason
	}{
		{name: "deeply nested", body: `{"principalId":"p","x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`,
			reason: `"invalid authorizer response: response: nested deeper than 32 levels"`},
		{name: "larger than maxResponseBytes", bodySize: 15 << 20, reason: `"authorizer answer larger than maxResponseBytes (1048576)"`},
		{name: "gzip", headers: []gate.Header{{Name: "content-encoding", Value: "gzip"}}, body: policy("alice", "Allow"),
			reason: `"authorizer answer has content-encoding \"gzip\"; only identity is read"`},
		{name: "not UTF-8", body: strings.Replace(policy("alice", "Allow"), `"alice"`, "\"\xff\"", 1),
			reason: `"invalid authorizer response: response: not valid UTF-8"`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEnv(t, tokenConfig)
			s := v.stream(v.w, "GET", "/pets/1", "authorization", "Bearer hostile"+string(rune('a'+i)))
			v.headers(s)
			c := s.Callouts()[0]
			if !slices.Equal(header(c.Headers, "accept-encoding"), []string{"identity"}) {
				t.Errorf("callout headers %v, want accept-encoding identity", c.Headers)
			}
			if limit := s.Filter.CalloutBodyLimit(c.ID); limit != 1<<20 {
				t.Errorf("CalloutBodyLimit = %d, want 1 MiB", limit)
			}
			size := tt.bodySize
			if size == 0 {
				size = len(tt.body)
			}
			hs := append([]gate.Header{{Name: ":status", Value: "200"}}, tt.headers...)
			s.W.Do(func() { s.Filter.OnCalloutDone(s, c.ID, abi.CalloutSuccess, hs, []byte(tt.body), size) })
			s.W.Drain()
			if r := s.Responses(); len(r) != 1 || r[0].Status != 500 || r[0].Body != `{"message":null}` {
				t.Fatalf("responses %+v, want one 500", r)
			}
			// A malformed answer, whose reason names the limit.
			if n := v.stat("authgate.jwt.error_malformed"); n != 1 {
				t.Errorf("error_malformed = %d, want 1", n)
			}
			if !slices.ContainsFunc(v.e.Log(), func(l string) bool { return strings.Contains(l, "reason="+tt.reason) }) {
				t.Errorf("no line with reason=%s: %q", tt.reason, v.e.Log())
			}

			open := v.stream(v.w, "GET", "/health")
			if st := v.headers(open); st != abi.HeadersContinue {
				t.Errorf("route without authorizer next: status %v", st)
			}
			next := v.stream(v.w, "GET", "/pets/2", "authorization", "Bearer ordinary"+string(rune('a'+i)))
			v.headers(next)
			v.answer(next, next.Callouts()[0].ID, abi.CalloutSuccess, 200, policy("alice", "Allow"))
			if got := header(next.Headers, "x-authorizer-principal-id"); len(next.Responses()) != 0 || !slices.Equal(got, []string{"alice"}) {
				t.Errorf("ordinary request next: responses %+v, principal %q", next.Responses(), got)
			}
		})
	}
}
