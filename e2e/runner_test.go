package e2e

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/authgate/authgate/e2e/internal/echo"
)

// TestTable runs the table against every host over every protocol. Each
// (host, protocol) run gets its own authorizer and upstream and one gateway
// per configuration, so call counts and caches never mix (a group with an
// environment of its own gets that, and gateways of its own); within a run
// the rows go in order. Beyond each row's own expectations, every run must
// agree with the reference run (hosts_agree) on what the client saw, what
// the upstream received, how often the authorizer was called and, field
// by field once per-host fields are normalised, the events it was sent.
func TestTable(t *testing.T) {
	began := time.Now()
	res := &results{byRun: make(map[string]map[string]*outcome), want: make(map[string]int)}
	kd := &knownDiffs{seen: make(map[string]map[string]bool)}
	for _, gw := range gateways() {
		t.Run(gw.name(), func(t *testing.T) {
			needHost(t, gw)
			parts, skipped := tableParts(gw)
			started := startTable(t, gw, parts)
			for _, p := range protocols {
				t.Run(p.name, func(t *testing.T) {
					run := gw.name() + "/" + p.name
					for i, part := range parts {
						st := started[i][p.name]
						r := &runner{
							run: run, proto: p, gw: gw, env: st.env, bases: st.bases, kd: kd,
							keepAlive: newClient(t, p, true), fresh: newClient(t, p, false),
						}
						for _, g := range part {
							t.Run(g.name, func(t *testing.T) {
								for _, rw := range g.rows {
									if rw.only != "" && rw.only != p.name {
										continue
									}
									res.expect(run)
									t.Run(rw.name, func(t *testing.T) {
										res.put(run, rw.name, r.row(t, &rw))
									})
								}
								if g.after != nil {
									t.Run("after", func(t *testing.T) { g.after(t, st.env) })
								}
							})
						}
						if bad := st.env.authz.Unreadable(); len(bad) > 0 {
							t.Errorf("the authorizer got events without a token: %q", bad)
						}
					}
					for _, g := range skipped {
						// Rows that were to run and did not: the run is
						// not complete.
						res.expect(run)
						t.Run(g.name, func(t *testing.T) { skipGroup(t, g) })
					}
				})
			}
		})
	}
	t.Run("hosts_agree", func(t *testing.T) { res.compare(t, kd) })
	if res.ran(referenceHost) && !t.Failed() {
		kd.stale(t, res)
	}
	t.Logf("table of %d rows ran in %v", len(allRows()), time.Since(began).Round(time.Millisecond))
}

// tableParts returns the groups gw runs, split by environment: the groups
// on the shared one first, then each group with its own. Groups that
// cannot run here come back apart.
func tableParts(gw gateway) (parts [][]group, skipped []group) {
	var shared []group
	for _, g := range groups {
		if f, ok := gw.(interface{ runs(group string) bool }); ok && !f.runs(g.name) {
			continue
		}
		switch {
		case g.unavailable != nil && g.unavailable() != "":
			skipped = append(skipped, g)
		case g.env == nil:
			shared = append(shared, g)
		default:
			parts = append(parts, []group{g})
		}
	}
	if len(shared) > 0 {
		parts = append([][]group{shared}, parts...)
	}
	return parts, skipped
}

// skipGroup ends t for a group that cannot run here: a failure under CI,
// a skip otherwise.
func skipGroup(t *testing.T, g group) {
	why := g.unavailable()
	if ci := os.Getenv("CI"); ci != "" && ci != "false" {
		t.Fatalf("CI=%s: group %s cannot run: %s", ci, g.name, why)
	}
	t.Skipf("group %s cannot run here: %s", g.name, why)
}

// started is one part's environment and gateways for one protocol.
type started struct {
	env   *env
	bases map[string]string // configuration name -> base URL
}

