package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/authgate/authgate/e2e/internal/echo"
	"github.com/authgate/authgate/e2e/internal/parityauthz"
	"github.com/authgate/authgate/examples/envoy/envoyrun"
)

// TestParity runs the API Gateway parity table (REQUEST authorizers, HTTP
// APIs, gateway responses) against every host. Each host gets one parity
// authorizer and one upstream, and one gateway per parity configuration.
// Beyond the table's own expectations, the hosts must agree on every answer
// and on every event they sent the authorizer, field by field, once the
// fields that legitimately differ per host are normalised (see
// normaliseEvent).
func TestParity(t *testing.T) {
	began := time.Now()
	answers := make(map[string]map[string]string)  // host -> scenario -> summary
	events := make(map[string]map[string][]string) // host -> scenario -> normalised events
	kd := &knownDiffs{seen: make(map[string]map[string]bool)}
	for _, gw := range gateways() {
		t.Run(gw.name(), func(t *testing.T) {
			host := gw.name()
			authz, up := newParityEnv(t)
			bases := startParityGateways(t, gw, up)
			client, fresh := newClient(t, true), newClient(t, false)
			sums := make(map[string]string)
			evs := make(map[string][]string)
			for _, sc := range parityScenarios {
				t.Run(sc.name, func(t *testing.T) {
					sums[sc.name] = runParity(t, kd, host, client, fresh, bases[sc.config], authz, &sc)
					for _, ev := range authz.Events(sc.token) {
						evs[sc.name] = append(evs[sc.name], normaliseEvent(t, ev.JSON))
					}
				})
			}
			if bad := authz.Unreadable(); len(bad) > 0 {
				t.Errorf("the authorizer got events without an x-token header: %q", bad)
			}
			answers[gw.name()], events[gw.name()] = sums, evs
		})
	}
	t.Run("hosts_agree", func(t *testing.T) {
		hosts := make([]string, 0, len(answers))
		for h := range answers {
			hosts = append(hosts, h)
		}
		// Envoy is the reference: it is the proxy the others imitate.
		slices.SortFunc(hosts, func(a, b string) int {
			if (a == "envoy") != (b == "envoy") {
				if a == "envoy" {
					return -1
				}
				return 1
			}
			return strings.Compare(a, b)
		})
		if len(hosts) < 2 {
			t.Skipf("only %v ran the table; nothing to compare", hosts)
		}
		ref := hosts[0]
		for _, h := range hosts[1:] {
			for _, sc := range parityScenarios {
				if a, b := answers[ref][sc.name], answers[h][sc.name]; a != b {
					t.Errorf("%s: %s answered\n  %s\nbut %s answered\n  %s", sc.name, ref, a, h, b)
				}
				ea, eb := events[ref][sc.name], events[h][sc.name]
				if len(ea) != len(eb) {
					t.Errorf("%s: %s sent %d events, %s sent %d", sc.name, ref, len(ea), h, len(eb))
					continue
				}
				for i := range ea {
					if d := kd.filter(t, ref, h, diffLines(ea[i], eb[i])); d != "" {
						t.Errorf("%s: event %d differs between %s (-) and %s (+):\n%s", sc.name, i, ref, h, d)
					}
				}
			}
		}
	})
	if _, envoyRan := answers["envoy"]; envoyRan && !t.Failed() {
		kd.stale(t, answers)
	}
	t.Logf("parity table ran in %v", time.Since(began).Round(time.Millisecond))
}

// knownHostDiffs are the differences from Envoy that the parity table has
// found and that are not fixed yet, by host and by event field (or by
// another key a check names). A listed difference is logged instead of
// failing; one that no longer occurs fails, so the list shrinks as hosts
// are fixed.
var knownHostDiffs = map[string]map[string]string{}

// knownDiffs records which known differences were seen. Subtests of one
// host run one after another, but hosts_agree reads what they wrote, so
// access is serialised by the test order alone.
type knownDiffs struct {
	seen map[string]map[string]bool // host -> key
}

// differs reports a difference of host on key: logged when it is known,
// an error otherwise.
func (k *knownDiffs) differs(t *testing.T, host, key, msg string) {
	t.Helper()
	if why, ok := knownHostDiffs[host][key]; ok {
		if k.seen[host] == nil {
			k.seen[host] = make(map[string]bool)
		}
		k.seen[host][key] = true
		t.Logf("known difference of %s (%s): %s", host, why, msg)
		return
	}
	t.Error(msg)
}

