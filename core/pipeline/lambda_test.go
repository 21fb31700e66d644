package pipeline

import (
	"strings"
	"testing"

	"github.com/authgate/authgate/core/authorizer"
	"github.com/authgate/authgate/core/config"
)

const lambdaConfig = `{
  "region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
  "authorizers": {
    "fn": {"type": "TOKEN", "cluster": "lambda", "timeoutMs": 3000,
           "authorizerUri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:jwt/invocations",
           "unauthorizedTtlInSeconds": 60}
  },
  "routes": [{"method": "ANY", "path": "/{proxy+}", "authorizer": "fn"}]
}`

// TestLambdaCall checks the Invoke request a Lambda authorizer's miss asks for.
func TestLambdaCall(t *testing.T) {
	plan, err := config.Parse([]byte(lambdaConfig))
	if err != nil {
		t.Fatal(err)
	}
	r := New(plan).Evaluate(&Request{Method: "GET", Target: "/pets", Headers: bearer("abc")}, t0)
	if r.Kind != KindCall {
		t.Fatalf("kind = %v", r.Kind)
	}
	c := r.Call
	if c.Cluster != "lambda" || c.Authority != "lambda.us-east-1.amazonaws.com" ||
		c.Path != "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ajwt/invocations" {
		t.Errorf("call = %s %s %s", c.Cluster, c.Authority, c.Path)
	}
	if !equalHeaders(c.Headers, []Header{{Name: "accept-encoding", Value: "identity"}, {Name: "x-amz-invocation-type", Value: "RequestResponse"}}) {
		t.Errorf("headers = %v", c.Headers)
	}
	want := `{"type":"TOKEN","authorizationToken":"Bearer abc","methodArn":"` + arnPrefix + `GET/pets"}`
	if string(c.Event) != want {
		t.Errorf("event = %s, want %s", c.Event, want)
	}
}

// TestLambdaAnswers maps the Invoke API's answers to the gateway's: the
// return value decides, "Unauthorized" thrown is 401, everything else 500,
// and only a decision (or a cacheable Unauthorized) is ever cached.
func TestLambdaAnswers(t *testing.T) {
	fe := func(v string) []Header { return []Header{{Name: "x-amz-function-error", Value: v}} }
	allow := policyResponse("alice", "Allow", []string{"*"}, nil)
	tests := []struct {
		name      string
		resp      Response
		status    int // 0 = allowed
		decision  string
		reason    string
		wantCache int
	}{
		{"allow", allow, 0, DecisionAllow, "", 1},
		{"deny", policyResponse("alice", "Deny", []string{"*"}, nil), 403, DecisionDeny, "explicit deny", 1},
		{"unauthorized thrown", Response{Status: 200, Headers: fe("Unhandled"), Body: []byte(`{"errorMessage":"Unauthorized","errorType":"errorString"}`)},
			401, DecisionUnauthorized, "authorizer answered unauthorized", 1},
		{"other function error", Response{Status: 200, Headers: fe("Unhandled"), Body: []byte(`{"errorMessage":"token store down","errorType":"errorString"}`)},
			500, DecisionError, `authorizer failed: lambda invoke: function error "Unhandled": errorType "errorString", errorMessage "token store down"`, 0},
		{"a function error beats a valid-looking body", Response{Status: 200, Headers: fe("Handled"), Body: allow.Body}, 500, DecisionError, "without an errorMessage", 0},
		{"throttled", Response{Status: 429, Headers: []Header{{Name: "x-amzn-errortype", Value: "TooManyRequestsException"}}, Body: []byte(`{"Type":"User","message":"Rate Exceeded."}`)},
			500, DecisionError, `authorizer failed: lambda invoke: status 429, "TooManyRequestsException"`, 0},
		{"signature refused", Response{Status: 403, Body: []byte(`{"message":"Missing Authentication Token"}`)}, 500, DecisionError, "status 403", 0},
		{"lambda 401 is not unauthorized", Response{Status: 401, Body: []byte(`Unauthorized`)}, 500, DecisionError, "status 401", 0},
		{"timeout", Response{Cause: CauseTimeout}, 500, DecisionError, "authorizer call timed out", 0},
		{"emulator timeout text", Response{Status: 200, Body: []byte(`Task timed out after 3.00 seconds`)}, 500, DecisionError, "invalid authorizer response", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := config.Parse([]byte(lambdaConfig))
			if err != nil {
				t.Fatal(err)
			}
			p := New(plan)
			r := p.Evaluate(&Request{Method: "GET", Target: "/pets", Headers: bearer("tok")}, t0)
			r = p.Resume(r.Call, tt.resp, t0)
			if r.Status != tt.status || r.Decision != tt.decision || !strings.Contains(r.Reason, tt.reason) {
				t.Errorf("got status %d decision %s reason %q; want %d %s %q", r.Status, r.Decision, r.Reason, tt.status, tt.decision, tt.reason)
			}
			if tt.status == 500 && string(r.Body) != `{"message":null}` {
				t.Errorf("body = %s", r.Body)
			}
			if n := p.CacheLen(); n != tt.wantCache {
				t.Errorf("cache holds %d entries, want %d", n, tt.wantCache)
			}
		})
	}
}

