package arn

import (
	"strings"
	"testing"
)

func TestParseAuthorizerURI(t *testing.T) {
	const fn = "arn:aws:lambda:us-east-1:123456789012:function:jwt"
	tests := []struct {
		name    string
		in      string
		want    Function
		wantErr string // "" = success
	}{
		{name: "api gateway form", in: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + fn + "/invocations",
			want: Function{Partition: "aws", Region: "us-east-1", AccountID: "123456789012", Name: "jwt"}},
		{name: "api gateway form with alias", in: "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:jwt:live/invocations",
			want: Function{Partition: "aws", Region: "eu-west-1", AccountID: "123456789012", Name: "jwt", Qualifier: "live"}},
		{name: "bare arn", in: fn, want: Function{Partition: "aws", Region: "us-east-1", AccountID: "123456789012", Name: "jwt"}},
		{name: "bare arn, $LATEST", in: fn + ":$LATEST", want: Function{Partition: "aws", Region: "us-east-1", AccountID: "123456789012", Name: "jwt", Qualifier: "$LATEST"}},
		{name: "bare arn, version", in: fn + ":7", want: Function{Partition: "aws", Region: "us-east-1", AccountID: "123456789012", Name: "jwt", Qualifier: "7"}},
		{name: "china", in: "arn:aws-cn:lambda:cn-north-1:123456789012:function:f", want: Function{Partition: "aws-cn", Region: "cn-north-1", AccountID: "123456789012", Name: "f"}},
		{name: "region mismatch", in: "arn:aws:apigateway:us-west-2:lambda:path/2015-03-31/functions/" + fn + "/invocations", wantErr: "is in us-east-1, but the URI calls Lambda in us-west-2"},
		{name: "wrong api version", in: "arn:aws:apigateway:us-east-1:lambda:path/2016-01-01/functions/" + fn + "/invocations", wantErr: "must continue after the region"},
		{name: "no invocations", in: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + fn, wantErr: "must continue after the region"},
		{name: "bad inner", in: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/jwt/invocations", wantErr: "function: must be arn:"},
		{name: "not an arn", in: "jwt", wantErr: "must be arn:aws:apigateway"},
		{name: "s3 arn", in: "arn:aws:s3:::bucket", wantErr: "must be arn:{partition}:lambda"},
		{name: "wrong partition", in: "arn:aws-cn:lambda:us-east-1:123456789012:function:f", wantErr: "partition: region us-east-1 is in partition aws"},
		{name: "bad region", in: "arn:aws:lambda:useast1:123456789012:function:f", wantErr: "region: must look like"},
		{name: "bad account", in: "arn:aws:lambda:us-east-1:1234:function:f", wantErr: "account id: must be 12 digits"},
		{name: "empty name", in: "arn:aws:lambda:us-east-1:123456789012:function:", wantErr: "function name"},
		{name: "bad name", in: "arn:aws:lambda:us-east-1:123456789012:function:a.b", wantErr: "function name"},
		{name: "long name", in: "arn:aws:lambda:us-east-1:123456789012:function:" + strings.Repeat("a", 65), wantErr: "function name"},
		{name: "empty qualifier", in: fn + ":", wantErr: "qualifier"},
		{name: "bad qualifier", in: fn + ":$PREVIOUS", wantErr: "qualifier"},
		{name: "layer arn", in: "arn:aws:lambda:us-east-1:123456789012:layer:l:1", wantErr: "must be arn:{partition}:lambda"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAuthorizerURI(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestFunctionInvokePath(t *testing.T) {
	tests := []struct {
		name string
		f    Function
		want string
	}{
		{"plain", Function{Partition: "aws", Region: "us-east-1", AccountID: "123456789012", Name: "jwt"},
			"/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ajwt/invocations"},
		{"latest", Function{Partition: "aws", Region: "us-east-1", AccountID: "123456789012", Name: "jwt_2", Qualifier: "$LATEST"},
			"/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ajwt_2%3A%24LATEST/invocations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.InvokePath(); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestEndpointRegion(t *testing.T) {
	tests := []struct {
		name, host, want string
		ok               bool
	}{
		{"public", "lambda.us-east-1.amazonaws.com", "us-east-1", true},
		{"upper case, trailing dot", "Lambda.EU-West-1.amazonaws.com.", "eu-west-1", true},
		{"fips", "lambda-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1", true},
		{"china", "lambda.cn-north-1.amazonaws.com.cn", "cn-north-1", true},
		{"dual stack", "lambda.ap-south-1.api.aws", "ap-south-1", true},
		{"loopback", "127.0.0.1", "", false},
		{"other service", "sts.us-east-1.amazonaws.com", "", false},
		{"not a region", "lambda.local.amazonaws.com", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := EndpointRegion(tt.host)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("EndpointRegion(%q) = %q, %v; want %q, %v", tt.host, got, ok, tt.want, tt.ok)
			}
		})
	}
	if got := LambdaEndpoint("cn-northwest-1"); got != "lambda.cn-northwest-1.amazonaws.com.cn" {
		t.Errorf("LambdaEndpoint(cn-northwest-1) = %s", got)
	}
}

func TestParseRole(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Role
		wantErr string
	}{
		{name: "plain", in: "arn:aws:iam::123456789012:role/invoker", want: Role{Partition: "aws", AccountID: "123456789012", Path: "/", Name: "invoker"}},
		{name: "path", in: "arn:aws:iam::123456789012:role/gw/authz/invoker+x", want: Role{Partition: "aws", AccountID: "123456789012", Path: "/gw/authz/", Name: "invoker+x"}},
		{name: "user", in: "arn:aws:iam::*:user/*", wantErr: "account id"},
		{name: "user of an account", in: "arn:aws:iam::123456789012:user/bob", wantErr: "must name a role"},
		{name: "region set", in: "arn:aws:iam:us-east-1:123456789012:role/r", wantErr: "must be an IAM role ARN"},
		{name: "empty name", in: "arn:aws:iam::123456789012:role/", wantErr: "role name"},
		{name: "bad path", in: "arn:aws:iam::123456789012:role/a//r", wantErr: "role path"},
		{name: "bad partition", in: "arn:gcp:iam::123456789012:role/r", wantErr: "partition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRole(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || got.String() != tt.in {
				t.Fatalf("got %+v (%s), want %+v", got, got, tt.want)
			}
		})
	}
}

func FuzzParseAuthorizerURI(f *testing.F) {
	for _, s := range []string{
		"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:jwt/invocations",
		"arn:aws:lambda:us-east-1:123456789012:function:jwt:$LATEST",
		"arn:aws-cn:lambda:cn-north-1:123456789012:function:f:live",
		"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions//invocations",
		"arn:",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fn, err := ParseAuthorizerURI(s)
		if err != nil {
			return
		}
		again, err := ParseFunction(fn.String())
		if err != nil || again != fn {
			t.Fatalf("ParseFunction(%q) = %+v, %v; want %+v", fn.String(), again, err, fn)
		}
		seg := strings.TrimSuffix(strings.TrimPrefix(fn.InvokePath(), "/2015-03-31/functions/"), "/invocations")
		if strings.ContainsAny(seg, "/:?#$ ") {
			t.Fatalf("InvokePath of %q leaves the ARN unencoded: %q", s, seg)
		}
	})
}

func FuzzParseRole(f *testing.F) {
	for _, s := range []string{"arn:aws:iam::123456789012:role/a/b/c", "arn:aws:iam::123456789012:role/r", "arn:aws:iam::*:user/*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRole(s)
		if err != nil {
			return
		}
		if r.String() != s {
			t.Fatalf("String(ParseRole(%q)) = %q", s, r.String())
		}
	})
}
