package e2e

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/e2e/internal/echo"
)

// limitsConfig has one TOKEN authorizer that caches nothing, so every
// request asks it again, and a route without an authorizer.
const limitsConfig = `{
  "region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
  "authorizers": {
    "jwt": {"type": "TOKEN", "cluster": "authorizer", "timeoutMs": 5000, "authorizerResultTtlInSeconds": 0}
  },
  "routes": [
    {"method": "ANY", "path": "/health", "authorizer": "NONE"},
    {"method": "ANY", "path": "/{proxy+}", "authorizer": "jwt"}
  ]
}`

// hostileAuthorizer answers "Bearer <name>" with the named hostile answer,
// and anything else with an Allow for principal alice.
func hostileAuthorizer() http.Handler {
	const policy = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}}`
	allow := `{"principalId":"alice","policyDocument":` + policy + `}`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ev := string(b)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.Contains(ev, `"Bearer deep"`):
			// 20000 levels (40 KB) in a member the parser ignores, next
			// to a valid policy: only the nesting is wrong. In Envoy's V8
			// a recursive validator overflows the stack on a few thousand.
			fmt.Fprintf(w, `{"principalId":"p","x":%s1%s,"policyDocument":%s}`, strings.Repeat("[", 20000), strings.Repeat("]", 20000), policy)
		case strings.Contains(ev, `"Bearer big"`):
			// Valid, and 2 MiB: past the default maxResponseBytes.
			fmt.Fprintf(w, `{"principalId":"p","pad":"%s","policyDocument":%s}`, strings.Repeat("x", 2<<20), policy)
		case strings.Contains(ev, `"Bearer gzip"`):
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			io.WriteString(zw, allow)
			zw.Close()
		case strings.Contains(ev, `"Bearer fold"`):
			// A context key an upstream folding '_' into '-' reads as
			// the principal header.
			io.WriteString(w, `{"principalId":"p","context":{"principal_id":"root"},"policyDocument":`+policy+`}`)
		default:
			io.WriteString(w, allow)
		}
	})
}

// rawExchange sends raw on a new connection and returns the answer's
// status, content-type and body, or the error.
func rawExchange(base, raw string) string {
	c, err := net.Dial("tcp", hostPort(base))
	if err != nil {
		return "dial: " + err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		return "write: " + err.Error()
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "read: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
}

// headerLines is n distinct header lines.
func headerLines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "X-H%d: v\r\n", i)
	}
	return b.String()
}

// limitsGateways are the hosts TestLimits runs, each with one VM (one
// Envoy worker), so that the requests after a hostile answer are served
// by the VM that read it.
func limitsGateways() []gateway {
	module := moduleEnvoy("")
	module.host, module.workers = "module-c1", 1
	return []gateway{nativeGateway{}, wasmGateway{pool: 1}, wasmEnvoy(1), module}
}

// TestLimits runs, on every host, each hostile authorizer answer followed
// by ordinary requests on the same connection (so the same VM), and the
// requests Envoy's codec refuses before the filter runs. Every host must
// answer each row as the table here says, and so the same.
func TestLimits(t *testing.T) {
	hostile := []string{"deep", "big", "gzip", "fold"}
	codec := []struct {
		name, raw, want string
	}{
		{"http_1_0", "GET /health HTTP/1.0\r\nHost: x\r\n\r\n", `426 text/plain "Upgrade Required"`},
		{"headers_100", "GET /health HTTP/1.1\r\nHost: x\r\n" + headerLines(99) + "\r\n", "200 "},
		{"headers_101", "GET /health HTTP/1.1\r\nHost: x\r\n" + headerLines(100) + "\r\n", `431 text/plain "Request Header Fields Too Large"`},
		{"headers_joined_count_once", "GET /health HTTP/1.1\r\nHost: x\r\n" + headerLines(97) +
			"Authorization: a\r\nAuthorization: b\r\nAuthorization: c\r\n\r\n", "200 "},
	}
	seen := make(map[string]map[string]string) // host -> row -> answer
	for _, gw := range limitsGateways() {
		t.Run(gw.name(), func(t *testing.T) {
			if why := gw.unavailable(); why != "" {
				if gw.required() {
					t.Fatalf("%s cannot run: %s", gw.name(), why)
				}
				t.Skipf("%s cannot run: %s", gw.name(), why)
			}
			e := newEnv(t)
			e.clusters[clusterAuthorizer] = serve(t, hostileAuthorizer())
			inst, err := gw.start(t, spec{cfgs: [][]byte{[]byte(limitsConfig)}, names: []string{"limits"}, env: e})
			if err != nil {
				t.Fatalf("starting %s: %v", gw.name(), err)
			}
			base := inst.bases[0]
			client := newClient(t, protocols[0], true)
			rows := make(map[string]string)
			for _, name := range hostile {
				t.Run(name, func(t *testing.T) {
					r, err := send(client, base, get("/pets/1", auth("Bearer "+name)))
					if err != nil {
						t.Fatal(err)
					}
					if r.status != 500 || string(r.body) != `{"message":null}` ||
						r.header.Get("X-Amzn-Errortype") != "AuthorizerConfigurationException" || r.header.Get(echo.Marker) != "" {
						t.Errorf("hostile answer: %d %v %q, want the authorizer failure answer", r.status, r.header, r.body)
					}
					rows[name] = fmt.Sprintf("%d %s", r.status, r.body)
					// The same connection, so the same Envoy worker and VM.
					r, err = send(client, base, get("/health"))
					if err != nil || r.status != 200 || r.header.Get(echo.Marker) == "" {
						t.Errorf("route without authorizer next: %v %+v", err, r)
					}
					r, err = send(client, base, get("/pets/2", auth("Bearer ordinary")))
					if err != nil {
						t.Fatal(err)
					}
					up, derr := echo.Decode(r.body)
					if r.status != 200 || derr != nil {
						t.Fatalf("ordinary request next: %d %q (%v)", r.status, r.body, derr)
					}
					if got, _ := up.Plain().Get("x-authorizer-principal-id"); len(got) != 1 || got[0] != "alice" {
						t.Errorf("ordinary request next: principal %q, want alice", got)
					}
				})
			}
			for _, c := range codec {
				t.Run(c.name, func(t *testing.T) {
					got := rawExchange(base, c.raw)
					if !strings.HasPrefix(got, c.want) {
						t.Errorf("answer %s, want %s...", got, c.want)
					}
					rows[c.name] = got[:min(len(got), len(c.want))]
				})
			}
			// Over HTTP/2 the pseudo headers count too, and Envoy resets
			// the stream rather than answer 431. The client adds a
			// user-agent to the fields below.
			h2 := newClient(t, protocols[1], false)
			for _, c := range []struct {
				name   string
				fields int
				want   string
			}{{"h2_headers_100", 95, "200"}, {"h2_headers_101", 96, "reset"}} {
				t.Run(c.name, func(t *testing.T) {
					r := get("/health")
					for i := range c.fields {
						r.headers = append(r.headers, [2]string{fmt.Sprintf("X-H%d", i), "v"})
					}
					got := "reset"
					if rp, err := send(h2, base, r); err == nil {
						got = fmt.Sprint(rp.status)
					} else if !strings.Contains(err.Error(), "stream error") {
						got = err.Error()
					}
					if got != c.want {
						t.Errorf("got %s, want %s", got, c.want)
					}
					rows[c.name] = got
				})
			}
			seen[gw.name()] = rows
		})
	}
	t.Run("hosts_agree", func(t *testing.T) {
		hosts := make([]string, 0, len(seen))
		for h := range seen {
			hosts = append(hosts, h)
		}
		sort.Strings(hosts)
		if len(hosts) < 2 {
			t.Skipf("only %v ran; nothing to compare", hosts)
		}
		for _, h := range hosts[1:] {
			for row, a := range seen[hosts[0]] {
				if b := seen[h][row]; a != b {
					t.Errorf("%s: %s answered %s but %s answered %s", row, hosts[0], a, h, b)
				}
			}
		}
	})
}
