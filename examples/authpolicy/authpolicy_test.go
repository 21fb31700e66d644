package authpolicy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/netip"
	"strings"
	"testing"

	"github.com/authgate/authgate/core/authorizer"
	"github.com/authgate/authgate/core/policy"
	"github.com/authgate/authgate/examples/authpolicy"
)

const (
	principal = "user|a1b2c3d4"
	account   = "123456789012"
	// prefix is the start of every resource of a policy made by newPolicy.
	prefix = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/"
)

func newPolicy() *authpolicy.AuthPolicy {
	return authpolicy.New(principal, account, authpolicy.APIOptions{
		RestAPIID: "abcdef1234", Region: "us-east-1", Stage: "prod",
	})
}

var sourceIPCond = authpolicy.Conditions{"IpAddress": {"aws:SourceIp": []string{"203.0.113.0/24"}}}

// compact removes the indentation of a JSON literal written for readability.
func compact(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("bad JSON in test: %v\n%s", err, s)
	}
	return b.String()
}

func TestBuildJSON(t *testing.T) {
	tests := []struct {
		name  string
		build func() *authpolicy.AuthPolicy
		// conditions marks a policy that Build refuses and BuildResponse
		// builds.
		conditions bool
		want       string
	}{
		{
			name:  "allow all methods",
			build: func() *authpolicy.AuthPolicy { return newPolicy().AllowAllMethods() },
			want: `{"principalId":"user|a1b2c3d4","policyDocument":{"Version":"2012-10-17","Statement":[
				{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["` + prefix + `*/*"]}]}}`,
		},
		{
			name:  "deny all methods",
			build: func() *authpolicy.AuthPolicy { return newPolicy().DenyAllMethods() },
			want: `{"principalId":"user|a1b2c3d4","policyDocument":{"Version":"2012-10-17","Statement":[
				{"Action":["execute-api:Invoke"],"Effect":"Deny","Resource":["` + prefix + `*/*"]}]}}`,
		},
		{
			name: "allowed methods share one statement, leading slash optional",
			build: func() *authpolicy.AuthPolicy {
				return newPolicy().AllowMethod("GET", "/pets/*").AllowMethod("POST", "pets").AllowMethod("GET", "/")
			},
			want: `{"principalId":"user|a1b2c3d4","policyDocument":{"Version":"2012-10-17","Statement":[
				{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":[
					"` + prefix + `GET/pets/*","` + prefix + `POST/pets","` + prefix + `GET/"]}]}}`,
		},
		{
			name: "denied methods share one statement after the allowed ones",
			build: func() *authpolicy.AuthPolicy {
				return newPolicy().DenyMethod("DELETE", "/pets/*").AllowMethod("*", "/pets/*").DenyMethod("PUT", "/pets/1")
			},
			want: `{"principalId":"user|a1b2c3d4","policyDocument":{"Version":"2012-10-17","Statement":[
				{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["` + prefix + `*/pets/*"]},
				{"Action":["execute-api:Invoke"],"Effect":"Deny","Resource":["` + prefix + `DELETE/pets/*","` + prefix + `PUT/pets/1"]}]}}`,
		},
		{
			name: "ALL is the wildcard verb",
			build: func() *authpolicy.AuthPolicy {
				return newPolicy().AllowMethod("ALL", "/pets").DenyMethod(authpolicy.All, "/admin/*")
			},
			want: `{"principalId":"user|a1b2c3d4","policyDocument":{"Version":"2012-10-17","Statement":[
				{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["` + prefix + `*/pets"]},
				{"Action":["execute-api:Invoke"],"Effect":"Deny","Resource":["` + prefix + `*/admin/*"]}]}}`,
		},
		{
			name: "each conditioned method has its own statement, before the shared one",
			build: func() *authpolicy.AuthPolicy {
				return newPolicy().
					AllowMethodWithConditions("GET", "/reports/*", sourceIPCond).
					AllowMethod("GET", "/pets").
					AllowMethodWithConditions("POST", "/reports", authpolicy.Conditions{"Bool": {"aws:SecureTransport": "true"}})
			},
			conditions: true,
			want: `{"principalId":"user|a1b2c3d4","policyDocument":{"Version":"2012-10-17","Statement":[
				{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["` + prefix + `GET/reports/*"],
					"Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24"]}}},
				{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["` + prefix + `POST/reports"],
					"Condition":{"Bool":{"aws:SecureTransport":"true"}}},
				{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["` + prefix + `GET/pets"]}]}}`,
		},
		{
			name: "conditioned deny",
			build: func() *authpolicy.AuthPolicy {
				return newPolicy().AllowAllMethods().
					DenyMethodWithConditions("*", "*", authpolicy.Conditions{"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
			},
			conditions: true,
			want: `{"principalId":"user|a1b2c3d4","policyDocument":{"Version":"2012-10-17","Statement":[
				{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["` + prefix + `*/*"]},
				{"Action":["execute-api:Invoke"],"Effect":"Deny","Resource":["` + prefix + `*/*"],
					"Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}}`,
		},
		{
			name: "only conditioned methods: no empty shared statement",
			build: func() *authpolicy.AuthPolicy {
				return newPolicy().DenyMethodWithConditions("GET", "/a", sourceIPCond)
			},
			conditions: true,
			want: `{"principalId":"user|a1b2c3d4","policyDocument":{"Version":"2012-10-17","Statement":[
				{"Action":["execute-api:Invoke"],"Effect":"Deny","Resource":["` + prefix + `GET/a"],
					"Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24"]}}}]}}`,
		},
		{
			name: "empty conditions are no conditions",
			build: func() *authpolicy.AuthPolicy {
				return newPolicy().AllowMethodWithConditions("GET", "/a", authpolicy.Conditions{}).
					DenyMethodWithConditions("GET", "/b", nil)
			},
			want: `{"principalId":"user|a1b2c3d4","policyDocument":{"Version":"2012-10-17","Statement":[
				{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["` + prefix + `GET/a"]},
				{"Action":["execute-api:Invoke"],"Effect":"Deny","Resource":["` + prefix + `GET/b"]}]}}`,
		},
		{
			name: "API options default to any",
			build: func() *authpolicy.AuthPolicy {
				return authpolicy.New(principal, account, authpolicy.APIOptions{}).AllowMethod("GET", "/pets")
			},
			want: `{"principalId":"user|a1b2c3d4","policyDocument":{"Version":"2012-10-17","Statement":[
				{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["arn:aws:execute-api:*:123456789012:*/*/GET/pets"]}]}}`,
		},
		{
			name: "partition follows the region",
			build: func() *authpolicy.AuthPolicy {
				return authpolicy.New(principal, account, authpolicy.APIOptions{Region: "cn-north-1"}).AllowMethod("GET", "/pets")
			},
			want: `{"principalId":"user|a1b2c3d4","policyDocument":{"Version":"2012-10-17","Statement":[
				{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["arn:aws-cn:execute-api:cn-north-1:123456789012:*/*/GET/pets"]}]}}`,
		},
		{
			name: "context and usage identifier key",
			build: func() *authpolicy.AuthPolicy {
				return newPolicy().AllowAllMethods().
					WithContext("key", "value").WithContext("number", 1).WithContext("bool", true).
					WithContext("ratio", 0.5).WithContext("key", "replaced").
					WithUsageIdentifierKey("api-key-1")
			},
			want: `{"principalId":"user|a1b2c3d4","policyDocument":{"Version":"2012-10-17","Statement":[
				{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["` + prefix + `*/*"]}]},
				"context":{"bool":true,"key":"replaced","number":1,"ratio":0.5},
				"usageIdentifierKey":"api-key-1"}`,
		},
		{
			name: "from a method ARN",
			build: func() *authpolicy.AuthPolicy {
				p, err := authpolicy.FromMethodARN(principal, "arn:aws:execute-api:eu-west-1:210987654321:qwerty1234/dev/GET/pets/7")
				if err != nil {
					t.Fatal(err)
				}
				return p.AllowMethod("GET", "/pets/*")
			},
			want: `{"principalId":"user|a1b2c3d4","policyDocument":{"Version":"2012-10-17","Statement":[
				{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["arn:aws:execute-api:eu-west-1:210987654321:qwerty1234/dev/GET/pets/*"]}]}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := compact(t, tc.want)
			p := tc.build()
			r, err := p.BuildResponse()
			if err != nil {
				t.Fatalf("BuildResponse: %v", err)
			}
			got, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != want {
				t.Errorf("BuildResponse JSON:\n got %s\nwant %s", got, want)
			}

			e, err := p.Build()
			if tc.conditions {
				if !errors.Is(err, authpolicy.ErrConditions) {
					t.Fatalf("Build error = %v, want ErrConditions", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			got, err = json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != want {
				t.Errorf("Build JSON:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func() *authpolicy.AuthPolicy
		is    error // when set, errors.Is must hold
		want  string
	}{
		{
			name:  "no statements",
			build: newPolicy,
			is:    authpolicy.ErrNoStatements,
			want:  "authpolicy: no statements defined for the policy",
		},
		{
			name:  "lower-case verb",
			build: func() *authpolicy.AuthPolicy { return newPolicy().AllowMethod("get", "/pets") },
			want:  `authpolicy: allow["get" "/pets"]: invalid HTTP verb: must be GET, POST, PUT, PATCH, HEAD, DELETE, OPTIONS or *`,
		},
		{
			name:  "ANY is not a verb",
			build: func() *authpolicy.AuthPolicy { return newPolicy().DenyMethod("ANY", "/pets") },
			want:  `authpolicy: deny["ANY" "/pets"]: invalid HTTP verb: must be GET, POST, PUT, PATCH, HEAD, DELETE, OPTIONS or *`,
		},
		{
			name:  "empty verb",
			build: func() *authpolicy.AuthPolicy { return newPolicy().AllowMethod("", "/pets") },
			want:  `authpolicy: allow["" "/pets"]: invalid HTTP verb: must be GET, POST, PUT, PATCH, HEAD, DELETE, OPTIONS or *`,
		},
		{
			name:  "path template",
			build: func() *authpolicy.AuthPolicy { return newPolicy().AllowMethod("GET", "pets/{id}") },
			want:  `authpolicy: allow["GET" "pets/{id}"]: invalid resource path: must match ^[/.a-zA-Z0-9-\*]+$`,
		},
		{
			name:  "empty path",
			build: func() *authpolicy.AuthPolicy { return newPolicy().AllowMethod("GET", "") },
			want:  `authpolicy: allow["GET" ""]: invalid resource path: must match ^[/.a-zA-Z0-9-\*]+$`,
		},
		{
			name:  "question mark wildcard",
			build: func() *authpolicy.AuthPolicy { return newPolicy().AllowMethod("GET", "/users/a?") },
			want:  `authpolicy: allow["GET" "/users/a?"]: invalid resource path: must match ^[/.a-zA-Z0-9-\*]+$`,
		},
		{
			name:  "policy variable",
			build: func() *authpolicy.AuthPolicy { return newPolicy().AllowMethod("GET", "/users/${aws:username}") },
			want:  `authpolicy: allow["GET" "/users/${aws:username}"]: invalid resource path: must match ^[/.a-zA-Z0-9-\*]+$`,
		},
		{
			name:  "trailing newline",
			build: func() *authpolicy.AuthPolicy { return newPolicy().AllowMethod("GET", "/pets\n") },
			want:  `authpolicy: allow["GET" "/pets\n"]: invalid resource path: must match ^[/.a-zA-Z0-9-\*]+$`,
		},
		{
			name: "first mistake wins",
			build: func() *authpolicy.AuthPolicy {
				return newPolicy().AllowMethod("GET", "/ok").DenyMethod("FETCH", "/x").AllowMethod("GET", "bad path")
			},
			want: `authpolicy: deny["FETCH" "/x"]: invalid HTTP verb: must be GET, POST, PUT, PATCH, HEAD, DELETE, OPTIONS or *`,
		},
		{
			name: "operator without keys",
			build: func() *authpolicy.AuthPolicy {
				return newPolicy().AllowMethodWithConditions("GET", "/a", authpolicy.Conditions{"IpAddress": {}})
			},
			want: `authpolicy: allow["GET" "/a"]: condition operator "IpAddress": needs a name and at least one key`,
		},
		{
			name: "condition value that is an object",
			build: func() *authpolicy.AuthPolicy {
				return newPolicy().AllowMethodWithConditions("GET", "/a", authpolicy.Conditions{"IpAddress": {"aws:SourceIp": map[string]string{"a": "b"}}})
			},
			is:   policy.ErrInvalid,
			want: "authpolicy: policy document: ",
		},
		{
			name: "condition value that does not marshal",
			build: func() *authpolicy.AuthPolicy {
				return newPolicy().AllowMethodWithConditions("GET", "/a", authpolicy.Conditions{"IpAddress": {"aws:SourceIp": make(chan int)}})
			},
			want: "authpolicy: policy document: json: unsupported type: chan int",
		},
		{
			name: "empty principal",
			build: func() *authpolicy.AuthPolicy {
				return authpolicy.New("", account, authpolicy.APIOptions{}).AllowAllMethods()
			},
			want: "authpolicy: principal id: must not be empty",
		},
		{
			name: "empty account",
			build: func() *authpolicy.AuthPolicy {
				return authpolicy.New(principal, "", authpolicy.APIOptions{}).AllowAllMethods()
			},
			want: `authpolicy: account id: must not be empty (use "*" for any)`,
		},
		{
			name: "stage with a slash",
			build: func() *authpolicy.AuthPolicy {
				return authpolicy.New(principal, account, authpolicy.APIOptions{Stage: "prod/GET"}).AllowAllMethods()
			},
			want: `authpolicy: stage: must not contain ':' or '/', got "prod/GET"`,
		},
		{
			name: "region with a colon",
			build: func() *authpolicy.AuthPolicy {
				return authpolicy.New(principal, account, authpolicy.APIOptions{Region: "us-east-1:1"}).AllowAllMethods()
			},
			want: `authpolicy: region: must not contain ':' or '/', got "us-east-1:1"`,
		},
		{
			name: "context array",
			build: func() *authpolicy.AuthPolicy {
				return newPolicy().AllowAllMethods().WithContext("groups", []string{"a"})
			},
			want: `authpolicy: context["groups"]: must be a string, number or boolean, got []string`,
		},
		{
			name: "context nil",
			build: func() *authpolicy.AuthPolicy {
				return newPolicy().AllowAllMethods().WithContext("x", nil)
			},
			want: `authpolicy: context["x"]: must be a string, number or boolean, got <nil>`,
		},
		{
			name: "context NaN",
			build: func() *authpolicy.AuthPolicy {
				return newPolicy().AllowAllMethods().WithContext("x", math.NaN())
			},
			want: `authpolicy: context["x"]: NaN is not a JSON number`,
		},
		{
			name: "context infinity",
			build: func() *authpolicy.AuthPolicy {
				return newPolicy().AllowAllMethods().WithContext("x", float32(math.Inf(1)))
			},
			want: `authpolicy: context["x"]: +Inf is not a JSON number`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.build()
			_, err := p.BuildResponse()
			if err == nil {
				t.Fatal("BuildResponse succeeded, want an error")
			}
			if tc.is != nil {
				if !errors.Is(err, tc.is) {
					t.Errorf("error %v does not wrap %v", err, tc.is)
				}
				if !strings.HasPrefix(err.Error(), tc.want) {
					t.Errorf("error = %q, want prefix %q", err, tc.want)
				}
			} else if err.Error() != tc.want {
				t.Errorf("error = %q, want %q", err, tc.want)
			}
			_, err2 := p.Build()
			if err2 == nil || err2.Error() != err.Error() {
				t.Errorf("Build error = %v, want the same as BuildResponse's", err2)
			}
		})
	}
}

func TestFromMethodARNError(t *testing.T) {
	_, err := authpolicy.FromMethodARN(principal, "arn:aws:execute-api:us-east-1:12:abc/prod/GET/")
	want := `authpolicy: method ARN: arn: account id: must be 12 digits, got "12"`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

// TestConditionsAreCopied checks that changing the caller's map after the
// call, or the built response, does not change the policy.
func TestConditionsAreCopied(t *testing.T) {
	cond := authpolicy.Conditions{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
	p := newPolicy().AllowMethodWithConditions("GET", "/a", cond)
	cond["IpAddress"]["aws:SourceIp"] = "0.0.0.0/0"
	cond["Bool"] = map[string]any{"aws:SecureTransport": "true"}

	r1, err := p.BuildResponse()
	if err != nil {
		t.Fatal(err)
	}
	r1.PolicyDocument.Statement[0].Condition["IpAddress"]["aws:SourceIp"] = "0.0.0.0/0"
	r2, err := p.BuildResponse()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(r2.PolicyDocument.Statement[0].Condition)
	if want := `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`; string(got) != want {
		t.Errorf("conditions = %s, want %s", got, want)
	}
}

// check is one request evaluated against a built policy.
type check struct {
	arn  string
	ip   string // empty: no source IP
	want policy.Decision
}

// TestRoundTrip marshals every kind of built response, parses it with
// authgate's authorizer response parser and evaluates it with core/policy.
func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		build  func() *authpolicy.AuthPolicy
		checks []check
	}{
		{
			name:  "allow all",
			build: func() *authpolicy.AuthPolicy { return newPolicy().AllowAllMethods() },
			checks: []check{
				{arn: prefix + "GET/", want: policy.Allow},
				{arn: prefix + "DELETE/pets/1", want: policy.Allow},
				{arn: "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/test/GET/pets", want: policy.ImplicitDeny},
				{arn: "arn:aws:execute-api:us-east-1:123456789012:otherapi99/prod/GET/pets", want: policy.ImplicitDeny},
				{arn: "arn:aws:execute-api:us-west-2:123456789012:abcdef1234/prod/GET/pets", want: policy.ImplicitDeny},
			},
		},
		{
			name:  "deny all",
			build: func() *authpolicy.AuthPolicy { return newPolicy().DenyAllMethods() },
			checks: []check{
				{arn: prefix + "GET/pets", want: policy.ExplicitDeny},
				{arn: prefix + "GET/", want: policy.ExplicitDeny},
			},
		},
		{
			name: "allow with a narrower deny",
			build: func() *authpolicy.AuthPolicy {
				return newPolicy().AllowMethod("*", "/pets/*").AllowMethod("GET", "/").DenyMethod("DELETE", "/pets/*")
			},
			checks: []check{
				{arn: prefix + "GET/pets/1", want: policy.Allow},
				{arn: prefix + "PUT/pets/1/photo", want: policy.Allow},
				{arn: prefix + "DELETE/pets/1", want: policy.ExplicitDeny},
				{arn: prefix + "GET/", want: policy.Allow},
				{arn: prefix + "GET/pets", want: policy.ImplicitDeny},
				{arn: prefix + "GET/users", want: policy.ImplicitDeny},
			},
		},
		{
			name: "default options match any API and stage",
			build: func() *authpolicy.AuthPolicy {
				return authpolicy.New(principal, account, authpolicy.APIOptions{}).AllowMethod("GET", "pets")
			},
			checks: []check{
				{arn: "arn:aws:execute-api:eu-west-1:123456789012:zzz/dev/GET/pets", want: policy.Allow},
				{arn: "arn:aws:execute-api:eu-west-1:123456789012:zzz/dev/POST/pets", want: policy.ImplicitDeny},
				{arn: "arn:aws:execute-api:eu-west-1:999999999999:zzz/dev/GET/pets", want: policy.ImplicitDeny},
			},
		},
		{
			name: "allow only from a network",
			build: func() *authpolicy.AuthPolicy {
				return newPolicy().AllowMethod("GET", "/pets").AllowMethodWithConditions("GET", "/reports/*", sourceIPCond)
			},
			checks: []check{
				{arn: prefix + "GET/reports/q1", ip: "203.0.113.9", want: policy.Allow},
				{arn: prefix + "GET/reports/q1", ip: "198.51.100.1", want: policy.ImplicitDeny},
				{arn: prefix + "GET/reports/q1", want: policy.ImplicitDeny},
				{arn: prefix + "GET/pets", ip: "198.51.100.1", want: policy.Allow},
			},
		},
		{
			name: "deny outside a network",
			build: func() *authpolicy.AuthPolicy {
				return newPolicy().AllowAllMethods().
					DenyMethodWithConditions("*", "/admin/*", authpolicy.Conditions{"NotIpAddress": {"aws:SourceIp": []any{"10.0.0.0/8", "2001:db8::/32"}}})
			},
			checks: []check{
				{arn: prefix + "POST/admin/users", ip: "10.1.2.3", want: policy.Allow},
				{arn: prefix + "POST/admin/users", ip: "2001:db8::1", want: policy.Allow},
				{arn: prefix + "POST/admin/users", ip: "192.0.2.1", want: policy.ExplicitDeny},
				{arn: prefix + "GET/pets", ip: "192.0.2.1", want: policy.Allow},
			},
		},
		{
			name: "context and usage key travel",
			build: func() *authpolicy.AuthPolicy {
				return newPolicy().AllowMethod("GET", "*").WithContext("sub", "alice").WithContext("admin", false).
					WithContext("exp", int64(1700000000)).WithUsageIdentifierKey("key-1")
			},
			checks: []check{
				{arn: prefix + "GET/anything/at/all", want: policy.Allow},
				{arn: prefix + "POST/anything", want: policy.ImplicitDeny},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.build().BuildResponse()
			if err != nil {
				t.Fatalf("BuildResponse: %v", err)
			}
			body, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			res, err := authorizer.ParseResponse(200, body)
			if err != nil {
				t.Fatalf("ParseResponse: %v\n%s", err, body)
			}
			if res.PrincipalID != principal {
				t.Errorf("PrincipalID = %q, want %q", res.PrincipalID, principal)
			}
			if res.UsageIdentifierKey != r.UsageIdentifierKey {
				t.Errorf("UsageIdentifierKey = %q, want %q", res.UsageIdentifierKey, r.UsageIdentifierKey)
			}
			if len(res.Context) != len(r.Context) {
				t.Errorf("%d context values, want %d", len(res.Context), len(r.Context))
			}
			for _, cv := range res.Context {
				want, _ := json.Marshal(r.Context[cv.Key])
				if cv.Raw != string(want) {
					t.Errorf("context %q = %s, want %s", cv.Key, cv.Raw, want)
				}
			}
			if n := res.Policy.Len(); n != len(r.PolicyDocument.Statement) {
				t.Errorf("%d statements parsed, want %d", n, len(r.PolicyDocument.Statement))
			}
			for _, c := range tc.checks {
				req := &policy.Request{Resource: c.arn}
				if c.ip != "" {
					req.SourceIP = netip.MustParseAddr(c.ip)
				}
				if got, _ := res.Policy.Evaluate(req); got != c.want {
					t.Errorf("%s from %q: %v, want %v", c.arn, c.ip, got, c.want)
				}
			}
		})
	}
}

// FuzzMethod checks that whatever AllowMethod and DenyMethod accept builds a
// response authgate parses, and that the method named is then allowed or
// denied.
func FuzzMethod(f *testing.F) {
	for _, s := range [][2]string{
		{"GET", "/pets"}, {"*", "*"}, {"ALL", "/"}, {"POST", "users/alice"},
		{"get", "/x"}, {"PUT", "pets/{id}"}, {"DELETE", "/a//b/"}, {"PATCH", "..."},
		{"HEAD", "/users/a?"}, {"OPTIONS", "-.-"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, verb, resource string) {
		for _, allow := range []bool{true, false} {
			p := newPolicy()
			want := policy.ExplicitDeny
			if allow {
				p.AllowMethod(verb, resource)
				want = policy.Allow
			} else {
				p.DenyMethod(verb, resource)
			}
			r, err := p.Build()
			if err != nil {
				if !strings.Contains(err.Error(), "invalid") {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			body, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			res, err := authorizer.ParseResponse(200, body)
			if err != nil {
				t.Fatalf("ParseResponse: %v\n%s", err, body)
			}
			// The resource itself, read literally, is always one of the
			// paths its pattern matches.
			v := verb
			if v == "ALL" || v == "*" {
				v = "GET"
			}
			methodARN := prefix + v + "/" + strings.TrimPrefix(resource, "/")
			if got, _ := res.Policy.Evaluate(&policy.Request{Resource: methodARN}); got != want {
				t.Fatalf("%s: %v, want %v", methodARN, got, want)
			}
			if got, _ := res.Policy.Evaluate(&policy.Request{Resource: prefix + v + "/" + strings.TrimPrefix(resource, "/") + "x"}); got == want && !strings.Contains(resource, "*") {
				t.Fatalf("a longer path got %v too", got)
			}
		}
	})
}
