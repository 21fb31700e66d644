package awssigntest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var (
	creds = aws.Credentials{AccessKeyID: "AKIDVERIFY", SecretAccessKey: "verify-secret"}
	t0    = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
)

// signed returns a request signed by the SDK, then changed by edit.
func signed(t *testing.T, c aws.Credentials, region, body string, at time.Time, edit func(*http.Request)) (*http.Request, []byte) {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:9002/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ajwt/invocations", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Host = "lambda.us-east-1.amazonaws.com"
	r.Header.Set("X-Amz-Invocation-Type", "RequestResponse")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), c, r, hex.EncodeToString(sum[:]), "lambda", region, at); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(r)
	}
	return r, []byte(body)
}

func TestVerify(t *testing.T) {
	session := aws.Credentials{AccessKeyID: "ASIASESSION", SecretAccessKey: "s", SessionToken: "token-1"}
	tests := []struct {
		name     string
		c        aws.Credentials
		region   string
		at       time.Time
		edit     func(*http.Request)
		body     string // sent instead of the signed body when set
		wantType string // "" = accepted
	}{
		{name: "signed", c: creds, region: "us-east-1", at: t0},
		{name: "session credentials", c: session, region: "us-east-1", at: t0},
		{name: "session token dropped", c: session, region: "us-east-1", at: t0, edit: func(r *http.Request) { r.Header.Del("X-Amz-Security-Token") }, wantType: "UnrecognizedClientException"},
		{name: "unsigned", c: creds, region: "us-east-1", at: t0, edit: func(r *http.Request) { r.Header.Del("Authorization") }, wantType: "MissingAuthenticationTokenException"},
		{name: "other region", c: creds, region: "eu-west-1", at: t0, wantType: "InvalidSignatureException"},
		{name: "unknown key", c: aws.Credentials{AccessKeyID: "AKIDOTHER", SecretAccessKey: "x"}, region: "us-east-1", at: t0, wantType: "UnrecognizedClientException"},
		{name: "stale", c: creds, region: "us-east-1", at: t0.Add(-6 * time.Minute), wantType: "InvalidSignatureException"},
		{name: "body changed", c: creds, region: "us-east-1", at: t0, body: `{"type":"TOKEN","x":1}`, wantType: "InvalidSignatureException"},
		{name: "signed header changed", c: creds, region: "us-east-1", at: t0, edit: func(r *http.Request) { r.Header.Set("X-Amz-Invocation-Type", "Event") }, wantType: "InvalidSignatureException"},
		{name: "host changed", c: creds, region: "us-east-1", at: t0, edit: func(r *http.Request) { r.Host = "lambda.eu-west-1.amazonaws.com" }, wantType: "InvalidSignatureException"},
		{name: "unsigned header added", c: creds, region: "us-east-1", at: t0, edit: func(r *http.Request) { r.Header.Set("X-Extra", "1") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewVerifier("lambda", "us-east-1", creds, session)
			v.Clock = func() time.Time { return t0 }
			r, body := signed(t, tt.c, tt.region, `{"type":"TOKEN"}`, tt.at, tt.edit)
			if tt.body != "" {
				body = []byte(tt.body)
			}
			ref := v.Verify(r, body)
			switch {
			case tt.wantType == "" && ref != nil:
				t.Fatalf("refused: %v", ref)
			case tt.wantType != "" && (ref == nil || ref.Type != tt.wantType || ref.Status != 403):
				t.Fatalf("got %v, want 403 %s", ref, tt.wantType)
			}
		})
	}
}
