//go:build securityport

package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDifferential sends the same random requests to every host and
// compares what each answered and what its upstream received. Policies are
// random (wildcards, NotAction, NotResource, conditions), requests are
// random (methods in any case, paths with parameters, dots and escapes,
// queries, forwarded and forged headers), and tokens are fresh or reused,
// so cached policies are judged against new requests. A disagreement is a
// bug in one host or a rule missing from the security rows.
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

	outcomes := map[string][]string{} // host -> case -> summary
	var hosts []string
	for _, host := range secHosts() {
		t.Run(host.name, func(t *testing.T) {
			authz := newScriptAuthz()
			for tok, body := range g.answers {
				authz.set(tok, body)
			}
			up := newReaderUpstream(t)
			addr := host.start(t, []byte(diffConfig), up, serve(t, authz))
			h2 := h2cClient(t)
			out := make([]string, len(cases))
			for i, c := range cases {
				began := time.Now()
				var rep *wireReply
				var err error
				if c.h2 {
					rep, err = sendH2(h2, addr, c.req)
				} else {
					rep, err = sendH1(addr, c.req)
				}
				if d := time.Since(began); d > 2*time.Second {
					t.Logf("SLOW case %d %s: %v %v", i, c, d, err)
				}
				if err != nil {
					out[i] = "error: " + err.Error()
					continue
				}
				out[i] = diffSummary(host, c, rep)
			}
			outcomes[host.name] = out
			hosts = append(hosts, host.name)
		})
	}
	if len(hosts) < 2 {
		t.Skipf("only %v ran; nothing to compare", hosts)
	}
	sort.Strings(hosts)
	// What the cases came to, so a generator that stops producing allows
	// or denials shows in the log.
	kinds := map[string]int{}
	for _, o := range outcomes[hosts[0]] {
		k := o
		switch {
		case strings.Contains(o, " upstream ") && strings.Contains(o, "x-authorizer-principal-id"):
			k = "upstream, authorized"
		case strings.Contains(o, " upstream "):
			k = "upstream, no authorizer"
		case strings.HasPrefix(o, "refused") || strings.HasPrefix(o, "method refused"):
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
		agree := true
		for _, h := range hosts[1:] {
			if outcomes[h][i] != ref {
				agree = false
			}
		}
		if agree {
			continue
		}
		failures++
		if failures > 20 {
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

// invalidEscape reports whether s has a "%" not followed by two hex digits.
func invalidEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && (i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2])) {
			return true
		}
	}
	return false
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

// diffConfig mixes explicit methods, parameters, greedy routes, a REQUEST
// authorizer that reads the query and NONE routes, with a catch-all NONE
// route under all of them.
const diffConfig = `{
  "region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
  "authorizers": {
    "jwt": {"type": "TOKEN", "cluster": "authorizer", "path": "/authorize", "timeoutMs": 5000, "authorizerResultTtlInSeconds": 300},
    "fresh": {"type": "TOKEN", "cluster": "authorizer", "path": "/authorize", "timeoutMs": 5000, "authorizerResultTtlInSeconds": 0},
    "keys": {"type": "REQUEST", "cluster": "authorizer", "path": "/authorize", "timeoutMs": 5000,
      "identitySource": "method.request.header.X-Api-Key, method.request.querystring.tenant", "authorizerResultTtlInSeconds": 300}
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
	req   wireRequest
	h2    bool
	token string // "" when the request carries none
}

func (c diffCase) String() string {
	proto := "HTTP/1.1"
	if c.h2 {
		proto = "HTTP/2"
	}
	return fmt.Sprintf("%s %q %s headers %q", c.req.method, c.req.target, proto, c.req.headers)
}

// diffGen draws cases from one seed. answers holds the authorizer's secAnswer
// for every token it handed out.
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
	c := diffCase{h2: g.r.IntN(2) == 0}
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
		tok := fmt.Sprintf("tok%d", len(g.tokens))
		g.tokens = append(g.tokens, tok)
		g.answers["Bearer "+tok] = g.policy("user-" + tok)
		g.answers[tok] = g.answers["Bearer "+tok]
		c.token = tok
	default:
		c.token = g.pick(g.tokens)
	}
	if c.token != "" {
		c.req.headers = append(c.req.headers, [2]string{"Authorization", "Bearer " + c.token}, [2]string{"X-Api-Key", c.token})
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
// answer (status, error type, body), or the upstream's view of the
// request (method, target, the authorizer headers it received and the
// authorizer variables a CGI-style upstream reads). A method Envoy's
// HTTP/1 codec refuses before the filter runs counts as the gateway's
// refusal of the method.
func diffSummary(host secHost, c diffCase, rep *wireReply) string {
	path, _, _ := strings.Cut(c.req.target, "?")
	if invalidEscape(path) && rep.view == nil &&
		(rep.status == 400 || rep.status == secNoRoute.status && rep.header.Get("X-Amzn-Errortype") == secNoRoute.errorType) {
		// net/http refuses such a request line with its own 400 before
		// any handler runs; Envoy passes it to the filter, which answers
		// its JSON 400, or first refuses an unsupported method.
		return "refused before the upstream: invalid escape in the path"
	}
	if !knownMethod(c.req.method) && rep.view == nil &&
		(rep.status == secNoRoute.status && string(rep.body) == secNoRoute.body ||
			host.viaEnvoy && !c.h2 && isCodecRefusal(rep) ||
			c.req.method == "HEAD" && rep.status == secNoRoute.status) {
		return "method refused before the upstream"
	}
	if rep.view == nil {
		return fmt.Sprintf("%d %q %s", rep.status, rep.header.Values("X-Amzn-Errortype"), rep.body)
	}
	v := rep.view
	var authz []string
	for name, vals := range v.Headers {
		if strings.HasPrefix(name, "x-authorizer-") {
			authz = append(authz, name+"="+strings.Join(vals, ","))
		}
	}
	sort.Strings(authz)
	for _, name := range []string{"x-http-method-override", "x-original-url", "x_method_override", "x_authorizer_principal_id"} {
		if vals, ok := v.Headers[name]; ok {
			authz = append(authz, "LEAKED "+name+"="+strings.Join(vals, ","))
		}
	}
	return fmt.Sprintf("%d upstream %s %s %v %v", rep.status, v.Method, v.URI, authz, v.authorizerVars())
}
