package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/e2e/internal/authz"
	"github.com/authgate/authgate/e2e/internal/echo"
)

// TestDifferential sends the same random requests to every host and
// compares what each answered and what its upstream received. Policies are
// random (wildcards, NotAction, NotResource, conditions), requests are
// random (methods in any case, paths with parameters, dots and escapes,
// queries, forwarded and forged headers, over HTTP/1.1 or HTTP/2), and
// tokens are fresh or reused, so cached policies are judged against new
// requests. A disagreement is a bug in one host or a rule missing from the
// table's security rows. Whatever the hosts agree on, no upstream may read
// a principal the authorizer did not give, a forged context value or an
// override header.
//
// AUTHGATE_DIFF_CASES sets the number of cases (default 300; `make
// differential` runs many more) and AUTHGATE_DIFF_SEED the seed (default
// 1), which every failure reports.
func TestDifferential(t *testing.T) {
	n := envInt(t, "AUTHGATE_DIFF_CASES", 300)
	seed := uint64(envInt(t, "AUTHGATE_DIFF_SEED", 1))
	g := newDiffGen(seed)
	cases := make([]diffCase, n)
	for i := range cases {
		cases[i] = g.next()
	}
	t.Logf("%d cases, seed %d, %d tokens", n, seed, len(g.answers))

	bases := startDifferential(t, g)
	outcomes := map[string][]string{} // host -> case -> summary
	var hosts []string
	for _, gw := range gateways() {
		t.Run(gw.name(), func(t *testing.T) {
			needHost(t, gw)
			base, ok := bases[gw.name()]
			if !ok {
				t.Fatalf("%s did not start", gw.name())
			}
			clients := map[string]*http.Client{}
			for _, p := range protocols {
				clients[p.name] = newClient(t, p, true)
			}
			out := make([]string, len(cases))
			for i, c := range cases {
				p := c.protocol()
				began := time.Now()
				rep, err := p.send(clients[p.name], base, c.req)
				if d := time.Since(began); d > 2*time.Second {
					t.Logf("SLOW case %d %s: %v %v", i, c, d, err)
				}
				if err != nil {
					out[i] = "error: " + err.Error()
					continue
				}
				out[i] = diffSummary(t, c, rep)
			}
			outcomes[gw.name()] = out
			hosts = append(hosts, gw.name())
		})
	}
	if len(hosts) < 2 {
		t.Skipf("only %v ran; nothing to compare", hosts)
	}
	compareDifferential(t, seed, cases, hosts, outcomes)
}

// startDifferential starts every host that can run here at once, each
// with an authorizer that answers the generator's tokens, and returns
// their base URLs by host; a host that failed to start is missing, and
// its own subtest says why.
func startDifferential(t *testing.T, g *diffGen) map[string]string {
	var gws []gateway
	for _, gw := range gateways() {
		if gw.unavailable() == "" {
			gws = append(gws, gw)
		}
	}
	insts := make([]*instance, len(gws))
	errs := make([]error, len(gws))
	var wg sync.WaitGroup
	for i, gw := range gws {
		e := newEnv(t)
		for id, body := range g.answers {
			e.authz.Script(id, body)
		}
		s := spec{cfgs: [][]byte{[]byte(diffConfig)}, names: []string{"differential"}, env: e, together: len(gws)}
		wg.Go(func() { insts[i], errs[i] = gw.start(t, s) })
	}
	wg.Wait()
	bases := make(map[string]string, len(gws))
	for i, gw := range gws {
		if errs[i] != nil {
			t.Errorf("%s did not start: %v", gw.name(), errs[i])
			continue
		}
		bases[gw.name()] = insts[i].bases[0]
	}
	return bases
}

// compareDifferential fails t for every case on which the hosts disagree,
// showing the first few, and logs what the cases came to, so a generator
// that stops producing allows or denials shows.
func compareDifferential(t *testing.T, seed uint64, cases []diffCase, hosts []string, outcomes map[string][]string) {
	sort.Strings(hosts)
	kinds := map[string]int{}
	for _, o := range outcomes[hosts[0]] {
		k := o
		switch {
		case strings.Contains(o, " upstream ") && strings.Contains(o, "x-authorizer-principal-id"):
			k = "upstream, authorized"
		case strings.Contains(o, " upstream "):
			k = "upstream, no authorizer"
		case strings.HasPrefix(o, refusedBeforeFilter):
			k, _, _ = strings.Cut(o, ":")
		default:
			k, _, _ = strings.Cut(o, "]")
		}
		kinds[k]++
	}
	t.Logf("outcomes: %v", kinds)
	if kinds["upstream, authorized"] == 0 || kinds["upstream, no authorizer"] == 0 {
		t.Errorf("no case reached the upstream with and without an authorizer: %v", kinds)
	}
	failures := 0
	for i, c := range cases {
		ref := outcomes[hosts[0]][i]
		if !slices.ContainsFunc(hosts[1:], func(h string) bool { return outcomes[h][i] != ref }) {
			continue
		}
		if failures++; failures > 20 {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "case %d (seed %d) disagrees: %s\n", i, seed, c)
		for _, h := range hosts {
			fmt.Fprintf(&b, "  %-13s %s\n", h, outcomes[h][i])
		}
		t.Error(b.String())
	}
	if failures > 0 {
		t.Errorf("%d of %d cases disagree", failures, len(cases))
	}
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a non-negative integer", name, v)
	}
	return n
}

