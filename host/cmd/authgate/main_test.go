package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgate/authgate/host/internal/testutil"
)

const arnPrefix = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/"

// runCLI runs one command line in-process.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestEval(t *testing.T) {
	policyFile := filepath.Join("testdata", "policy.json")
	stdinPolicy, err := os.ReadFile(policyFile)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout string
		stderr string // first line of stderr
	}{
		{
			name: "allow with sid",
			args: []string{"--policy", policyFile, "--arn", arnPrefix + "GET/admin/users"},
			code: 0, stdout: "ALLOW by Statement[0] (Sid \"AdminAll\")\n",
		},
		{
			name: "explicit deny wins over allow",
			args: []string{"--policy", policyFile, "--arn", arnPrefix + "DELETE/admin/users"},
			code: 1, stdout: "DENY by Statement[1]\n",
		},
		{
			name: "implicit deny",
			args: []string{"--policy", policyFile, "--arn", arnPrefix + "POST/pets"},
			code: 1, stdout: "IMPLICIT_DENY: no statement allows execute-api:Invoke on " + arnPrefix + "POST/pets\n",
		},
		{
			name: "source ip condition met",
			args: []string{"--policy", policyFile, "--arn", arnPrefix + "GET/pets/7", "--source-ip", "10.2.3.4"},
			code: 0, stdout: "ALLOW by Statement[2] (Sid \"ReadPetsFromOffice\")\n",
		},
		{
			name: "source ip condition not met",
			args: []string{"--policy", policyFile, "--arn", arnPrefix + "GET/pets/7", "--source-ip", "192.0.2.1"},
			code: 1, stdout: "IMPLICIT_DENY: no statement allows execute-api:Invoke on " + arnPrefix + "GET/pets/7\n",
		},
		{
			name: "time before the date condition",
			args: []string{"--policy", policyFile, "--arn", arnPrefix + "GET/legacy", "--time", "2029-12-31T23:59:59Z"},
			code: 0, stdout: "ALLOW by Statement[3] (Sid \"LegacyUntil2030\")\n",
		},
		{
			name: "time after the date condition",
			args: []string{"--policy", policyFile, "--arn", arnPrefix + "GET/legacy", "--time", "2030-01-01T00:00:00Z"},
			code: 1, stdout: "IMPLICIT_DENY: no statement allows execute-api:Invoke on " + arnPrefix + "GET/legacy\n",
		},
		{
			name: "json allow",
			args: []string{"--policy", policyFile, "--arn", arnPrefix + "GET/admin/x", "--json"},
			code: 0, stdout: `{"decision":"ALLOW","statement":0,"reason":"Statement[0] (Sid \"AdminAll\") allows execute-api:Invoke on ` + arnPrefix + `GET/admin/x"}` + "\n",
		},
		{
			name: "json deny",
			args: []string{"--json", "--policy", policyFile, "--arn", arnPrefix + "DELETE/pets"},
			code: 1, stdout: `{"decision":"DENY","statement":1,"reason":"Statement[1] explicitly denies execute-api:Invoke on ` + arnPrefix + `DELETE/pets"}` + "\n",
		},
		{
			name: "json implicit deny",
			args: []string{"--json", "--policy", policyFile, "--arn", arnPrefix + "PUT/x"},
			code: 1, stdout: `{"decision":"IMPLICIT_DENY","statement":null,"reason":"no statement allows execute-api:Invoke on ` + arnPrefix + `PUT/x"}` + "\n",
		},
		{
			name: "policy from stdin", stdin: string(stdinPolicy),
			args: []string{"--policy", "-", "--arn", arnPrefix + "GET/admin/x"},
			code: 0, stdout: "ALLOW by Statement[0] (Sid \"AdminAll\")\n",
		},
		{
			name: "authorizer response as input",
			args: []string{"--policy", filepath.Join("testdata", "response.json"), "--arn", arnPrefix + "GET/anything"},
			code: 0, stdout: "ALLOW by Statement[0] (Sid \"Everything\")\n",
		},
		{
			name: "invalid policy names the field",
			args: []string{"--policy", filepath.Join("testdata", "bad-policy.json"), "--arn", arnPrefix + "GET/x"},
			code: 2, stderr: `authgate eval: testdata/bad-policy.json: Statement[1].Effect: must be "Allow" or "Deny", got "Maybe"`,
		},
		{
			name: "invalid policy on stdin", stdin: `{"Version":"2012-10-17"}`,
			args: []string{"--policy", "-", "--arn", arnPrefix + "GET/x"},
			code: 2, stderr: `authgate eval: <stdin>: Statement: missing`,
		},
		{
			name: "policy not JSON", stdin: `{`,
			args: []string{"--policy", "-", "--arn", arnPrefix + "GET/x"},
			code: 2, stderr: `authgate eval: <stdin>: policy document: not valid JSON`,
		},
		{
			name: "invalid arn names the part",
			args: []string{"--policy", policyFile, "--arn", "arn:aws:execute-api:us-east-1:12345:a1b2c3d4e5/prod/GET/x"},
			code: 2, stderr: `authgate eval: --arn: arn: account id: must be 12 digits, got "12345"`,
		},
		{
			name: "bad source ip",
			args: []string{"--policy", policyFile, "--arn", arnPrefix + "GET/x", "--source-ip", "10.0.0"},
			code: 2, stderr: `authgate eval: --source-ip: not an IP address: "10.0.0"`,
		},
		{
			name: "bad time",
			args: []string{"--policy", policyFile, "--arn", arnPrefix + "GET/x", "--time", "yesterday"},
			code: 2, stderr: `authgate eval: --time: not an RFC 3339 time: "yesterday"`,
		},
		{
			name: "missing policy flag",
			args: []string{"--arn", arnPrefix + "GET/x"},
			code: 2, stderr: `authgate eval: --policy or --response is required`,
		},
		{
			name: "missing arn flag",
			args: []string{"--policy", policyFile},
			code: 2, stderr: `authgate eval: --arn is required`,
		},
		{
			name: "missing file",
			args: []string{"--policy", "testdata/nope.json", "--arn", arnPrefix + "GET/x"},
			code: 2, stderr: `authgate eval: open testdata/nope.json: no such file or directory`,
		},
		{
			name: "unknown flag",
			args: []string{"--polcy", policyFile},
			code: 2, stderr: `flag provided but not defined: -polcy`,
		},
		{
			name: "stray argument",
			args: []string{"--policy", policyFile, "--arn", arnPrefix + "GET/x", "extra"},
			code: 2, stderr: `authgate eval: unexpected argument "extra"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.stdin, append([]string{"eval"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if stdout != tt.stdout {
				t.Errorf("stdout %q, want %q", stdout, tt.stdout)
			}
			first, _, _ := strings.Cut(stderr, "\n")
			if first != tt.stderr {
				t.Errorf("stderr %q, want first line %q", stderr, tt.stderr)
			}
		})
	}
}

// TestEvalJSONShape checks the JSON keys and their order.
func TestEvalJSONShape(t *testing.T) {
	_, stdout, _ := runCLI(t, "", "eval", "--json", "--policy", "testdata/policy.json", "--arn", arnPrefix+"GET/admin/x")
	dec := json.NewDecoder(strings.NewReader(stdout))
	var keys []string
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(keys, ","); got != "decision,statement,reason" {
		t.Fatalf("keys %s", got)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{
			name: "ok", args: []string{"--config", "testdata/config.json"},
			code: 0, stdout: "ok: 2 authorizers (jwt TOKEN ttl 300s, keys REQUEST ttl 0s), 3 routes\n",
		},
		{
			name: "ok from stdin", stdin: `{"region":"us-east-1","accountId":"123456789012","restApiId":"a1b2c3d4e5","stage":"prod",
				"authorizers":{"a":{"type":"TOKEN","cluster":"c"}},"routes":[{"method":"GET","path":"/","authorizer":"a"}]}`,
			args: []string{"--config", "-"},
			code: 0, stdout: "ok: 1 authorizer (a TOKEN ttl 300s), 1 route\n",
		},
		{
			name: "accepted as API Gateway accepts it, with warnings", stdin: `{"region":"us-east-1","accountId":"123456789012","restApiId":"a1b2c3d4e5","stage":"prod",
				"authorizers":{"a":{"type":"REQUEST","cluster":"c","identitySource":"stageVariables.t","identityValidationExpression":"x","authorizerResultTtlInSeconds":0}},
				"routes":[{"method":"GET","path":"/","authorizer":"a"}]}`,
			args: []string{"--config", "-"},
			code: 0, stdout: "ok: 1 authorizer (a REQUEST ttl 0s), 1 route\n",
			stderr: `warning: <stdin>: authorizers.a.identitySource: "stageVariables.t" names a stage variable that stageVariables does not define: every request on this authorizer's routes is answered 401` + "\n" +
				"warning: <stdin>: authorizers.a.identityValidationExpression: ignored: only TOKEN authorizers validate the identity; a REQUEST authorizer is called for every identity\n",
		},
		{
			name: "bad config names the JSON path", args: []string{"--config", "testdata/bad-config.json"},
			code: 2, stderr: "testdata/bad-config.json: authorizers.jwt.authorizerResultTtlInSeconds: must be 0..3600, got 7200\n",
		},
		{
			name: "missing file", args: []string{"--config", "testdata/nope.json"},
			code: 2, stderr: "open testdata/nope.json: no such file or directory\n",
		},
		{
			name: "missing flag",
			code: 2, stderr: "authgate validate: --config is required\nusage: authgate validate --config FILE\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.stdin, append([]string{"validate"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if stdout != tt.stdout {
				t.Errorf("stdout %q, want %q", stdout, tt.stdout)
			}
			if !strings.HasPrefix(stderr, tt.stderr) || (tt.stderr == "" && stderr != "") {
				t.Errorf("stderr %q, want it to start with %q", stderr, tt.stderr)
			}
		})
	}
}

