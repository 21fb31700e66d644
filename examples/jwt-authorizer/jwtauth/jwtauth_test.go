package jwtauth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/core/arn"
	"github.com/authgate/authgate/core/policy"
	"github.com/authgate/authgate/examples/jwt-authorizer/jwtauth"
)

var (
	secret = []byte("0123456789abcdef0123456789abcdef") // 32 bytes
	now    = time.Unix(1_700_000_000, 0)
	exp    = now.Add(time.Hour).Unix() // 1700003600
)

const methodARN = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets"

var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func sign(t testing.TB, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
	return s
}

func claims(sub string, groups ...any) jwt.MapClaims {
	c := jwt.MapClaims{"sub": sub, "exp": exp, "iat": now.Unix()}
	if groups != nil {
		c["groups"] = groups
	}
	return c
}

func with(c jwt.MapClaims, key string, value any) jwt.MapClaims {
	c[key] = value
	return c
}

func without(c jwt.MapClaims, key string) jwt.MapClaims {
	delete(c, key)
	return c
}

func newAuthorizer(t testing.TB, cfg jwtauth.Config) *jwtauth.Authorizer {
	t.Helper()
	cfg.Now = func() time.Time { return now }
	a, err := jwtauth.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

const (
	adminJSON = `{"principalId":"alice","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/*/*"]}]},"context":{"admin":true,"groups":"dev,admins","sub":"alice","tokenExpiresAt":1700003600}}`
	userJSON  = `{"principalId":"bob","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/*","arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/POST/users/bob"]}]},"context":{"admin":false,"groups":"dev","sub":"bob","tokenExpiresAt":1700003600}}`
)

func TestAuthorizeHS256(t *testing.T) {
	a := newAuthorizer(t, jwtauth.Config{HS256Secret: secret})
	hs := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, secret, c) }
	tests := []struct {
		name      string
		token     string
		methodArn string
		want      string // response JSON; empty when an error is expected
		wantErr   error  // compared with ==, so the message is exactly "Unauthorized"
	}{
		{name: "admin", token: "Bearer " + hs(claims("alice", "dev", "admins")), want: adminJSON},
		{name: "user", token: "Bearer " + hs(claims("bob", "dev")), want: userJSON},
		{name: "lower-case scheme", token: "bearer " + hs(claims("bob", "dev")), want: userJSON},
		{
			name: "no groups claim", token: "Bearer " + hs(claims("carol")),
			want: `{"principalId":"carol","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/*","arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/POST/users/carol"]}]},"context":{"admin":false,"groups":"","sub":"carol","tokenExpiresAt":1700003600}}`,
		},
		{
			name: "policy follows the request's stage and partition", token: "Bearer " + hs(claims("alice", "admins")),
			methodArn: "arn:aws-cn:execute-api:cn-north-1:123456789012:zz99/dev/DELETE/x/y",
			want:      `{"principalId":"alice","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["arn:aws-cn:execute-api:cn-north-1:123456789012:zz99/dev/*/*"]}]},"context":{"admin":true,"groups":"admins","sub":"alice","tokenExpiresAt":1700003600}}`,
		},
		{name: "expired", token: "Bearer " + hs(with(claims("bob"), "exp", now.Add(-time.Second).Unix())), wantErr: jwtauth.ErrUnauthorized},
		{name: "no exp", token: "Bearer " + hs(without(claims("bob"), "exp")), wantErr: jwtauth.ErrUnauthorized},
		{name: "not yet valid", token: "Bearer " + hs(with(claims("bob"), "nbf", now.Add(time.Minute).Unix())), wantErr: jwtauth.ErrUnauthorized},
		{name: "wrong secret", token: "Bearer " + sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), claims("bob")), wantErr: jwtauth.ErrUnauthorized},
		{name: "wrong alg HS384", token: "Bearer " + sign(t, jwt.SigningMethodHS384, secret, claims("bob")), wantErr: jwtauth.ErrUnauthorized},
		{name: "wrong alg RS256", token: "Bearer " + sign(t, jwt.SigningMethodRS256, rsaKey(), claims("bob")), wantErr: jwtauth.ErrUnauthorized},
		{name: "alg none", token: "Bearer " + sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims("bob")), wantErr: jwtauth.ErrUnauthorized},
		{name: "missing Bearer", token: hs(claims("bob")), wantErr: jwtauth.ErrUnauthorized},
		{name: "other scheme", token: "Basic " + hs(claims("bob")), wantErr: jwtauth.ErrUnauthorized},
		{name: "empty", token: "", wantErr: jwtauth.ErrUnauthorized},
		{name: "Bearer without token", token: "Bearer ", wantErr: jwtauth.ErrUnauthorized},
		{name: "two spaces", token: "Bearer  " + hs(claims("bob")), wantErr: jwtauth.ErrUnauthorized},
		{name: "garbage", token: "Bearer a.b.c", wantErr: jwtauth.ErrUnauthorized},
		{name: "sub with star", token: "Bearer " + hs(claims("*")), wantErr: jwtauth.ErrUnauthorized},
		{name: "sub with star inside", token: "Bearer " + hs(claims("bo*")), wantErr: jwtauth.ErrUnauthorized},
		{name: "sub with question mark", token: "Bearer " + hs(claims("b?b")), wantErr: jwtauth.ErrUnauthorized},
		{name: "sub with policy variable", token: "Bearer " + hs(claims("${aws:username}")), wantErr: jwtauth.ErrUnauthorized},
		{name: "sub with newline", token: "Bearer " + hs(claims("bob\nx-admin: 1")), wantErr: jwtauth.ErrUnauthorized},
		// Valid tokens whose subject the builder cannot put in a path: the
		// bearer may GET, but gets no POST on /users/{sub}.
		{
			name: "sub with pipe", token: "Bearer " + hs(claims("auth0|bob", "dev")),
			want: `{"principalId":"auth0|bob","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/*"]}]},"context":{"admin":false,"groups":"dev","sub":"auth0|bob","tokenExpiresAt":1700003600}}`,
		},
		{
			name: "sub with at sign", token: "Bearer " + hs(claims("bob@example.com")),
			want: `{"principalId":"bob@example.com","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/*"]}]},"context":{"admin":false,"groups":"","sub":"bob@example.com","tokenExpiresAt":1700003600}}`,
		},
		{
			name: "admin sub with at sign", token: "Bearer " + hs(claims("alice@example.com", "admins")),
			want: `{"principalId":"alice@example.com","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/*/*"]}]},"context":{"admin":true,"groups":"admins","sub":"alice@example.com","tokenExpiresAt":1700003600}}`,
		},
		{
			name: "sub with slash", token: "Bearer " + hs(claims("team/bob")),
			want: `{"principalId":"team/bob","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/*","arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/POST/users/team/bob"]}]},"context":{"admin":false,"groups":"","sub":"team/bob","tokenExpiresAt":1700003600}}`,
		},
		{name: "no sub", token: "Bearer " + hs(without(claims("bob"), "sub")), wantErr: jwtauth.ErrUnauthorized},
		{name: "empty sub", token: "Bearer " + hs(claims("")), wantErr: jwtauth.ErrUnauthorized},
		{name: "sub not a string", token: "Bearer " + hs(with(claims("bob"), "sub", 7)), wantErr: jwtauth.ErrUnauthorized},
		{name: "sub under another case", token: "Bearer " + hs(with(without(claims("bob"), "sub"), "Sub", "bob")), wantErr: jwtauth.ErrUnauthorized},
		{name: "groups a string", token: "Bearer " + hs(with(claims("bob"), "groups", "admins")), wantErr: jwtauth.ErrUnauthorized},
		{name: "groups with a number", token: "Bearer " + hs(claims("bob", "admins", 1)), wantErr: jwtauth.ErrUnauthorized},
		{name: "bad methodArn", token: "Bearer " + hs(claims("bob")), methodArn: "arn:aws:s3:::bucket", wantErr: errSentinelOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			event := events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: tt.token, MethodArn: tt.methodArn}
			if event.MethodArn == "" {
				event.MethodArn = methodARN
			}
			resp, err := a.Authorize(context.Background(), event)
			checkResult(t, resp, err, tt.want, tt.wantErr)
		})
	}
}

