package wasm_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authgate/authgate/host/wasm"
)

// limitsConfig routes /health without an authorizer and everything else
// through one TOKEN authorizer that caches nothing, so every request on
// the VM asks the authorizer again.
const limitsConfig = `{"region":"us-east-1","accountId":"123456789012","restApiId":"a1b2c3d4e5","stage":"prod",
 "authorizers":{"jwt":{"type":"TOKEN","cluster":"authorizer","authorizerResultTtlInSeconds":0}},
 "routes":[{"method":"ANY","path":"/health","authorizer":"NONE"},{"method":"ANY","path":"/{proxy+}","authorizer":"jwt"}]}`

// TestFilterSurvivesHostileAnswers runs the compiled filter on one VM: an
// authorizer answer nested far deeper than any engine's stack allows, one
// past maxResponseBytes and a compressed one are each answered 500 at
// once, and the same VM then serves ordinary requests.
func TestFilterSurvivesHostileAnswers(t *testing.T) {
	const allowPolicy = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}}`
	allow := `{"principalId":"alice","policyDocument":` + allowPolicy + `}`
	authz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ev := string(b)
		switch {
		case strings.Contains(ev, "Bearer deep"):
			// 400000 levels: deep enough to trap the VM in a recursive
			// validator even on wazero's large stack.
			// Ignored member, valid policy: only the depth is wrong.
			fmt.Fprintf(w, `{"principalId":"p","x":%s1%s,"policyDocument":%s}`,
				strings.Repeat("[", 400000), strings.Repeat("]", 400000), allowPolicy)
		case strings.Contains(ev, "Bearer huge"):
			// 15 MiB, sent chunked: within the host's default bound, far
			// past the authorizer's maxResponseBytes.
			io.WriteString(w, `{"principalId":"p","pad":"`+strings.Repeat("x", 15<<20)+`","policyDocument":`+allowPolicy+`}`)
		case strings.Contains(ev, "Bearer big"):
			io.WriteString(w, `{"principalId":"p","pad":"`+strings.Repeat("x", 2<<20)+`","policyDocument":`+allowPolicy+`}`)
		case strings.Contains(ev, "Bearer gzip"):
			w.Header().Set("Content-Encoding", "gzip")
			io.WriteString(w, allow)
		default:
			io.WriteString(w, allow)
		}
	}))
	defer authz.Close()
	h, err := wasm.New(context.Background(), wasm.Config{
		Wasm: filterWasm(t), PluginConfig: []byte(limitsConfig), PoolSize: 1,
		Clusters: map[string]string{"authorizer": authz.URL},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	handler := h.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "upstream "+r.Header.Get("X-Authorizer-Principal-Id"))
	}))
	do := func(path, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		return rec
	}
	for _, token := range []string{"deep", "big", "gzip"} {
		t.Run(token, func(t *testing.T) {
			if rec := do("/pets", token); rec.Code != 500 || rec.Body.String() != `{"message":null}` ||
				rec.Header().Get("X-Amzn-Errortype") != "AuthorizerConfigurationException" {
				t.Errorf("hostile answer: %d %q, want the authorizer failure answer", rec.Code, rec.Body)
			}
			if rec := do("/health", ""); rec.Code != 200 || rec.Body.String() != "upstream " {
				t.Errorf("route without authorizer next: %d %q", rec.Code, rec.Body)
			}
			if rec := do("/pets", "ordinary"); rec.Code != 200 || rec.Body.String() != "upstream alice" {
				t.Errorf("ordinary request next: %d %q", rec.Code, rec.Body)
			}
		})
	}
	if n := h.Replacements(); n != 0 {
		t.Errorf("%d VMs replaced, want none: no answer may trap the filter", n)
	}
	// The filter never copies an answer past maxResponseBytes into its
	// VM, whose memory would keep the growth for good: a 15 MiB answer
	// leaves the VM's memory as an ordinary one does.
	do("/pets", "ordinary")
	before := h.MemoryBytes()[0]
	if rec := do("/pets", "huge"); rec.Code != 500 {
		t.Errorf("15 MiB answer: %d %q, want 500", rec.Code, rec.Body)
	}
	if after := h.MemoryBytes()[0]; after > before+1<<20 {
		t.Errorf("the VM's memory grew from %d to %d bytes for an answer it must not read", before, after)
	}
}
