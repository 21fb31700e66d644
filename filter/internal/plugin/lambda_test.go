package plugin

import (
	"slices"
	"strings"
	"testing"

	"github.com/authgate/authgate/filter/abi"
)

const lambdaConfig = `{
  "region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
  "authorizers": {
    "fn": {"type": "TOKEN", "cluster": "lambda", "timeoutMs": 2500,
           "authorizerUri": "arn:aws:lambda:us-east-1:123456789012:function:jwt:live",
           "authorizerCredentials": "arn:aws:iam::123456789012:role/invoker"}
  },
  "routes": [{"method": "ANY", "path": "/pets/{id}", "authorizer": "fn"}]
}`

// TestLambdaCallout checks the Invoke request the filter hands Envoy (no
// signature: the cluster signs) and how it reads the answers.
func TestLambdaCallout(t *testing.T) {
	tests := []struct {
		name      string
		headers   []abi.Header
		status    int
		body      string
		continued int
		local     uint32
	}{
		{name: "return value allows", status: 200, body: policy("Allow", nil), continued: 1},
		{name: "unauthorized thrown", headers: []abi.Header{{Name: "x-amz-function-error", Value: "Unhandled"}}, status: 200,
			body: `{"errorMessage":"Unauthorized","errorType":"errorString"}`, local: 401},
		{name: "other function error", headers: []abi.Header{{Name: "x-amz-function-error", Value: "Unhandled"}}, status: 200,
			body: `{"errorMessage":"boom","errorType":"errorString"}`, local: 500},
		{name: "throttled", headers: []abi.Header{{Name: "x-amzn-errortype", Value: "TooManyRequestsException"}}, status: 429,
			body: `{"Type":"User","message":"Rate Exceeded."}`, local: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnvWith(t, lambdaConfig)
			if logs := strings.Join(e.h.LogsAt(abi.LogInfo), "\n"); !strings.Contains(logs, `cluster "lambda" invokes Lambda functions in us-east-1 for fn; its requests must be signed (SigV4, service lambda, region us-east-1, assuming role arn:aws:iam::123456789012:role/invoker)`) {
				t.Errorf("configure log:\n%s", logs)
			}
			e.request(2, "GET", "/pets/7", bearer("abc"))
			c := e.h.Callouts[0]
			want := []abi.Header{{Name: ":method", Value: "POST"},
				{Name: ":path", Value: "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ajwt%3Alive/invocations"},
				{Name: ":authority", Value: "lambda.us-east-1.amazonaws.com"}, {Name: "content-type", Value: "application/json"},
				{Name: "accept-encoding", Value: "identity"}, {Name: "x-amz-invocation-type", Value: "RequestResponse"}}
			if c.Cluster != "lambda" || c.TimeoutMs != 2500 || !slices.Equal(c.Headers, want) {
				t.Fatalf("callout %+v", c)
			}
			e.h.Current = rootID
			hs := append([]abi.Header{{Name: ":status", Value: itoa(tt.status)}}, tt.headers...)
			e.h.SetCalloutResponse(rootID, hs, []byte(tt.body))
			e.p.OnHTTPCallResponse(rootID, c.ID, uint32(len(hs)), uint32(len(tt.body)), 0)
			s := e.h.Streams[2]
			if s.Continued != tt.continued || (tt.local != 0 && (len(s.Local) != 1 || s.Local[0].Status != tt.local)) {
				t.Errorf("continued %d, local %+v; want %d, %d", s.Continued, s.Local, tt.continued, tt.local)
			}
			e.end(2)
			e.assertEmpty()
		})
	}
}
