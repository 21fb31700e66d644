package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authgate/authgate/core/authorizer"
	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/pipeline"
	"github.com/tidwall/gjson"
)

// pairFlags collects repeated K=V flags in order.
type pairFlags []pipeline.Header

func (pf *pairFlags) String() string { return "" }

func (pf *pairFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", s)
	}
	*pf = append(*pf, pipeline.Header{Name: k, Value: v})
	return nil
}

// testAnswer is what the authorizer sent back.
type testAnswer struct {
	Status    int               `json:"status"`
	LatencyMs float64           `json:"latencyMs"`
	Headers   map[string]string `json:"headers"`
	Body      string            `json:"body"`
	// Error says why no answer arrived (refused, timeout, ...).
	Error string `json:"error,omitempty"`
}

// testOutput is test-authorizer's --json document; the field order is the
// output's.
type testOutput struct {
	Request struct {
		Method     string `json:"method"`
		Path       string `json:"path"`
		Route      string `json:"route"`
		Authorizer string `json:"authorizer"`
		Type       string `json:"type"`
	} `json:"request"`
	// Event is the JSON the authorizer received; null when the gateway
	// would answer without calling it.
	Event       json.RawMessage   `json:"event"`
	URL         string            `json:"url,omitempty"`
	Answer      *testAnswer       `json:"answer"`
	PrincipalID *string           `json:"principalId"`
	Policy      json.RawMessage   `json:"policyDocument"`
	Context     map[string]string `json:"context"`
	Decision    string            `json:"decision"`
	Status      int               `json:"status"`
	Statement   *int              `json:"statement"`
	Reason      string            `json:"reason"`
	Headers     headerObject      `json:"headers"`
	Cache       struct {
		Cached     bool `json:"cached"`
		TTLSeconds int  `json:"ttlSeconds"`
	} `json:"cache"`
}

