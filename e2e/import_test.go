package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/authgate/authgate/e2e/internal/echo"
)

// importDefs are the definitions the round trip imports with `authgate
// import` and then serves: every request must reach the authorizer the
// definition names for its route, and nothing else.
var importDefs = []struct {
	name, file string
	arnPrefix  string // the method ARN the imported identity gives
	requests   []importRequest
}{
	{
		name:      "REST",
		file:      "roundtrip-rest.yaml",
		arnPrefix: "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/",
		requests: []importRequest{
			{method: "GET", path: "/health"},
			{method: "GET", path: "/pets", header: "Authorization: Bearer get-pets", authorizer: "/tokenAuth"},
			{method: "POST", path: "/pets", header: "Authorization: Bearer post-pets", authorizer: "/tokenAuth"},
			{method: "PUT", path: "/pets/7?tenant=acme", header: "X-Api-Token: put-pet", authorizer: "/requestAuth"},
			{method: "DELETE", path: "/pets/7?tenant=acme", header: "X-Api-Token: delete-pet", authorizer: "/requestAuth"},
			{method: "GET", path: "/toys/1/parts", header: "Authorization: Bearer toys", authorizer: "/tokenAuth"},
			// The gateway response the definition customises.
			{method: "GET", path: "/pets", status: 401, body: `{"message": "Unauthorized", "hint": "send a bearer token"}`, wwwAuth: "Bearer"},
			{method: "PUT", path: "/pets/7", header: "X-Api-Token: no-tenant", status: 401, body: `{"message": "Unauthorized", "hint": "send a bearer token"}`, wwwAuth: "Bearer"},
		},
	},
	{
		name:      "HTTP",
		file:      "roundtrip-http.yaml",
		arnPrefix: "arn:aws:execute-api:eu-west-1:123456789012:h1t2t3p4a5/$default/",
		requests: []importRequest{
			{method: "GET", path: "/orders", header: "Authorization: get-orders", authorizer: "/simpleAuth"},
			{method: "DELETE", path: "/orders/9?tenant=acme", header: "Authorization: delete-order", authorizer: "/policyAuth"},
			{method: "POST", path: "/anything/else", header: "Authorization: default-route", authorizer: "/simpleAuth"},
			{method: "GET", path: "/orders", status: 401, body: `{"message":"Unauthorized"}`},
		},
	},
}

// importRequest is one request and where it must go: through authorizer
// (its path) to the upstream, straight to the upstream (authorizer ""), or
// answered status with body by the gateway.
type importRequest struct {
	method, path, header string
	authorizer           string
	status               int
	body, wwwAuth        string
}

// TestImportRoundTrip converts the definitions with the CLI and runs the
// configurations in every host the table runs (gateways), authgate serve
// included.
func TestImportRoundTrip(t *testing.T) {
	cli, err := cliFile()
	if err != nil {
		t.Fatal(err)
	}
	for _, def := range importDefs {
		cfg := importDefinition(t, cli, def.file)
		for _, gw := range gateways() {
			t.Run(def.name+"/"+gw.name(), func(t *testing.T) {
				needHost(t, gw)
				authz := &pathAuthorizer{}
				up := echo.NewServer()
				t.Cleanup(up.Close)
				e := &env{up: up, clusters: map[string]string{clusterAuthorizer: serve(t, authz)}}
				inst, err := gw.start(t, spec{cfgs: [][]byte{cfg}, names: []string{def.file}, env: e, together: 1})
				if err != nil {
					t.Fatalf("%s did not start: %v", gw.name(), err)
				}
				client := newClient(t, protocols[0], true)
				for _, rq := range def.requests {
					checkImported(t, client, inst.bases[0], authz, def.arnPrefix, rq)
				}
			})
		}
	}
}

// checkImported sends rq and checks the answer and the authorizer calls.
func checkImported(t *testing.T, client *http.Client, base string, authz *pathAuthorizer, arnPrefix string, rq importRequest) {
	t.Helper()
	where := rq.method + " " + rq.path
	req, err := http.NewRequest(rq.method, base+rq.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if name, val, ok := strings.Cut(rq.header, ": "); ok {
		req.Header.Set(name, val)
	}
	before := authz.calls()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	calls := authz.calls()[len(before):]
	if rq.status != 0 {
		if resp.StatusCode != rq.status || string(body) != rq.body {
			t.Errorf("%s: %d %s, want %d %s", where, resp.StatusCode, body, rq.status, rq.body)
		}
		if got := resp.Header.Get("Www-Authenticate"); got != rq.wwwAuth {
			t.Errorf("%s: www-authenticate %q, want %q", where, got, rq.wwwAuth)
		}
		if len(calls) != 0 {
			t.Errorf("%s: the authorizer was called: %v", where, calls)
		}
		return
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get(echo.Marker) == "" {
		t.Fatalf("%s: %d %s, want 200 from the upstream", where, resp.StatusCode, body)
	}
	seen, err := echo.Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	via, _ := seen.Plain().Get("x-authorizer-via")
	if rq.authorizer == "" {
		if len(calls) != 0 || len(via) != 0 {
			t.Errorf("%s: an open route called %v (upstream saw via %q)", where, calls, via)
		}
		return
	}
	if len(calls) != 1 || calls[0].path != rq.authorizer {
		t.Errorf("%s: authorizer calls %v, want one to %s", where, calls, rq.authorizer)
		return
	}
	if !strings.HasPrefix(calls[0].arn, arnPrefix) {
		t.Errorf("%s: method ARN %q, want it to start with %q", where, calls[0].arn, arnPrefix)
	}
	if len(via) != 1 || via[0] != rq.authorizer {
		t.Errorf("%s: upstream saw x-authorizer-via %q, want [%q]", where, via, rq.authorizer)
	}
}

// importDefinition runs `authgate import` on a definition of the importer's
// test data, calling every authorizer over HTTP so the test authorizer
// answers, and returns the configuration.
func importDefinition(t *testing.T, cli, file string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(cli, "import", "--http-authorizers", "--account-id", "123456789012",
		"--openapi", filepath.Join("..", "host", "internal", "openapi", "testdata", file))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("authgate import %s: %v\n%s", file, err, stderr.Bytes())
	}
	t.Logf("authgate import %s:\n%s", file, stderr.Bytes())
	return stdout.Bytes()
}

// pathAuthorizer allows every request and records which authorizer (the
// request path) was asked, with the method ARN of the event. It answers in
// the form each authorizer of the definitions uses: simple responses for
// /simpleAuth, a policy for the others, with the path as context "via".
type pathAuthorizer struct {
	mu  sync.Mutex
	log []authzCall
}

type authzCall struct{ path, arn string }

func (c authzCall) String() string { return c.path }

func (a *pathAuthorizer) calls() []authzCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]authzCall(nil), a.log...)
}

func (a *pathAuthorizer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev struct {
		MethodArn string `json:"methodArn"`
		RouteArn  string `json:"routeArn"`
	}
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	arn := ev.MethodArn + ev.RouteArn
	a.mu.Lock()
	a.log = append(a.log, authzCall{path: r.URL.Path, arn: arn})
	a.mu.Unlock()
	w.Header().Set("content-type", "application/json")
	if r.URL.Path == "/simpleAuth" {
		fmt.Fprintf(w, `{"isAuthorized":true,"context":{"via":%q}}`, r.URL.Path)
		return
	}
	fmt.Fprintf(w, `{"principalId":"user","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":%q}]},"context":{"via":%q}}`,
		arn, r.URL.Path)
}
