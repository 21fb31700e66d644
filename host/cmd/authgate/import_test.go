package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authgate/authgate/core/config"
)

// definitions is the importer's test data.
var definitions = filepath.Join("..", "..", "internal", "openapi", "testdata")

func TestImport(t *testing.T) {
	rest := filepath.Join(definitions, "roundtrip-rest.yaml")
	golden, err := os.ReadFile(filepath.Join(definitions, "golden", "roundtrip-rest.json"))
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := os.ReadFile(rest)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout string
		// contains replaces stdout: strings stdout must contain
		contains []string
		stderr   []string // its first lines (every line when code is 0)
		last     string   // its last line, when set
	}{
		{
			name:   "a definition from a file",
			args:   []string{"--openapi", rest, "--account-id", "123456789012", "--region", "us-east-1", "--rest-api-id", "a1b2c3d4e5", "--stage", "prod"},
			stdout: string(golden),
			stderr: []string{
				`warning: paths["/health"].get.x-amazon-apigateway-integration: not carried over: the integration; Envoy routes the request upstream itself`,
				`warning: paths["/health"].get: no authorizer: security is empty, so the route is open (NONE), as it is in API Gateway`,
				`warning: paths["/pets"].get.x-amazon-apigateway-integration: not carried over: the integration; Envoy routes the request upstream itself`,
				`warning: paths["/pets"].post.x-amazon-apigateway-integration: not carried over: the integration; Envoy routes the request upstream itself`,
				`warning: paths["/pets/{petId}"].x-amazon-apigateway-any-method.x-amazon-apigateway-integration: not carried over: the integration; Envoy routes the request upstream itself`,
				`warning: paths["/{proxy+}"].x-amazon-apigateway-any-method.x-amazon-apigateway-integration: not carried over: the integration; Envoy routes the request upstream itself`,
			},
		},
		{
			name:  "stdin, another cluster, HTTP asked for",
			stdin: string(stdin),
			args:  []string{"--openapi", "-", "--account-id", "123456789012", "--cluster", "authz", "--http-authorizers"},
			contains: []string{`"cluster": "authz",
      "path": "/requestAuth",`, `"cluster": "authz",
      "path": "/tokenAuth",`},
			stderr: []string{
				`warning: servers[0].url: region "us-east-1" taken from here; pass --region to choose another`,
				`warning: servers[0].url: API id "a1b2c3d4e5" taken from here; pass --rest-api-id to choose another`,
				`warning: servers[0].url: stage "prod" taken from here; pass --stage to choose another`,
				`warning: paths["/health"].get.x-amazon-apigateway-integration: not carried over: the integration; Envoy routes the request upstream itself`,
				`warning: paths["/health"].get: no authorizer: security is empty, so the route is open (NONE), as it is in API Gateway`,
				`warning: paths["/pets"].get.x-amazon-apigateway-integration: not carried over: the integration; Envoy routes the request upstream itself`,
				`warning: paths["/pets"].post.x-amazon-apigateway-integration: not carried over: the integration; Envoy routes the request upstream itself`,
				`warning: paths["/pets/{petId}"].x-amazon-apigateway-any-method.x-amazon-apigateway-integration: not carried over: the integration; Envoy routes the request upstream itself`,
				`warning: paths["/{proxy+}"].x-amazon-apigateway-any-method.x-amazon-apigateway-integration: not carried over: the integration; Envoy routes the request upstream itself`,
				`warning: components.securitySchemes.tokenAuth.x-amazon-apigateway-authorizer.authorizerUri: kept nowhere: HTTP authorizers were asked for (--http-authorizers); authorizer "tokenAuth" is called over HTTP at cluster "authz", path "/tokenAuth"`,
				`warning: components.securitySchemes.requestAuth.x-amazon-apigateway-authorizer.authorizerUri: kept nowhere: HTTP authorizers were asked for (--http-authorizers); authorizer "requestAuth" is called over HTTP at cluster "authz", path "/requestAuth"`,
			},
		},
		{
			name: "nothing to carry over",
			args: []string{"--openapi", filepath.Join(definitions, "aws-docs-auth-iam.json"), "--account-id", "123456789012", "--region", "us-east-1", "--rest-api-id", "a", "--stage", "s"},
			code: exitUsage,
			stderr: []string{
				`warning: paths["/protected-by-iam"].get.x-amazon-apigateway-auth: left out, so the gateway refuses it: IAM (SigV4) authorization is not carried over`,
				filepath.Join(definitions, "aws-docs-auth-iam.json") + ": no route could be carried over (see the warnings), and a configuration needs at least one",
			},
		},
		{
			name: "the account is required",
			args: []string{"--openapi", rest},
			code: exitUsage,
			stderr: []string{
				`warning: servers[0].url: region "us-east-1" taken from here; pass --region to choose another`,
				`warning: servers[0].url: API id "a1b2c3d4e5" taken from here; pass --rest-api-id to choose another`,
				`warning: servers[0].url: stage "prod" taken from here; pass --stage to choose another`,
			},
			last: rest + ": the definition does not name the account: pass --account-id",
		},
		{
			name:   "no definition",
			args:   nil,
			code:   exitUsage,
			stderr: []string{"authgate import: --openapi is required"},
		},
		{
			name:   "a missing file",
			args:   []string{"--openapi", "nope.yaml"},
			code:   exitUsage,
			stderr: []string{"open nope.yaml: no such file or directory"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.stdin, append([]string{"import"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			for _, c := range tt.contains {
				if !strings.Contains(stdout, c) {
					t.Errorf("stdout lacks %s:\n%s", c, stdout)
				}
			}
			if tt.contains == nil && stdout != tt.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout, tt.stdout)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if len(lines) < len(tt.stderr) || strings.Join(lines[:len(tt.stderr)], "\n") != strings.Join(tt.stderr, "\n") {
				t.Errorf("stderr:\n%s\nwant it to start with:\n%s", stderr, strings.Join(tt.stderr, "\n"))
			}
			if tt.last != "" && lines[len(lines)-1] != tt.last {
				t.Errorf("stderr ends with %q, want %q", lines[len(lines)-1], tt.last)
			}
			if tt.code == 0 {
				if len(lines) != len(tt.stderr) {
					t.Errorf("stderr has %d lines, want %d:\n%s", len(lines), len(tt.stderr), stderr)
				}
				if _, err := config.Parse([]byte(stdout)); err != nil {
					t.Errorf("config.Parse: %v", err)
				}
			}
		})
	}
}