// filter drops from a diff of events the lines of fields known to differ
// for h (compared with ref) and returns what is left.
func (k *knownDiffs) filter(t *testing.T, ref, h, diff string) string {
	if diff == "" {
		return ""
	}
	var left []string
	for _, l := range strings.Split(diff, "\n") {
		path, _, _ := strings.Cut(strings.TrimLeft(l, " -+"), " = ")
		known := false
		for _, host := range []string{h, ref} {
			if _, ok := knownHostDiffs[host][path]; ok {
				k.differs(t, host, path, "event field "+path+" differs from "+ref)
				known = true
				break
			}
		}
		if !known {
			left = append(left, l)
		}
	}
	return strings.Join(left, "\n")
}

// stale fails for every known difference of a host that ran the whole
// table and never showed it: it is fixed, and the entry must go.
func (k *knownDiffs) stale(t *testing.T, ran map[string]map[string]string) {
	for host, keys := range knownHostDiffs {
		if len(ran[host]) != len(parityScenarios) {
			continue
		}
		for key, why := range keys {
			if !k.seen[host][key] {
				t.Errorf("knownHostDiffs[%q][%q] (%s) no longer occurs: remove it", host, key, why)
			}
		}
	}
}

// startParityGateways starts one gateway of kind gw per parity
// configuration and returns their base URLs by configuration name. Envoys
// are started together and waited for in parallel: compiling the filter
// dominates their start-up, and one after another they would take most of
// the run's time budget on a loaded machine.
func startParityGateways(t *testing.T, gw gateway, up *upstream) map[string]string {
	t.Helper()
	bases := make(map[string]string, len(parityConfigs))
	eg, ok := gw.(*envoyGateway)
	began := time.Now()
	if !ok {
		for _, c := range parityConfigs {
			bases[c.name] = gw.start(t, []byte(c.json), up)
			t.Logf("%s gateway for %s ready after %v", gw.name(), c.name, time.Since(began).Round(time.Millisecond))
		}
		return bases
	}
	opts := make([]envoyrun.Options, len(parityConfigs))
	for i, c := range parityConfigs {
		opts[i] = envoyOptions(t, []byte(c.json), up, eg.vms())
		// Together they share the CPU, so each may take as long as all
		// of them would one after another.
		opts[i].ReadyTimeout = time.Duration(len(opts)) * envoyReadyTimeout
	}
	procs := make([]*envoyrun.Envoy, len(opts))
	urls := make([]string, len(opts))
	errs := make([]error, len(opts))
	var wg sync.WaitGroup
	for i := range opts {
		wg.Go(func() { procs[i], urls[i], errs[i] = startEnvoy(t, opts[i]) })
	}
	wg.Wait()
	for i, c := range parityConfigs {
		if errs[i] != nil {
			t.Fatalf("envoy for the %s configuration did not become ready: %v", c.name, errs[i])
		}
		bases[c.name] = urls[i]
	}
	eg.proc = procs[len(procs)-1]
	t.Logf("%d envoys ready after %v", len(procs), time.Since(began).Round(time.Millisecond))
	return bases
}

// newParityEnv starts the parity authorizer and an echo upstream.
func newParityEnv(t *testing.T) (*parityauthz.Server, *upstream) {
	authz := parityauthz.New()
	up := &upstream{}
	h := echo.Handler()
	up.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up.requests.Add(1)
		h.ServeHTTP(w, r)
	})
	up.url = serve(t, up.handler)
	up.clusters = map[string]string{clusterParity: serve(t, authz)}
	return authz, up
}

// runParity runs the steps of sc and checks the authorizer's calls and
// event; it returns what the client observed, for comparing hosts.
func runParity(t *testing.T, kd *knownDiffs, host string, keepAlive, fresh *http.Client, base string, authz *parityauthz.Server, sc *parityScenario) string {
	if base == "" {
		t.Fatalf("no gateway for configuration %q", sc.config)
	}
	before := authz.Total()
	var summary []string
	for i, st := range sc.steps {
		client := keepAlive
		if st.fresh {
			client = fresh
		}
		for j := range max(st.repeat, 1) {
			where := fmt.Sprintf("step %d (%s %s) request %d", i, st.req.method, st.req.path, j)
			r, err := send(client, base, st.req)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			s := checkParity(t, kd, host, where, &st, r)
			if j == 0 {
				summary = append(summary, s)
			}
		}
	}
	calls := 0
	if sc.token != "" {
		calls = authz.Calls(sc.token)
		if calls != sc.calls {
			t.Errorf("authorizer calls for %q = %d, want %d", sc.token, calls, sc.calls)
		}
	}
	if other := authz.Total() - before - calls; other != 0 {
		t.Errorf("authorizer received %d calls for other tokens (seen: %q)", other, authz.Tokens())
	}
	if sc.event != nil {
		evs := authz.Events(sc.token)
		if len(evs) == 0 {
			t.Errorf("no event received for %q", sc.token)
		} else {
			checkEvent(t, kd, host, evs[0].JSON, sc.event)
		}
	}
	return strings.Join(summary, " ; ")
}

