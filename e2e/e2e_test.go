package e2e

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/e2e/internal/echo"
	"github.com/authgate/authgate/e2e/internal/testauthz"
)

// TestScenarios runs the scenario table against every host. Each host gets
// its own authorizer, upstream and gateway; within a host the scenarios run
// in order against the one gateway. At the end the hosts' observable answers
// are compared with each other as well as with the table.
func TestScenarios(t *testing.T) {
	seen := make(map[string]map[string]string) // host -> scenario -> summary
	for _, gw := range gateways() {
		t.Run(gw.name(), func(t *testing.T) {
			authz, up := newEnv(t)
			base := gw.start(t, []byte(scenarioConfig), up)
			client, fresh := newClient(t, true), newClient(t, false)
			summaries := make(map[string]string)
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					summaries[sc.name] = runScenario(t, gw, client, fresh, base, authz, &sc)
				})
			}
			// Kept even if a scenario failed: the hosts must still agree on
			// every answer, and a disagreement names the host to blame.
			seen[gw.name()] = summaries
		})
	}
	t.Run("hosts_agree", func(t *testing.T) {
		hosts := make([]string, 0, len(seen))
		for h := range seen {
			hosts = append(hosts, h)
		}
		sort.Strings(hosts)
		if len(hosts) < 2 {
			t.Skipf("only %v ran the table; nothing to compare", hosts)
		}
		ref := hosts[0]
		for _, h := range hosts[1:] {
			for _, sc := range scenarios {
				if a, b := seen[ref][sc.name], seen[h][sc.name]; a != b {
					t.Errorf("%s: %s answered\n  %s\nbut %s answered\n  %s", sc.name, ref, a, h, b)
				}
			}
		}
	})
}

// newEnv starts a test authorizer and the echo upstream, and names the
// clusters of the scenario configuration.
func newEnv(t *testing.T) (*testauthz.Server, *upstream) {
	authz := testauthz.New()
	up := &upstream{}
	h := echo.Handler()
	up.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up.requests.Add(1)
		h.ServeHTTP(w, r)
	})
	up.url = serve(t, up.handler)
	up.clusters = map[string]string{
		clusterAuthorizer: serve(t, authz),
		clusterDead:       "http://" + closedPort(t),
	}
	return authz, up
}

