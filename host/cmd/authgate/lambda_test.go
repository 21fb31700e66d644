package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/authgate/authgate/host/awssign/awssigntest"
	"github.com/authgate/authgate/host/internal/testutil"
)

// Credentials the tests give serve through the environment, the first
// link of the SDK's default chain.
var (
	serveCreds = aws.Credentials{AccessKeyID: "AKIDSERVETEST", SecretAccessKey: "serve-test-secret-key"}
	invoker    = "arn:aws:iam::123456789012:role/invoker"
)

// awsEnv gives serve the test's static credentials and nothing else: no
// shared files, no instance metadata, STS (for roles) at sts.
func awsEnv(t *testing.T, sts string) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": serveCreds.AccessKeyID, "AWS_SECRET_ACCESS_KEY": serveCreds.SecretAccessKey,
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_REGION": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL_STS": sts,
	} {
		t.Setenv(k, v)
	}
}

// lambdaFunction answers Invoke calls as Lambda does for a function that
// allows "Bearer good", throws Unauthorized for "Bearer bad" and fails
// otherwise, after checking the request is an Invoke of the right ARN.
func lambdaFunction(t *testing.T, calls *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.EscapedPath() != "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ajwt/invocations" ||
			r.Header.Get("X-Amz-Invocation-Type") != "RequestResponse" || r.Host != "lambda.us-east-1.amazonaws.com" {
			t.Errorf("invoke request %s %s host %s, type %q", r.Method, r.URL.EscapedPath(), r.Host, r.Header.Get("X-Amz-Invocation-Type"))
		}
		var ev struct {
			AuthorizationToken string `json:"authorizationToken"`
		}
		_ = json.NewDecoder(r.Body).Decode(&ev)
		switch ev.AuthorizationToken {
		case "Bearer good":
			io.WriteString(w, `{"principalId":"alice","policyDocument":{"Version":"2012-10-17","Statement":[`+
				`{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"`+arnPrefix+`GET/*"}]}}`)
		case "Bearer bad":
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			io.WriteString(w, `{"errorMessage":"Unauthorized","errorType":"errorString"}`)
		default:
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			io.WriteString(w, `{"errorMessage":"token store unreachable","errorType":"errorString"}`)
		}
	})
}

func lambdaConfigFile(t *testing.T, credentials string) string {
	extra := ""
	if credentials != "" {
		extra = `, "authorizerCredentials": "` + credentials + `"`
	}
	cfg := `{"region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
	  "authorizers": {"jwt": {"type": "TOKEN", "cluster": "lambda", "timeoutMs": 2000,
	    "authorizerUri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:jwt/invocations"` + extra + `}},
	  "routes": [{"method": "ANY", "path": "/pets/{proxy+}", "authorizer": "jwt"}]}`
	p := filepath.Join(t.TempDir(), "lambda.json")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestServeLambda runs serve with a Lambda authorizer on each engine: its
// calls must be signed with the environment's credentials (or the role's,
// through STS), and the Invoke API's answers mapped as API Gateway maps them.
func TestServeLambda(t *testing.T) {
	engines := [][]string{{"--engine", "native"}}
	if f := os.Getenv("AUTHGATE_WASM"); f != "" {
		engines = append(engines, []string{"--engine", "wasm", "--filter", f, "--pool", "1"})
	}
	for _, eng := range engines {
		for _, role := range []string{"", invoker} {
			name := eng[1]
			if role != "" {
				name += "/role"
			}
			t.Run(name, func(t *testing.T) { testServeLambda(t, eng, role) })
		}
	}
}

func testServeLambda(t *testing.T, engineArgs []string, role string) {
	lambdaV := awssigntest.NewVerifier("lambda", "us-east-1")
	sts := &awssigntest.STS{Caller: awssigntest.NewVerifier("sts", "us-east-1", serveCreds), Issue: lambdaV, Roles: []string{invoker}}
	if role == "" {
		lambdaV.Add(serveCreds)
	}
	stsSrv := httptest.NewServer(sts)
	defer stsSrv.Close()
	awsEnv(t, stsSrv.URL)
	var calls atomic.Int64
	lambda := httptest.NewServer(lambdaV.Wrap(lambdaFunction(t, &calls)))
	defer lambda.Close()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "upstream saw principal="+r.Header.Get("X-Authorizer-Principal-Id"))
	}))
	defer upstream.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &testutil.SyncBuffer{}
	addrc := make(chan net.Addr, 1)
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: stderr, ready: func(a net.Addr) { addrc <- a }}
	done := make(chan int, 1)
	args := append([]string{"serve", "--config", lambdaConfigFile(t, role), "--listen", "127.0.0.1:0",
		"--upstream", upstream.URL, "--cluster", "lambda=" + lambda.URL}, engineArgs...)
	go func() { done <- c.run(ctx, args) }()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a.String()
	case code := <-done:
		t.Fatalf("serve exited %d early:\n%s", code, stderr.String())
	case <-time.After(3 * time.Minute):
		t.Fatalf("serve did not start:\n%s", stderr.String())
	}
	tests := []struct {
		name   string
		token  string
		status int
		body   string
	}{
		{"allowed", "Bearer good", 200, "upstream saw principal=alice"},
		{"unauthorized thrown", "Bearer bad", 401, `{"message":"Unauthorized"}`},
		{"function error", "Bearer other", 500, `{"message":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", base+"/pets/1", nil)
			req.Header.Set("Authorization", tt.token)
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
	cancel()
	<-done
	if calls.Load() != 3 || lambdaV.Refused() != 0 {
		t.Errorf("function ran %d times, %d calls refused; want 3 signed calls", calls.Load(), lambdaV.Refused())
	}
	if role != "" && sts.Issued() != 1 {
		t.Errorf("STS issued %d credentials, want 1", sts.Issued())
	}
	logs := stderr.String()
	if !strings.Contains(logs, "signing Lambda invocations (SigV4)") {
		t.Errorf("no signing line in:\n%s", logs)
	}
	for _, secret := range []string{serveCreds.SecretAccessKey, "assumed-secret", "assumed-session-token", "Signature="} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs carry %q:\n%s", secret, logs)
		}
	}
}

func TestValidateLambda(t *testing.T) {
	good := lambdaConfigFile(t, invoker)
	code, stdout, stderr := runCLI(t, "", "validate", "--config", good)
	if code != 0 || !strings.Contains(stdout, "1 authorizer (jwt TOKEN lambda jwt ttl 300s), 1 route") {
		t.Errorf("validate: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	raw, _ := os.ReadFile(good)
	if err := os.WriteFile(bad, []byte(strings.Replace(string(raw), "functions/arn:aws:lambda:us-east-1:", "functions/arn:aws:lambda:eu-west-1:", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, "", "validate", "--config", bad)
	if code != 2 || !strings.Contains(stderr, `authorizers.jwt.authorizerUri: function "arn:aws:lambda:eu-west-1:123456789012:function:jwt" is in eu-west-1, but the URI calls Lambda in us-east-1`) {
		t.Errorf("validate: exit %d, stderr %q", code, stderr)
	}
}
