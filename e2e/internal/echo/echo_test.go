package echo

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// exchange writes raw requests on one connection and reads one answer
// each, so the test controls every byte the upstream receives.
func exchange(t *testing.T, s *Server, raws ...string) []*Request {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	var out []*Request
	for _, raw := range raws {
		if _, err := io.WriteString(c, raw); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Header.Get(Marker) != "1" {
			t.Fatalf("answer without the marker: %d %s", resp.StatusCode, body)
		}
		r, err := Decode(body)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// TestWire checks the upstream reports what was on the wire, request after
// request on one connection, bodies in between included.
func TestWire(t *testing.T) {
	s := NewServer()
	defer s.Close()
	got := exchange(t, s,
		"GET /a/../b;x=1?q=%20 HTTP/1.1\r\nHost: up\r\nX_Authorizer_Principal_Id: admin\r\nx-authorizer-principal-id:  user-1 \r\nX-Multi: one\r\nx-multi: two\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: up\r\nContent-Length: 31\r\n\r\nGET /fake HTTP/1.1\r\nHost: x\r\n\r\n",
		"get /lower HTTP/1.1\r\nhost: up\r\n\r\n",
	)
	first := got[0]
	if !first.Wire || first.Method != "GET" || first.Target != "/a/../b;x=1?q=%20" {
		t.Errorf("first request: %+v", first)
	}
	wantHeader := [][2]string{{"Host", "up"}, {"X_Authorizer_Principal_Id", "admin"}, {"x-authorizer-principal-id", "user-1"},
		{"X-Multi", "one"}, {"x-multi", "two"}}
	if !slices.Equal(first.Header, wantHeader) {
		t.Errorf("header fields %q, want %q", first.Header, wantHeader)
	}
	if got[1].Body != "GET /fake HTTP/1.1\r\nHost: x\r\n\r\n" || got[1].Target != "/p" {
		t.Errorf("second request: %+v", got[1])
	}
	if third := got[2]; !third.Wire || third.Method != "get" || !slices.Equal(third.Header, [][2]string{{"host", "up"}}) {
		t.Errorf("third request (after a body that looks like a request): %+v", third)
	}
	if n := s.Requests(); n != 3 {
		t.Errorf("Requests() = %d, want 3", n)
	}
}

// TestInProcess checks the handler still reports a request that did not
// come over a recording connection, saying so.
func TestInProcess(t *testing.T) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/x?y=1", nil)
	req.Header["X_a"] = []string{"1"}
	Handler().ServeHTTP(rec, req)
	r, err := Decode(rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if r.Wire || r.Target != "/x?y=1" || !slices.Equal(r.Header, [][2]string{{"X_a", "1"}}) {
		t.Errorf("%+v", r)
	}
}

// TestHeadReport checks an answer to HEAD, which has no body, still
// carries the description.
func TestHeadReport(t *testing.T) {
	s := NewServer()
	defer s.Close()
	req, err := http.NewRequest(http.MethodHead, s.URL+"/h?x=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	r, err := DecodeAnswer(resp.Header, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != "HEAD" || r.Target != "/h?x=1" || !r.Wire {
		t.Errorf("%+v", r)
	}
}

// TestReaders checks the three readings of one request.
func TestReaders(t *testing.T) {
	r := &Request{
		Method: "get",
		Target: "/pets/..;x=1/admin/%2e%2e/users;jsessionid=1/%41/?q=1",
		Header: [][2]string{{"X-Authorizer-Principal-Id", "user-1"}, {"x_authorizer_principal_id", "admin"}, {"X-Other", "o"}},
	}
	tests := []struct {
		view                View
		method, path, query string
		principal           []string
	}{
		{r.Plain(), "get", "/pets/..;x=1/admin/../users;jsessionid=1/A/", "q=1", []string{"user-1"}},
		{r.CGI(), "get", "/pets/..;x=1/admin/../users;jsessionid=1/A/", "q=1", []string{"user-1", "admin"}},
		{r.Servlet(), "GET", "/users/A/", "q=1", []string{"user-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.view.Reader, func(t *testing.T) {
			v := tt.view
			if v.Method != tt.method || v.Path != tt.path || v.Query != tt.query {
				t.Errorf("reads %s %s ? %s, want %s %s ? %s", v.Method, v.Path, v.Query, tt.method, tt.path, tt.query)
			}
			if got, _ := v.Get("X-Authorizer-Principal-Id"); !slices.Equal(got, tt.principal) {
				t.Errorf("principal %q, want %q", got, tt.principal)
			}
			if got, _ := v.Get("x-other"); !slices.Equal(got, []string{"o"}) {
				t.Errorf("x-other %q", got)
			}
		})
	}
	for _, tt := range []struct{ in, want string }{
		{"/", "/"}, {"/a//b", "/a/b"}, {"/a/./b/", "/a/b/"}, {"/..", "/"}, {"/a;b/c", "/a/c"}, {"/a%2Fb", "/a/b"}, {"/%zz", "/%zz"},
	} {
		if got := servletPath(tt.in); got != tt.want {
			t.Errorf("servletPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