// newClient returns a client for the gateway under test: no compression
// negotiation (so no header the table does not expect), bounded waits, and
// connections reused or not.
func newClient(t *testing.T, keepAlive bool) *http.Client {
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 32, DisableKeepAlives: !keepAlive}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport: tr,
		Timeout:   20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// reply is one answer as the client saw it.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func send(client *http.Client, base string, r request) (*reply, error) {
	req, err := http.NewRequest(r.method, base+r.path, nil)
	if err != nil {
		return nil, err
	}
	for _, h := range r.headers {
		req.Header[http.CanonicalHeaderKey(h[0])] = append(req.Header[http.CanonicalHeaderKey(h[0])], h[1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	return &reply{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// runScenario runs every step of sc and checks the authorizer's calls. It
// returns a summary of what the client observed, for comparing hosts.
func runScenario(t *testing.T, gw gateway, keepAlive, fresh *http.Client, base string, authz *testauthz.Server, sc *scenario) string {
	before := authz.Total()
	var summary []string
	for i, st := range sc.steps {
		client := keepAlive
		if st.fresh {
			client = fresh
		}
		n := max(st.repeat, st.parallel, 1)
		replies := make([]*reply, n)
		errs := make([]error, n)
		if st.parallel > 0 {
			var wg sync.WaitGroup
			for j := range n {
				wg.Go(func() { replies[j], errs[j] = send(client, base, st.req) })
			}
			wg.Wait()
		} else {
			for j := range n {
				replies[j], errs[j] = send(client, base, st.req)
			}
		}
		for j := range n {
			where := fmt.Sprintf("step %d (%s %s) request %d", i, st.req.method, st.req.path, j)
			if errs[j] != nil {
				t.Errorf("%s: %v", where, errs[j])
				continue
			}
			s := check(t, where, &st, replies[j])
			if j == 0 {
				summary = append(summary, s)
			}
		}
	}

	calls := 0
	if sc.token != "" {
		calls = authz.Calls(sc.token)
		switch {
		case sc.perVM:
			// Each VM coalesces its own concurrent misses; VMs do not
			// wait for each other, so each may make the call once.
			if calls < 1 || calls > gw.vms() {
				t.Errorf("authorizer calls for %q = %d, want 1..%d (one per VM at most)", sc.token, calls, gw.vms())
			}
		case calls != sc.calls:
			hint := ""
			if calls > sc.calls && gw.vms() > 1 {
				hint = fmt.Sprintf(" (%d VMs: is the cache shared between them?)", gw.vms())
			}
			t.Errorf("authorizer calls for %q = %d, want %d%s", sc.token, calls, sc.calls, hint)
		}
		if sc.arns != nil {
			var got []string
			for _, ev := range authz.Events(sc.token) {
				got = append(got, ev.MethodArn)
			}
			if !slices.Equal(got, sc.arns) {
				t.Errorf("methodArn of the events = %q, want %q", got, sc.arns)
			}
		}
	}
	if other := authz.Total() - before - calls; other != 0 {
		t.Errorf("authorizer received %d calls for other tokens (seen: %q)", other, authz.Tokens())
	}
	return strings.Join(summary, " ; ")
}

// check asserts one reply against st.want and returns its summary.
func check(t *testing.T, where string, st *step, r *reply) string {
	t.Helper()
	w := st.want
	ct := r.header.Values("Content-Type")
	errType := r.header.Values("X-Amzn-Errortype")
	if w.reject != nil {
		a := w.reject
		if r.status != a.status {
			t.Errorf("%s: status %d, want %d (body %q)", where, r.status, a.status, r.body)
		}
		if string(r.body) != a.body {
			t.Errorf("%s: body %q, want %q", where, r.body, a.body)
		}
		if !slices.Equal(ct, []string{"application/json"}) {
			t.Errorf("%s: content-type %q, want exactly [\"application/json\"]", where, ct)
		}
		if !slices.Equal(errType, []string{a.errorType}) {
			t.Errorf("%s: x-amzn-errortype %q, want exactly [%q]", where, errType, a.errorType)
		}
		if cl := r.header.Get("Content-Length"); cl != "" && cl != fmt.Sprint(len(a.body)) {
			t.Errorf("%s: content-length %s, want %d", where, cl, len(a.body))
		}
		if r.header.Get(echo.Marker) != "" {
			t.Errorf("%s: the request reached the upstream", where)
		}
		return fmt.Sprintf("%d %q %q %s", r.status, ct, errType, r.body)
	}

	if r.status != http.StatusOK || r.header.Get(echo.Marker) == "" {
		t.Errorf("%s: status %d (upstream marker %q), want 200 from the upstream; body %q",
			where, r.status, r.header.Get(echo.Marker), r.body)
		return fmt.Sprintf("%d %s", r.status, r.body)
	}
	if len(errType) != 0 {
		t.Errorf("%s: x-amzn-errortype %q on an upstream answer", where, errType)
	}
	got, err := echo.Decode(r.body)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return ""
	}
	wantURI := w.uri
	if wantURI == "" {
		wantURI = st.req.path
	}
	if got.URI != wantURI || got.Method != st.req.method {
		t.Errorf("%s: upstream saw %s %s, want %s %s", where, got.Method, got.URI, st.req.method, wantURI)
	}
	for name, val := range w.upstream {
		if vals, _ := got.Get(name); !slices.Equal(vals, []string{val}) {
			t.Errorf("%s: upstream header %s = %q, want exactly [%q]", where, name, vals, val)
		}
	}
	for _, name := range w.absent {
		if vals, ok := got.Get(name); ok {
			t.Errorf("%s: upstream header %s = %q, want it absent", where, name, vals)
		}
	}
	// The summary carries every authorizer header the upstream saw, so
	// hosts that disagree on one the table does not list still differ.
	var authzHeaders []string
	for name, vals := range got.Headers {
		if strings.HasPrefix(name, "x-authorizer-") {
			authzHeaders = append(authzHeaders, name+"="+strings.Join(vals, ","))
		}
	}
	sort.Strings(authzHeaders)
	return fmt.Sprintf("200 upstream %s %s %v", got.Method, got.URI, authzHeaders)
}
