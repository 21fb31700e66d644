package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/examples/internal/testutil"
)

const testSecret = "0123456789abcdef0123456789abcdef"

func mintCLI(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append([]string{"mint"}, args...), &out, &errOut, nil); err != nil {
		t.Fatalf("mint %v: %v (%s)", args, err, errOut.String())
	}
	return strings.TrimSpace(out.String())
}

// startCLI runs `serve` until the test ends and checks it shuts down
// cleanly.
func startCLI(t *testing.T, args ...string) (addr string, logs *testutil.SyncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	logs = &testutil.SyncBuffer{}
	go func() {
		done <- run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), io.Discard, logs, ready)
	}()
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v after shutdown", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not shut down")
		}
	})
	return addr, logs
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestServeAndMint(t *testing.T) {
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	privFile, pubFile := filepath.Join(dir, "key.pem"), filepath.Join(dir, "pub.pem")
	if err := os.WriteFile(privFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JWT_SECRET", "")
	tests := []struct {
		name      string
		serveArgs []string
		mintArgs  []string
		want      string
	}{
		{
			name:      "HS256 admin",
			serveArgs: []string{"--hs256-secret", testSecret},
			mintArgs:  []string{"--sub", "alice", "--groups", "admins,dev", "--hs256-secret", testSecret},
			want:      `"Resource":["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/*/*"]`,
		},
		{
			name:      "RS256 user",
			serveArgs: []string{"--rs256-public-key", pubFile, "--issuer", "me"},
			mintArgs:  []string{"--sub", "bob", "--rs256-private-key", privFile, "--issuer", "me"},
			want:      `"Resource":["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/*","arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/POST/users/bob"]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, logs := startCLI(t, tt.serveArgs...)
			token := mintCLI(t, tt.mintArgs...)
			status, body := post(t, "http://"+addr+"/", `{"type":"TOKEN","authorizationToken":"Bearer `+token+`","methodArn":"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets"}`)
			if status != 200 || !strings.Contains(body, tt.want) {
				t.Errorf("got %d %s, want 200 with %s", status, body, tt.want)
			}
			status, body = post(t, "http://"+addr+"/", `{"type":"TOKEN","authorizationToken":"Bearer `+token+`x","methodArn":"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets"}`)
			if status != 401 || body != `{"errorMessage":"Unauthorized"}` {
				t.Errorf("tampered token: got %d %s", status, body)
			}
			if strings.Contains(logs.String(), token) {
				t.Errorf("token logged:\n%s", logs)
			}
		})
	}
}

func TestSecretFromEnvironment(t *testing.T) {
	t.Setenv("JWT_SECRET", testSecret)
	addr, _ := startCLI(t)
	token := mintCLI(t, "--sub", "carol")
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/ext_authz/pets", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("x-authorizer-principal-id") != "carol" {
		t.Errorf("ext_authz: %d principal %q", resp.StatusCode, resp.Header.Get("x-authorizer-principal-id"))
	}
}

func TestCLIErrors(t *testing.T) {
	t.Setenv("JWT_SECRET", "")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", nil, "missing subcommand"},
		{"unknown", []string{"frob"}, `unknown subcommand "frob"`},
		{"serve without key", []string{"serve"}, "serve: no key: set --hs256-secret, JWT_SECRET or an RS256 key file"},
		{"serve short secret", []string{"serve", "--hs256-secret", "x"}, "serve: jwtauth: HS256 secret must be at least 32 bytes, got 1"},
		{"serve both keys", []string{"serve", "--hs256-secret", testSecret, "--rs256-public-key", "f"}, "serve: --hs256-secret and --rs256-public-key are exclusive"},
		{"serve bad api", []string{"serve", "--hs256-secret", testSecret, "--account", "1"}, "serve: jwtauth: api account id: "},
		{"mint without sub", []string{"mint", "--hs256-secret", testSecret}, "jwtauth: mint: subject is empty"},
		{"mint missing key file", []string{"mint", "--sub", "a", "--rs256-private-key", "/nonexistent.pem"}, "mint: open /nonexistent.pem: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, io.Discard, io.Discard, nil)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %v, want prefix %q", err, tt.want)
			}
		})
	}
}
