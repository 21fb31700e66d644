package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/host/internal/testutil"
)

// upstreamView is what the upstream of TestServeForwardsTheRequestAsAuthorized
// reports: the request target and method exactly as they arrived, the host
// and the headers.
type upstreamView struct {
	Method  string              `json:"method"`
	Target  string              `json:"target"`
	Host    string              `json:"host"`
	Headers map[string][]string `json:"headers"`
}

// startServe runs serve with engineArgs in front of upstream and returns
// its base address ("127.0.0.1:port"); it stops when t ends.
func startServe(t *testing.T, engineArgs []string, upstream, authz string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &testutil.SyncBuffer{}
	addrc := make(chan net.Addr, 1)
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: stderr, ready: func(a net.Addr) { addrc <- a }}
	done := make(chan int, 1)
	args := append([]string{"serve", "--config", "testdata/config.json", "--listen", "127.0.0.1:0",
		"--upstream", upstream, "--cluster", "authz=" + authz}, engineArgs...)
	go func() { done <- c.run(ctx, args) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not shut down")
		}
		if t.Failed() {
			t.Logf("serve log:\n%s", stderr.String())
		}
	})
	select {
	case a := <-addrc:
		return a.String()
	case code := <-done:
		t.Fatalf("serve exited %d early:\n%s", code, stderr.String())
	case <-time.After(3 * time.Minute): // compiling the filter is slow under -race
		t.Fatalf("serve did not start:\n%s", stderr.String())
	}
	return ""
}

