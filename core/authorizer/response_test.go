package authorizer

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/authgate/authgate/core/policy"
	"github.com/aws/aws-lambda-go/events"
)

// allowAll is a minimal valid policy document.
const allowAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`

func TestParseResponseUnauthorized(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{name: "status 401 with a message", status: 401, body: `{"message":"Unauthorized"}`},
		{name: "status 401 with a valid-looking result", status: 401, body: `{"principalId":"u","policyDocument":` + allowAll + `}`},
		{name: "status 401 empty", status: 401, body: ``},
		{name: "plain text", status: 200, body: `Unauthorized`},
		{name: "plain text with newline", status: 200, body: "Unauthorized\r\n"},
		{name: "JSON string", status: 200, body: `"Unauthorized"`},
		{name: "JSON string padded", status: 200, body: " \t\"Unauthorized\"\n"},
		{name: "JSON string with escape", status: 200, body: `"\u0055nauthorized"`},
		{name: "lambda error shape", status: 200, body: `{"errorMessage":"Unauthorized"}`},
		{name: "lambda error shape with type", status: 200, body: `{"errorType":"Error","errorMessage":"Unauthorized","trace":[]}`},
		{name: "status 201", status: 201, body: `"Unauthorized"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseResponse(tt.status, []byte(tt.body))
			if r != nil || !errors.Is(err, ErrUnauthorized) {
				t.Errorf("ParseResponse(%d, %q) = %v, %v; want ErrUnauthorized", tt.status, tt.body, r, err)
			}
		})
	}
}

// nested is n arrays one inside the other around a number.
func nested(n int) string { return strings.Repeat("[", n) + "1" + strings.Repeat("]", n) }

