package plugin

import (
	"strings"
	"testing"

	"github.com/authgate/authgate/filter/abi"
)

// FuzzRequestHeaders checks the filter's invariant on any request: it never
// panics, and it either lets the request through with no local answer, or
// pauses it with exactly one local answer or one callout.
func FuzzRequestHeaders(f *testing.F) {
	f.Add("GET", "/pets/1", "authorization", "Bearer abc")
	f.Add("POST", "/req?x=1&x=2", "x-api-key", "k")
	f.Add("GET", "/health", "X-Authorizer-Principal-Id", "forged")
	f.Add("", "", "", "")
	f.Add("GET", "/pets/%zz", "authorization", "")
	f.Fuzz(func(t *testing.T, method, path, name, value string) {
		e := newEnv(t)
		var hs []abi.Header
		if name != "" && !strings.HasPrefix(name, ":") {
			hs = append(hs, abi.Header{Name: name, Value: value})
		}
		act := e.request(2, method, path, hs...)
		local, callouts := len(e.h.Streams[2].Local), len(e.h.Callouts)
		switch {
		case act == abi.ActionContinue && local == 0 && callouts == 0:
		case act == abi.ActionPause && local+callouts == 1:
		default:
			t.Fatalf("action %d with %d local answers and %d callouts", act, local, callouts)
		}
		for _, l := range e.h.Logs {
			if strings.Contains(l.Msg, "panic") {
				t.Fatalf("recovered panic: %s", l.Msg)
			}
		}
	})
}
