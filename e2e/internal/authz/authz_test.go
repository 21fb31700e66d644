package authz

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
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

const arn = "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/pets/1"

func tokenEvent(token string) string {
	return `{"type":"TOKEN","authorizationToken":"` + token + `","methodArn":"` + arn + `"}`
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAnswers(t *testing.T) {
	s := New()
	s.Script("set", `{"principalId":"scripted"}`)
	srv := httptest.NewServer(s)
	defer srv.Close()
	tests := []struct {
		name, path, body string
		status           int
		contains         string
	}{
		{"allow", "/", tokenEvent("Bearer allow.a"), 200, `"Resource":"arn:aws:execute-api:us-east-1:123456789012:api/prod/*"`},
		{"principal", "/", tokenEvent("Bearer allow.a"), 200, `"principalId":"user-a"`},
		{"second authorizer", "/b/authorize", tokenEvent("Bearer allow.a"), 200, `"principalId":"b-user-a"`},
		{"getonly", "/", tokenEvent("Bearer getonly.a"), 200, `api/prod/GET/*`},
		{"implicit", "/", tokenEvent("Bearer implicit.a"), 200, `api/not-prod/*`},
		{"deny", "/", tokenEvent("Bearer deny.a"), 200, `"Effect":"Deny","Resource":"arn:aws:execute-api:us-east-1:123456789012:api/prod/*"`},
		{"ctx keeps literals", "/", tokenEvent("Bearer ctx.a"), 200, `"numberKey":42,"floatKey":2.5,"booleanKey":true,"Mixed-Case":"MiXeD"`},
		{"tier", "/", tokenEvent("Bearer tier.a"), 200, `"context":{"tier":"gold","quota":7,"beta":true}`},
		{"emptyval", "/", tokenEvent("Bearer emptyval.a"), 200, `"context":{"empty":"","set":"yes"}`},
		{"crlf", "/", tokenEvent("Bearer crlf.a"), 200, `"bad":"a\r\nx-injected: yes"`},
		{"unauth401", "/", tokenEvent("Bearer unauth401.a"), 401, "Unauthorized"},
		{"unknown", "/", tokenEvent("Bearer whatever.a"), 401, "Unauthorized"},
		{"fail500", "/", tokenEvent("Bearer fail500.a"), 500, "boom"},
		{"noprincipal", "/", tokenEvent("Bearer noprincipal.a"), 200, `{"policyDocument"`},
		{"request event by x-token", "/request", `{"type":"REQUEST","methodArn":"` + arn + `","headers":{"X-Token":"allow.r"}}`, 200, `"principalId":"user-r"`},
		{"request event by authorization", "/request", `{"type":"REQUEST","methodArn":"` + arn + `","headers":{"authorization":"Bearer deny.r"}}`, 200, `"Effect":"Deny"`},
		{"payload 2.0 by routeArn", "/v2", `{"version":"2.0","type":"REQUEST","routeArn":"` + arn + `","headers":{"x-token":"allow.v"}}`, 200, `api/prod/*`},
		{"simple allow", SimplePath, `{"version":"2.0","type":"REQUEST","headers":{"x-token":"allow.s"}}`, 200, `{"isAuthorized":true}`},
		{"simple tier", SimplePath, `{"version":"2.0","type":"REQUEST","headers":{"x-token":"tier.s"}}`, 200, `{"isAuthorized":true,"context":{"tier":"gold","quota":7,"beta":true}}`},
		{"simple deny", SimplePath, `{"version":"2.0","type":"REQUEST","headers":{"x-token":"deny.s"}}`, 200, `{"isAuthorized":false}`},
		{"simple fail", SimplePath, `{"version":"2.0","type":"REQUEST","headers":{"x-token":"fail500.s"}}`, 500, "boom"},
		{"admindeny", "/", tokenEvent("Bearer admindeny.a"), 200, `{"Action":"execute-api:Invoke","Effect":"Deny","Resource":"arn:aws:execute-api:us-east-1:123456789012:api/prod/*/admin"}`},
		{"petsonly", "/", tokenEvent("Bearer petsonly.a"), 200, `"Resource":"arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/pets"},{"Action"`},
		{"ip10", "/", tokenEvent("Bearer ip10.a"), 200, `"Effect":"Allow","Resource":"arn:aws:execute-api:us-east-1:123456789012:api/prod/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`},
		{"iploop", "/", tokenEvent("Bearer iploop.a"), 200, `"Condition":{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}`},
		{"denyoutside10", "/", tokenEvent("Bearer denyoutside10.a"), 200, `"Effect":"Deny","Resource":"arn:aws:execute-api:us-east-1:123456789012:api/prod/*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`},
		{"scripted", "/", tokenEvent("Bearer script.set"), 200, `{"principalId":"scripted"}`},
		{"scripted, request event", "/request", `{"type":"REQUEST","headers":{"x-token":"script.set"}}`, 200, `{"principalId":"scripted"}`},
		{"scripted, nothing set", "/", tokenEvent("Bearer script.unset"), 200, `"Unauthorized"`},
		{"no token", "/request", `{"type":"REQUEST","headers":{"other":"x"}}`, 400, "no token"},
		{"not JSON", "/", `{"type"`, 400, "no token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, srv.URL+tt.path, tt.body)
			if status != tt.status || !strings.Contains(body, tt.contains) {
				t.Errorf("got %d %s; want %d containing %s", status, body, tt.status, tt.contains)
			}
		})
	}
	if got := len(s.Unreadable()); got != 2 {
		t.Errorf("Unreadable() has %d bodies, want 2", got)
	}
	if ev := s.Events("allow.r"); len(ev) != 1 || ev[0].Path != "/request" || ev[0].Type != "REQUEST" || ev[0].ARN != arn {
		t.Errorf("Events(allow.r) = %+v", ev)
	}
}

