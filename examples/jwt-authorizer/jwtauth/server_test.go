package jwtauth_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/examples/internal/testutil"
	"github.com/authgate/authgate/examples/jwt-authorizer/jwtauth"
)

var api = jwtauth.API{Region: "us-east-1", AccountID: "123456789012", APIID: "a1b2c3d4e5", Stage: "prod"}

func newServer(t *testing.T, logs io.Writer) *httptest.Server {
	t.Helper()
	a := newAuthorizer(t, jwtauth.Config{HS256Secret: secret, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	h, err := a.Handler(api)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, srv *httptest.Server, method, target, authorization, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// TestMintServeRoundTrip mints tokens and sends them as authgate would: the
// TOKEN event POSTed to the authorizer endpoint.
func TestMintServeRoundTrip(t *testing.T) {
	logs := &testutil.SyncBuffer{}
	srv := newServer(t, logs)
	mint := func(sub string, groups ...string) string {
		return mustMint(t, jwtauth.MintOptions{Subject: sub, Groups: groups, TTL: time.Hour, Now: now, HS256Secret: secret})
	}
	expired := mustMint(t, jwtauth.MintOptions{Subject: "bob", TTL: time.Second, Now: now.Add(-time.Hour), HS256Secret: secret})
	event := func(token string) string {
		return `{"type":"TOKEN","authorizationToken":"Bearer ` + token + `","methodArn":"` + methodARN + `"}`
	}
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantBody   string
	}{
		{name: "admin", body: event(mint("alice", "dev", "admins")), wantStatus: 200, wantBody: adminJSON},
		{name: "user", body: event(mint("bob", "dev")), wantStatus: 200, wantBody: userJSON},
		{name: "expired", body: event(expired), wantStatus: 401, wantBody: `{"errorMessage":"Unauthorized"}`},
		{name: "bad methodArn", body: `{"type":"TOKEN","authorizationToken":"Bearer ` + mint("bob") + `","methodArn":"nope"}`, wantStatus: 500,
			wantBody: `{"errorMessage":"jwtauth: methodArn: arn: must start with \"arn:\", got \"nope\"","errorType":"wrapError"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := do(t, srv, http.MethodPost, "/", "", tt.body)
			if status != tt.wantStatus || body != tt.wantBody {
				t.Errorf("got %d %s\nwant %d %s", status, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
	if strings.Contains(logs.String(), expired) || strings.Contains(logs.String(), "eyJ") {
		t.Errorf("a token was logged:\n%s", logs)
	}
	if n := strings.Count(logs.String(), "msg=decision"); n != len(tests) {
		t.Errorf("%d decision lines, want %d:\n%s", n, len(tests), logs)
	}
}

func TestExtAuthz(t *testing.T) {
	logs := &testutil.SyncBuffer{}
	srv := newServer(t, logs)
	tok := func(sub string, groups ...string) string {
		return "Bearer " + mustMint(t, jwtauth.MintOptions{Subject: sub, Groups: groups, TTL: time.Hour, Now: now, HS256Secret: secret})
	}
	admin, user := tok("alice", "admins"), tok("bob", "dev")
	email := tok("bob@example.com", "dev")
	expired := "Bearer " + mustMint(t, jwtauth.MintOptions{Subject: "bob", TTL: time.Second, Now: now.Add(-time.Hour), HS256Secret: secret})
	const (
		forbidden    = `{"Message":"User is not authorized to access this resource"}`
		unauthorized = `{"message":"Unauthorized"}`
		badRequest   = `{"message":"Bad Request"}`
	)
	tests := []struct {
		name          string
		method        string
		target        string
		authorization string
		wantStatus    int
		wantPrincipal string
		wantBody      string
	}{
		{"admin anything", "DELETE", "/ext_authz/users/bob", admin, 200, "alice", ""},
		{"admin root", "PUT", "/ext_authz/", admin, 200, "alice", ""},
		{"user GET", "GET", "/ext_authz/pets/1?x=1", user, 200, "bob", ""},
		{"user GET root", "GET", "/ext_authz/", user, 200, "bob", ""},
		{"user POST self", "POST", "/ext_authz/users/bob", user, 200, "bob", ""},
		{"user POST self trailing slash", "POST", "/ext_authz/users/bob/", user, 200, "bob", ""},
		{"user POST self encoded", "POST", "/ext_authz/users/%62ob", user, 200, "bob", ""},
		{"user POST other", "POST", "/ext_authz/users/alice", user, 403, "", forbidden},
		{"user POST longer", "POST", "/ext_authz/users/bobby", user, 403, "", forbidden},
		{"user POST below self", "POST", "/ext_authz/users/bob/x", user, 403, "", forbidden},
		{"user DELETE", "DELETE", "/ext_authz/users/bob", user, 403, "", forbidden},
		{"email sub GET", "GET", "/ext_authz/pets", email, 200, "bob@example.com", ""},
		{"email sub POST self", "POST", "/ext_authz/users/bob@example.com", email, 403, "", forbidden},
		{"no token", "GET", "/ext_authz/pets", "", 401, "", unauthorized},
		{"expired", "GET", "/ext_authz/pets", expired, 401, "", unauthorized},
		{"not bearer", "GET", "/ext_authz/pets", strings.Replace(user, "Bearer", "Token", 1), 401, "", unauthorized},
		{"dot dot", "POST", "/ext_authz/users/alice/../bob", user, 400, "", badRequest},
		{"encoded slash", "POST", "/ext_authz/users%2Fbob", user, 400, "", badRequest},
		{"double slash", "GET", "/ext_authz//pets", user, 400, "", badRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, header, body := do(t, srv, tt.method, tt.target, tt.authorization, "")
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %s)", status, tt.wantStatus, body)
			}
			if got := header.Get(jwtauth.PrincipalHeader); got != tt.wantPrincipal {
				t.Errorf("principal = %q, want %q", got, tt.wantPrincipal)
			}
			if body != tt.wantBody {
				t.Errorf("body = %s, want %s", body, tt.wantBody)
			}
		})
	}
	for _, line := range []string{
		`decision=allow principalId=bob methodArn=arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/POST/users/bob`,
		`decision=deny principalId=bob methodArn=arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/POST/users/alice`,
	} {
		if !strings.Contains(logs.String(), line) {
			t.Errorf("log lacks %q:\n%s", line, logs)
		}
	}
}

func TestHandlerRejectsBadAPI(t *testing.T) {
	a := newAuthorizer(t, jwtauth.Config{HS256Secret: secret})
	tests := []struct {
		name string
		api  jwtauth.API
		want string
	}{
		{"bad account", jwtauth.API{Region: "us-east-1", AccountID: "12", APIID: "a1b2c3d4e5", Stage: "prod"}, "jwtauth: api account id: "},
		{"empty stage", jwtauth.API{Region: "us-east-1", AccountID: "123456789012", APIID: "a1b2c3d4e5"}, "jwtauth: api stage: "},
		{"bad region", jwtauth.API{Region: "Mars", AccountID: "123456789012", APIID: "a1b2c3d4e5", Stage: "prod"}, "jwtauth: api region: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.Handler(tt.api)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %v, want prefix %q", err, tt.want)
			}
		})
	}
}
