package native

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/pipeline"
)

// answerTransport answers every authorizer call with a fixed response,
// without a network.
type answerTransport struct {
	status int
	body   []byte
}

func (a answerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: a.status, Header: http.Header{}, Request: r,
		Body: io.NopCloser(bytes.NewReader(a.body)), ContentLength: int64(len(a.body)),
	}, nil
}

// FuzzHandler drives arbitrary request targets, headers and authorizer
// answers through the middleware: it must never panic out, must reach the
// upstream only on an allow, and must never let a client's x-authorizer-*
// header through. A target Envoy's codec would refuse gets its 400 with
// no decision at all.
func FuzzHandler(f *testing.F) {
	f.Add("/pets/1?x=1", "Bearer allow", "mallory", 200, authorizerResponse("alice", "Allow", arnPrefix+"*", map[string]any{"n": 1}))
	f.Add("/pets", "Bearer x", "", 200, authorizerResponse("eve", "Deny", arnPrefix+"*", nil))
	f.Add("/fresh/a/b", "Bearer y", "x", 401, []byte("Unauthorized"))
	f.Add("/pets/%2F", "Bearer z", "", 200, []byte(`{"principalId":`))
	f.Add("/health", "", "x", 500, []byte(""))
	f.Add("/pets/../x", "Bearer q", "", 200, []byte(`"Unauthorized"`))
	plan, err := config.Parse([]byte(testConfig))
	if err != nil {
		f.Fatalf("config: %v", err)
	}
	f.Fuzz(func(t *testing.T, target, token, spoof string, status int, body []byte) {
		if status < 100 || status > 999 {
			status = 200
		}
		var got pipeline.Result
		mw, err := New(plan, Options{
			Clusters:   map[string]string{"authz": "http://authz.invalid"},
			Client:     &http.Client{Transport: answerTransport{status, body}},
			Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
			OnDecision: func(r pipeline.Result) { got = r },
		})
		if err != nil {
			t.Fatal(err)
		}
		reached := false
		var upstream http.Header
		h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reached = true
			upstream = r.Header.Clone()
		}))
		r := httptest.NewRequest("GET", "/", nil)
		r.RequestURI = target
		if token != "" && validValue(token) {
			r.Header.Set("Authorization", token)
		}
		if validValue(spoof) {
			r.Header.Set("X-Authorizer-Spoof", spoof)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch got.Kind {
		case pipeline.KindAllow:
			if !reached {
				t.Fatal("allowed but not forwarded")
			}
			// Every authorizer header upstream is one the pipeline set.
			for k, vs := range upstream {
				if !strings.HasPrefix(strings.ToLower(k), pipeline.HeaderPrefix) {
					continue
				}
				for _, v := range vs {
					if !slices.ContainsFunc(got.Set, func(h pipeline.Header) bool { return strings.EqualFold(h.Name, k) && h.Value == v }) {
						t.Fatalf("upstream got %s: %q, not set by the pipeline (set %v)", k, v, got.Set)
					}
				}
			}
		case pipeline.KindReject:
			if reached || w.Code != got.Status {
				t.Fatalf("rejected %d but forwarded=%v code=%d", got.Status, reached, w.Code)
			}
		case 0:
			// Refused before the pipeline, as Envoy's codec refuses it (a
			// target byte outside '!'..'~').
			if reached || w.Code != http.StatusBadRequest || w.Body.String() != "Bad Request" {
				t.Fatalf("no decision, but forwarded=%v, answered %d %q; want Envoy's 400", reached, w.Code, w.Body)
			}
		default:
			t.Fatalf("result kind %v", got.Kind)
		}
	})
}

// validValue keeps the fuzzer to header values net/http could have received.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
