package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgate/authgate/examples/jwt-authorizer/jwtauth"
	"github.com/authgate/authgate/host/awssign/awssigntest"
)

// testAuthzConfig has the seed's JWT authorizer as TOKEN authorizer "jwt"
// and a REQUEST authorizer "keys" answered by a small fake, both on real
// local servers.
const testAuthzConfig = `{"region":"us-east-1","accountId":"123456789012","restApiId":"a1b2c3d4e5","stage":"prod",
 "stageVariables":{"tenant":"acme"},
 "authorizers":{
  "jwt":{"type":"TOKEN","cluster":"jwt","identityValidationExpression":"^Bearer [-0-9a-zA-Z._]+$","authorizerResultTtlInSeconds":300},
  "keys":{"type":"REQUEST","cluster":"keys","identitySource":"method.request.header.X-Api-Key, stageVariables.tenant","authorizerResultTtlInSeconds":0},
  "slow":{"type":"TOKEN","cluster":"slow","timeoutMs":100},
  "down":{"type":"TOKEN","cluster":"down"}},
 "routes":[
  {"method":"ANY","path":"/users/{id}","authorizer":"jwt"},
  {"method":"GET","path":"/keys/{proxy+}","authorizer":"keys"},
  {"method":"GET","path":"/slow","authorizer":"slow"},
  {"method":"GET","path":"/down","authorizer":"down"},
  {"method":"GET","path":"/open","authorizer":"NONE"}]}`

var testAuthzSecret = []byte("0123456789abcdef0123456789abcdef")

