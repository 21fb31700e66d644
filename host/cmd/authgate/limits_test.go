package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTestAuthorizerAnswerLimits checks that test-authorizer judges an
// answer as the gateway does: past maxResponseBytes, or compressed, it is
// the authorizer failure the gateway would answer, for the same reason.
func TestTestAuthorizerAnswerLimits(t *testing.T) {
	const allow = `{"principalId":"p","policyDocument":{"Version":"2012-10-17","Statement":` +
		`{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch {
		case strings.Contains(string(b), "Bearer big"):
			io.WriteString(w, `{"pad":"`+strings.Repeat("x", 2048)+`",`+allow[1:])
		case strings.Contains(string(b), "Bearer gzip"):
			w.Header().Set("Content-Encoding", "gzip")
			io.WriteString(w, allow)
		default:
			io.WriteString(w, allow)
		}
	}))
	t.Cleanup(srv.Close)
	cfg := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(cfg, []byte(`{"region":"us-east-1","accountId":"123456789012","restApiId":"a1b2c3d4e5","stage":"prod",
 "authorizers":{"jwt":{"type":"TOKEN","cluster":"authz","maxResponseBytes":1024}},
 "routes":[{"method":"ANY","path":"/{proxy+}","authorizer":"jwt"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		token string
		code  int
		want  string
	}{
		{"Bearer small", 0, "decision:   ALLOW"},
		{"Bearer big", 1, "decision:   ERROR: the gateway answers 500: authorizer answer larger than maxResponseBytes (1024)"},
		{"Bearer gzip", 1, `decision:   ERROR: the gateway answers 500: authorizer answer has content-encoding "gzip"; only identity is read`},
	}
	for _, tt := range tests {
		t.Run(tt.token, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", "test-authorizer", "--config", cfg, "--cluster", "authz="+srv.URL,
				"--authorizer", "jwt", "--token", tt.token, "--path", "/pets")
			if code != tt.code || !strings.Contains(stdout, tt.want) {
				t.Errorf("exit %d, stdout:\n%s\nstderr: %s\nwant exit %d and %q", code, stdout, stderr, tt.code, tt.want)
			}
		})
	}
}
