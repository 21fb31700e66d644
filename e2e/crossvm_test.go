package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/e2e/internal/authz"
	"github.com/authgate/authgate/e2e/internal/echo"
)

// crossVMConfig has two long-lived authorizers, a and b, on one cluster
// (b's events go under authz.SecondPrefix, so its answers carry another
// principal), and ttl1, whose results live one second.
const crossVMConfig = `{
  "region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
  "authorizers": {
    "a": {"type": "TOKEN", "cluster": "authorizer", "path": "/authorize", "timeoutMs": 10000,
      "identitySource": "method.request.header.Authorization", "authorizerResultTtlInSeconds": 300},
    "b": {"type": "TOKEN", "cluster": "authorizer", "path": "/b/authorize", "timeoutMs": 10000,
      "identitySource": "method.request.header.Authorization", "authorizerResultTtlInSeconds": 300},
    "ttl1": {"type": "TOKEN", "cluster": "authorizer", "path": "/authorize", "timeoutMs": 10000,
      "identitySource": "method.request.header.Authorization", "authorizerResultTtlInSeconds": 1}
  },
  "routes": [
    {"method": "ANY", "path": "/a/{proxy+}", "authorizer": "a"},
    {"method": "ANY", "path": "/b/{proxy+}", "authorizer": "b"},
    {"method": "ANY", "path": "/ttl/{proxy+}", "authorizer": "ttl1"}
  ]
}`

// crossVMGateways are the hosts with several VMs (or Envoy workers) the
// cache must serve as one, and native for reference.
func crossVMGateways() []gateway {
	return []gateway{nativeGateway{}, wasmGateway{pool: 4}, wasmEnvoy(2), wasmEnvoy(4), moduleWorkers(2), moduleWorkers(4)}
}

// Burst sizes. Under -race the Go hosts are several times slower, so the
// bursts are smaller; they still overlap one authorizer call, which takes
// authz.ShortDelay.
func burstSize() int {
	if raceEnabled {
		return 60
	}
	return 200
}

func hammerTokens() int {
	if raceEnabled {
		return 20
	}
	return 50
}

// TestCrossVMCallCounts checks the promise of docs/design.md, "Where the
// cache lives", that an identity costs one authorizer call per TTL for the
// whole proxy: a burst of first requests
// for one token, on separate connections (so Envoy spreads them over its
// workers), makes exactly one call in every host; once the TTL has passed
// the next burst makes exactly one more. Then a hammer of many tokens on
// two authorizers at once checks that no answer is served for another
// token or another authorizer, and (in Envoy) that the filter's stats move
// as the requests say.
func TestCrossVMCallCounts(t *testing.T) {
	for _, gw := range crossVMGateways() {
		t.Run(gw.name(), func(t *testing.T) {
			needHost(t, gw)
			e := newEnv(t)
			inst, err := gw.start(t, spec{cfgs: [][]byte{[]byte(crossVMConfig)}, env: e})
			if err != nil {
				t.Fatalf("%s did not start: %v", gw.name(), err)
			}
			base := inst.bases[0]
			fresh := newClient(t, protocols[0], false)

			token := bearer(authz.Delay, "burst-"+gw.name())
			n := burstSize()
			t.Run("burst", func(t *testing.T) {
				burst(t, fresh, base, "/ttl/x", token, "user-burst-"+gw.name(), n)
				if got := e.authz.Calls(token); got != 1 {
					t.Fatalf("authorizer calls after %d concurrent first requests = %d, want 1 (%d VMs)", n, got, gw.vms())
				}
			})
			t.Run("burst_after_ttl", func(t *testing.T) {
				time.Sleep(1500 * time.Millisecond) // past the 1 s TTL
				burst(t, fresh, base, "/ttl/y", token, "user-burst-"+gw.name(), n)
				if got := e.authz.Calls(token); got != 2 {
					t.Fatalf("authorizer calls after a second burst past the TTL = %d, want 2", got)
				}
			})
			t.Run("hammer", func(t *testing.T) { hammer(t, fresh, base, e.authz, gw.name()) })
			if eg, ok := gw.(*envoyGateway); ok {
				t.Run("stats", func(t *testing.T) { checkEnvoyStats(t, inst.envoy, base, eg.stats()) })
			}
		})
	}
}

// burst sends n requests at once, each on its own connection, and checks
// every one reached the upstream as principal.
func burst(t *testing.T, client *http.Client, base, path, token, principal string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			<-start
			errs <- expectPrincipal(client, base, path, token, principal)
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			if failed++; failed <= 5 {
				t.Error(err)
			}
		}
	}
	if failed > 5 {
		t.Errorf("... %d requests failed in all", failed)
	}
}

// expectPrincipal sends one request and checks the upstream saw exactly
// principal.
func expectPrincipal(client *http.Client, base, path, token, principal string) error {
	r, err := send(client, base, get(path, auth(token)))
	if err != nil {
		return fmt.Errorf("%s %s: %w", path, token, err)
	}
	if r.status != http.StatusOK || r.header.Get(echo.Marker) == "" {
		return fmt.Errorf("%s %s: status %d, body %q", path, token, r.status, r.body)
	}
	got, err := echo.Decode(r.body)
	if err != nil {
		return err
	}
	if vals, _ := got.Plain().Get("x-authorizer-principal-id"); len(vals) != 1 || vals[0] != principal {
		return fmt.Errorf("%s %s: upstream principal %q, want %q", path, token, vals, principal)
	}
	return nil
}

// hammer sends a few requests for each of many tokens to both long-lived
// authorizers, all at once, and checks each answer carries its own token's
// principal from its own authorizer, and that each token cost one call per
// authorizer.
func hammer(t *testing.T, client *http.Client, base string, a *authz.Server, host string) {
	const perPair = 3
	tokens := hammerTokens()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, tokens*2*perPair)
	for i := range tokens {
		id := fmt.Sprintf("h%d-%s", i, host)
		token := bearer(authz.Allow, id)
		for _, a := range []struct{ path, principal string }{{"/a/" + strconv.Itoa(i), "user-" + id}, {"/b/" + strconv.Itoa(i), "b-user-" + id}} {
			for range perPair {
				wg.Go(func() {
					<-start
					errs <- expectPrincipal(client, base, a.path, token, a.principal)
				})
			}
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			if failed++; failed <= 5 {
				t.Error(err)
			}
		}
	}
	for i := range tokens {
		token := bearer(authz.Allow, fmt.Sprintf("h%d-%s", i, host))
		if got := a.Calls(token); got != 2 {
			t.Errorf("authorizer calls for %q = %d, want 2 (one per authorizer)", token, got)
		}
	}
}