// errSentinelOther stands for "an error that is not Unauthorized".
var errSentinelOther = errors.New("some other error")

func checkResult(t *testing.T, resp events.APIGatewayCustomAuthorizerResponse, err error, want string, wantErr error) {
	t.Helper()
	switch wantErr {
	case nil:
		if err != nil {
			t.Fatalf("err = %v, want nil", err)
		}
		got, err := json.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("response =\n%s\nwant\n%s", got, want)
		}
	case errSentinelOther:
		if err == nil || err.Error() == "Unauthorized" {
			t.Fatalf("err = %v, want an error other than Unauthorized", err)
		}
	default:
		if err != wantErr {
			t.Fatalf("err = %v, want exactly %v", err, wantErr)
		}
		if err.Error() != "Unauthorized" {
			t.Fatalf("err message = %q, want Unauthorized", err.Error())
		}
	}
}

func TestAuthorizeRS256(t *testing.T) {
	key := rsaKey()
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	parsed, err := jwtauth.ParseRS256PublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	a := newAuthorizer(t, jwtauth.Config{RS256PublicKey: parsed, Issuer: "https://issuer.example", Audience: "authgate"})
	good := with(with(claims("bob", "dev"), "iss", "https://issuer.example"), "aud", "authgate")
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		token   string
		want    string
		wantErr error
	}{
		{name: "happy path", token: sign(t, jwt.SigningMethodRS256, key, good), want: userJSON},
		{name: "minted", token: mustMint(t, jwtauth.MintOptions{Subject: "bob", Groups: []string{"dev"}, TTL: time.Hour, Now: now, Issuer: "https://issuer.example", Audience: "authgate", RS256PrivateKey: key}), want: userJSON},
		{name: "other key", token: sign(t, jwt.SigningMethodRS256, other, good), wantErr: jwtauth.ErrUnauthorized},
		// The classic confusion: HS256 keyed with the public key's PEM.
		{name: "HS256 with the public key as secret", token: sign(t, jwt.SigningMethodHS256, pubPEM, good), wantErr: jwtauth.ErrUnauthorized},
		{name: "PS256", token: sign(t, jwt.SigningMethodPS256, key, good), wantErr: jwtauth.ErrUnauthorized},
		{name: "wrong issuer", token: sign(t, jwt.SigningMethodRS256, key, with(claims("bob"), "iss", "https://evil.example")), wantErr: jwtauth.ErrUnauthorized},
		{name: "no audience", token: sign(t, jwt.SigningMethodRS256, key, with(claims("bob"), "iss", "https://issuer.example")), wantErr: jwtauth.ErrUnauthorized},
		{name: "wrong audience", token: sign(t, jwt.SigningMethodRS256, key, with(with(claims("bob"), "iss", "https://issuer.example"), "aud", []string{"other"})), wantErr: jwtauth.ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := a.Authorize(context.Background(), events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: "Bearer " + tt.token, MethodArn: methodARN})
			checkResult(t, resp, err, tt.want, tt.wantErr)
		})
	}
}

