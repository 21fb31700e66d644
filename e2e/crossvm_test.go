package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/e2e/internal/echo"
	"github.com/authgate/authgate/e2e/internal/testauthz"
)

// crossVMConfig has two long-lived authorizers, a and b, on one cluster
// (b's answers carry a different principal, see bPrincipals), and ttl1,
// whose results live one second.
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

// bPrincipals makes authorizer b answer "b-user-<id>" where testauthz
// answers "user-<id>", so a result of one authorizer served for the other
// shows in the upstream's principal header.
func bPrincipals(authz http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/b/") {
			authz.ServeHTTP(w, r)
			return
		}
		rec := &bufferedWriter{header: http.Header{}}
		authz.ServeHTTP(rec, r)
		body := strings.ReplaceAll(rec.body.String(), `"principalId":"user-`, `"principalId":"b-user-`)
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.status)
		_, _ = io.WriteString(w, body)
	})
}

type bufferedWriter struct {
	header http.Header
	status int
	body   strings.Builder
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// crossVMGateways are the hosts with several VMs the shared cache must
// serve as one, and native for reference.
func crossVMGateways() []gateway {
	return []gateway{nativeGateway{}, wasmGateway{pool: 4}, &envoyGateway{workers: 2}, &envoyGateway{workers: 4}}
}

// Burst sizes. Under -race the Go hosts are several times slower, so the
// bursts are smaller; they still overlap one authorizer call, which takes
// testauthz.ShortDelay.
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

// TestCrossVMCallCounts checks DESIGN.md's promise "one token costs one
// authorizer call per TTL for the whole Envoy": a burst of first requests
// for one token, on separate connections (so Envoy spreads them over its
// workers), makes exactly one call in every host; once the TTL has passed
// the next burst makes exactly one more. Then a hammer of many tokens on
// two authorizers at once checks that no answer is served for another
// token or another authorizer, and (in Envoy) that the filter's stats move
// as the requests say.
func TestCrossVMCallCounts(t *testing.T) {
	for _, gw := range crossVMGateways() {
		t.Run(gw.name(), func(t *testing.T) {
			authz := testauthz.New()
			up := &upstream{}
			h := echo.Handler()
			up.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				up.requests.Add(1)
				h.ServeHTTP(w, r)
			})
			up.url = serve(t, up.handler)
			up.clusters = map[string]string{clusterAuthorizer: serve(t, bPrincipals(authz))}
			base := gw.start(t, []byte(crossVMConfig), up)
			fresh := newClient(t, false)

			token := bearer(testauthz.Delay, "burst-"+gw.name())
			n := burstSize()
			t.Run("burst", func(t *testing.T) {
				burst(t, fresh, base, "/ttl/x", token, "user-burst-"+gw.name(), n)
				if got := authz.Calls(token); got != 1 {
					t.Fatalf("authorizer calls after %d concurrent first requests = %d, want 1 (%d VMs)", n, got, gw.vms())
				}
			})
			t.Run("burst_after_ttl", func(t *testing.T) {
				time.Sleep(1500 * time.Millisecond) // past the 1 s TTL
				burst(t, fresh, base, "/ttl/y", token, "user-burst-"+gw.name(), n)
				if got := authz.Calls(token); got != 2 {
					t.Fatalf("authorizer calls after a second burst past the TTL = %d, want 2", got)
				}
			})
			t.Run("hammer", func(t *testing.T) { hammer(t, fresh, base, authz, gw.name()) })
			if eg, ok := gw.(*envoyGateway); ok {
				t.Run("stats", func(t *testing.T) { checkEnvoyStats(t, eg.proc, base) })
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
	if vals, _ := got.Get("x-authorizer-principal-id"); len(vals) != 1 || vals[0] != principal {
		return fmt.Errorf("%s %s: upstream principal %q, want %q", path, token, vals, principal)
	}
	return nil
}

// hammer sends a few requests for each of many tokens to both long-lived
// authorizers, all at once, and checks each answer carries its own token's
// principal from its own authorizer, and that each token cost one call per
// authorizer.
func hammer(t *testing.T, client *http.Client, base string, authz *testauthz.Server, host string) {
	const perPair = 3
	tokens := hammerTokens()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, tokens*2*perPair)
	for i := range tokens {
		id := fmt.Sprintf("h%d-%s", i, host)
		token := bearer(testauthz.Allow, id)
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
		token := bearer(testauthz.Allow, fmt.Sprintf("h%d-%s", i, host))
		if got := authz.Calls(token); got != 2 {
			t.Errorf("authorizer calls for %q = %d, want 2 (one per authorizer)", token, got)
		}
	}
}