// testAuthzServers starts the JWT authorizer, the fake REQUEST
// authorizer, a slow one, and a closed port, and returns the --cluster
// flags naming them, the config file and a token for alice.
func testAuthzServers(t *testing.T) (clusters []string, configFile, alice string) {
	t.Helper()
	a, err := jwtauth.New(jwtauth.Config{HS256Secret: testAuthzSecret})
	if err != nil {
		t.Fatal(err)
	}
	h, err := a.Handler(jwtauth.API{Region: "us-east-1", AccountID: "123456789012", APIID: "a1b2c3d4e5", Stage: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	jwtSrv := httptest.NewServer(h)
	t.Cleanup(jwtSrv.Close)
	keys := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Headers        map[string]string `json:"headers"`
			StageVariables map[string]string `json:"stageVariables"`
			MethodArn      string            `json:"methodArn"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || ev.Headers["x-api-key"] != "k1" {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"principalId":"key-` + ev.StageVariables["tenant"] + `","policyDocument":{"Version":"2012-10-17","Statement":[` +
			`{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"` + ev.MethodArn + `"}]},"context":{"tenant":"` + ev.StageVariables["tenant"] + `"}}`))
	}))
	t.Cleanup(keys.Close)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	configFile = filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(configFile, []byte(testAuthzConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	alice, err = jwtauth.Mint(jwtauth.MintOptions{Subject: "alice", TTL: time.Hour, Now: time.Now(), HS256Secret: testAuthzSecret})
	if err != nil {
		t.Fatal(err)
	}
	return []string{"--cluster", "jwt=" + jwtSrv.URL, "--cluster", "keys=" + keys.URL, "--cluster", "slow=" + slow.URL,
		"--cluster", "down=http://" + closed}, configFile, alice
}

func TestTestAuthorizer(t *testing.T) {
	clusters, cfg, alice := testAuthzServers(t)
	base := append([]string{"test-authorizer", "--config", cfg}, clusters...)
	tests := []struct {
		name string
		args []string
		code int
		// want are lines stdout must contain, in order; absent must not
		// appear.
		want   []string
		absent []string
		stderr string
	}{
		{
			name: "JWT allow shows every step",
			args: []string{"--authorizer", "jwt", "--token", "Bearer " + alice, "--method", "POST", "--path", "/users/alice"},
			code: 0,
			want: []string{
				"request:    POST /users/alice (route /users/{id}, authorizer jwt, TOKEN)",
				"event:      POST http://127.0.0.1:",
				`"type": "TOKEN"`,
				`"methodArn": "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/POST/users/alice"`,
				"answer:     200 in ",
				"principal:  alice",
				"policy:",
				`  Statement[0]: Allow Action ["execute-api:Invoke"] on Resource ["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/*","arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/POST/users/alice"]`,
				"context:",
				`  sub = "alice"`,
				"decision:   ALLOW by Statement[0]: the gateway forwards the request",
				"upstream:   x-authorizer-principal-id: alice",
				"upstream:   x-authorizer-sub: alice",
				"cache:      this answer is cached for 300 s per identity",
			},
		},
		{
			name: "JWT implicit deny for another user's path",
			args: []string{"--authorizer", "jwt", "--token", "Bearer " + alice, "--method", "POST", "--path", "/users/bob"},
			code: 1,
			want: []string{
				"principal:  alice",
				"decision:   IMPLICIT_DENY: the gateway answers 403: no statement allows",
				"cache:      this answer is cached for 300 s per identity",
			},
			absent: []string{"upstream:"},
		},
		{
			name: "bad token is Unauthorized",
			args: []string{"--authorizer", "jwt", "--token", "Bearer not.a.jwt"},
			code: 1,
			want: []string{
				"request:    GET /users/id (route /users/{id}, authorizer jwt, TOKEN)",
				"answer:     401 in ",
				"decision:   UNAUTHORIZED: the gateway answers 401: authorizer answered unauthorized",
				"cache:      not cached (TTL 0)",
			},
		},
		{
			name:   "token failing the validation expression is not sent",
			args:   []string{"--authorizer", "jwt", "--token", "Basic dXNlcg=="},
			code:   1,
			want:   []string{"no call:    the gateway answers 401 without calling the authorizer: token does not match identityValidationExpression"},
			absent: []string{"event:"},
		},
		{
			name: "REQUEST authorizer with header, query and stage variable",
			args: []string{"--authorizer", "keys", "--header", "X-Api-Key=k1", "--query", "q=a b", "--stage-var", "tenant=globex", "--path", "/keys/a/b"},
			code: 0,
			want: []string{
				"request:    GET /keys/a/b (route /keys/{proxy+}, authorizer keys, REQUEST)",
				`"queryStringParameters": {`,
				`"q": "a b"`,
				`"tenant": "globex"`,
				"principal:  key-globex",
				"upstream:   x-authorizer-tenant: globex",
				"cache:      not cached (TTL 0)",
			},
		},
		{
			name: "REQUEST identity missing",
			args: []string{"--authorizer", "keys", "--path", "/keys/x"},
			code: 1,
			want: []string{"no call:    the gateway answers 401 without calling the authorizer: identity source method.request.header.x-api-key missing or empty"},
		},
		{
			name: "timeout is a 500, never cached",
			args: []string{"--authorizer", "slow", "--token", "t"},
			code: 1,
			want: []string{
				"answer:     none after ",
				"timed out",
				"decision:   ERROR: the gateway answers 500: authorizer call timed out after 100ms",
				"cache:      failures are never cached",
			},
		},
		{
			name: "refused connection is a 500",
			args: []string{"--authorizer", "down", "--token", "t"},
			code: 1,
			want: []string{"answer:     none after ", "connection refused", "decision:   ERROR: the gateway answers 500: authorizer call refused: connection refused"},
		},
		{
			name:   "path of another authorizer's route",
			args:   []string{"--authorizer", "jwt", "--token", "Bearer " + alice, "--path", "/keys/x"},
			code:   2,
			stderr: `authgate test-authorizer: GET /keys/x goes to route "/keys/{proxy+}", whose authorizer is "keys": pass a --path of a route that uses "jwt"` + "\n",
		},
		{
			name:   "unknown authorizer names the known ones",
			args:   []string{"--authorizer", "nope", "--token", "x"},
			code:   2,
			stderr: "authgate test-authorizer: no authorizer \"nope\" in " + cfg + " (it has down, jwt, keys, slow)\n",
		},
		{
			name:   "token for a REQUEST authorizer",
			args:   []string{"--authorizer", "keys", "--token", "x"},
			code:   2,
			stderr: `authgate test-authorizer: --token is for TOKEN authorizers; "keys" is a REQUEST authorizer: pass --header, --query or --stage-var` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", append(append([]string{}, base...), tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if stderr != tt.stderr {
				t.Errorf("stderr %q, want %q", stderr, tt.stderr)
			}
			rest := stdout
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("stdout lacks %q (in order)\nstdout:\n%s", w, stdout)
					break
				}
				rest = rest[i+len(w):]
			}
			for _, a := range tt.absent {
				if strings.Contains(stdout, a) {
					t.Errorf("stdout has %q\nstdout:\n%s", a, stdout)
				}
			}
		})
	}
}

