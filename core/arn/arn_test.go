package arn

import (
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		name                 string
		region, method, path string
		want                 string
	}{
		{name: "root keeps its slash", region: "us-east-1", method: "GET", path: "/",
			want: "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/"},
		{name: "one segment", region: "us-east-1", method: "GET", path: "/pets",
			want: "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets"},
		{name: "nested", region: "eu-west-3", method: "DELETE", path: "/pets/42",
			want: "arn:aws:execute-api:eu-west-3:123456789012:a1b2c3d4e5/prod/DELETE/pets/42"},
		{name: "trailing slash dropped", region: "us-east-1", method: "GET", path: "/pets/",
			want: "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets"},
		{name: "decoded characters kept", region: "us-east-1", method: "GET", path: "/a b/c:d",
			want: "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/a b/c:d"},
		{name: "china partition", region: "cn-north-1", method: "GET", path: "/x",
			want: "arn:aws-cn:execute-api:cn-north-1:123456789012:a1b2c3d4e5/prod/GET/x"},
		{name: "govcloud partition", region: "us-gov-west-1", method: "PUT", path: "/x",
			want: "arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:a1b2c3d4e5/prod/PUT/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Format(tt.region, "123456789012", "a1b2c3d4e5", "prod", tt.method, tt.path)
			if got != tt.want {
				t.Errorf("Format = %q, want %q", got, tt.want)
			}
			a, err := Parse(got)
			if err != nil {
				t.Fatalf("Parse(Format) = %v", err)
			}
			if a.String() != got {
				t.Errorf("String = %q, want %q", a.String(), got)
			}
		})
	}
}