// testAuthorizer calls one configured authorizer for a request built from
// flags, as API Gateway's console "Test" button does, and shows every step
// the gateway takes with the answer.
func (c *cli) testAuthorizer(ctx context.Context, args []string) int {
	const synopsis = "--config FILE --authorizer NAME --cluster NAME=URL (--token T | --header K=V ... --query K=V ...) [--stage-var K=V ...] [--method M] [--path P] [--source-ip IP] [--json]"
	fs := c.flags("test-authorizer", synopsis)
	file := fs.String("config", "", "gateway configuration `FILE` (JSON; - for stdin)")
	name := fs.String("authorizer", "", "the authorizer to call, by `NAME`")
	clusters := clusterFlags{}
	fs.Var(clusters, "cluster", "authorizer cluster `NAME=URL`")
	token := fs.String("token", "", "the identity of a TOKEN authorizer: the value of its identity header, e.g. \"Bearer ey...\"")
	var headers, query, stageVars pairFlags
	fs.Var(&headers, "header", "request header `K=V`; repeat for more")
	fs.Var(&query, "query", "query parameter `K=V`; repeat for more")
	fs.Var(&stageVars, "stage-var", "stage variable `K=V`, replacing the configured value; repeat for more")
	method := fs.String("method", "GET", "request `METHOD`")
	path := fs.String("path", "", "request `PATH`; default: the first route that uses the authorizer, with sample values for its parameters")
	sourceIP := fs.String("source-ip", "127.0.0.1", "the caller's `IP`")
	asJSON := fs.Bool("json", false, "print one JSON document")
	if code, ok := c.parse(fs, args); !ok {
		return code
	}
	switch {
	case *file == "":
		c.usageError(fs, "--config is required")
		return exitUsage
	case *name == "":
		c.usageError(fs, "--authorizer is required")
		return exitUsage
	}
	raw, err := c.readInput(*file)
	if err != nil {
		fmt.Fprintf(c.stderr, "authgate test-authorizer: %v\n", err)
		return exitUsage
	}
	if len(stageVars) > 0 {
		if raw, err = withStageVariables(raw, stageVars); err != nil {
			fmt.Fprintf(c.stderr, "authgate test-authorizer: %s: %v\n", displayName(*file), err)
			return exitUsage
		}
	}
	plan, err := config.Parse(raw)
	if err != nil {
		fmt.Fprintf(c.stderr, "authgate test-authorizer: %s: %v\n", displayName(*file), err)
		return exitUsage
	}
	auth := plan.Authorizers[*name]
	if auth == nil {
		fmt.Fprintf(c.stderr, "authgate test-authorizer: no authorizer %q in %s (it has %s)\n", *name, displayName(*file), strings.Join(sortedAuthorizers(plan), ", "))
		return exitUsage
	}
	base := clusters[auth.Cluster]
	if base == "" {
		fmt.Fprintf(c.stderr, "authgate test-authorizer: authorizer %q uses cluster %q: pass --cluster %s=URL\n", *name, auth.Cluster, auth.Cluster)
		return exitUsage
	}
	if *token != "" {
		if auth.Type != config.TypeToken {
			fmt.Fprintf(c.stderr, "authgate test-authorizer: --token is for TOKEN authorizers; %q is a %s authorizer: pass --header, --query or --stage-var\n", *name, auth.Type)
			return exitUsage
		}
		headers = append(headers, pipeline.Header{Name: auth.IdentitySources[0].Name, Value: *token})
	}
	if *path == "" {
		if *path = samplePath(plan, auth); *path == "" {
			fmt.Fprintf(c.stderr, "authgate test-authorizer: no route uses authorizer %q: pass --path\n", *name)
			return exitUsage
		}
	}
	target := *path
	if len(query) > 0 {
		q := make([]string, len(query))
		for i, p := range query {
			q[i] = url.QueryEscape(p.Name) + "=" + url.QueryEscape(p.Value)
		}
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + strings.Join(q, "&")
	}
	req := &pipeline.Request{Method: *method, Target: target, Scheme: "https", SourceIP: *sourceIP,
		RequestID: "test-invoke-request", Authority: "authgate.test", Protocol: "HTTP/1.1"}
	for _, h := range headers {
		req.Headers = append(req.Headers, pipeline.Header{Name: strings.ToLower(h.Name), Value: h.Value})
	}
	req.Headers = append(req.Headers, pipeline.Header{Name: "host", Value: req.Authority})

	var out testOutput
	out.Request.Method, out.Request.Path, out.Request.Authorizer, out.Request.Type = *method, *path, *name, auth.Type
	pipe := pipeline.New(plan, pipeline.WithoutSharing())
	res := pipe.Evaluate(req, time.Now())
	out.Request.Route = res.Route
	if res.Kind == pipeline.KindCall && res.Call.Authorizer != *name {
		fmt.Fprintf(c.stderr, "authgate test-authorizer: %s %s goes to route %q, whose authorizer is %q: pass a --path of a route that uses %q\n",
			*method, *path, res.Route, res.Call.Authorizer, *name)
		return exitUsage
	}
	if res.Kind == pipeline.KindCall {
		call := res.Call
		out.Event, out.URL = call.Event, strings.TrimRight(base, "/")+call.Path
		client, err := clusterClient(ctx, plan, clusters, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			fmt.Fprintf(c.stderr, "authgate test-authorizer: %v\n", err)
			return exitUsage
		}
		var resp pipeline.Response
		resp, out.Answer = c.callAuthorizer(ctx, client, out.URL, call)
		if parsed, err := pipe.ParseAnswer(call, resp); err == nil {
			describeResult(&out, parsed, resp.Body)
		}
		res = pipe.Resume(call, resp, time.Now())
		if res.Decision != pipeline.DecisionError && res.Decision != pipeline.DecisionUnauthorized {
			out.Cache.Cached, out.Cache.TTLSeconds = auth.TTL > 0, int(auth.TTL.Seconds())
		} else if res.Decision == pipeline.DecisionUnauthorized {
			out.Cache.Cached, out.Cache.TTLSeconds = auth.UnauthorizedTTL > 0, int(auth.UnauthorizedTTL.Seconds())
		}
	} else if res.Authorizer != *name && res.Authorizer != "" {
		fmt.Fprintf(c.stderr, "authgate test-authorizer: %s %s goes to route %q, whose authorizer is %q: pass a --path of a route that uses %q\n",
			*method, *path, res.Route, res.Authorizer, *name)
		return exitUsage
	}
	out.Decision, out.Reason = res.Decision, res.Reason
	switch res.Kind {
	case pipeline.KindAllow:
		out.Status = http.StatusOK
		out.Headers = headerObject(res.Set)
	default:
		out.Status = res.Status
		out.Headers = headerObject(nil)
	}
	if res.Statement >= 0 {
		out.Statement = &res.Statement
	}
	if *asJSON {
		c.writeJSON(out)
	} else {
		c.printTest(&out)
	}
	return exitFor(out.Decision)
}