func mustMint(t testing.TB, o jwtauth.MintOptions) string {
	t.Helper()
	s, err := jwtauth.Mint(o)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	return s
}

func TestNewRejectsBadConfig(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  jwtauth.Config
		want string
	}{
		{"no key", jwtauth.Config{}, "jwtauth: no key: configure an HS256 secret or an RS256 public key"},
		{"both", jwtauth.Config{HS256Secret: secret, RS256PublicKey: &rsaKey().PublicKey}, "jwtauth: configure either an HS256 secret or an RS256 public key, not both"},
		{"short secret", jwtauth.Config{HS256Secret: []byte("secret")}, "jwtauth: HS256 secret must be at least 32 bytes, got 6"},
		{"small RSA key", jwtauth.Config{RS256PublicKey: &small.PublicKey}, "jwtauth: RS256 key must have at least 2048 bits, got 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := jwtauth.New(tt.cfg)
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestMint(t *testing.T) {
	tests := []struct {
		name    string
		opts    jwtauth.MintOptions
		want    string // payload JSON, or the error
		wantErr bool
	}{
		{
			name: "all claims",
			opts: jwtauth.MintOptions{Subject: "alice", Groups: []string{"admins", "dev"}, TTL: time.Hour, Now: now, Issuer: "iss", Audience: "aud", HS256Secret: secret},
			want: `{"aud":"aud","exp":1700003600,"groups":["admins","dev"],"iat":1700000000,"iss":"iss","sub":"alice"}`,
		},
		{
			name: "minimal",
			opts: jwtauth.MintOptions{Subject: "bob", TTL: time.Minute, Now: now, HS256Secret: secret},
			want: `{"exp":1700000060,"iat":1700000000,"sub":"bob"}`,
		},
		{name: "no subject", opts: jwtauth.MintOptions{TTL: time.Hour, HS256Secret: secret}, want: "jwtauth: mint: subject is empty", wantErr: true},
		{name: "wildcard subject", opts: jwtauth.MintOptions{Subject: "*", TTL: time.Hour, HS256Secret: secret}, want: "jwtauth: mint: subject: contains an IAM wildcard ('*' or '?')", wantErr: true},
		{name: "zero ttl", opts: jwtauth.MintOptions{Subject: "bob", HS256Secret: secret}, want: "jwtauth: mint: ttl must be positive, got 0s", wantErr: true},
		{name: "no key", opts: jwtauth.MintOptions{Subject: "bob", TTL: time.Hour}, want: "jwtauth: mint: no key: configure an HS256 secret or an RS256 private key", wantErr: true},
		{name: "short secret", opts: jwtauth.MintOptions{Subject: "bob", TTL: time.Hour, HS256Secret: []byte("s")}, want: "jwtauth: mint: HS256 secret must be at least 32 bytes, got 1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := jwtauth.Mint(tt.opts)
			if tt.wantErr {
				if err == nil || err.Error() != tt.want {
					t.Fatalf("err = %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(tok, ".")
			if len(parts) != 3 {
				t.Fatalf("token has %d parts", len(parts))
			}
			header, _ := jwt.NewParser().DecodeSegment(parts[0])
			if string(header) != `{"alg":"HS256","typ":"JWT"}` {
				t.Errorf("header = %s", header)
			}
			payload, _ := jwt.NewParser().DecodeSegment(parts[1])
			if string(payload) != tt.want {
				t.Errorf("payload = %s\nwant      %s", payload, tt.want)
			}
		})
	}
}

// TestAllowsAgreesWithPolicy checks the Go decision used by the ext_authz
// endpoint against the gateway's own evaluation of the policy Response
// returns, for each kind of caller and request.
func TestAllowsAgreesWithPolicy(t *testing.T) {
	m, err := arn.Parse(methodARN)
	if err != nil {
		t.Fatal(err)
	}
	ids := []jwtauth.Identity{
		{Subject: "alice", Groups: []string{"admins"}, ExpiresAt: now},
		{Subject: "bob", Groups: []string{"dev"}, ExpiresAt: now},
		{Subject: "a/b", ExpiresAt: now},
		{Subject: "bob.smith@example.com", Groups: []string{"Admins"}, ExpiresAt: now},
		{Subject: "auth0|bob", Groups: []string{"dev"}, ExpiresAt: now},
		{Subject: "bob_1", ExpiresAt: now},
		{Subject: "bob.smith@example.com", Groups: []string{"admins"}, ExpiresAt: now},
		// Authenticate refuses these; Response must stay safe without it.
		{Subject: "*", ExpiresAt: now},
		{Subject: "b*", ExpiresAt: now},
	}
	requests := []struct {
		method, path string
	}{
		{"GET", "/"}, {"GET", "/pets"}, {"GET", "/users/bob/"}, {"HEAD", "/pets"}, {"DELETE", "/users/bob"},
		{"POST", "/users/bob"}, {"POST", "/users/bob/"}, {"POST", "/users/bobby"}, {"POST", "/users/bo"},
		{"POST", "/users/alice"}, {"POST", "/users/a/b"}, {"POST", "/users"}, {"POST", "/"},
		{"POST", "/users/bob.smith@example.com"}, {"PUT", "/users/bob"}, {"get", "/pets"},
		{"POST", "/users/auth0|bob"}, {"POST", "/users/bob_1"}, {"POST", "/users/*"}, {"POST", "/users/b*"},
	}
	for _, id := range ids {
		resp, err := jwtauth.Response(id, m)
		if err != nil {
			t.Fatalf("%s: Response: %v", id.Subject, err)
		}
		doc, err := json.Marshal(resp.PolicyDocument)
		if err != nil {
			t.Fatal(err)
		}
		p, err := policy.Parse(doc)
		if err != nil {
			t.Fatalf("%s: policy does not parse: %v\n%s", id.Subject, err, doc)
		}
		for _, r := range requests {
			t.Run(id.Subject+" "+r.method+" "+r.path, func(t *testing.T) {
				resource := arn.Format(m.Region, m.AccountID, m.APIID, m.Stage, r.method, r.path)
				d, _ := p.Evaluate(&policy.Request{Resource: resource})
				res := strings.TrimSuffix(strings.TrimPrefix(r.path, "/"), "/")
				if got, want := id.Allows(r.method, res), d == policy.Allow; got != want {
					t.Errorf("Allows = %v, policy says %s", got, d)
				}
			})
		}
	}
}

// FuzzAuthenticate feeds arbitrary Authorization values: nothing may panic,
// and only a correctly signed token may pass.
func FuzzAuthenticate(f *testing.F) {
	a := newAuthorizer(f, jwtauth.Config{HS256Secret: secret})
	good := sign(f, jwt.SigningMethodHS256, secret, claims("bob", "dev"))
	for _, s := range []string{
		"Bearer " + good, "bearer " + good, "Bearer", "Bearer ", "", " ", "Basic x",
		"Bearer " + strings.TrimSuffix(good, good[len(good)-2:]),
		"Bearer " + sign(f, jwt.SigningMethodHS256, secret, claims("*")),
		"Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, authorization string) {
		id, err := a.Authenticate(authorization)
		if err != nil {
			if !errors.Is(err, jwtauth.ErrUnauthorized) {
				t.Fatalf("error %v does not wrap ErrUnauthorized", err)
			}
			return
		}
		if id.Subject == "" || strings.ContainsAny(id.Subject, "*?") {
			t.Fatalf("accepted subject %q", id.Subject)
		}
		_, token, _ := strings.Cut(authorization, " ")
		// Any accepted token must carry our HS256 signature over its content.
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			t.Fatalf("accepted %q", authorization)
		}
		sig, err := jwt.NewParser().DecodeSegment(parts[2])
		if err != nil {
			t.Fatalf("accepted undecodable signature in %q", authorization)
		}
		if err := jwt.SigningMethodHS256.Verify(parts[0]+"."+parts[1], sig, secret); err != nil {
			t.Fatalf("accepted %q with a bad signature", authorization)
		}
	})
}

// FuzzResponse builds the non-admin policy for arbitrary subjects: Response
// must succeed for any non-empty subject, and its policy must agree with
// Allows on POST to the subject's own path and to a path a wildcard in the
// subject would reach.
func FuzzResponse(f *testing.F) {
	m, err := arn.Parse(methodARN)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"bob", "auth0|bob", "bob@example.com", "a/b", "*", "b*", "bob/", "${x}", "b?b", "a_b", "\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sub string) {
		id := jwtauth.Identity{Subject: sub, Groups: []string{"dev"}, ExpiresAt: now}
		resp, err := jwtauth.Response(id, m)
		if sub == "" {
			if err == nil {
				t.Fatal("Response accepted an empty subject")
			}
			return
		}
		if err != nil {
			t.Fatalf("Response(%q): %v", sub, err)
		}
		doc, err := json.Marshal(resp.PolicyDocument)
		if err != nil {
			t.Fatal(err)
		}
		p, err := policy.Parse(doc)
		if err != nil {
			t.Fatalf("policy does not parse: %v\n%s", err, doc)
		}
		for _, path := range []string{"/users/" + sub, "/users/zz-other"} {
			resource := arn.Format(m.Region, m.AccountID, m.APIID, m.Stage, "POST", path)
			d, _ := p.Evaluate(&policy.Request{Resource: resource})
			res := strings.TrimSuffix(strings.TrimPrefix(path, "/"), "/")
			if got, want := id.Allows("POST", res), d == policy.Allow; got != want {
				t.Fatalf("sub %q, POST %s: Allows = %v, policy says %s\n%s", sub, path, got, d, doc)
			}
		}
	})
}
