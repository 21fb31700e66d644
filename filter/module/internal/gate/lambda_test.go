package gate_test

import (
	"slices"
	"testing"

	"github.com/authgate/authgate/filter/module/abi"
	"github.com/authgate/authgate/filter/module/internal/gate"
)

const lambdaConfig = `{
  "region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
  "authorizers": {
    "fn": {"type": "TOKEN", "cluster": "lambda", "timeoutMs": 2500,
           "authorizerUri": "arn:aws:lambda:us-east-1:123456789012:function:jwt"}
  },
  "routes": [{"method": "ANY", "path": "/{proxy+}", "authorizer": "fn"}]
}`

// TestLambdaCallout checks the module's Invoke request (unsigned: the
// cluster signs) and that a function's Unauthorized is the client's 401.
func TestLambdaCallout(t *testing.T) {
	v := newEnv(t, lambdaConfig)
	s := v.stream(v.w, "GET", "/pets", "authorization", "Bearer abc")
	if st := v.headers(s); st != abi.HeadersStopAllIterationAndWatermark {
		t.Fatalf("status %v", st)
	}
	cs := s.Callouts()
	want := []gate.Header{{Name: ":method", Value: "POST"},
		{Name: ":path", Value: "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ajwt/invocations"},
		{Name: ":authority", Value: "lambda.us-east-1.amazonaws.com"}, {Name: "content-type", Value: "application/json"},
		{Name: "accept-encoding", Value: "identity"}, {Name: "x-amz-invocation-type", Value: "RequestResponse"}}
	if len(cs) != 1 || cs[0].Cluster != "lambda" || !slices.Equal(cs[0].Headers, want) {
		t.Fatalf("callouts %+v", cs)
	}
	hs := []gate.Header{{Name: ":status", Value: "200"}, {Name: "x-amz-function-error", Value: "Unhandled"}}
	s.W.Do(func() {
		body := `{"errorMessage":"Unauthorized","errorType":"errorString"}`
		s.Filter.OnCalloutDone(s, cs[0].ID, abi.CalloutSuccess, hs, []byte(body), len(body))
	})
	s.W.Drain()
	if rs := s.Responses(); len(rs) != 1 || rs[0].Status != 401 {
		t.Fatalf("responses %+v, want one 401", rs)
	}
}