// checkEvent asserts the listed members of one event.
func checkEvent(t *testing.T, kd *knownDiffs, host string, ev []byte, want map[string]string) {
	t.Helper()
	if !gjson.ValidBytes(ev) {
		t.Errorf("event is not valid JSON: %s", ev)
		return
	}
	paths := make([]string, 0, len(want))
	for p := range want {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		got := gjson.GetBytes(ev, gjsonPath(p))
		w := want[p]
		switch {
		case w == "-" && got.Exists():
			t.Errorf("event %s = %s, want it absent", p, got.Raw)
		case w == "-":
		case !got.Exists():
			t.Errorf("event %s missing, want %s", p, w)
		case got.Raw != w:
			kd.differs(t, host, p, fmt.Sprintf("event %s = %s, want %s", p, got.Raw, w))
		}
	}
	if t.Failed() {
		t.Logf("event: %s", ev)
	}
}

// gjsonPath escapes the characters gjson treats specially in a key
// ("$" is fine; "-" too) so table paths can be written plainly.
func gjsonPath(p string) string {
	return strings.NewReplacer("*", `\*`, "?", `\?`).Replace(p)
}

// transportHeaders are response headers a host may add or omit on its own
// (framing, dates, proxy bookkeeping); they are neither checked nor compared.
var transportHeaders = []string{"connection", "content-length", "date", "server", "transfer-encoding", "x-envoy-upstream-service-time"}

// checkParity asserts one reply against st.want and returns its summary.
func checkParity(t *testing.T, kd *knownDiffs, host, where string, st *parityStep, r *reply) string {
	t.Helper()
	w := st.want
	if a := w.reject; a != nil {
		if r.status != a.status {
			t.Errorf("%s: status %d, want %d (body %q)", where, r.status, a.status, r.body)
		}
		body := string(r.body)
		if a.bodyPattern != "" {
			if !regexp.MustCompile(a.bodyPattern).MatchString(body) {
				msg := fmt.Sprintf("%s: body %q does not match %s", where, body, a.bodyPattern)
				if a.patternKey != "" {
					kd.differs(t, host, a.patternKey, msg)
				} else {
					t.Error(msg)
				}
			}
			// Hosts may fill the pattern differently; the summary keeps
			// the pattern so hosts still agree on everything else.
			body = "~" + a.bodyPattern
		} else if body != a.body {
			t.Errorf("%s: body %q, want %q", where, body, a.body)
		}
		if cl := r.header.Get("Content-Length"); cl != "" && cl != fmt.Sprint(len(r.body)) {
			t.Errorf("%s: content-length %s for a body of %d bytes", where, cl, len(r.body))
		}
		if r.header.Get(echo.Marker) != "" {
			t.Errorf("%s: the request reached the upstream", where)
		}
		got := responseHeaders(r.header)
		for name, val := range a.headers {
			if vals := got[name]; !slices.Equal(vals, []string{val}) {
				t.Errorf("%s: response header %s = %q, want exactly [%q]", where, name, vals, val)
			}
		}
		for name, vals := range got {
			if _, ok := a.headers[name]; !ok {
				t.Errorf("%s: unexpected response header %s = %q", where, name, vals)
			}
		}
		return fmt.Sprintf("%d %v %s", r.status, sortedHeaderList(got), body)
	}

	if r.status != http.StatusOK || r.header.Get(echo.Marker) == "" {
		t.Errorf("%s: status %d (upstream marker %q), want 200 from the upstream; body %q",
			where, r.status, r.header.Get(echo.Marker), r.body)
		return fmt.Sprintf("%d %s", r.status, r.body)
	}
	if et := r.header.Values("X-Amzn-Errortype"); len(et) != 0 {
		t.Errorf("%s: x-amzn-errortype %q on an upstream answer", where, et)
	}
	got, err := echo.Decode(r.body)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return ""
	}
	if got.URI != st.req.path || got.Method != st.req.method {
		t.Errorf("%s: upstream saw %s %s, want %s %s", where, got.Method, got.URI, st.req.method, st.req.path)
	}
	// Every authorizer header the upstream saw must be expected.
	authzHeaders := make(map[string][]string)
	for name, vals := range got.Headers {
		if strings.HasPrefix(name, "x-authorizer-") {
			authzHeaders[name] = vals
		}
	}
	for name, val := range w.upstream {
		if vals := authzHeaders[name]; !slices.Equal(vals, []string{val}) {
			t.Errorf("%s: upstream header %s = %q, want exactly [%q]", where, name, vals, val)
		}
	}
	for name, vals := range authzHeaders {
		if _, ok := w.upstream[name]; !ok {
			t.Errorf("%s: upstream header %s = %q, not expected", where, name, vals)
		}
	}
	for _, name := range w.absent {
		if vals, ok := got.Get(name); ok {
			t.Errorf("%s: upstream header %s = %q, want it absent", where, name, vals)
		}
	}
	return fmt.Sprintf("200 upstream %s %s %v", got.Method, got.URI, sortedHeaderList(authzHeaders))
}