// TestParseResponseErrors covers every rejection that is decided before the
// policy document is parsed, so none of these depend on the policy parser.
// Text no parser may read (not UTF-8, nested too deep) is ErrUnreadable.
func TestParseResponseErrors(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr string
	}{
		{name: "status 500", status: 500, body: `{"principalId":"u"}`, wantErr: "unexpected status 500"},
		{name: "status 403", status: 403, body: `Unauthorized`, wantErr: "unexpected status 403"},
		{name: "status 302", status: 302, body: ``, wantErr: "unexpected status 302"},
		{name: "status 199", status: 199, body: ``, wantErr: "unexpected status 199"},
		{name: "status 300", status: 300, body: ``, wantErr: "unexpected status 300"},
		{name: "empty body", status: 200, body: "", wantErr: "response: empty body"},
		{name: "blank body", status: 200, body: " \n\t", wantErr: "response: empty body"},
		{name: "truncated JSON", status: 200, body: `{"principalId":`, wantErr: "response: invalid JSON"},
		{name: "lower-case plain text", status: 200, body: `unauthorized`, wantErr: "response: invalid JSON"},
		{name: "plain text with more", status: 200, body: `Unauthorized!`, wantErr: "response: invalid JSON"},
		{name: "trailing garbage", status: 200, body: `{"principalId":"u"} x`, wantErr: "response: invalid JSON"},
		{name: "other JSON string", status: 200, body: `"Forbidden"`, wantErr: "response: must be a JSON object"},
		{name: "lower-case JSON string", status: 200, body: `"unauthorized"`, wantErr: "response: must be a JSON object"},
		{name: "array", status: 200, body: `[{"principalId":"u"}]`, wantErr: "response: must be a JSON object"},
		{name: "number", status: 200, body: `401`, wantErr: "response: must be a JSON object"},
		{name: "null", status: 200, body: `null`, wantErr: "response: must be a JSON object"},
		{name: "other error message", status: 200, body: `{"errorMessage":"boom","errorType":"Error"}`, wantErr: `authorizer failed: errorMessage "boom"`},
		{name: "error message not a string", status: 200, body: `{"errorMessage":{"a":1}}`, wantErr: `authorizer failed: errorMessage "{\"a\":1}"`},
		{name: "error message wins over a result", status: 200, body: `{"principalId":"u","policyDocument":{},"errorMessage":"x"}`, wantErr: `authorizer failed: errorMessage "x"`},
		{name: "long error message cut", status: 200, body: `{"errorMessage":"` + strings.Repeat("a", 200) + `"}`, wantErr: `authorizer failed: errorMessage "` + strings.Repeat("a", 128) + `"...`},
		{name: "duplicate top-level key", status: 200, body: `{"principalId":"u","policyDocument":{},"principalId":"v"}`, wantErr: `response: duplicate key "principalId"`},
		{name: "duplicate key spelt with an escape", status: 200, body: `{"principalId":"u","principal\u0049d":"v"}`, wantErr: `response: duplicate key "principalId"`},
		{name: "duplicate unknown key", status: 200, body: `{"x":1,"principalId":"u","x":2}`, wantErr: `response: duplicate key "x"`},
		{name: "principal missing", status: 200, body: `{"policyDocument":{}}`, wantErr: "principalId: missing"},
		{name: "principal wrong case", status: 200, body: `{"principalID":"u","policyDocument":{}}`, wantErr: "principalId: missing"},
		{name: "principal number", status: 200, body: `{"principalId":42,"policyDocument":{}}`, wantErr: "principalId: must be a string"},
		{name: "principal null", status: 200, body: `{"principalId":null,"policyDocument":{}}`, wantErr: "principalId: must be a string"},
		{name: "principal empty", status: 200, body: `{"principalId":"","policyDocument":{}}`, wantErr: "principalId: must not be empty"},
		{name: "policy missing", status: 200, body: `{"principalId":"u"}`, wantErr: "policyDocument: missing"},
		{name: "policy string", status: 200, body: `{"principalId":"u","policyDocument":"{}"}`, wantErr: "policyDocument: must be an object"},
		{name: "policy null", status: 200, body: `{"principalId":"u","policyDocument":null}`, wantErr: "policyDocument: must be an object"},
		{name: "policy array", status: 200, body: `{"principalId":"u","policyDocument":[]}`, wantErr: "policyDocument: must be an object"},
		{name: "context string", status: 200, body: `{"principalId":"u","policyDocument":{},"context":"x"}`, wantErr: "context: must be an object"},
		{name: "context array", status: 200, body: `{"principalId":"u","policyDocument":{},"context":[]}`, wantErr: "context: must be an object"},
		{name: "context null value", status: 200, body: `{"principalId":"u","policyDocument":{},"context":{"user":null}}`, wantErr: "context.user: must be a string, number or boolean"},
		{name: "context object value", status: 200, body: `{"principalId":"u","policyDocument":{},"context":{"a":"1","user":{"id":1}}}`, wantErr: "context.user: must be a string, number or boolean"},
		{name: "context array value", status: 200, body: `{"principalId":"u","policyDocument":{},"context":{"roles":["a"]}}`, wantErr: "context.roles: must be a string, number or boolean"},
		{name: "context odd key quoted", status: 200, body: `{"principalId":"u","policyDocument":{},"context":{"a b\n":null}}`, wantErr: `context["a b\n"]: must be a string, number or boolean`},
		{name: "context empty key quoted", status: 200, body: `{"principalId":"u","policyDocument":{},"context":{"":[]}}`, wantErr: `context[""]: must be a string, number or boolean`},
		{name: "context first bad value reported", status: 200, body: `{"principalId":"u","policyDocument":{},"context":{"b":[],"a":null}}`, wantErr: "context.b: must be a string, number or boolean"},
		{name: "context duplicate key", status: 200, body: `{"principalId":"u","policyDocument":{},"context":{"user":"a","user":"b"}}`, wantErr: `context: duplicate key "user"`},
		{name: "context checked before usage key", status: 200, body: `{"principalId":"u","policyDocument":{},"usageIdentifierKey":1,"context":{"x":null}}`, wantErr: "context.x: must be a string, number or boolean"},
		{name: "usage key number", status: 200, body: `{"principalId":"u","policyDocument":{},"usageIdentifierKey":1}`, wantErr: "usageIdentifierKey: must be a string"},
		{name: "usage key object", status: 200, body: `{"principalId":"u","policyDocument":{},"usageIdentifierKey":{}}`, wantErr: "usageIdentifierKey: must be a string"},
		{name: "principal checked before policy", status: 200, body: `{"policyDocument":"x","principalId":1}`, wantErr: "principalId: must be a string"},
		{name: "invalid UTF-8 in the principal", status: 200, body: "{\"principalId\":\"\xff\",\"policyDocument\":{}}", wantErr: "response: not valid UTF-8"},
		{name: "invalid UTF-8 in an ignored member", status: 200, body: "{\"principalId\":\"u\",\"policyDocument\":{},\"x\":\"\xc3\"}", wantErr: "response: not valid UTF-8"},
		{name: "nested 33 levels", status: 200, body: `{"principalId":"u","policyDocument":{},"x":` + nested(32) + `}`, wantErr: "response: nested deeper than 32 levels"},
		{name: "nested deep in an ignored member", status: 200, body: `{"principalId":"u","x":` + nested(10000) + `}`, wantErr: "response: nested deeper than 32 levels"},
		{name: "nested deep and truncated", status: 200, body: `{"x":` + strings.Repeat("[", 100000), wantErr: "response: nested deeper than 32 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseResponse(tt.status, []byte(tt.body))
			if err == nil {
				t.Fatalf("ParseResponse(%d, %q) = %+v, want error %q", tt.status, tt.body, r, tt.wantErr)
			}
			if r != nil {
				t.Errorf("result %+v returned with an error", r)
			}
			if errors.Is(err, ErrUnauthorized) {
				t.Errorf("error %q is ErrUnauthorized", err)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("error = %q, want %q", err, tt.wantErr)
			}
			unreadable := strings.Contains(tt.wantErr, "UTF-8") || strings.Contains(tt.wantErr, "nested")
			if errors.Is(err, ErrUnreadable) != unreadable {
				t.Errorf("errors.Is(%q, ErrUnreadable) = %v, want %v", err, !unreadable, unreadable)
			}
		})
	}
}