func TestCallsCountedConcurrently(t *testing.T) {
	s := New()
	srv := httptest.NewServer(s)
	defer srv.Close()
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { post(t, srv.URL, tokenEvent("Bearer allow.c")) })
	}
	wg.Wait()
	post(t, srv.URL, tokenEvent("Bearer deny.c"))
	post(t, srv.URL, `{}`)
	if got := s.Calls("Bearer allow.c"); got != 10 {
		t.Errorf("Calls(allow.c) = %d, want 10", got)
	}
	if got := s.Total(); got != 12 {
		t.Errorf("Total() = %d, want 12 (11 calls and one without a token)", got)
	}
	if got := s.Tokens(); len(got) != 2 || got[0] != "Bearer allow.c" || got[1] != "Bearer deny.c" {
		t.Errorf("Tokens() = %q", got)
	}
	ev := s.Events("Bearer deny.c")
	ev[0].Path = "changed"
	if s.Events("Bearer deny.c")[0].Path == "changed" {
		t.Error("Events returned the server's own slice")
	}
}

// TestHostileAnswers checks that each hostile answer is what its
// behaviour says: sized, framed and encoded as documented, and otherwise
// an answer that allows.
func TestHostileAnswers(t *testing.T) {
	srv := httptest.NewServer(New())
	defer srv.Close()
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	tests := []struct {
		behaviour string
		check     func(t *testing.T, resp *http.Response, body []byte)
	}{
		{Deep, func(t *testing.T, _ *http.Response, body []byte) {
			if n := strings.Count(string(body), "["); n < DeepLevels {
				t.Errorf("%d brackets, want %d", n, DeepLevels)
			}
		}},
		{Big, func(t *testing.T, resp *http.Response, body []byte) {
			if len(body) != BigBytes || resp.ContentLength != -1 {
				t.Errorf("%d bytes, content-length %d; want %d sent chunked", len(body), resp.ContentLength, BigBytes)
			}
		}},
		{BigLength, func(t *testing.T, resp *http.Response, body []byte) {
			if len(body) != BigBytes || resp.ContentLength != BigBytes {
				t.Errorf("%d bytes, content-length %d; want %d both", len(body), resp.ContentLength, BigBytes)
			}
		}},
		{Padded, func(t *testing.T, _ *http.Response, body []byte) {
			if len(body) != PaddedBytes || !json.Valid(body) {
				t.Errorf("%d bytes (valid JSON %v), want %d", len(body), json.Valid(body), PaddedBytes)
			}
		}},
		{Gzip, func(t *testing.T, resp *http.Response, body []byte) {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil || resp.Header.Get("Content-Encoding") != "gzip" {
				t.Fatalf("content-encoding %q: %v", resp.Header.Get("Content-Encoding"), err)
			}
			plain, _ := io.ReadAll(zr)
			if !strings.Contains(string(plain), `"principalId":"user-x"`) {
				t.Errorf("decoded %s", plain)
			}
		}},
		{NotUTF8, func(t *testing.T, _ *http.Response, body []byte) {
			if utf8.Valid(body) {
				t.Errorf("valid UTF-8: %s", body)
			}
		}},
		{FoldUnderscore, func(t *testing.T, _ *http.Response, body []byte) {
			if !strings.Contains(string(body), `"context":{"principal_id":"root"}`) {
				t.Errorf("body %s", body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.behaviour, func(t *testing.T) {
			resp, err := client.Post(srv.URL, "application/json", strings.NewReader(tokenEvent("Bearer "+tt.behaviour+".x")))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("status %d: %v", resp.StatusCode, err)
			}
			tt.check(t, resp, body)
		})
	}
}