// callAuthorizer POSTs c's event to url as the gateway does (no
// redirects, the authorizer's timeout, an answer bounded in size; Lambda
// clusters signed through client, which is nil for plain HTTP) and
// reports what came back. A call that got no answer is a Response with
// status 0 and its cause, as the gateway feeds it to the pipeline.
func (c *cli) callAuthorizer(ctx context.Context, client *http.Client, url string, call *pipeline.Call) (pipeline.Response, *testAnswer) {
	ctx, cancel := context.WithTimeout(ctx, call.Timeout)
	defer cancel()
	ans := &testAnswer{Headers: map[string]string{}}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(call.Event))
	if err != nil {
		ans.Error = err.Error()
		return pipeline.Response{}, ans
	}
	hreq.Host = call.Authority
	hreq.Header.Set("Content-Type", "application/json")
	for _, h := range call.Headers {
		hreq.Header.Set(h.Name, h.Value)
	}
	if client == nil {
		client = &http.Client{}
	}
	noRedirects := *client
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	client = &noRedirects
	began := time.Now()
	resp, err := client.Do(hreq)
	if err != nil {
		ans.LatencyMs = msSince(began)
		ans.Error = callError(err, ctx)
		return failedCall(err, ctx, ans.Error), ans
	}
	defer resp.Body.Close()
	var hs []pipeline.Header
	for k, vs := range resp.Header {
		ans.Headers[strings.ToLower(k)] = strings.Join(vs, ",")
		for _, v := range vs {
			hs = append(hs, pipeline.Header{Name: strings.ToLower(k), Value: v})
		}
	}
	// As the gateway does, an answer past the authorizer's
	// maxResponseBytes is passed by its size, which the pipeline refuses.
	limit := int64(call.MaxResponseBytes)
	if resp.ContentLength > limit {
		ans.LatencyMs, ans.Status = msSince(began), resp.StatusCode
		return pipeline.Response{Status: resp.StatusCode, Headers: hs, BodySize: int(min(resp.ContentLength, limit+1))}, ans
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	ans.LatencyMs = msSince(began)
	if err != nil {
		ans.Status, ans.Error = resp.StatusCode, "reading the answer: "+callError(err, ctx)
		return failedCall(err, ctx, ans.Error), ans
	}
	ans.Status = resp.StatusCode
	if int64(len(body)) > limit {
		return pipeline.Response{Status: resp.StatusCode, Headers: hs, BodySize: len(body)}, ans
	}
	ans.Body = string(body)
	return pipeline.Response{Status: resp.StatusCode, Headers: hs, Body: body}, ans
}

// failedCall is the Response the gateway feeds the pipeline for a call
// that got no answer, with its cause as authgate serve's native engine
// tells it: out of time, never connected (refused), or broken off.
func failedCall(err error, ctx context.Context, detail string) pipeline.Response {
	var op *net.OpError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return pipeline.Response{Cause: pipeline.CauseTimeout}
	case errors.As(err, &op) && op.Op == "dial":
		return pipeline.Response{Cause: pipeline.CauseRefused, Detail: detail}
	}
	return pipeline.Response{Cause: pipeline.CauseReset, Detail: detail}
}

// callError names why a call got no answer, in the words an operator
// looks for: refused, timed out, or the transport's own error.
func callError(err error, ctx context.Context) string {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "timed out"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

func msSince(t time.Time) float64 {
	return float64(time.Since(t).Microseconds()) / 1000
}

// describeResult fills the parsed parts of an answer into out.
func describeResult(out *testOutput, res *authorizer.Result, body []byte) {
	if !res.Simple {
		p := res.PrincipalID
		out.PrincipalID = &p
		if pd := gjson.GetBytes(body, "policyDocument"); pd.Exists() {
			out.Policy = json.RawMessage(pd.Raw)
		}
	}
	if len(res.Context) > 0 {
		out.Context = make(map[string]string, len(res.Context))
		for _, cv := range res.Context {
			out.Context[cv.Key] = cv.Value
		}
	}
}

// samplePath is a path the first route using auth matches: each {param}
// becomes the parameter's name and a greedy {proxy+} "test", so the route
// (and so the authorizer) is the one the operator meant.
func samplePath(plan *config.Plan, auth *config.Authorizer) string {
	for _, r := range plan.Routes {
		if r.Authorizer != auth {
			continue
		}
		if r.Path == config.DefaultRouteKey {
			return "/"
		}
		segs := strings.Split(r.Path, "/")
		for i, s := range segs {
			if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
				s = strings.TrimSuffix(strings.Trim(s, "{}"), "+")
				if strings.HasSuffix(segs[i], "+}") {
					s = "test"
				}
				segs[i] = s
			}
		}
		return strings.Join(segs, "/")
	}
	return ""
}

