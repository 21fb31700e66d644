package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/host/internal/testutil"
)

// decisionRequests are sent to both engines in this order, each with its
// own request id.
var decisionRequests = []struct {
	method, target, token string
	status                int
}{
	{"GET", "/pets/1?token=secret", "Bearer good", 200},
	{"GET", "/pets/2", "Bearer good", 200},
	{"DELETE", "/pets/2", "Bearer good", 403},
	{"GET", "/pets/1", "Bearer bad", 401},
	{"GET", "/pets/1", "", 401},
	{"GET", "/health", "", 200},
	{"GET", "/nowhere", "", 403},
	{"GET", "/pets/%2e%2e/admin", "Bearer good", 400},
	{"GET", "/pets/3", "Bearer down", 500},
	{"GET", "/pets/4", "Bearer slow", 500},
}

// wantDecisionLines are the text lines both engines write for
// decisionRequests, without time and latency.
var wantDecisionLines = []string{
	`level=INFO msg=request method=GET path=/pets/1 route=/pets/{proxy+} authorizer=jwt cache=miss decision=ALLOW status=200 request_id=rid-0`,
	`level=INFO msg=request method=GET path=/pets/2 route=/pets/{proxy+} authorizer=jwt cache=hit decision=ALLOW status=200 request_id=rid-1`,
	`level=INFO msg=request method=DELETE path=/pets/2 route=/pets/{proxy+} authorizer=jwt cache=hit decision=IMPLICIT_DENY status=403 reason="no statement allows" request_id=rid-2`,
	`level=INFO msg=request method=GET path=/pets/1 route=/pets/{proxy+} authorizer=jwt cache=miss decision=UNAUTHORIZED status=401 reason="authorizer answered unauthorized" request_id=rid-3`,
	`level=INFO msg=request method=GET path=/pets/1 route=/pets/{proxy+} authorizer=jwt cache=- decision=UNAUTHORIZED status=401 reason="identity source method.request.header.authorization missing or empty" request_id=rid-4`,
	`level=INFO msg=request method=GET path=/health route=/health authorizer=- cache=- decision=NONE status=200 request_id=rid-5`,
	`level=INFO msg=request method=GET path=/nowhere route=- authorizer=- cache=- decision=NO_ROUTE status=403 reason="no route" request_id=rid-6`,
	`level=INFO msg=request method=GET path=/pets/%2e%2e/admin route=- authorizer=- cache=- decision=BAD_REQUEST status=400 reason="path: \".\" or \"..\" segment" request_id=rid-7`,
	`level=WARN msg=request method=GET path=/pets/3 route=/pets/{proxy+} authorizer=jwt cache=miss decision=ERROR status=500 reason="authorizer answered status 503" request_id=rid-8`,
	`level=WARN msg=request method=GET path=/pets/4 route=/pets/{proxy+} authorizer=jwt cache=miss decision=ERROR status=500 reason="authorizer call timed out after 500ms" request_id=rid-9`,
}

// TestDecisionLinesAgree: authgate serve writes the same decision line
// for the same request whichever engine runs it, in text and in JSON:
// the native engine logs the record it builds, the wasm engine the one it
// reads back from the filter's line.
func TestDecisionLinesAgree(t *testing.T) {
	filter, err := testutil.FilterFile()
	if err != nil {
		t.Skip(err)
	}
	release := make(chan struct{})
	authz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			AuthorizationToken string `json:"authorizationToken"`
		}
		_ = json.NewDecoder(r.Body).Decode(&ev)
		switch ev.AuthorizationToken {
		case "Bearer good":
			io.WriteString(w, `{"principalId":"alice","policyDocument":{"Version":"2012-10-17","Statement":[`+
				`{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"`+arnPrefix+`GET/*"}]}}`)
		case "Bearer down":
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
		case "Bearer slow":
			<-release
		default:
			io.WriteString(w, "Unauthorized")
		}
	}))
	defer authz.Close()
	defer close(release)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer upstream.Close()

	engines := [][]string{{"--engine", "native"}, {"--engine", "wasm", "--filter", filter, "--pool", "1"}}
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var got [2][]string
			for i, eng := range engines {
				logs := serveAndSend(t, append(eng, "--log-format", format), upstream.URL, authz.URL)
				got[i] = decisionLines(t, format, logs)
			}
			if !slices.Equal(got[0], got[1]) {
				t.Errorf("the engines' lines differ\nnative:\n%s\nwasm:\n%s", strings.Join(got[0], "\n"), strings.Join(got[1], "\n"))
			}
			if format == "text" && !slices.Equal(got[0], wantDecisionLines) {
				t.Errorf("lines\n got:\n%s\nwant:\n%s", strings.Join(got[0], "\n"), strings.Join(wantDecisionLines, "\n"))
			}
			if format == "json" && len(got[0]) != len(wantDecisionLines) {
				t.Errorf("%d JSON lines, want %d:\n%s", len(got[0]), len(wantDecisionLines), strings.Join(got[0], "\n"))
			}
		})
	}
}