func TestTestAuthorizerJSON(t *testing.T) {
	clusters, cfg, alice := testAuthzServers(t)
	args := append([]string{"test-authorizer", "--config", cfg, "--json", "--authorizer", "jwt",
		"--token", "Bearer " + alice, "--path", "/users/alice", "--method", "POST"}, clusters...)
	code, stdout, stderr := runCLI(t, "", args...)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var out struct {
		Request struct{ Method, Path, Route, Authorizer, Type string }
		Event   struct{ Type, AuthorizationToken, MethodArn string }
		Answer  struct {
			Status    int
			LatencyMs float64
			Body      string
		}
		PrincipalID    *string
		PolicyDocument map[string]any
		Context        map[string]string
		Decision       string
		Status         int
		Statement      *int
		Headers        map[string]string
		Cache          struct {
			Cached     bool
			TTLSeconds int
		}
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	switch {
	case out.Request.Route != "/users/{id}" || out.Request.Type != "TOKEN":
		t.Errorf("request %+v", out.Request)
	case out.Event.Type != "TOKEN" || out.Event.AuthorizationToken != "Bearer "+alice:
		t.Errorf("event %+v", out.Event)
	case out.Answer.Status != 200 || out.Answer.LatencyMs <= 0 || !strings.Contains(out.Answer.Body, `"principalId":"alice"`):
		t.Errorf("answer %+v", out.Answer)
	case out.PrincipalID == nil || *out.PrincipalID != "alice" || out.PolicyDocument["Version"] != "2012-10-17":
		t.Errorf("principal %v, policy %v", out.PrincipalID, out.PolicyDocument)
	case out.Decision != "ALLOW" || out.Status != 200 || out.Statement == nil:
		t.Errorf("decision %s status %d statement %v", out.Decision, out.Status, out.Statement)
	case out.Headers["x-authorizer-principal-id"] != "alice" || out.Context["sub"] != "alice":
		t.Errorf("headers %v context %v", out.Headers, out.Context)
	case !out.Cache.Cached || out.Cache.TTLSeconds != 300:
		t.Errorf("cache %+v", out.Cache)
	}
}

// TestTestAuthorizerLambda calls a Lambda authorizer through a verifier
// that refuses unsigned requests: test-authorizer must sign as serve does,
// and map the Invoke API's answers as the gateway maps them.
func TestTestAuthorizerLambda(t *testing.T) {
	v := awssigntest.NewVerifier("lambda", "us-east-1", serveCreds)
	awsEnv(t, "http://127.0.0.1:1")
	var calls atomic.Int64
	lambda := httptest.NewServer(v.Wrap(lambdaFunction(t, &calls)))
	defer lambda.Close()
	cfg := lambdaConfigFile(t, "")
	tests := []struct {
		name  string
		token string
		code  int
		want  []string
	}{
		{"allow", "Bearer good", 0, []string{"principal:  alice", "decision:   ALLOW by Statement[0]: the gateway forwards the request"}},
		{"Unauthorized thrown", "Bearer bad", 1, []string{"decision:   UNAUTHORIZED: the gateway answers 401"}},
		{"function error", "Bearer other", 1, []string{"decision:   ERROR: the gateway answers 500", "cache:      failures are never cached"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", "test-authorizer", "--config", cfg, "--authorizer", "jwt",
				"--cluster", "lambda="+lambda.URL, "--token", tt.token, "--path", "/pets/1")
			if code != tt.code || stderr != "" {
				t.Errorf("exit %d, want %d; stderr %q\n%s", code, tt.code, stderr, stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
		})
	}
	if v.Refused() != 0 || v.Accepted() != 3 {
		t.Errorf("the verifier accepted %d and refused %d calls, want 3 and 0", v.Accepted(), v.Refused())
	}
}