// withStageVariables sets stage variables in a configuration document,
// replacing configured values of the same name.
func withStageVariables(raw []byte, vars pairFlags) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	sv := map[string]string{}
	if b, ok := doc["stageVariables"]; ok {
		if err := json.Unmarshal(b, &sv); err != nil {
			return nil, fmt.Errorf("stageVariables: %w", err)
		}
	}
	for _, v := range vars {
		sv[v.Name] = v.Value
	}
	b, err := json.Marshal(sv)
	if err != nil {
		return nil, err
	}
	doc["stageVariables"] = b
	return json.Marshal(doc)
}

// printTest writes the steps of a test in words, one section a step.
func (c *cli) printTest(out *testOutput) {
	w := c.stdout
	fmt.Fprintf(w, "request:    %s %s (route %s, authorizer %s, %s)\n", out.Request.Method, out.Request.Path,
		orDash(out.Request.Route), out.Request.Authorizer, out.Request.Type)
	if out.Event == nil {
		fmt.Fprintf(w, "no call:    the gateway answers %d without calling the authorizer: %s\n", out.Status, out.Reason)
		return
	}
	fmt.Fprintf(w, "event:      POST %s\n%s\n", out.URL, indentJSON(out.Event))
	a := out.Answer
	if a.Error != "" {
		fmt.Fprintf(w, "answer:     none after %.1f ms: %s\n", a.LatencyMs, a.Error)
	} else {
		fmt.Fprintf(w, "answer:     %d in %.1f ms\n%s\n", a.Status, a.LatencyMs, indentJSON([]byte(a.Body)))
	}
	if out.PrincipalID != nil {
		fmt.Fprintf(w, "principal:  %s\n", *out.PrincipalID)
	}
	if out.Policy != nil {
		fmt.Fprintln(w, "policy:")
		for _, line := range statementLines(out.Policy) {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	if len(out.Context) > 0 {
		keys := make([]string, 0, len(out.Context))
		for k := range out.Context {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		fmt.Fprintln(w, "context:")
		for _, k := range keys {
			fmt.Fprintf(w, "  %s = %s\n", k, strconv.Quote(out.Context[k]))
		}
	}
	line := out.Decision
	if out.Statement != nil {
		line += " by Statement[" + strconv.Itoa(*out.Statement) + "]"
	}
	if out.Status == http.StatusOK {
		fmt.Fprintf(w, "decision:   %s: the gateway forwards the request\n", line)
	} else {
		fmt.Fprintf(w, "decision:   %s: the gateway answers %d: %s\n", line, out.Status, out.Reason)
	}
	for _, h := range out.Headers {
		fmt.Fprintf(w, "upstream:   %s: %s\n", h.Name, h.Value)
	}
	switch {
	case out.Cache.Cached:
		fmt.Fprintf(w, "cache:      this answer is cached for %d s per identity\n", out.Cache.TTLSeconds)
	case out.Decision == pipeline.DecisionError:
		fmt.Fprintln(w, "cache:      failures are never cached")
	default:
		fmt.Fprintln(w, "cache:      not cached (TTL 0)")
	}
}

// statementLines renders each statement of a policy document on one line:
// "Statement[0] (Sid "x"): Allow Action [...] on Resource [...]", with the
// members compact as written and any Condition after "if".
func statementLines(doc json.RawMessage) []string {
	st := gjson.GetBytes(doc, "Statement")
	if st.IsObject() {
		st = gjson.Parse("[" + st.Raw + "]")
	}
	var out []string
	for i, s := range st.Array() {
		line := "Statement[" + strconv.Itoa(i) + "]"
		if sid := s.Get("Sid"); sid.Exists() {
			line += " (Sid " + sid.Raw + ")"
		}
		line += ": " + s.Get("Effect").String()
		for _, m := range []string{"Action", "NotAction"} {
			if v := s.Get(m); v.Exists() {
				line += " " + m + " " + compactJSON(v.Raw)
			}
		}
		for _, m := range []string{"Resource", "NotResource"} {
			if v := s.Get(m); v.Exists() {
				line += " on " + m + " " + compactJSON(v.Raw)
			}
		}
		if c := s.Get("Condition"); c.Exists() {
			line += " if " + compactJSON(c.Raw)
		}
		out = append(out, line)
	}
	return out
}

func compactJSON(raw string) string {
	var buf bytes.Buffer
	if json.Compact(&buf, []byte(raw)) != nil {
		return raw
	}
	return buf.String()
}

// indentJSON indents a JSON document for reading; text that is not JSON
// is shown as it is.
func indentJSON(b []byte) string {
	var buf bytes.Buffer
	if json.Indent(&buf, b, "  ", "  ") != nil {
		return "  " + string(b)
	}
	return "  " + buf.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