// rawRequest sends one HTTP/1.1 request written out by hand, so that the
// request line reaches the gateway exactly as given, and returns the
// answer.
func rawRequest(t *testing.T, addr, method, target string, headers ...string) (int, []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: gw.example\r\nConnection: close\r\n", method, target)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// TestServeForwardsTheRequestAsAuthorized sends request lines Go's reverse
// proxy would change on their way (unparsable queries, absolute form,
// escapes it writes differently) and ones the gateway must refuse or
// clean, and checks what the upstream received, with both engines.
func TestServeForwardsTheRequestAsAuthorized(t *testing.T) {
	engines := map[string][]string{"native": {"--engine", "native"}}
	if f := os.Getenv("AUTHGATE_WASM"); f != "" {
		engines["wasm"] = []string{"--engine", "wasm", "--filter", f, "--pool", "1"}
	}
	authz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"principalId":"alice","policyDocument":{"Version":"2012-10-17","Statement":[`+
			`{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"`+arnPrefix+`GET/*"}]}}`)
	}))
	defer authz.Close()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := upstreamView{Method: r.Method, Target: r.RequestURI, Host: r.Host, Headers: map[string][]string{}}
		for k, vals := range r.Header {
			v.Headers[strings.ToLower(k)] = vals
		}
		_ = json.NewEncoder(w).Encode(&v)
	}))
	defer upstream.Close()
	// A base path on the upstream URL is kept in front of the target.
	upstreamURL := upstream.URL + "/base"

	token := "Authorization: Bearer good"
	tests := []struct {
		name           string
		method, target string
		headers        []string
		status         int
		target2        string // what the upstream must receive; "" when refused
		host           string
		absent         []string
	}{
		{name: "unparsable escape in the query", method: "GET", target: "/health?a=%ZZ", status: 200, target2: "/base/health?a=%ZZ"},
		{name: "semicolons in the query", method: "GET", target: "/health?a=1;b=2", status: 200, target2: "/base/health?a=1;b=2"},
		{name: "empty query kept", method: "GET", target: "/health?", status: 200, target2: "/base/health?"},
		{name: "unparsable query on an authorized route", method: "GET", target: "/pets/1?x=%ZZ&y=1;z", headers: []string{token},
			status: 200, target2: "/base/pets/1?x=%ZZ&y=1;z"},
		{name: "escapes kept as sent", method: "GET", target: "/pets/%7Efoo/caf%c3%a9/a%20b?q=%2f", headers: []string{token},
			status: 200, target2: "/base/pets/%7Efoo/caf%c3%a9/a%20b?q=%2f"},
		{name: "absolute form", method: "GET", target: "http://api.example/pets/1?q=1", headers: []string{token},
			status: 200, target2: "/base/pets/1?q=1", host: "api.example"},
		{name: "absolute form on a NONE route", method: "GET", target: "http://api.example/health", status: 200,
			target2: "/base/health", host: "api.example"},
		{name: "forged principal with underscores", method: "GET", target: "/pets/1", status: 200, target2: "/base/pets/1",
			headers: []string{token, "x_authorizer_principal_id: admin", "X-Authorizer_Tier: gold"},
			absent:  []string{"x_authorizer_principal_id", "x-authorizer_tier", "x-authorizer-tier"}},
		{name: "override headers removed", method: "GET", target: "/health", status: 200, target2: "/base/health",
			headers: []string{"X-HTTP-Method-Override: DELETE", "X-Original-URL: /admin", "x_rewrite_url: /admin"},
			absent:  []string{"x-http-method-override", "x-original-url", "x_rewrite_url"}},
		// Over HTTP/1 Envoy's codec refuses a method outside its list
		// before the filter runs, and serve answers as it does; over h2c
		// (below) the gateway refuses it.
		{name: "lower-case method", method: "get", target: "/health", status: 400},
		{name: "unknown method", method: "PROPFIND", target: "/health", status: 403},
		{name: "path parameter", method: "GET", target: "/pets/..;/admin", headers: []string{token}, status: 400},
		{name: "double encoding", method: "GET", target: "/pets/%252e%252e/admin", headers: []string{token}, status: 400},
	}
	for name, args := range engines {
		t.Run(name, func(t *testing.T) {
			addr := startServe(t, args, upstreamURL, authz.URL)
			t.Run("h2c", func(t *testing.T) {
				// HTTP/2 with prior knowledge, as Envoy accepts it.
				tr := &http.Transport{Protocols: new(http.Protocols)}
				tr.Protocols.SetUnencryptedHTTP2(true)
				defer tr.CloseIdleConnections()
				req, _ := http.NewRequest("GET", "http://"+addr+"/health", nil)
				req.URL.Opaque = "/health?a=%ZZ;b"
				resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var v upstreamView
				if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.ProtoMajor != 2 || v.Target != "/base/health?a=%ZZ;b" {
					t.Errorf("h2c: HTTP/%d, upstream received %q (%v), want HTTP/2 and /base/health?a=%%ZZ;b", resp.ProtoMajor, v.Target, err)
				}
				req.Method, req.URL.Opaque = "delete", "/pets/1"
				req.Header.Set("Authorization", "Bearer good")
				resp2, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp2.Body.Close()
				if resp2.StatusCode != 403 {
					t.Errorf("h2c lower-case delete: %d, want 403", resp2.StatusCode)
				}
			})
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					status, body := rawRequest(t, addr, tt.method, tt.target, tt.headers...)
					if status != tt.status {
						t.Fatalf("status %d (%s), want %d", status, body, tt.status)
					}
					if tt.target2 == "" {
						return
					}
					var v upstreamView
					if err := json.Unmarshal(body, &v); err != nil {
						t.Fatalf("not an upstream answer: %s", body)
					}
					if v.Target != tt.target2 || v.Method != tt.method {
						t.Errorf("upstream received %s %s, want %s %s", v.Method, v.Target, tt.method, tt.target2)
					}
					host := tt.host
					if host == "" {
						host = "gw.example"
					}
					if v.Host != host {
						t.Errorf("upstream Host %q, want %q", v.Host, host)
					}
					for _, h := range tt.absent {
						if vals, ok := v.Headers[h]; ok {
							t.Errorf("upstream received %s: %q", h, vals)
						}
					}
					if strings.HasPrefix(tt.target, "/pets/") && fmt.Sprint(v.Headers["x-authorizer-principal-id"]) != "[alice]" {
						t.Errorf("upstream principal %q, want [alice]", v.Headers["x-authorizer-principal-id"])
					}
				})
			}
		})
	}
}
