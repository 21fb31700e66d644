package main

import (
	"io"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/examples/jwt-authorizer/jwtauth"
)

// TestNative runs the example as its main does, with the example
// configuration and the example JWT authorizer: the README quotes this
// program, so it must build and work.
func TestNative(t *testing.T) {
	secret := []byte(strings.Repeat("k", jwtauth.MinHS256SecretBytes))
	auth, err := jwtauth.New(jwtauth.Config{HS256Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	authz, err := auth.Handler(jwtauth.API{Region: "us-east-1", AccountID: "123456789012", APIID: "a1b2c3d4e5", Stage: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	authzSrv := httptest.NewServer(authz)
	defer authzSrv.Close()
	raw, err := os.ReadFile("../envoy/authgate.json")
	if err != nil {
		t.Fatal(err)
	}
	h, err := newHandler(raw, authzSrv.URL, hello)
	if err != nil {
		t.Fatal(err)
	}
	token, err := jwtauth.Mint(jwtauth.MintOptions{Subject: "alice", HS256Secret: secret, TTL: time.Hour, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path, token string
		status                    int
		body                      string
	}{
		{"allowed", "GET", "/pets", token, 200, "hello alice, you may GET /pets\n"},
		{"denied by the policy", "DELETE", "/users/bob", token, 403, `{"Message":"User is not authorized to access this resource"}`},
		{"no token", "GET", "/pets", "", 401, `{"message":"Unauthorized"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.token != "" {
				r.Header.Set("Authorization", "Bearer "+tt.token)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			body, _ := io.ReadAll(w.Body)
			if w.Code != tt.status || string(body) != tt.body {
				t.Errorf("got %d %q, want %d %q", w.Code, body, tt.status, tt.body)
			}
		})
	}
	if _, err := newHandler([]byte(`{}`), authzSrv.URL, hello); err == nil || !strings.HasPrefix(err.Error(), "config: ") {
		t.Errorf("a bad configuration gave %v", err)
	}
}

// TestREADMEQuotesThisProgram: the README shows this program, from its
// package clause on, exactly as it is here.
func TestREADMEQuotesThisProgram(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, program, ok := strings.Cut(string(src), "\npackage main\n")
	if !ok {
		t.Fatal("main.go has no package clause")
	}
	if quoted := "```go\npackage main\n" + program + "```\n"; !strings.Contains(string(readme), quoted) {
		t.Errorf("README.md does not quote examples/native/main.go as it is; paste it again from \"package main\" on")
	}
}
