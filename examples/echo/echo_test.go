package echo

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHandler(t *testing.T) {
	r := httptest.NewRequest("DELETE", "/users/bob%2F1?q=1", nil)
	r.Header.Set("X-Authorizer-Principal-Id", "alice")
	r.Header.Set("X-Authorizer-Tier", "gold")
	r.Header.Set("Authorization", "Bearer secret")
	w := httptest.NewRecorder()
	Handler().ServeHTTP(w, r)
	body, _ := io.ReadAll(w.Body)
	want := `{"method":"DELETE","path":"/users/bob%2F1","authorizerHeaders":{"x-authorizer-principal-id":"alice","x-authorizer-tier":"gold"}}` + "\n"
	if w.Code != http.StatusOK || string(body) != want {
		t.Errorf("got %d %s, want 200 %s", w.Code, body, want)
	}
	for name, val := range map[string]string{"Echo-X-Authorizer-Principal-Id": "alice", "Echo-X-Authorizer-Tier": "gold", "Content-Type": "application/json"} {
		if got := w.Header().Get(name); got != val {
			t.Errorf("%s = %q, want %q", name, got, val)
		}
	}
	if w.Header().Get("Echo-Authorization") != "" {
		t.Errorf("echoed a header outside x-authorizer-*")
	}
	if p := Principal(body); p != "alice" {
		t.Errorf("Principal = %q", p)
	}
	if p := Principal([]byte("not json")); p != "" {
		t.Errorf("Principal of garbage = %q", p)
	}
}
