package lambdarun

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/host/awssign"
)

var testCreds = aws.Credentials{AccessKeyID: "AKIDLAMBDARUN", SecretAccessKey: "lambdarun-secret"}

const jwtSecret = "0123456789abcdef0123456789abcdef"

// rie finds the emulator, skipping the test without one unless CI is set.
func rie(t *testing.T) string {
	t.Helper()
	p, err := RIEBinary()
	if err != nil {
		if ci := os.Getenv("CI"); ci != "" && ci != "false" {
			t.Fatalf("CI=%s: %v", ci, err)
		}
		t.Skip(err)
	}
	return p
}

func goCmd() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// TestEndpoint runs the example JWT authorizer under the emulator and
// checks the Endpoint answers as Lambda: signed invocations by ARN reach
// the function, function errors are marked, unsigned requests and unknown
// functions are refused, and only the first invocation is a cold start.
func TestEndpoint(t *testing.T) {
	bin := rie(t)
	ctx := context.Background()
	boot, err := BuildBootstrap(ctx, goCmd(), "../..", "./examples/jwt-authorizer/cmd/lambda", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e, err := Start(ctx, Options{Region: "us-east-1", Credentials: []aws.Credentials{testCreds}, RIE: bin,
		Functions: []Function{{Name: "jwt", Bootstrap: boot, Env: []string{"JWT_SECRET=" + jwtSecret}}, {Name: "busy", Throttled: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	plan, err := config.Parse([]byte(`{"region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
	  "authorizers": {"fn": {"type": "TOKEN", "cluster": "lambda", "authorizerUri": "arn:aws:lambda:us-east-1:123456789012:function:jwt"}},
	  "routes": [{"method": "ANY", "path": "/{proxy+}", "authorizer": "fn"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := awssign.NewTransport(ctx, plan, map[string]string{"lambda": e.URL},
		awssign.Options{Config: &aws.Config{Credentials: credentials.NewStaticCredentialsProvider(testCreds.AccessKeyID, testCreds.SecretAccessKey, "")}})
	if err != nil {
		t.Fatal(err)
	}
	const event = `{"type":"TOKEN","authorizationToken":"Bearer not-a-jwt","methodArn":"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets"}`
	tests := []struct {
		name       string
		client     *http.Client
		path       string
		wantStatus int
		wantHeader string // X-Amz-Function-Error, or X-Amzn-Errortype for service errors
		wantBody   string
	}{
		{"unauthorized thrown", tr.Client(), plan.Authorizers["fn"].Path, 200, "Unhandled", `{"errorMessage":"Unauthorized","errorType":"errorString"}`},
		{"by bare name", tr.Client(), "/2015-03-31/functions/jwt/invocations", 200, "Unhandled", `"Unauthorized"`},
		{"unsigned", http.DefaultClient, plan.Authorizers["fn"].Path, 403, "MissingAuthenticationTokenException", "Missing Authentication Token"},
		{"unknown function", tr.Client(), "/2015-03-31/functions/nope/invocations", 404, "ResourceNotFoundException", "Function not found: nope"},
		{"other region", tr.Client(), "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Ajwt/invocations", 404, "ResourceNotFoundException", ""},
		{"throttled", tr.Client(), "/2015-03-31/functions/busy/invocations", 429, "TooManyRequestsException", "Rate Exceeded."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.URL+tt.path, strings.NewReader(event))
			req.Header.Set("X-Amz-Invocation-Type", "RequestResponse")
			resp, err := tt.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			h := resp.Header.Get("X-Amz-Function-Error") + resp.Header.Get("X-Amzn-Errortype")
			if resp.StatusCode != tt.wantStatus || h != tt.wantHeader || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("got %d %q %s; want %d %q %s", resp.StatusCode, h, body, tt.wantStatus, tt.wantHeader, tt.wantBody)
			}
		})
	}
	if n, c := e.Invocations("jwt"), e.ColdStarts("jwt"); n != 2 || c != 1 {
		t.Errorf("jwt: %d invocations, %d cold starts; want 2 and 1\n%s", n, c, e.Output("jwt"))
	}
	if e.Verifier.Refused() != 1 {
		t.Errorf("refused %d requests, want 1 (the unsigned one)", e.Verifier.Refused())
	}
}