// TestLambdaAnswerCauses: the Invoke API's errors count as status
// failures, while an answer refused for its size, encoding or text counts
// as malformed, the function error's body included, which the gateway
// must read to tell a thrown "Unauthorized" from other errors.
func TestLambdaAnswerCauses(t *testing.T) {
	fe := []Header{{Name: authorizer.FunctionErrorHeader, Value: "Unhandled"}}
	tests := []struct {
		name   string
		resp   Response
		cause  Cause
		reason string
	}{
		{"function error", Response{Status: 200, Headers: fe, Body: []byte(`{"errorMessage":"down","errorType":"e"}`)}, CauseStatus, "authorizer failed: lambda invoke: function error"},
		{"throttled and large", Response{Status: 429, BodySize: 5 << 20}, CauseStatus, "authorizer failed: lambda invoke: status 429"},
		{"return value too large", Response{Status: 200, BodySize: 5 << 20}, CauseMalformed, "authorizer answer larger than maxResponseBytes (1048576)"},
		{"function error too large", Response{Status: 200, Headers: fe, BodySize: 5 << 20}, CauseMalformed, "authorizer answer larger than maxResponseBytes (1048576)"},
		{"function error nested too deep", Response{Status: 200, Headers: fe, Body: []byte(`{"errorMessage":"Unauthorized","x":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`)},
			CauseMalformed, `authorizer failed: lambda invoke: function error "Unhandled", body nested deeper than 32 levels`},
		{"function error not UTF-8", Response{Status: 200, Headers: fe, Body: []byte("{\"errorMessage\":\"\xc3\"}")},
			CauseMalformed, `authorizer failed: lambda invoke: function error "Unhandled", body not valid UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := config.Parse([]byte(lambdaConfig))
			if err != nil {
				t.Fatal(err)
			}
			p := New(plan)
			r := p.Evaluate(&Request{Method: "GET", Target: "/pets", Headers: bearer("tok")}, t0)
			r = p.Resume(r.Call, tt.resp, t0)
			if r.Status != 500 || r.Cause != tt.cause || !strings.HasPrefix(r.Reason, tt.reason) {
				t.Errorf("got %d cause %v reason %q; want 500 cause %v reason starting %q", r.Status, r.Cause, r.Reason, tt.cause, tt.reason)
			}
		})
	}
}

// TestLambdaSharedResult checks that another VM's shared answer of a Lambda
// authorizer (the function's return value) decides like a fresh one, and
// that a function error is never cached, so never shared.
func TestLambdaSharedResult(t *testing.T) {
	plan, err := config.Parse([]byte(lambdaConfig))
	if err != nil {
		t.Fatal(err)
	}
	a, b := New(plan), New(plan)
	req := &Request{Method: "GET", Target: "/pets", Headers: bearer("shared")}
	ra := a.Evaluate(req, t0)
	answer := policyResponse("alice", "Allow", []string{"*"}, nil)
	res := a.Resume(ra.Call, answer, t0)
	if res.Kind != KindAllow || res.TTL <= 0 {
		t.Fatalf("first VM: kind %v, cached for %v", res.Kind, res.TTL)
	}
	rb := b.Evaluate(req, t0)
	if got, ok := b.Adopt(rb.Call, answer.Body, res.TTL, t0); !ok || got.Kind != KindAllow {
		t.Fatalf("second VM: adopted %v, kind %v", ok, got.Kind)
	}
	rc := a.Evaluate(&Request{Method: "GET", Target: "/pets", Headers: bearer("err")}, t0)
	fail := a.Resume(rc.Call, Response{Status: 200, Headers: []Header{{Name: authorizer.FunctionErrorHeader, Value: "Unhandled"}},
		Body: []byte(`{"errorMessage":"x"}`)}, t0)
	if fail.TTL != 0 {
		t.Fatalf("a function error was cached for %v", fail.TTL)
	}
}