// responseHeaders lower-cases the reply's header names and drops the
// transport headers.
func responseHeaders(h http.Header) map[string][]string {
	out := make(map[string][]string, len(h))
	for name, vals := range h {
		lower := strings.ToLower(name)
		if !slices.Contains(transportHeaders, lower) {
			out[lower] = append(out[lower], vals...)
		}
	}
	return out
}

func sortedHeaderList(h map[string][]string) []string {
	out := make([]string, 0, len(h))
	for name, vals := range h {
		out = append(out, name+"="+strings.Join(vals, ","))
	}
	sort.Strings(out)
	return out
}

// Placeholders of normalised event fields.
const (
	normRequestID = "<request-id>"
	normTime      = "<time>"
	normHost      = "<host>"
)

// perHostHeaders are request headers a host adds before the filter runs
// (Envoy's connection manager sets x-forwarded-proto and x-request-id, and
// with use_remote_address appends to x-forwarded-for, with its own address
// for a loopback peer, and sets x-envoy-external-address); they are
// removed from events before hosts are compared. The hosts' listening
// ports differ, so host keeps its name with a placeholder value.
var perHostHeaders = []string{"x-forwarded-proto", "x-request-id", "x-forwarded-for", "x-envoy-external-address"}

// normaliseEvent returns the event as sorted "path = value" lines, with the
// fields that legitimately differ per host replaced: requestContext's
// requestId (when not empty), time and timeEpoch; the host header's port (each gateway
// listens on its own); and the headers of perHostHeaders.
func normaliseEvent(t *testing.T, ev []byte) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev, &m); err != nil {
		t.Errorf("event is not a JSON object: %v: %s", err, ev)
		return string(ev)
	}
	if rc, ok := m["requestContext"].(map[string]any); ok {
		for _, k := range []string{"time", "timeEpoch"} {
			if _, ok := rc[k]; ok {
				rc[k] = normTime
			}
		}
		// An empty id stays empty: a host that gives none differs.
		if id, ok := rc["requestId"].(string); ok && id != "" {
			rc["requestId"] = normRequestID
		}
	}
	for _, key := range []string{"headers", "multiValueHeaders"} {
		hs, ok := m[key].(map[string]any)
		if !ok {
			continue
		}
		for name := range hs {
			if slices.Contains(perHostHeaders, strings.ToLower(name)) {
				delete(hs, name)
			}
		}
		if v, ok := hs["host"]; ok {
			if _, multi := v.([]any); multi {
				hs["host"] = []any{normHost}
			} else {
				hs["host"] = normHost
			}
		}
	}
	var lines []string
	flatten(&lines, "", m)
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// flatten writes one "path = json" line per scalar (arrays as a whole).
func flatten(lines *[]string, path string, v any) {
	if obj, ok := v.(map[string]any); ok && len(obj) > 0 {
		for k, sub := range obj {
			p := k
			if path != "" {
				p = path + "." + k
			}
			flatten(lines, p, sub)
		}
		return
	}
	b, _ := json.Marshal(v) // values decoded from JSON always marshal
	*lines = append(*lines, path+" = "+string(b))
}

// diffLines lists the lines only in a (-) or only in b (+); "" when equal.
func diffLines(a, b string) string {
	if a == b {
		return ""
	}
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range la {
		if !slices.Contains(lb, l) {
			out = append(out, "  - "+l)
		}
	}
	for _, l := range lb {
		if !slices.Contains(la, l) {
			out = append(out, "  + "+l)
		}
	}
	return strings.Join(out, "\n")
}