// startTable starts, for each part and protocol, an environment and
// gateways of kind gw for every configuration the part's rows name. All
// of them start at the same time: an Envoy spends its start compiling the
// filter, and one after another they would take most of the run's time
// on a loaded machine.
func startTable(t *testing.T, gw gateway, parts [][]group) []map[string]started {
	t.Helper()
	type job struct {
		part  int
		proto string
		names []string
		s     spec
	}
	var jobs []job
	for i, part := range parts {
		cfgs := configsOf(part)
		for _, p := range protocols {
			e := newEnv(t)
			if part[0].env != nil {
				e = part[0].env(t)
			}
			j := job{part: i, proto: p.name,
				s: spec{env: e, together: len(parts) * len(protocols), envoyExample: e.envoyExample, procEnv: e.procEnv}}
			for _, c := range cfgs {
				j.names = append(j.names, c.name)
				j.s.cfgs = append(j.s.cfgs, []byte(c.json))
				j.s.names = append(j.s.names, c.name+" over "+p.name)
			}
			jobs = append(jobs, j)
		}
	}
	insts := make([]*instance, len(jobs))
	errs := make([]error, len(jobs))
	began := time.Now()
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() { insts[i], errs[i] = gw.start(t, j.s) })
	}
	wg.Wait()
	out := make([]map[string]started, len(parts))
	for i, j := range jobs {
		if errs[i] != nil {
			t.Fatalf("%s gateways for %v over %s did not start: %v", gw.name(), j.names, j.proto, errs[i])
		}
		if out[j.part] == nil {
			out[j.part] = make(map[string]started, len(protocols))
		}
		bases := make(map[string]string, len(j.names))
		for k, n := range j.names {
			bases[n] = insts[i].bases[k]
		}
		out[j.part][j.proto] = started{env: j.s.env, bases: bases}
	}
	n := 0
	for _, j := range jobs {
		n += len(j.names)
	}
	t.Logf("%s: %d gateways (%d starts) ready after %v", gw.name(), n, len(jobs), time.Since(began).Round(time.Millisecond))
	return out
}

// configsOf lists the configurations the rows of gs name, in the order
// of configs.
func configsOf(gs []group) []namedConfig {
	used := make(map[string]bool)
	for _, g := range gs {
		for _, rw := range g.rows {
			used[rw.configName()] = true
		}
	}
	return slices.DeleteFunc(slices.Clone(configs), func(c namedConfig) bool { return !used[c.name] })
}

// runner runs rows for one host over one protocol.
type runner struct {
	run              string // "host/protocol"
	proto            protocol
	gw               gateway
	env              *env
	bases            map[string]string // configuration name -> base URL
	keepAlive, fresh *http.Client
	kd               *knownDiffs
}

// outcome is what one row gave in one run, for comparing runs.
type outcome struct {
	answers string   // what the client saw and the upstream received
	calls   int      // authorizer calls for the row's token
	events  []string // the events for the token, normalised
	perVM   bool
}

