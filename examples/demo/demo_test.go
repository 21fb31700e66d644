package main

import (
	"bytes"
	"context"
	"os"
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

func TestDemoOnce(t *testing.T) {
	wasm := needs(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	passed, err := run(ctx, options{once: true, wasm: wasm, freePorts: true, concurrency: 2, readyTimeout: testReadyTimeout}, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if !passed {
		t.Fatalf("not every check passed:\n%s", out.String())
	}
	text := out.String()
	if got := strings.Count(text, "   PASS  "); got != len(checks) {
		t.Errorf("%d PASS lines, want %d:\n%s", got, len(checks), text)
	}
	for _, want := range []string{
		"PASS: 6 of 6 checks passed",
		"export ADMIN_TOKEN=ey",
		"export USER_TOKEN=ey",
		`-X DELETE -H "Authorization: Bearer $ADMIN_TOKEN"`,
		`"x-authorizer-principal-id":"alice"`,
		`-> 403 {"Message":"User is not authorized to access this resource"}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	// --free-ports must keep the demo off the example's fixed ports, so
	// the test runs next to a demo a developer left running.
	for _, fixed := range []string{":8080", ":9000", ":9001", ":9901"} {
		if strings.Contains(text, "127.0.0.1"+fixed+"\n") || strings.Contains(text, "127.0.0.1"+fixed+" ") {
			t.Errorf("output mentions fixed port %s with --free-ports:\n%s", fixed, text)
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
