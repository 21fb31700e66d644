package plugin

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/authgate/authgate/filter/abi"
)

// TestHostileAnswers delivers each hostile answer to a paused request, then
// serves an ordinary request on the same VM: the hostile answer is a 500
// at once, a body past maxResponseBytes is never copied into the VM, and
// the VM keeps working.
func TestHostileAnswers(t *testing.T) {
	allow := `{"principalId":"p","policyDocument":{"Version":"2012-10-17","Statement":` +
		`{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}}}`
	tests := []struct {
		name     string
		headers  []abi.Header
		body     string
		bodySize uint32 // what the host reports; 0: len(body)
		readBody bool   // whether the filter may copy the body in
		reason   string // the warning's reason
	}{
		{name: "deeply nested", body: `{"principalId":"p","x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, readBody: true,
			reason: `"invalid authorizer response: response: nested deeper than 32 levels"`},
		{name: "larger than maxResponseBytes", body: "", bodySize: 1<<20 + 1, reason: `"authorizer answer larger than maxResponseBytes (1048576)"`},
		{name: "far larger than maxResponseBytes", body: "", bodySize: 15 << 20, reason: `"authorizer answer larger than maxResponseBytes (1048576)"`},
		{name: "gzip", headers: []abi.Header{{Name: "content-encoding", Value: "gzip"}}, body: allow, readBody: true,
			reason: `"authorizer answer has content-encoding \"gzip\"; only identity is read"`},
		{name: "not UTF-8", body: strings.Replace(allow, `"p"`, "\"\xff\"", 1), readBody: true,
			reason: `"invalid authorizer response: response: not valid UTF-8"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.request(2, "GET", "/pets/1", bearer("hostile"))
			if len(e.h.Callouts) != 1 {
				t.Fatalf("callouts %d, want 1", len(e.h.Callouts))
			}
			hs := append([]abi.Header{{Name: ":status", Value: "200"}}, tt.headers...)
			size := tt.bodySize
			if size == 0 {
				size = uint32(len(tt.body))
			}
			e.h.Current = rootID
			e.h.SetCalloutResponse(rootID, hs, []byte(tt.body))
			before := len(e.h.Calls)
			e.p.OnHTTPCallResponse(rootID, e.h.Callouts[0].ID, uint32(len(hs)), size, 0)
			var names []string
			for _, c := range e.h.Calls[before:] {
				names = append(names, c.Name)
			}
			if read := slices.Contains(names, abi.FnGetBufferBytes); read != tt.readBody {
				t.Errorf("body read = %v, want %v (host calls %v)", read, tt.readBody, names)
			}
			local := e.h.Streams[2].Local
			if len(local) != 1 || local[0].Status != 500 || local[0].Body != `{"message":null}` {
				t.Fatalf("local responses %+v, want one 500", local)
			}
			// A malformed answer, whose reason names the limit.
			warn := strings.Join(e.h.LogsAt(abi.LogWarn), "\n")
			if !strings.Contains(warn, "decision=ERROR status=500 reason="+tt.reason) {
				t.Errorf("warnings %q lack reason %s", warn, tt.reason)
			}
			malformed := -1
			for _, m := range e.h.Store.Metrics() {
				if m.Name == "authgate.tok.error_malformed" {
					malformed = int(m.Value)
				}
			}
			if malformed != 1 {
				t.Errorf("authgate.tok.error_malformed = %d, want 1 (-1: not defined)", malformed)
			}
			e.end(2)

			if act := e.request(3, "GET", "/health"); act != abi.ActionContinue || len(e.h.Streams[3].Local) != 0 {
				t.Errorf("route without authorizer after the hostile answer: action %d, local %+v", act, e.h.Streams[3].Local)
			}
			e.end(3)
			e.request(4, "GET", "/pets/2", bearer("ordinary"))
			e.answer(e.h.Callouts[1].ID, 200, allow)
			if s := e.h.Streams[4]; len(s.Local) != 0 || s.Continued != 1 {
				t.Errorf("ordinary authorized request: local %+v, continued %d", s.Local, s.Continued)
			}
			e.end(4)
			e.assertEmpty()
		})
	}
}

// TestCalloutAsksForIdentity checks the header that asks the authorizer
// not to compress its answer.
func TestCalloutAsksForIdentity(t *testing.T) {
	e := newEnv(t)
	e.request(2, "GET", "/pets/1", bearer("x"))
	if v, _ := header(e.h.Callouts[0].Headers, "accept-encoding"); v != "identity" {
		t.Errorf("accept-encoding %q, want identity (%v)", v, fmt.Sprint(e.h.Callouts[0].Headers))
	}
}