// row runs every step of rw and checks the authorizer's calls and events.
func (r *runner) row(t *testing.T, rw *row) *outcome {
	base := r.bases[rw.configName()]
	if base == "" {
		t.Fatalf("no gateway for configuration %q", rw.configName())
	}
	authz := r.env.authz
	before := authz.Total()
	var summary []string
	for i, st := range rw.steps {
		client := r.keepAlive
		if st.fresh {
			client = r.fresh
		}
		n := max(st.repeat, st.parallel, 1)
		replies := make([]*reply, n)
		errs := make([]error, n)
		if st.parallel > 0 {
			var wg sync.WaitGroup
			for j := range n {
				wg.Go(func() { replies[j], errs[j] = r.proto.send(client, base, st.req) })
			}
			wg.Wait()
		} else {
			for j := range n {
				replies[j], errs[j] = r.proto.send(client, base, st.req)
			}
		}
		for j := range n {
			where := fmt.Sprintf("step %d (%s %s) request %d", i, st.req.method, st.req.target, j)
			if st.want.reset && isStreamReset(errs[j]) {
				if j == 0 {
					summary = append(summary, "stream reset")
				}
				continue
			}
			if errs[j] != nil {
				t.Errorf("%s: %v", where, errs[j])
				continue
			}
			s := r.check(t, where, base, &st, replies[j])
			if j == 0 {
				summary = append(summary, s)
			}
		}
	}

	out := &outcome{answers: strings.Join(summary, " ; "), perVM: rw.perVM}
	if rw.token != "" {
		out.calls = authz.Calls(rw.token)
		switch vms := r.gw.vms(); {
		case rw.perVM:
			// Each VM coalesces its own concurrent misses; VMs do not
			// wait for each other, so each may make the call once.
			if out.calls < 1 || out.calls > vms {
				r.kd.differs(t, r.run, "calls:"+rw.name,
					fmt.Sprintf("authorizer calls for %q = %d, want 1..%d (one per VM at most)", rw.token, out.calls, vms))
			}
		case out.calls != rw.calls:
			hint := ""
			if out.calls > rw.calls && vms > 1 {
				hint = fmt.Sprintf(" (%d VMs: is the cache shared between them?)", vms)
			}
			r.kd.differs(t, r.run, "calls:"+rw.name,
				fmt.Sprintf("authorizer calls for %q = %d, want %d%s", rw.token, out.calls, rw.calls, hint))
		}
		events := authz.Events(rw.token)
		if rw.arns != nil {
			var got []string
			for _, ev := range events {
				got = append(got, ev.ARN)
			}
			if !slices.Equal(got, rw.arns) {
				t.Errorf("methodArn of the events = %q, want %q", got, rw.arns)
			}
		}
		if rw.event != nil {
			if len(events) == 0 {
				t.Errorf("no event received for %q", rw.token)
			} else {
				r.checkEvent(t, events[0].JSON, rw.event)
			}
		}
		for _, ev := range events {
			out.events = append(out.events, normaliseEvent(t, ev.JSON, r.proto.version))
		}
	}
	if other := authz.Total() - before - out.calls; other != 0 {
		t.Errorf("authorizer received %d calls for other tokens (seen: %q)", other, authz.Tokens())
	}
	return out
}

// clientProtocol, as an expected event member, stands for the protocol
// the run's client spoke, as API Gateway writes it ("HTTP/1.1",
// "HTTP/2.0").
const clientProtocol = "<client protocol>"

