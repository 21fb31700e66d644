package testauthz

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, token, behaviour, id string
	}{
		{"bearer", "Bearer allow.a1", "allow", "a1"},
		{"no scheme", "deny.x", "deny", "x"},
		{"dots in id", "Bearer ctx.a.b", "ctx", "a.b"},
		{"no id", "Bearer allow", "allow", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, id := Parse(tt.token)
			if b != tt.behaviour || id != tt.id {
				t.Errorf("Parse(%q) = %q, %q; want %q, %q", tt.token, b, id, tt.behaviour, tt.id)
			}
		})
	}
}

func post(t *testing.T, url, token string) (int, string) {
	t.Helper()
	ev, _ := json.Marshal(Event{Type: "TOKEN", AuthorizationToken: token,
		MethodArn: "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/pets/1"})
	resp, err := http.Post(url, "application/json", strings.NewReader(string(ev)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAnswers(t *testing.T) {
	s := New()
	srv := httptest.NewServer(s)
	defer srv.Close()
	tests := []struct {
		name, token string
		status      int
		contains    string
	}{
		{"allow", "Bearer allow.a", 200, `"Resource":"arn:aws:execute-api:us-east-1:123456789012:api/prod/*"`},
		{"getonly", "Bearer getonly.a", 200, `api/prod/GET/*`},
		{"implicit", "Bearer implicit.a", 200, `api/not-prod/*`},
		{"ctx keeps number literals", "Bearer ctx.a", 200, `"numberKey":42,"floatKey":2.5,"booleanKey":true`},
		{"unauth401", "Bearer unauth401.a", 401, "Unauthorized"},
		{"unknown", "Bearer whatever.a", 401, "Unauthorized"},
		{"fail500", "Bearer fail500.a", 500, "boom"},
		{"noprincipal", "Bearer noprincipal.a", 200, `"policyDocument"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, srv.URL, tt.token)
			if status != tt.status || !strings.Contains(body, tt.contains) {
				t.Errorf("got %d %s; want %d containing %s", status, body, tt.status, tt.contains)
			}
		})
	}
}

func TestCallsCountedConcurrently(t *testing.T) {
	s := New()
	srv := httptest.NewServer(s)
	defer srv.Close()
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { post(t, srv.URL, "Bearer allow.c") })
	}
	wg.Wait()
	post(t, srv.URL, "Bearer deny.c")
	if got := s.Calls("Bearer allow.c"); got != 10 {
		t.Errorf("Calls(allow.c) = %d, want 10", got)
	}
	if got := s.Total(); got != 11 {
		t.Errorf("Total() = %d, want 11", got)
	}
	resp, err := http.Get(srv.URL + "/calls")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var counts map[string]int
	if err := json.NewDecoder(resp.Body).Decode(&counts); err != nil {
		t.Fatal(err)
	}
	if counts["Bearer allow.c"] != 10 || counts["Bearer deny.c"] != 1 {
		t.Errorf("GET /calls = %v", counts)
	}
}
