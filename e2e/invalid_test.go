package e2e

import (
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/examples/envoy/envoyrun"
)

// invalidConfig is the TOKEN configuration with one bad field; every host
// must refuse it and name the field.
func invalidConfig(t *testing.T) []byte {
	t.Helper()
	const good = `"authorizerResultTtlInSeconds": 0`
	if strings.Count(tokenConfig, good) != 1 {
		t.Fatalf("tokenConfig no longer has exactly one %s to break", good)
	}
	return []byte(strings.Replace(tokenConfig, good, `"authorizerResultTtlInSeconds": 7200`, 1))
}

// badField is the JSON path every host's error must name.
const badField = "authorizers.nocache.authorizerResultTtlInSeconds"

// TestInvalidPluginConfig checks that a bad configuration never yields a
// gateway that forwards requests: the native and wasm hosts refuse to start,
// and Envoy 1.40 refuses the whole configuration and exits (the filter's
// proxy_on_configure fails on the main thread while Envoy builds the
// listener, and a fail-closed plugin that cannot load is a configuration
// error), logging the filter's message at error level.
func TestInvalidPluginConfig(t *testing.T) {
	bad := invalidConfig(t)

	t.Run("native", func(t *testing.T) {
		_, err := config.Parse(bad)
		if err == nil || !strings.Contains(err.Error(), badField) {
			t.Fatalf("config.Parse error = %v, want one naming %s", err, badField)
		}
	})

	t.Run("wasm", func(t *testing.T) {
		e := newEnv(t)
		_, logs, err := newWasmHost(t, "wasm", bad, e.clusters, wasmPool, nil)
		if err == nil {
			t.Fatal("wasm.New accepted an invalid plugin configuration")
		}
		if !strings.Contains(logs.String(), badField) {
			t.Errorf("wasm host log does not name %s; error %v; log:\n%s", badField, err, logs.String())
		}
	})

	t.Run("envoy", func(t *testing.T) {
		gw := wasmEnvoy(0)
		needHost(t, gw)
		e := newEnv(t)
		_, logPath, err := gw.launch(t, spec{cfgs: [][]byte{bad}, env: e})
		if !errors.Is(err, envoyrun.ErrExited) {
			t.Fatalf("launch = %v, want Envoy to exit on the invalid configuration", err)
		}
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
			t.Errorf("envoy exit = %v, want exit status 1", err)
		}
		log := readLog(logPath)
		// The filter's own message, through proxy_log at error level.
		filterLine := regexp.MustCompile(`\[error\]\[wasm\] .*wasm log authgate.*: invalid plugin configuration: ` + regexp.QuoteMeta(badField) + `: `)
		if !filterLine.MatchString(log) {
			t.Errorf("envoy log has no [error][wasm] line from the filter naming %s", badField)
		}
		if !strings.Contains(log, "Unable to create Wasm plugin authgate") {
			t.Errorf("envoy log does not say it refused the plugin")
		}
		if n := e.up.Requests(); n != 0 {
			t.Errorf("upstream received %d requests", n)
		}
		if n := e.authz.Total(); n != 0 {
			t.Errorf("authorizer received %d calls", n)
		}
	})
}
