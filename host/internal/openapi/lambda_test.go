package openapi

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/authgate/authgate/core/config"
)

// lambdaConfig stands for a configuration format that also takes
// authorizerUri and authorizerCredentials: it checks them, removes them and
// hands the rest to config.Parse. refuse, when set, refuses every
// authorizerUri with that error.
func lambdaConfig(refuse error) func([]byte) error {
	return func(b []byte) error {
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			return err
		}
		auths, _ := doc["authorizers"].(map[string]any)
		for name, v := range auths {
			a := v.(map[string]any)
			uri, ok := a["authorizerUri"]
			if !ok {
				if _, ok := a["authorizerCredentials"]; ok {
					return errors.New("authorizers." + name + ".authorizerCredentials: only Lambda authorizers take credentials")
				}
				continue
			}
			if refuse != nil {
				return refuse
			}
			if s, _ := uri.(string); !strings.HasPrefix(s, "arn:aws:apigateway:") {
				return errors.New("authorizers." + name + ".authorizerUri: not a function URI")
			}
			if _, ok := a["path"]; ok {
				return errors.New("authorizers." + name + ".path: a Lambda authorizer has no path")
			}
			delete(a, "authorizerUri")
			delete(a, "authorizerCredentials")
		}
		b, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		_, err = config.Parse(b)
		return err
	}
}

func TestAuthorizerURI(t *testing.T) {
	src, err := os.ReadFile("testdata/aws-docs-rest-request.json")
	if err != nil {
		t.Fatal(err)
	}
	const uri = `"authorizerUri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:APIGateway-Request-Authorizer:vtwo/invocations"`
	const creds = `"authorizerCredentials": "arn:aws:iam::123456789012:role/AWSepIntegTest-CS-LambdaRole"`
	p := "securityDefinitions.request_authorizer_"
	ext := ".x-amazon-apigateway-authorizer."
	tests := []struct {
		name     string
		validate func([]byte) error
		http     bool
		want     []string
		absent   []string
		warnings []string // besides the stage variable's
	}{
		{
			name:     "kept where the configuration takes it",
			validate: lambdaConfig(nil),
			want:     []string{uri, creds},
			absent:   []string{`"path": "/request_authorizer`},
		},
		{
			name:     "refused: called over HTTP, the reason on each URI",
			validate: lambdaConfig(errors.New("authorizers.x.authorizerUri: no Lambda here")),
			want:     []string{`"path": "/request_authorizer_single_header"`},
			absent:   []string{"authorizerUri", "authorizerCredentials"},
			warnings: []string{
				p + "single_header" + ext + `authorizerUri: kept nowhere: authorizers.x.authorizerUri: no Lambda here; authorizer "request_authorizer_single_header" is called over HTTP at cluster "authorizer", path "/request_authorizer_single_header"`,
				p + "header_query" + ext + `authorizerUri: kept nowhere: authorizers.x.authorizerUri: no Lambda here; authorizer "request_authorizer_header_query" is called over HTTP at cluster "authorizer", path "/request_authorizer_header_query"`,
				p + "single_stagevar" + ext + `authorizerUri: kept nowhere: authorizers.x.authorizerUri: no Lambda here; authorizer "request_authorizer_single_stagevar" is called over HTTP at cluster "authorizer", path "/request_authorizer_single_stagevar"`,
				p + "single_header" + ext + `authorizerCredentials: not carried over: the role API Gateway assumes to invoke the function; authorizer "request_authorizer_single_header" is called over HTTP`,
				p + "header_query" + ext + `authorizerCredentials: not carried over: the role API Gateway assumes to invoke the function; authorizer "request_authorizer_header_query" is called over HTTP`,
				p + "single_stagevar" + ext + `authorizerCredentials: not carried over: the role API Gateway assumes to invoke the function; authorizer "request_authorizer_single_stagevar" is called over HTTP`,
			},
		},
		{
			name:     "HTTP asked for",
			validate: lambdaConfig(nil),
			http:     true,
			want:     []string{`"path": "/request_authorizer_header_query"`},
			absent:   []string{"authorizerUri"},
			warnings: []string{
				p + "single_header" + ext + `authorizerUri: kept nowhere: HTTP authorizers were asked for (--http-authorizers); authorizer "request_authorizer_single_header" is called over HTTP at cluster "authorizer", path "/request_authorizer_single_header"`,
				p + "header_query" + ext + `authorizerUri: kept nowhere: HTTP authorizers were asked for (--http-authorizers); authorizer "request_authorizer_header_query" is called over HTTP at cluster "authorizer", path "/request_authorizer_header_query"`,
				p + "single_stagevar" + ext + `authorizerUri: kept nowhere: HTTP authorizers were asked for (--http-authorizers); authorizer "request_authorizer_single_stagevar" is called over HTTP at cluster "authorizer", path "/request_authorizer_single_stagevar"`,
				p + "single_header" + ext + `authorizerCredentials: not carried over: the role API Gateway assumes to invoke the function; authorizer "request_authorizer_single_header" is called over HTTP`,
				p + "header_query" + ext + `authorizerCredentials: not carried over: the role API Gateway assumes to invoke the function; authorizer "request_authorizer_header_query" is called over HTTP`,
				p + "single_stagevar" + ext + `authorizerCredentials: not carried over: the role API Gateway assumes to invoke the function; authorizer "request_authorizer_single_stagevar" is called over HTTP`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := identity
			opts.validate = tt.validate
			opts.HTTPAuthorizers = tt.http
			out, warns, err := Import(src, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if strings.Count(string(out), w) == 0 {
					t.Errorf("configuration lacks %s:\n%s", w, out)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(string(out), a) {
					t.Errorf("configuration has %s:\n%s", a, out)
				}
			}
			want := append([]string{p + "single_stagevar" + ext + `identitySource: uses stage variable "stage", which a definition does not carry: it is declared empty in stageVariables; set its value`}, tt.warnings...)
			got := make([]string, len(warns))
			for i, w := range warns {
				got[i] = w.String()
			}
			if !slices.Equal(got, want) {
				t.Errorf("warnings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}