func TestParse(t *testing.T) {
	const prefix = "arn:aws:execute-api:us-east-1:123456789012:"
	tests := []struct {
		name    string
		in      string
		want    MethodARN
		wantErr string
	}{
		{name: "root", in: prefix + "a1b2c3d4e5/prod/GET/",
			want: MethodARN{Partition: "aws", Region: "us-east-1", AccountID: "123456789012", APIID: "a1b2c3d4e5", Stage: "prod", Method: "GET"}},
		{name: "resource", in: prefix + "a1b2c3d4e5/prod/POST/pets/42",
			want: MethodARN{Partition: "aws", Region: "us-east-1", AccountID: "123456789012", APIID: "a1b2c3d4e5", Stage: "prod", Method: "POST", Resource: "pets/42"}},
		{name: "resource with colon", in: prefix + "a1b2c3d4e5/prod/GET/a:b/c",
			want: MethodARN{Partition: "aws", Region: "us-east-1", AccountID: "123456789012", APIID: "a1b2c3d4e5", Stage: "prod", Method: "GET", Resource: "a:b/c"}},
		{name: "china", in: "arn:aws-cn:execute-api:cn-northwest-1:123456789012:abc/dev_1/PATCH/x",
			want: MethodARN{Partition: "aws-cn", Region: "cn-northwest-1", AccountID: "123456789012", APIID: "abc", Stage: "dev_1", Method: "PATCH", Resource: "x"}},
		{name: "govcloud", in: "arn:aws-us-gov:execute-api:us-gov-east-1:123456789012:abc/s-1/GET/",
			want: MethodARN{Partition: "aws-us-gov", Region: "us-gov-east-1", AccountID: "123456789012", APIID: "abc", Stage: "s-1", Method: "GET"}},
		{name: "HTTP API default stage", in: prefix + "abcdef123/$default/GET/pets",
			want: MethodARN{Partition: "aws", Region: "us-east-1", AccountID: "123456789012", APIID: "abcdef123", Stage: "$default", Method: "GET", Resource: "pets"}},

		{name: "not an arn", in: "urn:aws:x", wantErr: `arn: must start with "arn:", got "urn:aws:x"`},
		{name: "empty", in: "", wantErr: `arn: must start with "arn:", got ""`},
		{name: "bad partition", in: "arn:aws-xx:execute-api:us-east-1:123456789012:a/p/GET/", wantErr: `arn: partition: must be aws, aws-cn or aws-us-gov, got "aws-xx"`},
		{name: "bad service", in: "arn:aws:lambda:us-east-1:123456789012:a/p/GET/", wantErr: `arn: service: must be execute-api, got "lambda"`},
		{name: "missing service", in: "arn:aws", wantErr: `arn: service: missing`},
		{name: "missing region", in: "arn:aws:execute-api", wantErr: `arn: region: missing`},
		{name: "missing account", in: "arn:aws:execute-api:us-east-1", wantErr: `arn: account id: missing`},
		{name: "missing api id", in: "arn:aws:execute-api:us-east-1:123456789012", wantErr: `arn: api id: missing`},
		{name: "bad region", in: "arn:aws:execute-api:US-EAST-1:123456789012:a/p/GET/", wantErr: `arn: region: must look like us-east-1, got "US-EAST-1"`},
		{name: "region without number", in: "arn:aws:execute-api:us-east:123456789012:a/p/GET/", wantErr: `arn: region: must look like us-east-1, got "us-east"`},
		{name: "short account", in: "arn:aws:execute-api:us-east-1:12:a/p/GET/", wantErr: `arn: account id: must be 12 digits, got "12"`},
		{name: "letters in account", in: "arn:aws:execute-api:us-east-1:12345678901x:a/p/GET/", wantErr: `arn: account id: must be 12 digits, got "12345678901x"`},
		{name: "missing stage", in: prefix + "a1b2c3d4e5", wantErr: `arn: stage: missing`},
		{name: "missing method", in: prefix + "a1b2c3d4e5/prod", wantErr: `arn: method: missing`},
		{name: "missing resource", in: prefix + "a1b2c3d4e5/prod/GET", wantErr: `arn: resource: missing`},
		{name: "empty api id", in: prefix + "/prod/GET/", wantErr: `arn: api id: must be 1 to 64 letters and digits, got ""`},
		{name: "wildcard api id", in: prefix + "*/prod/GET/", wantErr: `arn: api id: must be 1 to 64 letters and digits, got "*"`},
		{name: "bad stage", in: prefix + "abc/pr*d/GET/", wantErr: `arn: stage: must be 1 to 128 letters, digits, '-' and '_', got "pr*d"`},
		{name: "dollar stage other than $default", in: prefix + "abc/$prod/GET/", wantErr: `arn: stage: must be 1 to 128 letters, digits, '-' and '_', got "$prod"`},
		{name: "empty method", in: prefix + "abc/prod//x", wantErr: `arn: method: must be an HTTP method token, got ""`},
		{name: "method with space", in: prefix + "abc/prod/G T/x", wantErr: `arn: method: must be an HTTP method token, got "G T"`},
		{name: "empty resource segment", in: prefix + "abc/prod/GET/a//b", wantErr: `arn: resource: empty segment`},
		{name: "resource trailing slash", in: prefix + "abc/prod/GET/a/", wantErr: `arn: resource: empty segment`},
		{name: "dot-dot resource", in: prefix + "abc/prod/GET/a/../b", wantErr: `arn: resource: "." or ".." segment`},
		{name: "control byte in resource", in: prefix + "abc/prod/GET/a\x00", wantErr: `arn: resource: control byte`},
		{name: "too long", in: prefix + "abc/prod/GET/" + strings.Repeat("a", MaxLength), wantErr: `arn: longer than 1600 bytes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Parse error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got != tt.want {
				t.Errorf("Parse = %+v, want %+v", got, tt.want)
			}
			if got.String() != tt.in {
				t.Errorf("String = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestStringDefaultsPartition(t *testing.T) {
	a := MethodARN{Region: "us-east-1", AccountID: "123456789012", APIID: "a", Stage: "s", Method: "GET", Resource: "x"}
	if got, want := a.String(), "arn:aws:execute-api:us-east-1:123456789012:a/s/GET/x"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func TestCheckers(t *testing.T) {
	tests := []struct {
		name  string
		check func(string) error
		in    string
		ok    bool
	}{
		{"region ok", CheckRegion, "ap-southeast-2", true},
		{"region four parts", CheckRegion, "us-gov-west-1", true},
		{"region one letter", CheckRegion, "u-east-1", false},
		{"region digits too long", CheckRegion, "us-east-100", false},
		{"region empty part", CheckRegion, "us--1", false},
		{"account ok", CheckAccountID, "000000000000", true},
		{"account 13 digits", CheckAccountID, "1234567890123", false},
		{"api id max", CheckAPIID, strings.Repeat("a", 64), true},
		{"api id too long", CheckAPIID, strings.Repeat("a", 65), false},
		{"stage ok", CheckStage, "v1_beta-2", true},
		{"stage too long", CheckStage, strings.Repeat("s", 129), false},
		{"method custom token", CheckMethod, "PROPFIND", true},
		{"method slash", CheckMethod, "GE/T", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.check(tt.in); (err == nil) != tt.ok {
				t.Errorf("check(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
		})
	}
}
