package pipeline

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/authgate/authgate/core/authorizer"
)

// parseAllow reads an Allow answer with the given context object (its
// JSON text, kept as written).
func parseAllow(t testing.TB, principal, context string) (*authorizer.Result, error) {
	t.Helper()
	p, _ := json.Marshal(principal)
	body := `{"principalId":` + string(p) + `,"policyDocument":{"Version":"2012-10-17","Statement":[` +
		`{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]},"context":` + context + `}`
	return authorizer.ParseResponse(200, []byte(body))
}

// decodeContextHeader returns the JSON text ContextHeader carries in set,
// and whether set has exactly one.
func decodeContextHeader(t testing.TB, set []Header) (string, bool) {
	t.Helper()
	var doc string
	n := 0
	for _, h := range set {
		if h.Name != ContextHeader {
			continue
		}
		n++
		b, err := base64.StdEncoding.DecodeString(h.Value)
		if err != nil {
			t.Fatalf("%s %q is not standard base64: %v", ContextHeader, h.Value, err)
		}
		doc = string(b)
	}
	return doc, n == 1
}

// TestUpstreamHeaders: every context reaches the upstream whole inside
// ContextHeader; an entry also gets a header of its own only when its key
// and value are safe as a header and no other name reads the same to a
// CGI-style upstream.
func TestUpstreamHeaders(t *testing.T) {
	tests := []struct {
		name    string
		context string
		own     []Header // the headers besides the principal and ContextHeader
	}{
		{"plain keys", `{"tier":"gold","n":42,"ok":true,"f":2.50}`,
			[]Header{{Name: "x-authorizer-tier", Value: "gold"}, {Name: "x-authorizer-n", Value: "42"}, {Name: "x-authorizer-ok", Value: "true"}, {Name: "x-authorizer-f", Value: "2.50"}}},
		{"key case is lowered", `{"Mixed-Case":"MiXeD"}`, []Header{{Name: "x-authorizer-mixed-case", Value: "MiXeD"}}},
		{"a key with a space", `{"user id":"u1","tier":"gold"}`, []Header{{Name: "x-authorizer-tier", Value: "gold"}}},
		{"keys that differ only in case", `{"Role":"admin","role":"user","x":"1"}`, []Header{{Name: "x-authorizer-x", Value: "1"}}},
		{"keys that differ only in _ and -", `{"user_id":"a","user-id":"b"}`, nil},
		{"an underscore key alone", `{"user_id":"a"}`, []Header{{Name: "x-authorizer-user_id", Value: "a"}}},
		{"the principal header's name", `{"principal_id":"root","Principal-Id":"root"}`, nil},
		{"the principal header's name in every spelling", `{"principal-id":"a","PRINCIPAL_ID":"b","Principal_id":"c","principal":"d"}`,
			[]Header{{Name: "x-authorizer-principal", Value: "d"}}},
		{"the context header's name", `{"context":"x","CONTEXT":"y"}`, nil},
		{"leading and trailing blanks", `{"a":" x","b":"x ","c":"x y"}`, []Header{{Name: "x-authorizer-c", Value: "x y"}}},
		{"control characters", `{"a":"x\r\nx-admin: 1","b":"tab\there","c":"nul\u0000"}`, nil},
		{"an empty value", `{"empty":"","set":"yes"}`, []Header{{Name: "x-authorizer-set", Value: "yes"}}},
		{"non-ASCII", `{"name":"José","ascii":"Jose"}`, []Header{{Name: "x-authorizer-ascii", Value: "Jose"}}},
		{"escaped in JSON", `{"q":"say \"hi\"","u":"\u0041"}`, []Header{{Name: "x-authorizer-q", Value: `say "hi"`}, {Name: "x-authorizer-u", Value: "A"}}},
		{"an empty key", `{"":"x"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := parseAllow(t, "alice", tt.context)
			if err != nil {
				t.Fatalf("ParseResponse: %v", err)
			}
			set, err := UpstreamHeaders(res)
			if err != nil {
				t.Fatalf("UpstreamHeaders: %v", err)
			}
			want := append([]Header{{Name: PrincipalHeader, Value: "alice"}}, tt.own...)
			if got := set[:len(set)-1]; !equalHeaders(got, want) {
				t.Errorf("headers %q, want %q", got, want)
			}
			doc, ok := decodeContextHeader(t, set)
			if !ok || set[len(set)-1].Name != ContextHeader {
				t.Fatalf("want one %s, last: %q", ContextHeader, set)
			}
			if doc != tt.context {
				t.Errorf("%s decodes to %s, want the authorizer's %s", ContextHeader, doc, tt.context)
			}
		})
	}
}

func TestUpstreamHeadersWithoutContext(t *testing.T) {
	for _, ctx := range []string{`{}`, `null`} {
		res, err := parseAllow(t, "alice", ctx)
		if err != nil {
			t.Fatalf("%s: ParseResponse: %v", ctx, err)
		}
		set, err := UpstreamHeaders(res)
		if err != nil || !equalHeaders(set, []Header{{Name: PrincipalHeader, Value: "alice"}}) {
			t.Errorf("%s: headers %q, %v; want only the principal", ctx, set, err)
		}
	}
}

// FuzzUpstreamHeaders: for any context an answer may carry, the headers
// are valid, unique as a CGI-style upstream reads names, never carry a
// control character, and ContextHeader decodes to the context as sent.
func FuzzUpstreamHeaders(f *testing.F) {
	f.Add(`{"tier":"gold","n":42}`)
	f.Add(`{"Role":"a","role":"b","user_id":"c","user-id":"d"}`)
	f.Add(`{"x":"a\r\nb","principal_id":"root","context":""}`)
	f.Add(`{"k":" v ","\u00e9":"\u00e9","":""}`)
	f.Fuzz(func(t *testing.T, context string) {
		res, err := parseAllow(t, "p", context)
		if err != nil {
			return
		}
		set, err := UpstreamHeaders(res)
		if err != nil {
			t.Fatalf("UpstreamHeaders refused a parsed context: %v", err)
		}
		seen := map[string]bool{}
		for _, h := range set {
			if !validHeaderName(h.Name) || !validHeaderValue(h.Value) || h.Value == "" {
				t.Fatalf("header %q: %q cannot be sent as is", h.Name, h.Value)
			}
			folded := foldName(h.Name)
			if seen[folded] {
				t.Fatalf("two headers read as %s: %q", folded, set)
			}
			seen[folded] = true
		}
		doc, ok := decodeContextHeader(t, set)
		if len(res.Context) == 0 {
			if ok {
				t.Fatalf("an empty context sent %s", ContextHeader)
			}
			return
		}
		if !ok || !json.Valid([]byte(doc)) {
			t.Fatalf("%s carries %q", ContextHeader, doc)
		}
		if !sameJSONObject([]byte(context), []byte(doc)) {
			t.Fatalf("%s decodes to %s, want %s", ContextHeader, doc, context)
		}
	})
}

// sameJSONObject reports whether a and b decode to equal JSON values.
func sameJSONObject(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}