func TestParseResponsePolicyErrors(t *testing.T) {
	tests := []struct {
		name   string
		policy string
	}{
		{name: "empty document", policy: `{}`},
		{name: "bad effect", policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"execute-api:Invoke","Resource":"*"}]}`},
		{name: "statement not a list", policy: `{"Version":"2012-10-17","Statement":7}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"principalId":"u","policyDocument":` + tt.policy + `}`
			r, err := ParseResponse(200, []byte(body))
			if err == nil {
				t.Fatalf("ParseResponse(%s) = %+v, want an error", body, r)
			}
			if !strings.HasPrefix(err.Error(), "policyDocument: ") || !errors.Is(err, policy.ErrInvalid) {
				t.Errorf("error = %q, want a wrapped policy error prefixed policyDocument:", err)
			}
			// The wrapped message is the policy parser's own.
			_, perr := policy.Parse([]byte(tt.policy))
			if perr == nil || err.Error() != "policyDocument: "+perr.Error() {
				t.Errorf("error = %q, policy parser says %v", err, perr)
			}
		})
	}
}

func TestParseResponse(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		principal string
		context   []ContextValue
		usage     string
		stmts     int
	}{
		{
			name: "minimal", status: 200,
			body:      `{"principalId":"user-1","policyDocument":` + allowAll + `}`,
			principal: "user-1", stmts: 1,
		},
		{
			name: "other 2xx and padding", status: 203,
			body:      "\n  {\"principalId\":\"user-1\",\"policyDocument\":" + allowAll + "}  \r\n",
			principal: "user-1", stmts: 1,
		},
		{
			name: "context values rendered", status: 200,
			body: `{"principalId":"u","policyDocument":` + allowAll + `,"context":{` +
				`"s":"plain","e":"tab\there \"q\" \u00e9","n":1.50e3,"neg":-0,"i":42,"t":true,"f":false,"empty":""}}`,
			principal: "u", stmts: 1,
			context: []ContextValue{
				{Key: "s", Value: "plain", Raw: `"plain"`},
				{Key: "e", Value: "tab\there \"q\" é", Raw: `"tab\there \"q\" \u00e9"`},
				{Key: "n", Value: "1.50e3", Raw: "1.50e3"},
				{Key: "neg", Value: "-0", Raw: "-0"},
				{Key: "i", Value: "42", Raw: "42"},
				{Key: "t", Value: "true", Raw: "true"},
				{Key: "f", Value: "false", Raw: "false"},
				{Key: "empty", Value: "", Raw: `""`},
			},
		},
		{
			name: "escaped context key", status: 200,
			body:      `{"principalId":"u","policyDocument":` + allowAll + `,"context":{"x\u002dy":"v"}}`,
			principal: "u", stmts: 1,
			context: []ContextValue{{Key: "x-y", Value: "v", Raw: `"v"`}},
		},
		{
			name: "empty context", status: 200,
			body:      `{"principalId":"u","policyDocument":` + allowAll + `,"context":{}}`,
			principal: "u", stmts: 1,
		},
		{
			name: "null context and usage key are absent", status: 200,
			body:      `{"principalId":"u","policyDocument":` + allowAll + `,"context":null,"usageIdentifierKey":null}`,
			principal: "u", stmts: 1,
		},
		{
			name: "usage key", status: 200,
			body:      `{"usageIdentifierKey":"key-1","principalId":"u","policyDocument":` + allowAll + `}`,
			principal: "u", usage: "key-1", stmts: 1,
		},
		{
			name: "unknown members ignored", status: 200,
			body:      `{"principalId":"u","policyDocument":` + allowAll + `,"isAuthorized":false,"extra":{"a":[null]},"ttl":5}`,
			principal: "u", stmts: 1,
		},
		{
			name: "principal with escapes", status: 200,
			body:      `{"principalId":"a\"b\u00e9","policyDocument":` + allowAll + `}`,
			principal: "a\"bé", stmts: 1,
		},
		{
			name: "two statements", status: 200,
			body: `{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":[` +
				`{"Effect":"Allow","Action":["execute-api:Invoke"],"Resource":["arn:aws:execute-api:*:*:*/*/GET/*"]},` +
				`{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/*/DELETE/*"}]}}`,
			principal: "u", stmts: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseResponse(tt.status, []byte(tt.body))
			if err != nil {
				t.Fatalf("ParseResponse: %v", err)
			}
			if r.PrincipalID != tt.principal {
				t.Errorf("PrincipalID = %q, want %q", r.PrincipalID, tt.principal)
			}
			if !reflect.DeepEqual(r.Context, tt.context) {
				t.Errorf("Context = %q, want %q", r.Context, tt.context)
			}
			if r.UsageIdentifierKey != tt.usage {
				t.Errorf("UsageIdentifierKey = %q, want %q", r.UsageIdentifierKey, tt.usage)
			}
			if r.Policy == nil || r.Policy.Len() != tt.stmts {
				t.Fatalf("Policy = %v, want %d statements", r.Policy, tt.stmts)
			}
		})
	}
}