// checkEvent asserts the listed members of one event.
func (r *runner) checkEvent(t *testing.T, ev []byte, want map[string]string) {
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
		if w == clientProtocol {
			w = `"` + r.proto.version + `"`
		}
		switch {
		case w == "-" && got.Exists():
			t.Errorf("event %s = %s, want it absent", p, got.Raw)
		case w == "-":
		case !got.Exists():
			t.Errorf("event %s missing, want %s", p, w)
		case got.Raw != w:
			r.kd.differs(t, r.run, p, fmt.Sprintf("event %s = %s, want %s", p, got.Raw, w))
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

// proxyHeaders are request headers a gateway adds on its way to the
// upstream (Envoy's connection manager, Go's reverse proxy), or sets per
// connection: not compared between hosts. Names starting with x-envoy- are
// Envoy's too.
var proxyHeaders = []string{"host", "connection", "content-length", "transfer-encoding",
	"x-forwarded-for", "x-forwarded-host", "x-forwarded-port", "x-forwarded-proto", "x-request-id"}

// check asserts one reply against st.want and returns its summary.
func (r *runner) check(t *testing.T, where, base string, st *step, rp *reply) string {
	t.Helper()
	if st.want.reset {
		t.Errorf("%s: answered %d %q, want the stream reset", where, rp.status, rp.body)
		return fmt.Sprintf("%d %s", rp.status, rp.body)
	}
	if st.want.codecRefuses {
		// Over HTTP/1 Envoy's codec refuses it before any filter runs,
		// and the Go hosts refuse it as it does (envoyheaders.Refuse).
		// Each answer is checked exactly; as the protocols' answers
		// differ, the summary only names the refusal.
		a := st.want.reject
		if r.proto.name == "h1" {
			a = codecBadRequest
		}
		r.checkAnswer(t, where, a, rp)
		return codecRefused
	}
	if a := st.want.reject; a != nil && st.want.netHTTPRefuses && netHTTPRefusal(rp) && isKnown(r.run, netHTTPKey) {
		r.kd.differs(t, r.run, netHTTPKey, fmt.Sprintf("%s: net/http answered %d %q before any handler ran", where, rp.status, rp.body))
		// Summed up as the answer expected, so hosts_agree does not
		// report it again.
		return answerSummary(a)
	}
	if a := st.want.reject; a != nil {
		return r.checkAnswer(t, where, a, rp)
	}
	return r.checkUpstream(t, where, base, st, rp)
}

// codecRefused sums up a request want.codecRefuses refuses.
const codecRefused = "refused by Envoy's codec over HTTP/1, by the gateway over HTTP/2"

// codecBadRequest is Envoy's HTTP/1 codec's answer to a request line it
// refuses before any filter runs (a method outside its list, a target
// byte outside '!'..'~').
var codecBadRequest = codecAnswer(400, "Bad Request")

// codecAnswer is one of the plain answers Envoy's codec gives before any
// filter runs, which the Go hosts give alike (envoyheaders.Refuse).
func codecAnswer(status int, body string) *answer {
	return &answer{status: status, body: body, headers: map[string]string{"content-type": "text/plain"}}
}

// netHTTPKey is the knownHostDiffs key of net/http's own 400 (see
// want.netHTTPRefuses).
const netHTTPKey = "net/http refuses an invalid escape in the path"

// netHTTPRefusal reports whether rp is net/http's own answer to a request
// line it cannot parse, written before any handler runs.
func netHTTPRefusal(rp *reply) bool {
	return rp.status == http.StatusBadRequest && string(rp.body) == "400 Bad Request" &&
		rp.header.Get("Content-Type") == "text/plain; charset=utf-8" && rp.header.Get(echo.Marker) == ""
}

// answerSummary is the summary checkAnswer gives for a reply that is a.
func answerSummary(a *answer) string {
	h := make(map[string][]string, len(a.headers))
	for name, val := range a.headers {
		h[name] = []string{val}
	}
	body := a.body
	if a.bodyPattern != "" {
		body = "~" + a.bodyPattern
	}
	return fmt.Sprintf("%d %v %s", a.status, headerList(h), body)
}

// isStreamReset reports whether err is the client's report of a stream
// the server reset (HTTP/2 RST_STREAM).
func isStreamReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "stream error")
}

// checkAnswer asserts one of the gateway's own answers.
func (r *runner) checkAnswer(t *testing.T, where string, a *answer, rp *reply) string {
	t.Helper()
	if rp.status != a.status {
		t.Errorf("%s: status %d, want %d (body %q)", where, rp.status, a.status, rp.body)
	}
	body := string(rp.body)
	if a.bodyPattern != "" {
		if !regexp.MustCompile(a.bodyPattern).MatchString(body) {
			msg := fmt.Sprintf("%s: body %q does not match %s", where, body, a.bodyPattern)
			if a.patternKey != "" {
				r.kd.differs(t, r.run, a.patternKey, msg)
			} else {
				t.Error(msg)
			}
		}
		// Hosts may fill the pattern differently; the summary keeps the
		// pattern so hosts still agree on everything else.
		body = "~" + a.bodyPattern
	} else if body != a.body {
		t.Errorf("%s: body %q, want %q", where, body, a.body)
	}
	if cl := rp.header.Get("Content-Length"); cl != "" && cl != fmt.Sprint(len(rp.body)) {
		t.Errorf("%s: content-length %s for a body of %d bytes", where, cl, len(rp.body))
	}
	if rp.header.Get(echo.Marker) != "" {
		t.Errorf("%s: the request reached the upstream", where)
	}
	got := responseHeaders(rp.header)
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
	return fmt.Sprintf("%d %v %s", rp.status, headerList(got), body)
}