// serveStartBound bounds the wait for serve to listen. Compiling the
// filter is slow under -race, and slower still while make test runs every
// package at once; the filter is compiled once per test process (wazero's
// cache), so a bound that lets the first compilation finish makes the
// later starts quick.
const serveStartBound = 10 * time.Minute

// serveAndSend runs serve with args, sends decisionRequests through it,
// stops it and returns what it logged.
func serveAndSend(t *testing.T, args []string, upstream, authz string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &testutil.SyncBuffer{}
	addrc := make(chan net.Addr, 1)
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: stderr, ready: func(a net.Addr) { addrc <- a }}
	done := make(chan int, 1)
	args = append([]string{"serve", "--config", "testdata/config.json", "--listen", "127.0.0.1:0",
		"--upstream", upstream, "--cluster", "authz=" + authz}, args...)
	go func() { done <- c.run(ctx, args) }()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a.String()
	case code := <-done:
		t.Fatalf("serve exited %d early:\n%s", code, stderr.String())
	case <-time.After(serveStartBound):
		t.Fatalf("serve did not start in %v:\n%s", serveStartBound, stderr.String())
	}
	for i, r := range decisionRequests {
		req, err := http.NewRequest(r.method, base+r.target, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Request-Id", "rid-"+strconv.Itoa(i))
		if r.token != "" {
			req.Header.Set("Authorization", r.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", r.method, r.target, err)
		}
		resp.Body.Close()
		if resp.StatusCode != r.status {
			t.Errorf("%s %s: status %d, want %d", r.method, r.target, resp.StatusCode, r.status)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve exit %d", code)
	}
	return stderr.String()
}

var (
	textTime    = regexp.MustCompile(`^time=\S+ `)
	textLatency = regexp.MustCompile(` latency=[0-9.]+[µnm]?s$`)
)

// decisionLines picks the decision lines out of serve's log, without the
// time and the latency, which differ from run to run.
func decisionLines(t *testing.T, format, logs string) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		line := sc.Text()
		switch format {
		case "text":
			if !strings.Contains(line, " msg=request ") {
				continue
			}
			if !textTime.MatchString(line) || !textLatency.MatchString(line) {
				t.Errorf("line without time or latency: %s", line)
			}
			line = textLatency.ReplaceAllString(textTime.ReplaceAllString(line, ""), "")
		case "json":
			if !strings.HasPrefix(line, "{") {
				continue // serve's own start-up line
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Errorf("not JSON: %s", line)
				continue
			}
			if m["msg"] != "request" {
				continue
			}
			if _, ok := m["latency"].(float64); !ok {
				t.Errorf("line without a numeric latency: %s", line)
			}
			if _, ok := m["status"].(float64); !ok {
				t.Errorf("line without a numeric status: %s", line)
			}
			delete(m, "time")
			delete(m, "latency")
			b, _ := json.Marshal(m) // keys sorted
			line = string(b)
		}
		out = append(out, line)
	}
	return out
}
