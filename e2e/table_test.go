package e2e

import (
	"encoding/base64"
	"maps"
	"testing"
)

// The table: one row type, run by one runner (TestTable) against every
// host over every protocol. Rows are grouped by subject in rows_*_test.go
// and listed here, in the order they run.
//
// To add a row: append it to a group (or add a group and list it here).
// Give it its own tokens (cached answers of one row must never answer
// another), name its configuration, and say what each request must give:
// the gateway's own answer, or what the upstream must receive. The runner
// checks the rest for every row: the authorizer saw no other token, every
// x-authorizer-* header the upstream sees is expected (read as a plain, a
// CGI and a servlet upstream would), and every host and protocol gave the
// same answers, upstream requests, call counts and events.
var groups = []group{
	{name: "token", rows: tokenRows},
	{name: "api", rows: apiRows},
	{name: groupSecurity, rows: securityRows},
	{name: groupLimits, rows: limitsRows},
	lambdaGroup,
}

// groupSecurity names the rows every host runs, the serve hosts included
// (see cliGateway.groups).
const groupSecurity = "security"

// group is a set of rows and what they need beyond the table's own
// environment.
type group struct {
	name string
	rows []row
	// env, when set, starts the environment the group's gateways talk to,
	// one per host and protocol, in place of the shared one (newEnv):
	// another authorizer, an Envoy example or process environment of its
	// own.
	env func(t *testing.T) *env
	// unavailable says why the group cannot run here ("" when it can);
	// it is skipped then, or fails the run under CI.
	unavailable func() string
	// after checks, once the group's rows ran, what its environment saw
	// over all of them.
	after func(t *testing.T, e *env)
}

// allRows returns every row of every group, in order.
func allRows() []row {
	var out []row
	for _, g := range groups {
		out = append(out, g.rows...)
	}
	return out
}

// row is one row of the table.
type row struct {
	name string
	// config names the plugin configuration (see configs); "" is cfgToken.
	config string
	steps  []step
	// only, when set, names the one protocol the row runs over: an
	// absolute-form request target exists in HTTP/1.1 only.
	only string
	// token whose authorizer calls are counted; calls is the exact count
	// after all steps. Every row also checks that the authorizer saw no
	// other call meanwhile.
	token string
	calls int
	// perVM relaxes calls to 1..VMs for hosts whose VMs each coalesce
	// only their own concurrent misses (Envoy workers, the wasm pool).
	// Call counts and events of such a row are not compared across hosts.
	perVM bool
	// arns, when set, are the methodArn values of the events received
	// for token, in order.
	arns []string
	// event, for the first event received for token, maps gjson paths to
	// the exact JSON each must hold; "-" means the member must be absent.
	event map[string]string
}

func (r *row) configName() string {
	if r.config == "" {
		return cfgToken
	}
	return r.config
}

// step sends req (repeat times in sequence, or parallel times at once)
// and checks every answer against want.
type step struct {
	req      request
	repeat   int
	parallel int
	// fresh sends every request on a new connection. Envoy binds a
	// connection to one worker (one VM): without fresh, repeated requests
	// would only ever exercise one VM's cache.
	fresh bool
	want  want
}

// want is what one request must produce: the gateway's own answer
// (reject), or else the upstream's answer (status 200 from the echo
// server) to a request it received as described.
type want struct {
	reject *answer
	// codecRefuses says that over HTTP/1 Envoy's codec refuses the
	// request before any filter runs, with its plain 400 (a method
	// outside its list), and every Go host as it does; reject then
	// applies over HTTP/2 only.
	codecRefuses bool
	// netHTTPRefuses says that net/http refuses the request line before
	// a Go host's handler runs (an invalid percent-escape in the path),
	// with its own 400 in place of reject: a known difference of the runs
	// knownHostDiffs lists under netHTTPKey.
	netHTTPRefuses bool
	// reset says the host must reset the stream (HTTP/2) instead of
	// answering, as Envoy does past max_headers_count.
	reset bool
	// upstream are headers the upstream must receive with exactly these
	// values (one value each). Every x-authorizer-* header it receives
	// must be listed. Both hold under the plain and the CGI reading (where
	// x_authorizer_foo is x-authorizer-foo).
	upstream map[string]string
	// absent are headers no reading may find.
	absent []string
	// lacks maps headers to text none of their values may hold, as any
	// reading finds them.
	lacks map[string]string
	// target and method the upstream must receive on its request line;
	// "" means the request's own.
	target, method string
	// host the upstream must receive; "" means the one the client sent
	// (the request's Host header, else the gateway's address).
	host string
	// servlet is "METHOD /path" as a servlet container reads the forwarded
	// request; "" means the same method and path as the plain reading,
	// so a request a servlet container would read as another resource
	// (;params, dot segments, a lower-case method) fails unless the row
	// says that is what it expects.
	servlet string
}

// answer is one of the gateway's own responses. headers are the response
// headers beyond the transport ones (see transportHeaders) with their
// exact values, content-type and x-amzn-errortype included when expected:
// any other header fails the step.
type answer struct {
	status  int
	body    string
	headers map[string]string
	// bodyPattern, when set, replaces body: the body must match it (for
	// values that differ per host, such as a generated request id).
	// patternKey names the value for knownHostDiffs.
	bodyPattern, patternKey string
}

// restAnswer is a REST API answer: JSON, the error type and extra
// headers (name, value, ...).
func restAnswer(status int, errType, body string, extra ...string) *answer {
	h := map[string]string{"content-type": "application/json", "x-amzn-errortype": errType}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return &answer{status: status, body: body, headers: h}
}

// httpAnswer is an HTTP API answer: JSON, and no x-amzn-errortype.
func httpAnswer(status int, body string) *answer {
	return &answer{status: status, body: body, headers: map[string]string{"content-type": "application/json"}}
}

func rejected(a *answer) want { return want{reject: a} }

// allowed expects the upstream to see principal (none when "") and the
// extra headers, and none of absent.
func allowed(principal string, extra map[string]string, absent ...string) want {
	up := maps.Clone(extra)
	if up == nil {
		up = map[string]string{}
	}
	if principal != "" {
		up["x-authorizer-principal-id"] = principal
	}
	return want{upstream: up, absent: absent}
}

// contextHeaders are the upstream headers of an allow whose context the
// authorizer sent as doc: own, the entries with a header of their own, and
// x-authorizer-context, doc in standard base64 (doc must be compact, as
// the gateway re-encodes only the keys).
func contextHeaders(doc string, own map[string]string) map[string]string {
	up := maps.Clone(own)
	if up == nil {
		up = map[string]string{}
	}
	up["x-authorizer-context"] = base64.StdEncoding.EncodeToString([]byte(doc))
	return up
}

func one(req request, w want) []step { return []step{{req: req, want: w}} }

func req(method, target string, headers ...[2]string) request {
	return request{method: method, target: target, headers: headers}
}

func get(target string, headers ...[2]string) request { return req("GET", target, headers...) }

func auth(token string) [2]string { return [2]string{"Authorization", token} }

func bearer(behaviour, id string) string { return "Bearer " + behaviour + "." + id }

func tok(v string) [2]string { return [2]string{"X-Token", v} }

// rawReq is a request sent exactly as written (see request.raw).
func rawReq(method, target string, headers ...[2]string) request {
	return request{method: method, target: target, headers: headers, raw: true}
}
