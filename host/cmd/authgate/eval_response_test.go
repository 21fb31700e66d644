package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEvalResponse runs eval --response: a whole authorizer response read
// as the gateway reads it, its policy evaluated, and the headers it would
// pass upstream printed.
// httpARN is the routeArn prefix of an HTTP API on its $default stage.
const httpARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/"

func TestEvalResponse(t *testing.T) {
	ctxFile := filepath.Join("testdata", "response-context.json")
	allowAll := `"policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`
	const usageLine = "usage: authgate eval (--policy FILE | --response FILE) --arn METHOD_ARN [--api-type TYPE] [--source-ip IP] [--time RFC3339] [--json]"
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout string
		// stderr is the whole of stderr, or its first line when usage is
		// set (the flag list follows).
		stderr string
		usage  bool
	}{
		{
			name: "allow prints principal and context headers in order",
			args: []string{"--response", ctxFile, "--arn", arnPrefix + "GET/pets/7"},
			code: 0,
			stdout: "ALLOW by Statement[0] (Sid \"ReadPets\")\n" +
				"x-authorizer-principal-id: user|a1b2\n" +
				"x-authorizer-tier: gold\n" +
				"x-authorizer-quota: 7\n" +
				"x-authorizer-ratio: 2.50\n" +
				"x-authorizer-beta: true\n" +
				"x-authorizer-team-name: <blue & green>\n" +
				"x-authorizer-context: eyJ0aWVyIjoiZ29sZCIsInF1b3RhIjo3LCJyYXRpbyI6Mi41MCwiYmV0YSI6dHJ1ZSwiVGVhbS1OYW1lIjoiPGJsdWUgJiBncmVlbj4ifQ==\n",
		},
		{
			name: "allow as json keeps the policy keys first",
			args: []string{"--response", ctxFile, "--arn", arnPrefix + "GET/pets/7", "--json"},
			code: 0,
			stdout: `{"decision":"ALLOW","statement":0,"reason":"Statement[0] (Sid \"ReadPets\") allows execute-api:Invoke on ` + arnPrefix + `GET/pets/7",` +
				`"principalId":"user|a1b2","headers":{"x-authorizer-principal-id":"user|a1b2","x-authorizer-tier":"gold","x-authorizer-quota":"7",` +
				`"x-authorizer-ratio":"2.50","x-authorizer-beta":"true","x-authorizer-team-name":"<blue & green>",` +
				`"x-authorizer-context":"eyJ0aWVyIjoiZ29sZCIsInF1b3RhIjo3LCJyYXRpbyI6Mi41MCwiYmV0YSI6dHJ1ZSwiVGVhbS1OYW1lIjoiPGJsdWUgJiBncmVlbj4ifQ=="}}` + "\n",
		},
		{
			name:   "explicit deny passes nothing upstream",
			args:   []string{"--response", ctxFile, "--arn", arnPrefix + "DELETE/pets/7"},
			code:   1,
			stdout: "DENY by Statement[1] (Sid \"NoDeletes\")\n",
		},
		{
			name:   "explicit deny as json has the principal and no headers",
			args:   []string{"--json", "--response", ctxFile, "--arn", arnPrefix + "DELETE/pets/7"},
			code:   1,
			stdout: `{"decision":"DENY","statement":1,"reason":"Statement[1] (Sid \"NoDeletes\") explicitly denies execute-api:Invoke on ` + arnPrefix + `DELETE/pets/7","principalId":"user|a1b2","headers":{}}` + "\n",
		},
		{
			name:   "implicit deny",
			args:   []string{"--response", ctxFile, "--arn", arnPrefix + "POST/pets"},
			code:   1,
			stdout: "IMPLICIT_DENY: no statement allows execute-api:Invoke on " + arnPrefix + "POST/pets\n",
		},
		{
			name:   "response without context from stdin",
			stdin:  `{"principalId":"bob",` + allowAll + `}`,
			args:   []string{"--response", "-", "--arn", arnPrefix + "GET/x"},
			code:   0,
			stdout: "ALLOW by Statement[0]\nx-authorizer-principal-id: bob\n",
		},
		{
			name:   "null context",
			stdin:  `{"principalId":"bob",` + allowAll + `,"context":null}`,
			args:   []string{"--response", "-", "--arn", arnPrefix + "GET/x", "--json"},
			code:   0,
			stdout: `{"decision":"ALLOW","statement":0,"reason":"Statement[0] allows execute-api:Invoke on ` + arnPrefix + `GET/x","principalId":"bob","headers":{"x-authorizer-principal-id":"bob"}}` + "\n",
		},
		{
			name:   "source ip and time reach the conditions",
			stdin:  `{"principalId":"bob","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}]}}`,
			args:   []string{"--response", "-", "--arn", arnPrefix + "GET/x", "--source-ip", "10.1.2.3", "--time", "2029-06-01T00:00:00Z"},
			code:   0,
			stdout: "ALLOW by Statement[0]\nx-authorizer-principal-id: bob\n",
		},
		{
			name:   "unauthorized error message",
			args:   []string{"--response", filepath.Join("testdata", "response-unauthorized.json"), "--arn", arnPrefix + "GET/x"},
			code:   1,
			stdout: "UNAUTHORIZED: the authorizer refused the identity; the gateway would answer 401\n",
		},
		{
			name:   "unauthorized plain text",
			stdin:  "Unauthorized\n",
			args:   []string{"--response", "-", "--arn", arnPrefix + "GET/x"},
			code:   1,
			stdout: "UNAUTHORIZED: the authorizer refused the identity; the gateway would answer 401\n",
		},
		{
			name:   "unauthorized json string as json",
			stdin:  `"Unauthorized"`,
			args:   []string{"--response", "-", "--arn", arnPrefix + "GET/x", "--json"},
			code:   1,
			stdout: `{"decision":"UNAUTHORIZED","statement":null,"reason":"the authorizer refused the identity; the gateway would answer 401","principalId":null,"headers":{}}` + "\n",
		},
		{
			name:   "other error message is invalid",
			stdin:  `{"errorMessage":"boom"}`,
			args:   []string{"--response", "-", "--arn", arnPrefix + "GET/x"},
			code:   1,
			stdout: "ERROR: the gateway would answer 500 (AuthorizerConfigurationException): authorizer failed: errorMessage \"boom\"\n",
		},
		{
			name:   "missing principal",
			stdin:  `{` + allowAll + `}`,
			args:   []string{"--response", "-", "--arn", arnPrefix + "GET/x"},
			code:   1,
			stdout: "ERROR: the gateway would answer 500 (AuthorizerConfigurationException): principalId: missing\n",
		},
		{
			name:   "bare policy document is not a response",
			stdin:  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`,
			args:   []string{"--response", "-", "--arn", arnPrefix + "GET/x"},
			code:   1,
			stdout: "ERROR: the gateway would answer 500 (AuthorizerConfigurationException): principalId: missing\n",
		},
		{
			name:   "invalid policy names the field",
			stdin:  `{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"execute-api:Invoke","Resource":"*"}]}}`,
			args:   []string{"--response", "-", "--arn", arnPrefix + "GET/x"},
			code:   1,
			stdout: "ERROR: the gateway would answer 500 (AuthorizerConfigurationException): policyDocument: Statement[0].Effect: must be \"Allow\" or \"Deny\", got \"Maybe\"\n",
		},
		{
			name:   "nested context value",
			stdin:  `{"principalId":"u",` + allowAll + `,"context":{"obj":{"a":1}}}`,
			args:   []string{"--response", "-", "--arn", arnPrefix + "GET/x"},
			code:   1,
			stdout: "ERROR: the gateway would answer 500 (AuthorizerConfigurationException): context.obj: must be a string, number or boolean\n",
		},
		{
			name:   "context value that cannot be a header travels only encoded",
			stdin:  `{"principalId":"u",` + allowAll + `,"context":{"bad":"a\r\nx-injected: yes"}}`,
			args:   []string{"--response", "-", "--arn", arnPrefix + "GET/x"},
			stdout: "ALLOW by Statement[0]\nx-authorizer-principal-id: u\nx-authorizer-context: eyJiYWQiOiJhXHJcbngtaW5qZWN0ZWQ6IHllcyJ9\n",
		},
		{
			name:   "context key that is not a header name travels only encoded",
			stdin:  `{"principalId":"u",` + allowAll + `,"context":{"two words":"x"}}`,
			args:   []string{"--response", "-", "--arn", arnPrefix + "GET/x"},
			stdout: "ALLOW by Statement[0]\nx-authorizer-principal-id: u\nx-authorizer-context: eyJ0d28gd29yZHMiOiJ4In0=\n",
		},
		{
			name:   "context key posing as the principal travels only encoded",
			stdin:  `{"principalId":"u",` + allowAll + `,"context":{"Principal-Id":"admin"}}`,
			args:   []string{"--response", "-", "--arn", arnPrefix + "GET/x"},
			stdout: "ALLOW by Statement[0]\nx-authorizer-principal-id: u\nx-authorizer-context: eyJQcmluY2lwYWwtSWQiOiJhZG1pbiJ9\n",
		},
		{
			name:   "context keys differing in case travel only encoded",
			stdin:  `{"principalId":"u",` + allowAll + `,"context":{"tier":"a","Tier":"b"}}`,
			args:   []string{"--response", "-", "--arn", arnPrefix + "GET/x"},
			stdout: "ALLOW by Statement[0]\nx-authorizer-principal-id: u\nx-authorizer-context: eyJ0aWVyIjoiYSIsIlRpZXIiOiJiIn0=\n",
		},
		{
			name:   "principal with edge white space",
			stdin:  `{"principalId":" u",` + allowAll + `}`,
			args:   []string{"--response", "-", "--arn", arnPrefix + "GET/x"},
			code:   1,
			stdout: "ERROR: the gateway would answer 500 (AuthorizerConfigurationException): principalId: not a valid header value\n",
		},
		{
			name:   "not json",
			stdin:  `{`,
			args:   []string{"--response", "-", "--arn", arnPrefix + "GET/x"},
			code:   1,
			stdout: "ERROR: the gateway would answer 500 (AuthorizerConfigurationException): response: invalid JSON\n",
		},
		{
			name:   "a 500 as json",
			stdin:  `{"principalId":"u\nv",` + allowAll + `}`,
			args:   []string{"--response", "-", "--arn", arnPrefix + "GET/x", "--json"},
			code:   1,
			stdout: `{"decision":"ERROR","statement":null,"reason":"the gateway would answer 500 (AuthorizerConfigurationException): principalId: not a valid header value","principalId":null,"headers":{}}` + "\n",
		},
		{
			name:   "HTTP API simple response allows with its context",
			stdin:  `{"isAuthorized":true,"context":{"tier":"gold","n":2}}`,
			args:   []string{"--response", "-", "--arn", httpARN + "GET/pets"},
			code:   0,
			stdout: "ALLOW: the authorizer answered isAuthorized true\nx-authorizer-tier: gold\nx-authorizer-n: 2\nx-authorizer-context: eyJ0aWVyIjoiZ29sZCIsIm4iOjJ9\n",
		},
		{
			name:   "HTTP API simple response denies",
			stdin:  `{"isAuthorized":false}`,
			args:   []string{"--response", "-", "--arn", httpARN + "GET/pets", "--json"},
			code:   1,
			stdout: `{"decision":"DENY","statement":null,"reason":"the authorizer answered isAuthorized false","principalId":null,"headers":{}}` + "\n",
		},
		{
			name:   "simple response detected without a $default stage",
			stdin:  `{"isAuthorized":true}`,
			args:   []string{"--response", "-", "--arn", arnPrefix + "GET/pets"},
			code:   0,
			stdout: "ALLOW: the authorizer answered isAuthorized true\n",
		},
		{
			name:   "simple response read as REST is a 500",
			stdin:  `{"isAuthorized":true}`,
			args:   []string{"--response", "-", "--arn", arnPrefix + "GET/pets", "--api-type", "REST"},
			code:   1,
			stdout: "ERROR: the gateway would answer 500 (AuthorizerConfigurationException): principalId: missing\n",
		},
		{
			name:   "HTTP API policy on the $default stage, nested context allowed",
			stdin:  `{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/GET/*"}]},"context":{"groups":["a","b"]}}`,
			args:   []string{"--response", "-", "--arn", httpARN + "GET/pets"},
			code:   0,
			stdout: "ALLOW by Statement[0]\nx-authorizer-principal-id: u\nx-authorizer-groups: [\"a\",\"b\"]\nx-authorizer-context: eyJncm91cHMiOlsiYSIsImIiXX0=\n",
		},
		{
			name:   "the same nested context on a REST API is a 500",
			stdin:  `{"principalId":"u",` + allowAll + `,"context":{"groups":["a","b"]}}`,
			args:   []string{"--response", "-", "--arn", arnPrefix + "GET/pets"},
			code:   1,
			stdout: "ERROR: the gateway would answer 500 (AuthorizerConfigurationException): context.groups: must be a string, number or boolean\n",
		},
		{
			name:   "bad api type",
			args:   []string{"--response", ctxFile, "--arn", arnPrefix + "GET/x", "--api-type", "WEBSOCKET"},
			code:   2,
			stderr: `authgate eval: --api-type must be REST or HTTP, got "WEBSOCKET"`, usage: true,
		},
		{
			name:   "missing file",
			args:   []string{"--response", "testdata/nope.json", "--arn", arnPrefix + "GET/x"},
			code:   2,
			stderr: "authgate eval: open testdata/nope.json: no such file or directory\n",
		},
		{
			name:   "bad arn is checked before the file is read",
			args:   []string{"--response", "testdata/nope.json", "--arn", "arn:aws:execute-api:us-east-1:12345:a1b2c3d4e5/prod/GET/x"},
			code:   2,
			stderr: "authgate eval: --arn: arn: account id: must be 12 digits, got \"12345\"\n",
		},
		{
			name:   "neither policy nor response",
			args:   []string{"--arn", arnPrefix + "GET/x"},
			code:   2,
			stderr: "authgate eval: --policy or --response is required", usage: true,
		},
		{
			name:   "both policy and response",
			args:   []string{"--policy", ctxFile, "--response", ctxFile, "--arn", arnPrefix + "GET/x"},
			code:   2,
			stderr: "authgate eval: --policy and --response exclude each other", usage: true,
		},
		{
			name:   "missing arn",
			args:   []string{"--response", ctxFile},
			code:   2,
			stderr: "authgate eval: --arn is required", usage: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.stdin, append([]string{"eval"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if stdout != tt.stdout {
				t.Errorf("stdout %q, want %q", stdout, tt.stdout)
			}
			if tt.usage {
				lines := strings.Split(stderr, "\n")
				if len(lines) < 2 || lines[0] != tt.stderr || lines[1] != usageLine {
					t.Errorf("stderr %q, want %q then the usage line", stderr, tt.stderr)
				}
			} else if stderr != tt.stderr {
				t.Errorf("stderr %q, want %q", stderr, tt.stderr)
			}
		})
	}
}

// FuzzEvalResponse feeds arbitrary authorizer responses to eval
// --response: the exit code is always 0, 1 or 2; with 0 and 1 stderr is
// empty and stdout is a decision line followed, on ALLOW only, by header
// lines; with 2 stdout is empty and stderr says why.
func FuzzEvalResponse(f *testing.F) {
	for _, name := range []string{"testdata/response.json", "testdata/response-context.json", "testdata/response-unauthorized.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
	}
	f.Add([]byte(`"Unauthorized"`), true)
	f.Add([]byte(`{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]},"context":{"a b":1}}`), true)
	f.Fuzz(func(t *testing.T, doc []byte, asJSON bool) {
		args := []string{"eval", "--response", "-", "--arn", arnPrefix + "GET/pets/7", "--time", "2026-01-02T03:04:05Z"}
		if asJSON {
			args = append(args, "--json")
		}
		var out, errb bytes.Buffer
		code := run(context.Background(), args, bytes.NewReader(doc), &out, &errb)
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		switch code {
		case 0, 1:
			if errb.Len() != 0 || !strings.HasSuffix(out.String(), "\n") {
				t.Fatalf("exit %d: stdout %q stderr %q", code, out.String(), errb.String())
			}
			if asJSON && (len(lines) != 1 || !json.Valid([]byte(lines[0]))) {
				t.Fatalf("exit %d: --json printed %q", code, out.String())
			}
			if !asJSON && code == 1 && len(lines) != 1 {
				t.Fatalf("a denial printed headers: %q", out.String())
			}
			if !asJSON && code == 0 && (len(lines) < 2 || !strings.HasPrefix(lines[1], "x-authorizer-principal-id: ")) {
				t.Fatalf("an allow printed no principal: %q", out.String())
			}
		case 2:
			if out.Len() != 0 || errb.Len() == 0 {
				t.Fatalf("exit 2: stdout %q stderr %q", out.String(), errb.String())
			}
		default:
			t.Fatalf("exit %d", code)
		}
	})
}