func TestTopLevel(t *testing.T) {
	tests := []struct {
		name         string
		args         []string
		code         int
		stdoutPrefix string
		stderrPrefix string
	}{
		{"no args", nil, 0, "authgate: API Gateway-style", ""},
		{"help", []string{"help"}, 0, "authgate: API Gateway-style", ""},
		{"version", []string{"version"}, 0, "authgate dev (go", ""},
		{"unknown command", []string{"frobnicate"}, 2, "", "authgate: unknown command \"frobnicate\"\n\nauthgate: API Gateway-style"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if !strings.HasPrefix(stdout, tt.stdoutPrefix) || (tt.stdoutPrefix == "" && stdout != "") {
				t.Errorf("stdout %q, want prefix %q", stdout, tt.stdoutPrefix)
			}
			if !strings.HasPrefix(stderr, tt.stderrPrefix) || (tt.stderrPrefix == "" && stderr != "") {
				t.Errorf("stderr %q, want prefix %q", stderr, tt.stderrPrefix)
			}
			if tt.name != "version" && tt.code == 0 {
				for _, sub := range []string{"eval", "validate", "serve", "version", "help"} {
					if !strings.Contains(stdout, "authgate "+sub) {
						t.Errorf("usage lacks %q", sub)
					}
				}
			}
		})
	}
}

func TestServeUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no config", []string{"--upstream", "http://x"}, "authgate serve: --config is required"},
		{"no upstream", []string{"--config", "testdata/config.json"}, "authgate serve: --upstream is required"},
		{"bad engine", []string{"--config", "testdata/config.json", "--upstream", "http://x", "--engine", "v8"}, `authgate serve: --engine: want wasm or native, got "v8"`},
		{"bad upstream", []string{"--config", "testdata/config.json", "--upstream", "x:80"}, `authgate serve: --upstream: want an http or https URL with a host, got "x:80"`},
		{"bad cluster", []string{"--cluster", "authz"}, `invalid value "authz" for flag -cluster: want NAME=URL, got "authz"`},
		{"bad config", []string{"--config", "testdata/bad-config.json", "--upstream", "http://x", "--engine", "native"},
			"authgate serve: testdata/bad-config.json: authorizers.jwt.authorizerResultTtlInSeconds: must be 0..3600, got 7200"},
		{"missing cluster", []string{"--config", "testdata/config.json", "--upstream", "http://x", "--engine", "native"},
			`authgate serve: authorizer "jwt" uses cluster "authz": pass --cluster authz=URL`},
		{"filter with native", []string{"--config", "testdata/config.json", "--upstream", "http://x", "--engine", "native", "--filter", "f.wasm"},
			"authgate serve: --filter: only with --engine wasm"},
		{"missing filter file", []string{"--config", "testdata/config.json", "--upstream", "http://x", "--cluster", "authz=http://y", "--filter", "testdata/nope.wasm"},
			"authgate serve: --filter: open testdata/nope.wasm: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", append([]string{"serve"}, tt.args...)...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if stdout != "" {
				t.Errorf("stdout %q", stdout)
			}
			if first, _, _ := strings.Cut(stderr, "\n"); first != tt.stderr {
				t.Errorf("stderr %q, want first line %q", stderr, tt.stderr)
			}
		})
	}
}