// TestParseResponseEvaluates checks that the parsed policy is the one the
// authorizer sent, by evaluating it.
func TestParseResponseEvaluates(t *testing.T) {
	body := `{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:1:api/prod/GET/pets/*"}]}}`
	r, err := ParseResponse(200, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		resource string
		want     policy.Decision
	}{
		{name: "allowed", resource: "arn:aws:execute-api:us-east-1:1:api/prod/GET/pets/1", want: policy.Allow},
		{name: "other method", resource: "arn:aws:execute-api:us-east-1:1:api/prod/POST/pets/1", want: policy.ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := r.Policy.Evaluate(&policy.Request{Resource: tt.resource}); got != tt.want {
				t.Errorf("Evaluate(%s) = %v, want %v", tt.resource, got, tt.want)
			}
		})
	}
}

// TestParseResponseAWSRoundTrip marshals responses with aws-lambda-go's
// type, as a Go Lambda authorizer would, and checks they are accepted with
// the same principal, context and usage key.
func TestParseResponseAWSRoundTrip(t *testing.T) {
	stmt := func(effect string, resources ...string) events.IAMPolicyStatement {
		return events.IAMPolicyStatement{Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: resources}
	}
	tests := []struct {
		name        string
		resp        events.APIGatewayCustomAuthorizerResponse
		wantContext map[string]string // rendered values
	}{
		{
			name: "allow without context",
			resp: events.APIGatewayCustomAuthorizerResponse{
				PrincipalID:    "user|a1b2c3",
				PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{stmt("Allow", "*")}},
			},
		},
		{
			name: "deny with context of every type",
			resp: events.APIGatewayCustomAuthorizerResponse{
				PrincipalID: "user",
				PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{
					stmt("Deny", "arn:aws:execute-api:us-east-1:123456789012:api/prod/DELETE/*"),
					stmt("Allow", "arn:aws:execute-api:us-east-1:123456789012:api/prod/*/*"),
				}},
				Context: map[string]any{
					"stringKey":  "value <&> \"quoted\"",
					"numberKey":  1,
					"floatKey":   2.5,
					"booleanKey": true,
					"falseKey":   false,
				},
				UsageIdentifierKey: "api-key-1",
			},
			wantContext: map[string]string{
				"stringKey": "value <&> \"quoted\"", "numberKey": "1", "floatKey": "2.5",
				"booleanKey": "true", "falseKey": "false",
			},
		},
		{
			name: "documented example context",
			resp: events.APIGatewayCustomAuthorizerResponse{
				PrincipalID:    "yyyyyyyy",
				PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{stmt("Allow", "arn:aws:execute-api:us-east-1:1:a/s/GET/")}},
				Context:        map[string]any{"stringKey": "value", "numberKey": "1", "booleanKey": "true"},
			},
			wantContext: map[string]string{"stringKey": "value", "numberKey": "1", "booleanKey": "true"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := json.Marshal(tt.resp)
			if err != nil {
				t.Fatal(err)
			}
			r, err := ParseResponse(200, body)
			if err != nil {
				t.Fatalf("ParseResponse(%s): %v", body, err)
			}
			if r.PrincipalID != tt.resp.PrincipalID {
				t.Errorf("PrincipalID = %q, want %q", r.PrincipalID, tt.resp.PrincipalID)
			}
			if r.UsageIdentifierKey != tt.resp.UsageIdentifierKey {
				t.Errorf("UsageIdentifierKey = %q, want %q", r.UsageIdentifierKey, tt.resp.UsageIdentifierKey)
			}
			got := map[string]string{}
			for _, cv := range r.Context {
				got[cv.Key] = cv.Value
			}
			if len(tt.wantContext) == 0 && len(got) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.wantContext) {
				t.Errorf("context = %v, want %v", got, tt.wantContext)
			}
			if r.Policy.Len() != len(tt.resp.PolicyDocument.Statement) {
				t.Errorf("policy has %d statements, want %d", r.Policy.Len(), len(tt.resp.PolicyDocument.Statement))
			}
		})
	}
}

