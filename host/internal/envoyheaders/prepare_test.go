package envoyheaders

import (
	"net/http"
	"regexp"
	"testing"
)

func TestPrepare(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	tests := []struct {
		name    string
		in      http.Header
		gone    []string
		kept    map[string]string
		givenID string
	}{
		{
			name: "hop-by-hop headers and those Connection names",
			in: http.Header{"Connection": {"close, X-Secret"}, "X-Secret": {"s"}, "Keep-Alive": {"5"},
				"Proxy-Connection": {"x"}, "Transfer-Encoding": {"chunked"}, "Upgrade": {"h2c"}, "Authorization": {"Bearer a"}},
			gone: []string{"Connection", "X-Secret", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade"},
			kept: map[string]string{"Authorization": "Bearer a"},
		},
		{
			name: "te trailers stays, other te goes",
			in:   http.Header{"Te": {"trailers"}},
			kept: map[string]string{"Te": "trailers"},
		},
		{
			name: "te gzip goes",
			in:   http.Header{"Te": {"gzip"}},
			gone: []string{"Te"},
		},
		{
			name:    "client request id kept",
			in:      http.Header{"X-Request-Id": {"abc"}},
			kept:    map[string]string{"X-Request-Id": "abc"},
			givenID: "abc",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := Prepare(tt.in)
			for _, name := range tt.gone {
				if v, ok := tt.in[http.CanonicalHeaderKey(name)]; ok {
					t.Errorf("%s still present: %q", name, v)
				}
			}
			for name, want := range tt.kept {
				if got := tt.in.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			switch {
			case tt.givenID != "" && id != tt.givenID:
				t.Errorf("request id = %q, want the client's %q", id, tt.givenID)
			case tt.givenID == "" && !uuid.MatchString(id):
				t.Errorf("generated request id %q is not a version 4 UUID", id)
			}
			if got := tt.in.Get("X-Request-Id"); got != id {
				t.Errorf("x-request-id header = %q, want %q", got, id)
			}
		})
	}
	if a, b := Prepare(http.Header{}), Prepare(http.Header{}); a == b {
		t.Errorf("two generated request ids are equal: %s", a)
	}
}
