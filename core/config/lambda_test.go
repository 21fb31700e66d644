package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/authgate/authgate/core/arn"
)

const (
	testFunction = "arn:aws:lambda:us-east-1:123456789012:function:jwt"
	testURI      = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + testFunction + "/invocations"
	testRole     = "arn:aws:iam::123456789012:role/authorizer-invoker"
)

func TestParseLambdaAuthorizer(t *testing.T) {
	tests := []struct {
		name          string
		in            string
		wantPath      string
		wantAuthority string
		wantRole      string
		wantClusters  []LambdaCluster
	}{
		{
			name:          "api gateway uri",
			in:            jwt(`"type": "TOKEN", "cluster": "lambda", "authorizerUri": "` + testURI + `"`),
			wantPath:      "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ajwt/invocations",
			wantAuthority: "lambda.us-east-1.amazonaws.com",
			wantClusters:  []LambdaCluster{{Name: "lambda", Region: "us-east-1", Authorizers: []string{"jwt"}}},
		},
		{
			name:          "bare arn with alias, authority and role",
			in:            jwt(`"type": "TOKEN", "cluster": "lambda", "authorizerUri": "` + testFunction + `:live", "authority": "lambda.local", "authorizerCredentials": "` + testRole + `"`),
			wantPath:      "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ajwt%3Alive/invocations",
			wantAuthority: "lambda.local",
			wantRole:      testRole,
			wantClusters:  []LambdaCluster{{Name: "lambda", Region: "us-east-1", Role: testRole, Authorizers: []string{"jwt"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			a := p.Authorizers["jwt"]
			if !a.IsLambda() || a.Path != tt.wantPath || a.Authority != tt.wantAuthority || a.Credentials != tt.wantRole {
				t.Errorf("authorizer = function %v path %s authority %s role %q", a.Function, a.Path, a.Authority, a.Credentials)
			}
			if !reflect.DeepEqual(p.LambdaClusters, tt.wantClusters) {
				t.Errorf("LambdaClusters = %+v, want %+v", p.LambdaClusters, tt.wantClusters)
			}
		})
	}
}

func TestLambdaClustersShared(t *testing.T) {
	in := doc(`"authorizers": {
		"b": {"type": "TOKEN", "cluster": "lambda", "authorizerUri": "`+testFunction+`"},
		"a": {"type": "TOKEN", "cluster": "lambda", "authorizerUri": "arn:aws:lambda:us-east-1:123456789012:function:other"},
		"h": {"type": "TOKEN", "cluster": "authz"},
		"w": {"type": "TOKEN", "cluster": "lambda-west", "authorizerUri": "arn:aws:lambda:us-west-2:123456789012:function:f"}}`,
		`"routes": [{"method": "ANY", "path": "/{proxy+}", "authorizer": "b"}]`)
	p, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []LambdaCluster{
		{Name: "lambda", Region: "us-east-1", Authorizers: []string{"b", "a"}},
		{Name: "lambda-west", Region: "us-west-2", Authorizers: []string{"w"}},
	}
	if !reflect.DeepEqual(p.LambdaClusters, want) {
		t.Errorf("LambdaClusters = %+v, want %+v", p.LambdaClusters, want)
	}
	if p.Authorizers["h"].IsLambda() || p.Authorizers["h"].Path != "/" {
		t.Errorf("HTTP authorizer changed: %+v", p.Authorizers["h"])
	}
}

func TestParseLambdaErrors(t *testing.T) {
	lam := `"type": "TOKEN", "cluster": "lambda", "authorizerUri": "` + testURI + `"`
	two := func(a, b string) string {
		return doc(`"authorizers": {"jwt": {`+a+`}, "other": {`+b+`}}`, `"routes": [{"method": "ANY", "path": "/{proxy+}", "authorizer": "jwt"}]`)
	}
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"uri not a string", jwt(`"type": "TOKEN", "cluster": "lambda", "authorizerUri": 1`), "authorizers.jwt.authorizerUri: must be a string, got 1"},
		{"uri malformed", jwt(`"type": "TOKEN", "cluster": "lambda", "authorizerUri": "jwt"`), `authorizers.jwt.authorizerUri: must be arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function arn}/invocations or a function ARN, got "jwt"`},
		{"uri region disagrees", jwt(`"type": "TOKEN", "cluster": "lambda", "authorizerUri": "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/` + testFunction + `/invocations"`), `authorizers.jwt.authorizerUri: function "` + testFunction + `" is in us-east-1, but the URI calls Lambda in eu-west-1`},
		{"bad function name", jwt(`"type": "TOKEN", "cluster": "lambda", "authorizerUri": "arn:aws:lambda:us-east-1:123456789012:function:a/b"`), `authorizers.jwt.authorizerUri: function name: must be 1 to 64 letters, digits, '-' and '_', got "a/b"`},
		{"path beside uri", jwt(lam + `, "path": "/"`), "authorizers.jwt.path: a Lambda authorizer is called on the Invoke API path /2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ajwt/invocations; leave path out"},
		{"credentials without uri", jwt(`"type": "TOKEN", "cluster": "authz", "authorizerCredentials": "` + testRole + `"`), "authorizers.jwt.authorizerCredentials: only Lambda authorizers (authorizerUri) take credentials"},
		{"credentials not a role", jwt(lam + `, "authorizerCredentials": "arn:aws:iam::*:user/*"`), `authorizers.jwt.authorizerCredentials: account id: must be 12 digits, got "*"`},
		{"credentials a user", jwt(lam + `, "authorizerCredentials": "arn:aws:iam::123456789012:user/bob"`), `authorizers.jwt.authorizerCredentials: must name a role (…:role/{name}), got "user/bob"`},
		{"http authorizer on a lambda cluster", two(lam, `"type": "TOKEN", "cluster": "lambda"`), `authorizers.other.cluster: cluster "lambda" carries the Lambda Invoke requests of authorizer "jwt"; an HTTP authorizer needs a cluster of its own`},
		{"lambda authorizer on an http cluster", two(`"type": "TOKEN", "cluster": "lambda"`, lam), `authorizers.other.authorizerUri: cluster "lambda" serves the HTTP authorizer "jwt"; a Lambda authorizer needs a cluster of its own`},
		{"two regions on one cluster", two(lam, `"type": "TOKEN", "cluster": "lambda", "authorizerUri": "arn:aws:lambda:eu-west-1:123456789012:function:f"`), `authorizers.other.authorizerUri: the function is in eu-west-1, but cluster "lambda" calls Lambda in us-east-1 for authorizer "jwt"; use a cluster per region`},
		{"two roles on one cluster", two(lam, lam+`, "authorizerCredentials": "`+testRole+`"`), `authorizers.other.authorizerCredentials: cluster "lambda" signs with the host's own credentials for authorizer "jwt"; authorizers of one cluster share its credentials`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error = %v\nwant    %s", err, tt.wantErr)
			}
		})
	}
}

func TestLambdaAuthorizerForHTTPAPI(t *testing.T) {
	in := `{"apiType": "HTTP", "region": "us-east-1", "accountId": "123456789012", "apiId": "a1b2c3d4e5", "stage": "$default",
	  "authorizers": {"fn": {"type": "REQUEST", "cluster": "lambda", "authorizerPayloadFormatVersion": "2.0",
	    "identitySource": "$request.header.Authorization", "authorizerUri": "` + testURI + `"}},
	  "routes": [{"method": "ANY", "path": "$default", "authorizer": "fn"}]}`
	p, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if f := p.Authorizers["fn"].Function; f == nil || *f != (arn.Function{Partition: "aws", Region: "us-east-1", AccountID: "123456789012", Name: "jwt"}) {
		t.Fatalf("function = %+v", f)
	}
	if !strings.HasPrefix(p.Authorizers["fn"].Path, "/2015-03-31/functions/") {
		t.Fatalf("path = %s", p.Authorizers["fn"].Path)
	}
}
