package awssign_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/host/awssign"
	"github.com/authgate/authgate/host/awssign/awssigntest"
)

const (
	function = "arn:aws:lambda:us-east-1:123456789012:function:jwt"
	role     = "arn:aws:iam::123456789012:role/invoker"
)

var testCreds = aws.Credentials{AccessKeyID: "AKIDTESTGATEWAY", SecretAccessKey: "gateway-secret"}

func plan(t *testing.T, extra string) *config.Plan {
	t.Helper()
	p, err := config.Parse([]byte(`{"region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
	  "authorizers": {"fn": {"type": "TOKEN", "cluster": "lambda", "authorizerUri": "` + function + `"` + extra + `},
	                  "http": {"type": "TOKEN", "cluster": "authz"}},
	  "routes": [{"method": "ANY", "path": "/{proxy+}", "authorizer": "fn"}, {"method": "ANY", "path": "/h", "authorizer": "http"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func staticConfig(c aws.Credentials) *aws.Config {
	return &aws.Config{Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)}
}

// echo answers 200 with the body it got and counts the signed requests.
type echo struct{ signed, unsigned atomic.Int64 }

func (e *echo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		e.signed.Add(1)
	} else {
		e.unsigned.Add(1)
	}
	b, _ := io.ReadAll(r.Body)
	_, _ = w.Write(b)
}

func post(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"type":"TOKEN"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "lambda.us-east-1.amazonaws.com"
	req.Header.Set("X-Amz-Invocation-Type", "RequestResponse")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const invokePath = "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ajwt/invocations"

func TestSignsLambdaClustersOnly(t *testing.T) {
	v := awssigntest.NewVerifier("lambda", "us-east-1", testCreds)
	lambda := &echo{}
	lambdaSrv := httptest.NewServer(v.Wrap(lambda))
	defer lambdaSrv.Close()
	plain := &echo{}
	plainSrv := httptest.NewServer(plain)
	defer plainSrv.Close()

	tests := []struct {
		name       string
		creds      aws.Credentials
		url        string
		wantStatus int
		wantBody   string
	}{
		{"lambda cluster signed", testCreds, lambdaSrv.URL + invokePath, 200, `{"type":"TOKEN"}`},
		{"http cluster unsigned", testCreds, plainSrv.URL + "/", 200, `{"type":"TOKEN"}`},
		{"other secret refused", aws.Credentials{AccessKeyID: testCreds.AccessKeyID, SecretAccessKey: "wrong"}, lambdaSrv.URL + invokePath, 403, "The request signature we calculated does not match"},
		{"unknown key refused", aws.Credentials{AccessKeyID: "AKIDOTHER", SecretAccessKey: "x"}, lambdaSrv.URL + invokePath, 403, "The security token included in the request is invalid."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := awssign.NewTransport(context.Background(), plan(t, ""), map[string]string{"lambda": lambdaSrv.URL, "authz": plainSrv.URL},
				awssign.Options{Config: staticConfig(tt.creds)})
			if err != nil {
				t.Fatal(err)
			}
			status, body := post(t, tr.Client(), tt.url)
			if status != tt.wantStatus || !strings.Contains(body, tt.wantBody) {
				t.Fatalf("got %d %s, want %d %s", status, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
	if plain.signed.Load() != 0 || plain.unsigned.Load() != 1 {
		t.Errorf("the HTTP authorizer got %d signed and %d unsigned requests, want 0 and 1", plain.signed.Load(), plain.unsigned.Load())
	}
	if lambda.signed.Load() != 1 || v.Refused() != 2 {
		t.Errorf("lambda: %d signed requests through, %d refused; want 1 and 2", lambda.signed.Load(), v.Refused())
	}
}

// TestUnsignedRefused checks the verifier itself: a host that forgets to
// sign gets Lambda's 403.
func TestUnsignedRefused(t *testing.T) {
	v := awssigntest.NewVerifier("lambda", "us-east-1", testCreds)
	srv := httptest.NewServer(v.Wrap(&echo{}))
	defer srv.Close()
	status, body := post(t, srv.Client(), srv.URL+invokePath)
	if status != 403 || body != `{"message":"Missing Authentication Token"}` {
		t.Fatalf("got %d %s", status, body)
	}
}

func TestAssumeRole(t *testing.T) {
	lambdaV := awssigntest.NewVerifier("lambda", "us-east-1") // accepts only what STS issues
	sts := &awssigntest.STS{Caller: awssigntest.NewVerifier("sts", "us-east-1", testCreds), Issue: lambdaV, Roles: []string{role}}
	stsSrv := httptest.NewServer(sts)
	defer stsSrv.Close()
	lambda := &echo{}
	lambdaSrv := httptest.NewServer(lambdaV.Wrap(lambda))
	defer lambdaSrv.Close()

	cfg := staticConfig(testCreds)
	cfg.BaseEndpoint = aws.String(stsSrv.URL)
	tr, err := awssign.NewTransport(context.Background(), plan(t, `, "authorizerCredentials": "`+role+`"`),
		map[string]string{"lambda": lambdaSrv.URL, "authz": "http://127.0.0.1:1"}, awssign.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if status, body := post(t, tr.Client(), lambdaSrv.URL+invokePath); status != 200 {
			t.Fatalf("call %d: %d %s", i, status, body)
		}
	}
	if sts.Issued() != 1 || lambda.signed.Load() != 3 {
		t.Errorf("STS issued %d credentials for %d signed calls, want 1 for 3 (the role's credentials are cached)", sts.Issued(), lambda.signed.Load())
	}

	// A role STS refuses: the call fails before anything is sent.
	tr, err = awssign.NewTransport(context.Background(), plan(t, `, "authorizerCredentials": "arn:aws:iam::123456789012:role/other"`),
		map[string]string{"lambda": lambdaSrv.URL, "authz": "http://127.0.0.1:1"}, awssign.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, lambdaSrv.URL+invokePath, strings.NewReader("{}"))
	if _, err := tr.Client().Do(req); err == nil || !strings.Contains(err.Error(), `awssign: cluster "lambda": credentials:`) || strings.Contains(err.Error(), testCreds.SecretAccessKey) {
		t.Fatalf("err = %v, want a credentials error without the secret", err)
	}
}

func TestNewTransportErrors(t *testing.T) {
	tests := []struct {
		name     string
		clusters map[string]string
		wantErr  string
	}{
		{"endpoint in another region", map[string]string{"lambda": "https://lambda.eu-west-1.amazonaws.com", "authz": "http://127.0.0.1:9001"},
			`awssign: authorizers.fn.authorizerUri: the function is in us-east-1, but cluster "lambda" (https://lambda.eu-west-1.amazonaws.com) is Lambda's endpoint in eu-west-1`},
		{"http cluster on the lambda origin", map[string]string{"lambda": "http://127.0.0.1:9002", "authz": "http://127.0.0.1:9002/authz"},
			`awssign: cluster "authz" has the origin http://127.0.0.1:9002 of Lambda cluster "lambda": its requests would be signed too; give it another host or port`},
		{"no url", map[string]string{"authz": "http://127.0.0.1:9001"}, `awssign: authorizers.fn.cluster: cluster "lambda" has no URL`},
		{"not a url", map[string]string{"lambda": "ftp://127.0.0.1:9002"}, `awssign: cluster "lambda": want an http or https URL with a host`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := awssign.NewTransport(context.Background(), plan(t, ""), tt.clusters, awssign.Options{Config: staticConfig(testCreds)})
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("err = %v\nwant  %s", err, tt.wantErr)
			}
		})
	}
	// The right region's public endpoint is fine.
	if _, err := awssign.NewTransport(context.Background(), plan(t, ""), map[string]string{"lambda": "https://lambda.us-east-1.amazonaws.com", "authz": "http://127.0.0.1:9001"},
		awssign.Options{Config: staticConfig(testCreds)}); err != nil {
		t.Fatal(err)
	}
}