// invalidEscape reports whether s has a "%" not followed by two hex digits.
func invalidEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && (i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2])) {
			return true
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// refusedBeforeFilter starts the summary of a request net/http refuses
// before a Go host's handler runs, whoever refused it.
const refusedBeforeFilter = "refused before the gateway"

// diffPrincipal is the principal the authorizer gives the token with id.
func diffPrincipal(id string) string { return "user-" + id }

// diffConfig mixes explicit methods, parameters, greedy routes, a REQUEST
// authorizer that reads the query and NONE routes, with a catch-all NONE
// route under all of them. Its authorizers point at the test authorizer,
// which answers each case's token as the generator scripted it.
const diffConfig = `{
  "region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
  "authorizers": {
    "jwt": {"type": "TOKEN", "cluster": "authorizer", "path": "/authorize", "timeoutMs": 5000, "authorizerResultTtlInSeconds": 300},
    "fresh": {"type": "TOKEN", "cluster": "authorizer", "path": "/authorize", "timeoutMs": 5000, "authorizerResultTtlInSeconds": 0},
    "keys": {"type": "REQUEST", "cluster": "authorizer", "path": "/authorize", "timeoutMs": 5000,
      "identitySource": "method.request.header.X-Token, method.request.querystring.tenant", "authorizerResultTtlInSeconds": 300}
  },
  "routes": [
    {"method": "GET", "path": "/rt/admin", "authorizer": "jwt"},
    {"method": "ANY", "path": "/admin", "authorizer": "jwt"},
    {"method": "GET", "path": "/pets", "authorizer": "jwt"},
    {"method": "POST", "path": "/pets", "authorizer": "fresh"},
    {"method": "ANY", "path": "/pets/{id}", "authorizer": "jwt"},
    {"method": "DELETE", "path": "/pets/{id}", "authorizer": "fresh"},
    {"method": "ANY", "path": "/pets/{id}/toys/{toy+}", "authorizer": "jwt"},
    {"method": "ANY", "path": "/keys/{proxy+}", "authorizer": "keys"},
    {"method": "ANY", "path": "/health", "authorizer": "NONE"},
    {"method": "ANY", "path": "/{proxy+}", "authorizer": "NONE"}
  ]
}`

// diffCase is one request of the differential test.
type diffCase struct {
	req   request // always raw
	h2    bool
	token string // the scripted token's id; "" when the request carries none
}

func (c diffCase) protocol() protocol {
	if c.h2 {
		return protocols[1]
	}
	return protocols[0]
}

func (c diffCase) String() string {
	return fmt.Sprintf("%s %q %s headers %q", c.req.method, c.req.target, c.protocol().version, c.req.headers)
}

// diffGen draws cases from one seed. answers holds the authorizer's answer
// for every token it handed out, by the token's id (authz.Script).
type diffGen struct {
	r       *rand.Rand
	tokens  []string
	answers map[string]string
}

func newDiffGen(seed uint64) *diffGen {
	return &diffGen{r: rand.New(rand.NewPCG(seed, 0x5eed)), answers: map[string]string{}}
}

func (g *diffGen) pick(s []string) string { return s[g.r.IntN(len(s))] }

var (
	diffMethods    = []string{"GET", "GET", "GET", "GET", "POST", "POST", "PUT", "PATCH", "DELETE", "DELETE", "HEAD", "OPTIONS"}
	diffBadMethods = []string{"get", "delete", "Post", "FOO", "PROPFIND", "TRACE"}
	diffPaths      = []string{"/pets", "/pets/1", "/pets/2", "/pets/1/toys/ball", "/pets/1/toys/a/b", "/admin", "/rt/admin",
		"/health", "/", "/open/x", "/keys/a", "/nowhere/y", "/pets/"}
	diffSuffixes = []string{"", "", "", "", ";x=1", "%3b", "/..", "/.", "/../admin", "/%2e%2e/admin", "..;/admin", "/%252e%252e",
		"%2541", "/", "//x", "%2F", "%20b", "%25", "%ZZ", "\\x", "%5c", "%EF%BC%8E", "/%C3%A9", "~", "!$&'()*+,=:@"}
	diffQueries = []string{"", "", "?a=1", "?a=%ZZ", "?a=1;b=2", "?tenant=acme", "?tenant=acme;tenant=b", "?tenant=%ZZ",
		"?", "?q=%2f&x", "?tenant=a+b"}
	diffIPs     = []string{"10.1.2.3", "127.0.0.1", "192.0.2.9", "10.1.2.3, 127.0.0.1"}
	diffActions = []string{`"Action": "execute-api:Invoke"`, `"Action": "execute-api:*"`, `"Action": "*"`,
		`"NotAction": "execute-api:ManageConnections"`, `"NotAction": "execute-api:Invoke"`, `"Action": ["execute-api:Invoke", "s3:*"]`}
	diffVerbs     = []string{"GET", "GET", "POST", "DELETE", "PUT", "*", "*", "G*", "get"}
	diffResources = []string{"pets", "pets/*", "pets/*", "pets/1", "admin", "rt/admin", "*", "*", "pets/*/toys/*", "keys/*", "open/*", "pets/?"}
	diffConds     = []string{
		`{"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}`,
		`{"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}`,
		`{"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.0/24"]}}`,
		`{"Bool": {"aws:SecureTransport": "false"}}`,
		`{"Bool": {"aws:SecureTransport": "true"}}`,
		`{"StringLike": {"aws:UserAgent": "diff-*"}}`,
		`{"StringNotLike": {"aws:UserAgent": "curl*"}}`,
		`{"DateGreaterThan": {"aws:CurrentTime": "2000-01-01T00:00:00Z"}}`,
		`{"DateLessThan": {"aws:CurrentTime": "2001-01-01T00:00:00Z"}}`,
		`{"Null": {"aws:Referer": "true"}}`,
	}
)

// policy draws an authorizer answer: one to four statements, sometimes
// with a condition, sometimes a context, or (rarely) no valid answer.
func (g *diffGen) policy(principal string) string {
	switch g.r.IntN(20) {
	case 0:
		return `{"principalId": "` + principal + `", "policyDocument": `
	case 1:
		return `"Unauthorized"`
	}
	var stmts []string
	for range 1 + g.r.IntN(4) {
		effect := "Allow"
		if g.r.IntN(4) == 0 {
			effect = "Deny"
		}
		var res []string
		for range 1 + g.r.IntN(2) {
			if g.r.IntN(4) == 0 {
				res = append(res, `"*"`)
				continue
			}
			stage := "prod"
			if g.r.IntN(10) == 0 {
				stage = "*"
			}
			res = append(res, strconv.Quote("arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/"+stage+"/"+g.pick(diffVerbs)+"/"+g.pick(diffResources)))
		}
		key := `"Resource"`
		if g.r.IntN(6) == 0 {
			key = `"NotResource"`
		}
		s := `{"Effect": "` + effect + `", ` + g.pick(diffActions) + `, ` + key + `: [` + strings.Join(res, ", ") + `]`
		if g.r.IntN(3) == 0 {
			s += `, "Condition": ` + g.pick(diffConds)
		}
		stmts = append(stmts, s+`}`)
	}
	ctx := ""
	if g.r.IntN(2) == 0 {
		ctx = fmt.Sprintf(`, "context": {"tier": "t%d", "n": %d, "ok": true}`, g.r.IntN(3), g.r.IntN(100))
	}
	return `{"principalId": "` + principal + `", "policyDocument": {"Version": "2012-10-17", "Statement": [` + strings.Join(stmts, ", ") + `]}` + ctx + `}`
}

// next draws one case.
func (g *diffGen) next() diffCase {
	c := diffCase{h2: g.r.IntN(2) == 0, req: request{raw: true}}
	c.req.method = g.pick(diffMethods)
	if g.r.IntN(8) == 0 {
		c.req.method = g.pick(diffBadMethods)
	}
	suffix := ""
	if g.r.IntN(2) == 0 {
		suffix = g.pick(diffSuffixes)
	}
	for c.h2 && invalidEscape(suffix) {
		// Go's HTTP/2 server resets a stream whose :path has an invalid
		// escape, and its client retries it until it gives up; the
		// HTTP/1.1 cases cover such paths.
		suffix = g.pick(diffSuffixes)
	}
	c.req.target = g.pick(diffPaths) + suffix + g.pick(diffQueries)
	if strings.HasPrefix(c.req.target, "//") {
		// Go's HTTP/2 client cannot send such a :path (it would read as
		// an authority); HTTP/1.1 can.
		c.h2 = false
	}
	switch {
	case g.r.IntN(10) == 0:
		// No token.
	case len(g.tokens) == 0 || g.r.IntN(10) < 4:
		id := fmt.Sprintf("d%d", len(g.tokens))
		g.tokens = append(g.tokens, id)
		g.answers[id] = g.policy(diffPrincipal(id))
		c.token = id
	default:
		c.token = g.pick(g.tokens)
	}
	if c.token != "" {
		tok := authz.ScriptedToken(c.token)
		c.req.headers = append(c.req.headers, [2]string{"Authorization", "Bearer " + tok}, [2]string{"X-Token", tok})
	}
	extra := [][2]string{
		{"X-Forwarded-For", g.pick(diffIPs)},
		{"x_authorizer_principal_id", "admin"},
		{"X-Authorizer-Tier", "forged"},
		{"X-Authorizer_N", "99"},
		{"X-HTTP-Method-Override", "DELETE"},
		{"X-Original-URL", "/admin"},
		{"x_method_override", "PUT"},
		{"User-Agent", g.pick([]string{"diff-agent/1", "curl/8.0"})},
		{"X_Forwarded_For", "6.6.6.6"},
		{"Referer", "https://example.com/"},
	}
	for _, h := range extra {
		if g.r.IntN(4) == 0 {
			c.req.headers = append(c.req.headers, h)
		}
	}
	return c
}

// diffSummary is what a host's answer to c is compared by: the gateway's
// answer (status, error type, body), or the request as the upstream
// received it (method, target, the header fields but the ones proxies
// add) and the authorizer headers a CGI-style upstream reads. net/http's
// own 400 for an invalid escape in the path, which it gives before any
// handler of a Go host runs, is named, not spelt out (refusedBeforeFilter);
// every other answer, Envoy's codec refusing a method included (the Go
// hosts refuse it alike), is compared as it is. It also fails t where an
// upstream reads what no host may forward.
func diffSummary(t *testing.T, c diffCase, rep *reply) string {
	fromUpstream := rep.header.Get(echo.Marker) != ""
	errType := rep.header.Values("X-Amzn-Errortype")
	noRouteAnswer := rep.status == noRoute.status && slices.Equal(errType, []string{noRoute.headers["x-amzn-errortype"]})
	path, _, _ := strings.Cut(c.req.target, "?")
	if invalidEscape(path) && !fromUpstream && (rep.status == http.StatusBadRequest || noRouteAnswer) {
		// net/http refuses such a request line with its own 400 before
		// any handler runs; Envoy passes it to the filter, which answers
		// its JSON 400, or first refuses an unsupported method.
		return refusedBeforeFilter + ": invalid escape in the path"
	}
	if !fromUpstream {
		return fmt.Sprintf("%d %q %s", rep.status, errType, rep.body)
	}
	got, err := echo.DecodeAnswer(rep.header, rep.body)
	if err != nil {
		t.Errorf("case %s: %v", c, err)
		return err.Error()
	}
	plain, cgi := got.Plain(), got.CGI()
	checkDiffUpstream(t, c, cgi)
	var seen, vars []string
	for name, vals := range plain.Header {
		if !slices.Contains(proxyHeaders, name) && !strings.HasPrefix(name, "x-envoy-") {
			seen = append(seen, name+"="+strings.Join(vals, ","))
		}
	}
	for name, vals := range cgi.Header {
		if strings.HasPrefix(name, "x-authorizer-") {
			vars = append(vars, name+"="+strings.Join(vals, ","))
		}
	}
	sort.Strings(seen)
	sort.Strings(vars)
	return fmt.Sprintf("%d upstream %s %s %v CGI %v", rep.status, got.Method, got.Target, seen, vars)
}

// checkDiffUpstream fails t where the upstream, read the CGI way, sees a
// principal other than the one the case's token was given, a context
// value the client forged, or an override header.
func checkDiffUpstream(t *testing.T, c diffCase, cgi echo.View) {
	t.Helper()
	if vals, ok := cgi.Get("x-authorizer-principal-id"); ok && (c.token == "" || !slices.Equal(vals, []string{diffPrincipal(c.token)})) {
		t.Errorf("case %s: the upstream reads the principal %q", c, vals)
	}
	if vals, _ := cgi.Get("x-authorizer-tier"); slices.Contains(vals, "forged") {
		t.Errorf("case %s: the upstream reads the client's x-authorizer-tier %q", c, vals)
	}
	for _, name := range overridden {
		if vals, ok := cgi.Get(name); ok {
			t.Errorf("case %s: the upstream reads the override header %s = %q", c, name, vals)
		}
	}
}