// TestServeNoEmbeddedFilter runs only in a checkout where `make build` has
// not embedded a filter.
func TestServeNoEmbeddedFilter(t *testing.T) {
	if _, err := embedded.ReadFile(embeddedFilter); err == nil {
		t.Skip("a filter is embedded in this build")
	}
	code, _, stderr := runCLI(t, "", "serve", "--config", "testdata/config.json", "--upstream", "http://x", "--cluster", "authz=http://y")
	want := "authgate serve: " + errNoFilter.Error() + "\n"
	if code != 2 || stderr != want {
		t.Fatalf("exit %d stderr %q, want 2 %q", code, stderr, want)
	}
}

// TestServe starts serve on 127.0.0.1:0 with each engine available, sends
// requests through it and shuts it down.
func TestServe(t *testing.T) {
	engines := []struct {
		name string
		args []string
	}{
		{"native", []string{"--engine", "native"}},
	}
	if f, err := testutil.FilterFile(); err == nil {
		engines = append(engines, struct {
			name string
			args []string
		}{"wasm", []string{"--engine", "wasm", "--filter", f, "--pool", "1"}})
	}
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) { testServe(t, eng.args) })
	}
}

func testServe(t *testing.T, engineArgs []string) {
	var authCalls atomic.Int64
	authz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		authCalls.Add(1)
		var ev struct {
			AuthorizationToken string `json:"authorizationToken"`
		}
		_ = json.NewDecoder(r.Body).Decode(&ev)
		if ev.AuthorizationToken != "Bearer good" {
			io.WriteString(w, "Unauthorized")
			return
		}
		io.WriteString(w, `{"principalId":"alice","policyDocument":{"Version":"2012-10-17","Statement":[`+
			`{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"`+arnPrefix+`GET/*"}]},"context":{"tier":"gold"}}`)
	}))
	defer authz.Close()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "upstream saw "+r.Method+" "+r.URL.RequestURI()+" principal="+r.Header.Get("X-Authorizer-Principal-Id")+" tier="+r.Header.Get("X-Authorizer-Tier"))
	}))
	defer upstream.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &testutil.SyncBuffer{}
	addrc := make(chan net.Addr, 1)
	adminc := make(chan net.Addr, 1)
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: stderr, ready: func(a net.Addr) { addrc <- a },
		adminReady: func(a net.Addr) { adminc <- a }}
	done := make(chan int, 1)
	args := append([]string{"serve", "--config", "testdata/config.json", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
		"--upstream", upstream.URL, "--cluster", "authz=" + authz.URL}, engineArgs...)
	go func() { done <- c.run(ctx, args) }()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a.String()
	case code := <-done:
		t.Fatalf("serve exited %d early:\n%s", code, stderr.String())
	case <-time.After(3 * time.Minute): // compiling the filter is slow under -race
		t.Fatalf("serve did not start:\n%s", stderr.String())
	}

	tests := []struct {
		name   string
		method string
		path   string
		token  string
		status int
		body   string
	}{
		{"allowed", "GET", "/pets/1?q=2", "Bearer good", 200, "upstream saw GET /pets/1?q=2 principal=alice tier=gold"},
		{"allowed from cache", "GET", "/pets/2", "Bearer good", 200, "upstream saw GET /pets/2 principal=alice tier=gold"},
		{"denied by cached policy", "DELETE", "/pets/2", "Bearer good", 403, `{"Message":"User is not authorized to access this resource"}`},
		{"unauthorized", "GET", "/pets/1", "Bearer bad", 401, `{"message":"Unauthorized"}`},
		{"no token", "GET", "/pets/1", "", 401, `{"message":"Unauthorized"}`},
		{"open route", "GET", "/health", "", 200, "upstream saw GET /health principal= tier="},
		{"no route", "GET", "/nowhere", "", 403, `{"message":"Missing Authentication Token"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, base+tt.path, nil)
			if tt.token != "" {
				req.Header.Set("Authorization", tt.token)
			}
			req.Header.Set("X-Authorizer-Principal-Id", "mallory")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || string(body) != tt.body {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
			}
		})
	}
	if got := authCalls.Load(); got != 2 {
		t.Errorf("authorizer calls = %d, want 2 (good once, bad once)", got)
	}
	checkAdmin(t, "http://"+(<-adminc).String())

	// The listener speaks HTTP/2 without TLS (h2c) too, as Envoy's does.
	h2c := new(http.Protocols)
	h2c.SetUnencryptedHTTP2(true)
	h2client := &http.Client{Transport: &http.Transport{Protocols: h2c}}
	resp, err := h2client.Get(base + "/health")
	if err != nil {
		t.Fatalf("h2c: %v", err)
	}
	h2body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Proto != "HTTP/2.0" || resp.StatusCode != 200 || string(h2body) != "upstream saw GET /health principal= tier=" {
		t.Errorf("h2c: got %s %d %q, want HTTP/2.0 200 from the upstream", resp.Proto, resp.StatusCode, h2body)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exit %d", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not shut down")
	}
	logs := stderr.String()
	if !strings.Contains(logs, "authgate serve: listening on "+strings.TrimPrefix(base, "")) {
		t.Errorf("no startup line in:\n%s", logs)
	}
	if !strings.Contains(logs, "2 authorizers (jwt TOKEN ttl 300s, keys REQUEST ttl 0s), 3 routes") {
		t.Errorf("startup line lacks the summary:\n%s", logs)
	}
	if n := strings.Count(logs, "msg=request"); n < len(tests) {
		t.Errorf("%d request lines, want at least %d:\n%s", n, len(tests), logs)
	}
	for _, secret := range []string{"good", "Bearer", "alice", "gold", "q=2"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs carry %q:\n%s", secret, logs)
		}
	}
}

// checkAdmin scrapes the admin listener after testServe's requests and
// checks /ready and the exact counters those requests leave.
func checkAdmin(t *testing.T, admin string) {
	t.Helper()
	get := func(path string) (int, string) {
		resp, err := http.Get(admin + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/ready"); code != 200 || body != "LIVE\n" {
		t.Errorf("/ready = %d %q", code, body)
	}
	_, body := get("/metrics")
	want := []string{
		`authgate_allow_total{authorizer="jwt"} 2`,                 // allowed, allowed from cache
		`authgate_cache_miss_total{authorizer="jwt"} 2`,            // good, bad
		`authgate_cache_hit_total{authorizer="jwt"} 2`,             // allowed from cache, denied by cached policy
		`authgate_deny_total{authorizer="jwt"} 1`,                  // DELETE
		`authgate_unauthorized_total{authorizer="jwt"} 2`,          // bad token, no token
		`authgate_allow_total{authorizer="NONE"} 1`,                // /health
		`authgate_no_route_total{authorizer="NONE"} 1`,             // /nowhere
		`authgate_authorizer_latency_ms_count{authorizer="jwt"} 2`, // one per call
		`# TYPE authgate_authorizer_latency_ms histogram`,
	}
	lines := strings.Split(body, "\n")
	for _, w := range want {
		if !slices.Contains(lines, w) {
			t.Errorf("/metrics lacks %q:\n%s", w, body)
		}
	}
	for _, l := range lines {
		if (strings.HasPrefix(l, "authgate_error_total") || strings.HasPrefix(l, "authgate_timeout_total")) && !strings.HasSuffix(l, " 0") {
			t.Errorf("/metrics has %q: no request failed", l)
		}
	}
}
