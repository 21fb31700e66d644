package envoyheaders

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// readRequest parses raw as net/http's server would.
func readRequest(t *testing.T, raw string) *http.Request {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatalf("ReadRequest: %v", err)
	}
	return r
}

// fields is n distinct header lines.
func fields(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "X-H%d: v\r\n", i)
	}
	return b.String()
}

// TestRefuse pins what Envoy 1.40's HTTP/1 codec was measured to refuse,
// and in which order: methods outside its list, target bytes outside
// '!'..'~', more than 100 header entries (99 headers and Host pass;
// joined headers count once, others once per line; Transfer-Encoding
// counts), HTTP/1.0.
func TestRefuse(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		status int // 0: passes
		body   string
	}{
		{"few headers", "GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\n\r\n", 0, ""},
		{"100 with host", "GET / HTTP/1.1\r\nHost: x\r\n" + fields(99) + "\r\n", 0, ""},
		{"101 with host", "GET / HTTP/1.1\r\nHost: x\r\n" + fields(100) + "\r\n", 431, "Request Header Fields Too Large"},
		{"joined header counts once", "GET / HTTP/1.1\r\nHost: x\r\n" + fields(97) + "Authorization: a\r\nAuthorization: b\r\nAuthorization: c\r\n\r\n", 0, ""},
		{"other repeated header counts per line", "GET / HTTP/1.1\r\nHost: x\r\n" + fields(98) + "X-M: a\r\nX-M: b\r\n\r\n", 431, "Request Header Fields Too Large"},
		{"transfer-encoding counts", "POST / HTTP/1.1\r\nHost: x\r\n" + fields(99) + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 431, "Request Header Fields Too Large"},
		{"transfer-encoding within the limit", "POST / HTTP/1.1\r\nHost: x\r\n" + fields(98) + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, ""},
		{"HTTP/1.0", "GET / HTTP/1.0\r\nHost: x\r\n\r\n", 426, "Upgrade Required"},
		{"HTTP/1.0 without host", "GET / HTTP/1.0\r\n\r\n", 426, "Upgrade Required"},

		// Methods: Envoy's codec knows http-parser's list, spelt exactly.
		{"unknown method", "FOO / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Bad Request"},
		{"lower-case method", "get / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Bad Request"},
		{"mixed-case method", "Delete / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Bad Request"},
		{"M-SEARCH as written", "M-SEARCH / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Bad Request"},
		{"MSEARCH as http-parser spells it", "MSEARCH / HTTP/1.1\r\nHost: x\r\n\r\n", 0, ""},
		{"PROPFIND is known", "PROPFIND / HTTP/1.1\r\nHost: x\r\n\r\n", 0, ""},
		{"TRACE is known", "TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 0, ""},
		{"QUERY without a body", "QUERY / HTTP/1.1\r\nHost: x\r\n\r\n", 400, ""},
		{"CONNECT with a path", "CONNECT /pets HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Bad Request"},
		{"CONNECT to an authority", "CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n", 0, ""},

		// Target bytes: '!' to '~'.
		{"raw UTF-8 in the path", "GET /pets/\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Bad Request"},
		{"raw UTF-8 in the query", "GET /pets?a=\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Bad Request"},
		{"percent-encoded UTF-8", "GET /pets/%C3%A9 HTTP/1.1\r\nHost: x\r\n\r\n", 0, ""},
		{"absolute form", "GET http://api.example/pets?q=1 HTTP/1.1\r\nHost: x\r\n\r\n", 0, ""},

		// The order Envoy finds them in (measured on Envoy 1.40).
		{"method before HTTP/1.0", "FOO / HTTP/1.0\r\nHost: x\r\n\r\n", 400, "Bad Request"},
		{"method before the header count", "FOO / HTTP/1.1\r\nHost: x\r\n" + fields(100) + "\r\n", 400, "Bad Request"},
		{"target before HTTP/1.0", "GET /\xc3\xa9 HTTP/1.0\r\nHost: x\r\n\r\n", 400, "Bad Request"},
		{"header count before HTTP/1.0", "GET / HTTP/1.0\r\nHost: x\r\n" + fields(100) + "\r\n", 431, "Request Header Fields Too Large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			refused := Refuse(rec, readRequest(t, tt.raw))
			if refused != (tt.status != 0) {
				t.Fatalf("Refuse = %v, want %v", refused, tt.status != 0)
			}
			if !refused {
				return
			}
			if rec.Code != tt.status || rec.Body.String() != tt.body {
				t.Errorf("answer %d %q, want %d %q", rec.Code, rec.Body, tt.status, tt.body)
			}
			if ct, want := rec.Header().Get("Content-Type"), map[bool]string{true: "text/plain"}[tt.body != ""]; ct != want {
				t.Errorf("content-type %q, want %q", ct, want)
			}
			if c := rec.Header().Get("Connection"); c != "close" {
				t.Errorf("connection %q, want close: Envoy closes after a codec error", c)
			}
		})
	}
}

// TestRefuseHTTP2 checks the HTTP/2 count (the pseudo headers count) and
// that past it the stream is reset, as Envoy resets it.
func TestRefuseHTTP2(t *testing.T) {
	h2 := func(n int) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
		for i := range n {
			r.Header.Set(fmt.Sprintf("X-H%d", i), "v")
		}
		return r
	}
	if Refuse(httptest.NewRecorder(), h2(96)) {
		t.Error("96 fields, Host and 3 pseudo headers refused")
	}
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("97 fields over HTTP/2: recovered %v, want http.ErrAbortHandler (a reset stream)", v)
		}
	}()
	Refuse(httptest.NewRecorder(), h2(97))
	t.Error("97 fields over HTTP/2 were not refused")
}
