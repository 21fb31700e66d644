package main

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/examples/envoy/envoyrun"
	"github.com/authgate/authgate/examples/lambdarun"
)

// needs returns the filter to run, skipping the test when Envoy or the
// filter is missing, unless Envoy is required (CI, `make test`): there a
// skip would hide that the demo never ran.
func needs(t *testing.T) string {
	t.Helper()
	skip := func(err error) {
		if envoyrun.Required() {
			t.Fatalf("Envoy and the filter are required here (CI or %s=1): %v", envoyrun.RequireVar, err)
		}
		t.Skip(err)
	}
	if _, err := envoyrun.Binary(); err != nil {
		skip(err)
	}
	wasm, err := envoyrun.FilterFile()
	if err != nil {
		skip(err)
	}
	return wasm
}

// testReadyTimeout bounds the wait for Envoy in the tests: `make test` runs
// packages side by side, and V8 then compiles the filter on a busy machine.
const testReadyTimeout = 3 * time.Minute

// TestDemoSecret: the tokens' secret comes from --secret, else
// $JWT_SECRET, else is random; one given must be long enough for HS256.
func TestDemoSecret(t *testing.T) {
	long := strings.Repeat("s", 32)
	tests := []struct {
		name, flag, env string
		want            string // "" with wantErr: an error; "" without: random
		wantErr         bool
	}{
		{name: "flag", flag: long + "f", env: long + "e", want: long + "f"},
		{name: "environment", env: long + "e", want: long + "e"},
		{name: "random", want: ""},
		{name: "too short", flag: "short", wantErr: true},
		{name: "environment too short", env: "short", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(SecretVar, tt.env)
			got, err := demoSecret(tt.flag)
			switch {
			case tt.wantErr:
				if err == nil {
					t.Errorf("secret %q, want an error", got)
				}
			case err != nil:
				t.Fatal(err)
			case tt.want != "" && string(got) != tt.want:
				t.Errorf("secret %q, want %q", got, tt.want)
			case tt.want == "" && len(got) != 64:
				t.Errorf("random secret %q, want 64 hex digits", got)
			}
		})
	}
}

func TestParseCurl(t *testing.T) {
	raw := "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ndate: Thu, 03 Dec 2026 10:00:00 GMT\r\nx-amzn-errortype: AccessDeniedException\r\n\r\n{\"Message\":\"no\"}"
	a, err := parseCurl([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"HTTP/1.1 403 Forbidden", "content-type: application/json", "x-amzn-errortype: AccessDeniedException"}
	if a.status != 403 || !slices.Equal(a.head, want) || string(a.body) != `{"Message":"no"}` {
		t.Errorf("got %d %q %q", a.status, a.head, a.body)
	}
	for _, bad := range []string{"", "HTTP/1.1\r\n\r\n", "HTTP/1.1 abc\r\n\r\n", "no blank line"} {
		if _, err := parseCurl([]byte(bad)); err == nil {
			t.Errorf("parseCurl(%q) gave no error", bad)
		}
	}
}

// TestDemoLambda runs the tour with the authorizer as a Lambda function
// (make demo AUTHORIZER=lambda).
func TestDemoLambda(t *testing.T) {
	wasm := needs(t)
	if _, err := lambdarun.RIEBinary(); err != nil {
		if os.Getenv("CI") != "" && os.Getenv("CI") != "false" {
			t.Fatalf("CI is set: %v", err)
		}
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	passed, err := run(ctx, options{once: true, wasm: wasm, freePorts: true, concurrency: 2, authorizer: "lambda", readyTimeout: testReadyTimeout}, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if !passed || !strings.Contains(out.String(), "Lambda function jwt-authorizer") {
		t.Fatalf("not every check passed:\n%s", out.String())
	}
}

// TestDemoModule runs the tour with the dynamic module in Envoy (make demo
// GATEWAY=module): the same checks pass, and the module answers them.
func TestDemoModule(t *testing.T) {
	needs(t)
	o := options{once: true, gateway: gatewayModule, freePorts: true, concurrency: 2, readyTimeout: testReadyTimeout}
	if _, err := codeFile(o); err != nil {
		if envoyrun.Required() {
			t.Fatalf("the dynamic module is required here (CI or %s=1): %v", envoyrun.RequireVar, err)
		}
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	passed, err := run(ctx, o, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	if !passed || !strings.Contains(text, "PASS: 6 of 6 checks passed") {
		t.Fatalf("not every check passed:\n%s", text)
	}
	if !strings.Contains(text, "examples/envoy/envoy-module.yaml with the filter at ") || !strings.Contains(text, "libauthgate.so") {
		t.Errorf("the output does not show the module running:\n%s", text)
	}
}