// checkUpstream asserts an answer of the upstream, and what it received
// as each kind of upstream reads it.
func (r *runner) checkUpstream(t *testing.T, where, base string, st *step, rp *reply) string {
	t.Helper()
	w := st.want
	if rp.status != http.StatusOK || rp.header.Get(echo.Marker) == "" {
		t.Errorf("%s: status %d (upstream marker %q), want 200 from the upstream; body %q",
			where, rp.status, rp.header.Get(echo.Marker), rp.body)
		return fmt.Sprintf("%d %s", rp.status, rp.body)
	}
	if et := rp.header.Values("X-Amzn-Errortype"); len(et) != 0 {
		t.Errorf("%s: x-amzn-errortype %q on an upstream answer", where, et)
	}
	got, err := echo.DecodeAnswer(rp.header, rp.body)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return ""
	}
	if !got.Wire {
		t.Errorf("%s: the upstream could not read the request's header fields off the wire", where)
	}
	wantTarget, wantMethod := cmpOr(w.target, st.req.target), cmpOr(w.method, st.req.method)
	if got.Target != wantTarget || got.Method != wantMethod {
		t.Errorf("%s: upstream received %s %s, want %s %s", where, got.Method, got.Target, wantMethod, wantTarget)
	}
	if wantHost := cmpOr(w.host, sentHost(st.req, base)); got.Host != wantHost {
		t.Errorf("%s: upstream received host %q, want %q", where, got.Host, wantHost)
	}
	plain, cgi, servlet := got.Plain(), got.CGI(), got.Servlet()
	wantServlet := cmpOr(w.servlet, plain.Method+" "+plain.Path)
	if s := servlet.Method + " " + servlet.Path; s != wantServlet {
		t.Errorf("%s: a servlet container reads %s where %s was asked for (it drops ;params, resolves dot segments and upper-cases the method)",
			where, s, wantServlet)
	}
	// knownMissing are expected headers this host is known not to forward
	// (knownHostDiffs, "upstream name=value"); the summary shows them as
	// expected, so hosts_agree does not report them again.
	knownMissing := map[string]string{}
	for _, v := range []echo.View{plain, cgi} {
		for name, val := range w.upstream {
			vals, _ := v.Get(name)
			if slices.Equal(vals, []string{val}) {
				continue
			}
			msg := fmt.Sprintf("%s: upstream header %s = %q as a %s upstream reads it, want exactly [%q]", where, name, vals, v.Reader, val)
			if key := upstreamKey(name, val); len(vals) == 0 && isKnown(r.run, key) {
				r.kd.differs(t, r.run, key, msg)
				knownMissing[name] = val
				continue
			}
			t.Error(msg)
		}
		for _, name := range w.absent {
			if vals, ok := v.Get(name); ok {
				t.Errorf("%s: upstream header %s = %q as a %s upstream reads it, want it absent", where, name, vals, v.Reader)
			}
		}
		for name, text := range w.lacks {
			if vals, _ := v.Get(name); slices.ContainsFunc(vals, func(val string) bool { return strings.Contains(val, text) }) {
				t.Errorf("%s: upstream header %s = %q as a %s upstream reads it, which carries the client's %q", where, name, vals, v.Reader, text)
			}
		}
		for name, vals := range v.Header {
			if _, ok := w.upstream[name]; !ok && strings.HasPrefix(name, "x-authorizer-") {
				t.Errorf("%s: upstream header %s = %q as a %s upstream reads it, not expected", where, name, vals, v.Reader)
			}
		}
	}
	// The summary carries every header the upstream saw but the ones
	// proxies add, so hosts that disagree on one the row does not list
	// still differ.
	seen := make(map[string][]string, len(plain.Header))
	for name, vals := range plain.Header {
		if !slices.Contains(proxyHeaders, name) && !strings.HasPrefix(name, "x-envoy-") {
			seen[name] = vals
		}
	}
	for name, val := range knownMissing {
		seen[name] = []string{val}
	}
	return fmt.Sprintf("200 %v upstream %s %s %v", headerList(responseHeaders(rp.header)), got.Method, got.Target, headerList(seen))
}