func TestResultSize(t *testing.T) {
	p, err := policy.Parse([]byte(allowAll))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		r    Result
		want int
	}{
		{name: "empty", r: Result{}, want: resultOverhead},
		{name: "principal and usage key", r: Result{PrincipalID: "abcd", UsageIdentifierKey: "kk"}, want: resultOverhead + 6},
		{
			name: "context",
			r: Result{PrincipalID: "u", Context: []ContextValue{
				{Key: "n", Value: "12", Raw: "12"},
				{Key: "s", Value: "ab", Raw: `"ab"`},
			}},
			want: resultOverhead + 1 + (contextOverhead + 1 + 2) + (contextOverhead + 1 + 2 + 4),
		},
		{name: "policy", r: Result{PrincipalID: "u", Policy: p}, want: resultOverhead + 1 + p.Size()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.Size(); got != tt.want {
				t.Errorf("Size() = %d, want %d", got, tt.want)
			}
		})
	}
}

// FuzzParseResponse checks that no input panics, that an accepted result
// is usable, and that rejections are well formed.
func FuzzParseResponse(f *testing.F) {
	seeds := []struct {
		status int
		body   string
	}{
		{200, `{"principalId":"u","policyDocument":` + allowAll + `,"context":{"a":"b","n":1,"t":true}}`},
		{200, `{"principalId":"u","policyDocument":` + allowAll + `,"usageIdentifierKey":"k"}`},
		{200, `"Unauthorized"`},
		{200, `Unauthorized`},
		{200, `{"errorMessage":"Unauthorized","errorType":"Error"}`},
		{200, `{"errorMessage":"boom"}`},
		{401, ``},
		{500, `x`},
		{200, `{"principalId":"u","principalId":"v"}`},
		{200, `{"principalId":"u","policyDocument":{},"context":{"a":null}}`},
		{200, `{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}}`},
		{200, `{"principalId":"\ud800","policyDocument":` + allowAll + `,"context":{"\u0000":"\udfff"}}`},
		{200, "{\"principalId\":\"\xff\",\"policyDocument\":" + allowAll + "}"},
	}
	for _, s := range seeds {
		f.Add(s.status, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		r, err := ParseResponse(status, body)
		if err != nil {
			if r != nil {
				t.Fatalf("result and error %v both returned", err)
			}
			if !errors.Is(err, ErrUnauthorized) && err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if r == nil {
			t.Fatal("nil result without an error")
		}
		if status < 200 || status > 299 {
			t.Fatalf("status %d accepted", status)
		}
		if r.PrincipalID == "" {
			t.Fatal("accepted an empty principal")
		}
		if r.Policy == nil {
			t.Fatal("accepted without a policy")
		}
		seen := map[string]bool{}
		for _, cv := range r.Context {
			if seen[cv.Key] {
				t.Fatalf("context key %q twice", cv.Key)
			}
			seen[cv.Key] = true
			if cv.Raw == "" {
				t.Fatalf("context %q has no raw literal", cv.Key)
			}
		}
		if r.Size() < len(r.PrincipalID) {
			t.Fatalf("Size %d below the principal's length", r.Size())
		}
		r.Policy.Evaluate(&policy.Request{Resource: "arn:aws:execute-api:us-east-1:1:a/s/GET/x"})
	})
}

func BenchmarkParseResponse(b *testing.B) {
	body := []byte(`{"principalId":"user-1","policyDocument":` + allowAll + `,"context":{"tenant":"t1","admin":false,"n":3}}`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ParseResponse(200, body); err != nil {
			b.Fatal(err)
		}
	}
}
