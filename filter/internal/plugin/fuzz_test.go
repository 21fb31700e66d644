package plugin

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/authgate/authgate/filter/abi"
)

func FuzzHostOnly(f *testing.F) {
	for _, s := range []string{"10.0.0.1:80", "[2001:db8::1]:443", "[::1]", "::1", "1.2.3.4", "", "[", "a:b:c", "[fe80::1%eth0]:1", "010.1.1.1:80", "1.2.3.4:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		got := hostOnly(addr)
		if ap, err := netip.ParseAddrPort(addr); err == nil && got != ap.Addr().String() {
			// The IPv4 shortcut slices the input: it must match the
			// canonical form.
			t.Errorf("hostOnly(%q) = %q, want %q", addr, got, ap.Addr().String())
		}
		if got == "" {
			return
		}
		if _, err := netip.ParseAddr(got); err != nil {
			t.Errorf("hostOnly(%q) = %q, not an address", addr, got)
		}
	})
}

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