// sentHost is the Host the client sent with req to base: its own Host
// header, else the gateway's address.
func sentHost(req request, base string) string {
	for _, h := range req.headers {
		if strings.EqualFold(h[0], "Host") {
			return h[1]
		}
	}
	return hostPort(base)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
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

func headerList(h map[string][]string) []string {
	out := make([]string, 0, len(h))
	for name, vals := range h {
		out = append(out, name+"="+strings.Join(vals, ","))
	}
	sort.Strings(out)
	return out
}

// results collects every run's outcomes. Runs of one host go one after
// another, but hosts_agree reads what all of them wrote.
type results struct {
	mu    sync.Mutex
	byRun map[string]map[string]*outcome // run -> row -> outcome
	want  map[string]int                 // run -> rows it was to run
}

// expect counts one more row run is to run.
func (r *results) expect(run string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.want[run]++
}

// complete reports whether run ran every row it was to run.
func (r *results) complete(run string) bool {
	return r.want[run] > 0 && len(r.byRun[run]) == r.want[run]
}

func (r *results) put(run, row string, o *outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byRun[run] == nil {
		r.byRun[run] = make(map[string]*outcome)
	}
	r.byRun[run][row] = o
}

// ran reports whether any run of host ran every row it was to run.
func (r *results) ran(host string) bool {
	for run := range r.byRun {
		if strings.HasPrefix(run, host+"/") && r.complete(run) {
			return true
		}
	}
	return false
}

// referenceHost is the host the others are compared with: Envoy, the
// proxy the others imitate.
const referenceHost = "envoy"

// runs returns the runs, the reference (Envoy over HTTP/1.1 when it ran)
// first.
func (r *results) runs() []string {
	runs := make([]string, 0, len(r.byRun))
	for run := range r.byRun {
		runs = append(runs, run)
	}
	ref := referenceHost + "/" + protocols[0].name
	slices.SortFunc(runs, func(a, b string) int {
		if (a == ref) != (b == ref) {
			if a == ref {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return runs
}

// compare checks every run against the reference run, row by row: the
// answers, and (unless call counts may legitimately differ) the call
// counts and the events.
func (r *results) compare(t *testing.T, kd *knownDiffs) {
	runs := r.runs()
	if len(runs) < 2 {
		t.Skipf("only %v ran the table; nothing to compare", runs)
	}
	ref := runs[0]
	rows := allRows()
	for _, run := range runs[1:] {
		for _, rw := range rows {
			a, b := r.byRun[ref][rw.name], r.byRun[run][rw.name]
			if a == nil || b == nil {
				continue // a row that did not run (-run) or a run cut short
			}
			if a.answers != b.answers {
				t.Errorf("%s: %s answered\n  %s\nbut %s answered\n  %s", rw.name, ref, a.answers, run, b.answers)
			}
			if rw.perVM {
				continue
			}
			if a.calls != b.calls {
				t.Errorf("%s: %s made %d authorizer calls, %s made %d", rw.name, ref, a.calls, run, b.calls)
			}
			if len(a.events) != len(b.events) {
				t.Errorf("%s: %s sent %d events, %s sent %d", rw.name, ref, len(a.events), run, len(b.events))
				continue
			}
			for i := range a.events {
				if d := kd.filter(t, ref, run, diffLines(a.events[i], b.events[i])); d != "" {
					t.Errorf("%s: event %d differs between %s (-) and %s (+):\n%s", rw.name, i, ref, run, d)
				}
			}
		}
	}
}
