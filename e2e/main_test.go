package e2e

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/authgate/authgate/examples/envoy/envoyrun"
)

// skipped records the hosts that could not run, and why, for the summary
// TestMain prints.
var skipped struct {
	mu      sync.Mutex
	reasons map[string]string
}

// needHost ends t unless gw can run here: with a failure where the host is
// required (CI=true, AUTHGATE_REQUIRE_ENVOY=1, which `make test` sets), with
// a skip that the run's summary repeats otherwise.
func needHost(t *testing.T, gw gateway) {
	t.Helper()
	why := gw.unavailable()
	if why == "" {
		return
	}
	if gw.required() {
		t.Fatalf("host %s is required here (CI or %s=1) but cannot run: %s", gw.name(), envoyrun.RequireVar, why)
	}
	skipped.mu.Lock()
	if skipped.reasons == nil {
		skipped.reasons = make(map[string]string)
	}
	skipped.reasons[gw.name()] = why
	skipped.mu.Unlock()
	t.Skipf("SKIPPED host %s: %s", gw.name(), why)
}

// skipSummary is the banner naming every skipped host; "" when none was.
func skipSummary() string {
	skipped.mu.Lock()
	defer skipped.mu.Unlock()
	if len(skipped.reasons) == 0 {
		return ""
	}
	hosts := make([]string, 0, len(skipped.reasons))
	for h := range skipped.reasons {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	var b strings.Builder
	line := strings.Repeat("=", 72)
	fmt.Fprintf(&b, "\n%s\ne2e: NOT EVERY HOST RAN. Skipped:\n", line)
	for _, h := range hosts {
		fmt.Fprintf(&b, "  %-10s %s\n", h, skipped.reasons[h])
	}
	fmt.Fprintf(&b, "Run `make envoy` (it prints where Envoy is), or set %s; with CI=true or\n%s=1 (as `make test` and `make e2e` do) a missing host fails the run.\n%s\n",
		envoyrun.EnvoyVar, envoyrun.RequireVar, line)
	return b.String()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if s := skipSummary(); s != "" {
		fmt.Print(s)
		// A passing package's output is shown by `go test` only with -v;
		// a terminal, when there is one, sees the summary anyway.
		if !testing.Verbose() {
			if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
				fmt.Fprint(tty, s)
				_ = tty.Close()
			}
		}
	}
	for _, d := range append(buildDirs.dirs, bootstrapDir) {
		if d != "" {
			_ = os.RemoveAll(d)
		}
	}
	os.Exit(code)
}
