package e2e

import (
	"regexp"
	"strings"
	"testing"

	"github.com/authgate/authgate/e2e/internal/authz"
)

// TestEnvoyDecisionsAndCauses runs the wasm filter and the dynamic
// module in Envoy at Envoy's default log level with logDecisions set:
// every decision line shows at info, each authorizer failure as a warning
// whose reason names its cause (for an answer refused by a limit, the
// limit), and the error_<cause> counters tell the failures apart.
func TestEnvoyDecisionsAndCauses(t *testing.T) {
	for _, tt := range []struct {
		gw        *envoyGateway
		component string // Envoy's log component for the filter's lines
	}{
		{wasmEnvoy(1), "wasm"}, // one worker: one VM counts every request
		{moduleEnvoy(""), "dynamic_modules"},
	} {
		t.Run(tt.gw.host, func(t *testing.T) {
			needHost(t, tt.gw)
			checkDecisionsAndCauses(t, tt.gw, tt.component)
		})
	}
}

func checkDecisionsAndCauses(t *testing.T, gw *envoyGateway, component string) {
	e := newEnv(t)
	cfg := strings.Replace(tokenConfig, `"stage": "prod",`, `"stage": "prod", "logDecisions": true,`, 1)
	inst, err := gw.start(t, spec{cfgs: [][]byte{[]byte(cfg)}, env: e})
	if err != nil {
		t.Fatalf("envoy did not become ready: %v", err)
	}
	client := newClient(t, protocols[0], true)
	before := envoyCounters(t, inst.envoy.AdminURL(), gw.stats())
	steps := []struct {
		path, token string
		status      int
		line        string // a regexp the Envoy log must match
	}{
		{"/pets/1", bearer(authz.Allow, "dec"), 200,
			`\[info\]\[` + component + `\] .*method=GET path=/pets/1 route=/pets/\{id\} authorizer=jwt cache=miss decision=ALLOW status=200 `},
		{"/pets/2", bearer(authz.Allow, "dec"), 200,
			`\[info\]\[` + component + `\] .*path=/pets/2 route=/pets/\{id\} authorizer=jwt cache=hit decision=ALLOW status=200 `},
		{"/pets/1", bearer(authz.Fail500, "dec"), 500,
			`\[warning\]\[` + component + `\] .*decision=ERROR status=500 reason="authorizer answered status 500"`},
		{"/pets/1", bearer(authz.Malformed, "dec"), 500,
			`\[warning\]\[` + component + `\] .*decision=ERROR status=500 reason="invalid authorizer response: `},
		// Answers refused before they are read, or before a recursive
		// parser sees them, are malformed; the reason names the limit.
		{"/pets/1", bearer(authz.BigLength, "dec"), 500,
			`\[warning\]\[` + component + `\] .*decision=ERROR status=500 reason="authorizer answer larger than maxResponseBytes \(1048576\)"`},
		{"/pets/1", bearer(authz.Big, "dec"), 500,
			`\[warning\]\[` + component + `\] .*decision=ERROR status=500 reason="authorizer answer larger than maxResponseBytes \(1048576\)"`},
		{"/pets/1", bearer(authz.Gzip, "dec"), 500,
			`\[warning\]\[` + component + `\] .*decision=ERROR status=500 reason=` + regexp.QuoteMeta(`"authorizer answer has content-encoding \"gzip\"; only identity is read"`)},
		{"/pets/1", bearer(authz.Deep, "dec"), 500,
			`\[warning\]\[` + component + `\] .*decision=ERROR status=500 reason="invalid authorizer response: response: nested deeper than 32 levels"`},
		{"/pets/1", bearer(authz.Hangup, "dec"), 500,
			`\[warning\]\[` + component + `\] .*decision=ERROR status=500 reason="authorizer call reset: connection termination"`},
		{"/dead/1", bearer(authz.Allow, "dec"), 500,
			`\[warning\]\[` + component + `\] .*authorizer=dead cache=miss decision=ERROR status=500 reason="authorizer call refused: remote connection failure"`},
		{"/slow/1", bearer(authz.Slow, "dec"), 500,
			`\[warning\]\[` + component + `\] .*authorizer=short cache=miss decision=ERROR status=500 reason="authorizer call timed out after 300ms"`},
	}
	for _, s := range steps {
		r, err := send(client, inst.bases[0], get(s.path, auth(s.token)))
		if err != nil {
			t.Fatalf("%s %s: %v", s.path, s.token, err)
		}
		if r.status != s.status {
			t.Errorf("%s %s: status %d, want %d (%s)", s.path, s.token, r.status, s.status, r.body)
		}
	}
	after := envoyCounters(t, inst.envoy.AdminURL(), gw.stats())
	for name, want := range map[string]int64{
		"authgate.jwt.allow": 2, "authgate.jwt.error": 7,
		"authgate.jwt.error_status": 1, "authgate.jwt.error_malformed": 5, "authgate.jwt.error_reset": 1,
		"authgate.dead.error": 1, "authgate.dead.error_refused": 1,
		"authgate.short.error": 1, "authgate.short.error_timeout": 1, "authgate.short.timeout": 1,
		"authgate.jwt.error_refused": 0, "authgate.jwt.error_timeout": 0,
	} {
		if _, ok := after[name]; !ok {
			t.Errorf("/stats has no %s%s", gw.stats().stats, name)
			continue
		}
		if got := after[name] - before[name]; got != want {
			t.Errorf("%s%s moved by %d, want %d", gw.stats().stats, name, got, want)
		}
	}
	_ = inst.envoy.Stop() // flushes the log
	log := inst.envoy.Log()
	for _, s := range steps {
		if !regexp.MustCompile(s.line).MatchString(log) {
			t.Errorf("envoy log has no line matching %s", s.line)
		}
	}
	if strings.Contains(log, "[debug]") {
		t.Errorf("envoy logged at debug level without being asked to")
	}
	if strings.Contains(log, "decision=PENDING") {
		t.Errorf("the pending lines, which stay at debug, reached the log")
	}
}
