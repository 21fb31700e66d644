package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// bodyUpstream answers with the whole request body it read.
func bodyUpstream(t *testing.T) string {
	t.Helper()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		io.WriteString(w, "upstream read "+r.Method+" "+string(b))
	}))
	t.Cleanup(upstream.Close)
	return upstream.URL
}

// closedByServer reads from c until the server closes the connection; it
// returns what arrived first, or fails when the bound passes first. The
// bound is far longer than the timeouts under test: this waits for an
// event and measures nothing.
func closedByServer(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open (read so far %q)", b)
	}
	return string(b)
}

func TestServeTimeouts(t *testing.T) {
	addr := startServe(t, []string{"--engine", "native",
		"--idle-timeout", "100ms", "--request-headers-timeout", "100ms", "--request-timeout", "300ms"},
		bodyUpstream(t), "http://127.0.0.1:1")
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	t.Run("idle keep-alive connection closed", func(t *testing.T) {
		c := dial()
		io.WriteString(c, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Close {
			t.Fatalf("first request: %d %q close=%v, want 200 on a kept-alive connection", resp.StatusCode, body, resp.Close)
		}
		if rest := closedByServer(t, readerConn{c, br}); rest != "" {
			t.Errorf("bytes after the response: %q", rest)
		}
	})
	t.Run("headers never finished", func(t *testing.T) {
		c := dial()
		io.WriteString(c, "GET /health HTTP/1.1\r\nHost: x\r\n")
		if got := closedByServer(t, c); strings.Contains(got, "200 OK") {
			t.Errorf("answered %q", got)
		}
	})
	t.Run("body never finished", func(t *testing.T) {
		c := dial()
		io.WriteString(c, "POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial")
		if got := closedByServer(t, c); strings.Contains(got, "upstream read") {
			t.Errorf("the upstream got the whole request: %q", got)
		}
	})
}

// TestServeTimeoutFlags checks that a negative timeout is a usage error.
func TestServeTimeoutFlags(t *testing.T) {
	code, _, stderr := runCLI(t, "", "serve", "--config", "testdata/config.json", "--upstream", "http://x",
		"--cluster", "authz=http://y", "--request-timeout", "-1s")
	if first, _, _ := strings.Cut(stderr, "\n"); code != 2 || first != "authgate serve: --idle-timeout, --request-headers-timeout, --request-timeout: must not be negative" {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// readerConn reads through the bufio.Reader that already holds part of
// the connection's input.
type readerConn struct {
	net.Conn
	r *bufio.Reader
}

func (rc readerConn) Read(p []byte) (int, error) { return rc.r.Read(p) }
