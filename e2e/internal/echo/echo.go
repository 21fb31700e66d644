// Package echo is the upstream of the end-to-end suite: it answers every
// request 200 with a JSON description of what it received, as it arrived on
// the wire (the request line's method and target, the header fields with
// their names as sent, in order), so a row can assert what the gateway let
// through, added or removed.
//
// Upstreams read the same bytes differently, and a gateway's decision
// covers only what the upstream reads. So a Request is also read three
// ways (Plain, CGI, Servlet): a request that one kind of upstream would
// read as something else than another can be caught whatever upstream the
// row had in mind.
package echo

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Request is what the upstream received.
type Request struct {
	Method string `json:"method"` // as on the request line
	Target string `json:"target"` // the request-target, as on the request line
	Proto  string `json:"proto"`
	Host   string `json:"host"`
	// Header holds the header fields, names exactly as sent and in order
	// when Wire is set; otherwise as net/http gives them (canonical
	// names, sorted).
	Header [][2]string `json:"header"`
	Wire   bool        `json:"wire"`
	Body   string      `json:"body,omitempty"`
}

// Marker is a response header that only the upstream sets, so a test can
// tell an upstream answer from a gateway answer.
const Marker = "x-echo-upstream"

// HeadReport is the response header that carries the description (JSON,
// base64) in an answer to HEAD, which has no body to carry it.
const HeadReport = "x-echo-head-report"

// Handler answers every request with its description. Served by NewServer
// it reports the header fields as they were on the wire; elsewhere it
// falls back to net/http's view.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		out := Request{Method: r.Method, Target: r.RequestURI, Proto: r.Proto, Host: r.Host, Body: string(body)}
		if out.Target == "" {
			// Handlers called in process (no server) have no RequestURI.
			out.Target = r.URL.RequestURI()
		}
		if rc, ok := r.Context().Value(connKey{}).(*recordingConn); ok && r.ProtoMajor == 1 {
			out.Header, out.Wire = rc.head(r.Method + " " + r.RequestURI + " " + r.Proto + "\r\n")
		}
		if !out.Wire {
			names := make([]string, 0, len(r.Header))
			for name := range r.Header {
				names = append(names, name)
			}
			slices.Sort(names)
			for _, name := range names {
				for _, v := range r.Header[name] {
					out.Header = append(out.Header, [2]string{name, v})
				}
			}
		}
		b, err := json.Marshal(&out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("content-type", "application/json")
		w.Header().Set(Marker, "1")
		if r.Method == http.MethodHead {
			w.Header().Set(HeadReport, base64.StdEncoding.EncodeToString(b))
		}
		_, _ = w.Write(b)
	})
}

// Server is the echo upstream listening on 127.0.0.1, HTTP/1.1 only (what
// Envoy and Go's reverse proxy speak to an upstream by default).
type Server struct {
	URL      string
	srv      *httptest.Server
	requests atomic.Int64
}

// NewServer starts an echo upstream on a fresh port.
func NewServer() *Server {
	s := &Server{}
	h := Handler()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		h.ServeHTTP(w, r)
	}))
	srv.Listener = recordingListener{srv.Listener}
	srv.Config.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if rc, ok := c.(*recordingConn); ok {
			return context.WithValue(ctx, connKey{}, rc)
		}
		return ctx
	}
	srv.Start()
	s.srv, s.URL = srv, srv.URL
	return s
}

// Requests reports how many requests the upstream received.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

type connKey struct{}

// recordingListener hands out connections that keep what they read, so the
// handler can find its request's header block as sent.
type recordingListener struct{ net.Listener }

func (l recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: c}, nil
}

type recordingConn struct {
	net.Conn
	mu  sync.Mutex
	buf []byte // read, and not yet matched to a request
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		c.buf = append(c.buf, p[:n]...)
		c.mu.Unlock()
	}
	return n, err
}

// head finds the header block that follows the request line line (net/http
// has parsed it, so it is there), consumes it with what came before it
// (earlier requests and their bodies), and returns its fields.
func (c *recordingConn) head(line string) ([][2]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for from := 0; ; {
		i := bytes.Index(c.buf[from:], []byte(line))
		if i < 0 {
			return nil, false
		}
		i += from
		if i > 0 && c.buf[i-1] != '\n' {
			from = i + 1
			continue
		}
		start := i + len(line)
		end := bytes.Index(c.buf[start:], []byte("\r\n\r\n"))
		var block string
		switch {
		case end < 0 && bytes.HasPrefix(c.buf[start:], []byte("\r\n")):
			end, block = start+2, "" // no header fields at all
		case end < 0:
			return nil, false
		default:
			block = string(c.buf[start : start+end])
			end = start + end + 4
		}
		c.buf = c.buf[end:]
		var fields [][2]string
		for l := range strings.SplitSeq(block, "\r\n") {
			if l == "" {
				continue
			}
			name, value, _ := strings.Cut(l, ":")
			fields = append(fields, [2]string{name, strings.Trim(value, " \t")})
		}
		return fields, true
	}
}

// DecodeAnswer reads the description in an upstream answer: its body, or
// for an answer to HEAD the HeadReport header.
func DecodeAnswer(h http.Header, body []byte) (*Request, error) {
	if rep := h.Get(HeadReport); rep != "" && len(body) == 0 {
		b, err := base64.StdEncoding.DecodeString(rep)
		if err != nil {
			return nil, fmt.Errorf("echo: decoding %s: %w", HeadReport, err)
		}
		body = b
	}
	return Decode(body)
}

// Decode reads an upstream answer's body.
func Decode(body []byte) (*Request, error) {
	var r Request
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("echo: decoding upstream answer %.200q: %w", body, err)
	}
	return &r, nil
}

// View is a request as one kind of upstream reads it: the method it
// dispatches on, the decoded path it routes on, the raw query, and the
// header fields under the names it looks them up by (lower case here).
type View struct {
	Reader string
	Method string
	Path   string
	Query  string
	Header map[string][]string
}

// Get returns the values of a header, by case-insensitive name.
func (v View) Get(name string) ([]string, bool) {
	vals, ok := v.Header[strings.ToLower(name)]
	return vals, ok
}

// Plain reads the request as HTTP says and most servers do (net/http,
// Node, Envoy): header names are case-insensitive and kept otherwise, the
// path is percent-decoded once and not normalised.
func (r *Request) Plain() View {
	return r.view("plain", func(name string) string { return strings.ToLower(name) }, r.Method, unescape)
}

// CGI reads the request as a CGI or WSGI application does: a header
// reaches it as HTTP_<NAME> with "-" turned into "_", so X-Foo and X_Foo
// are one variable, read back here as "x-foo".
func (r *Request) CGI() View {
	return r.view("CGI", func(name string) string {
		return strings.ReplaceAll(strings.ToLower(name), "_", "-")
	}, r.Method, unescape)
}

// Servlet reads the request as a servlet container does: the method is
// upper-cased, each path segment loses its ;parameters, is decoded, and
// then dot segments and empty segments are resolved.
func (r *Request) Servlet() View {
	return r.view("servlet", func(name string) string { return strings.ToLower(name) }, strings.ToUpper(r.Method), servletPath)
}

func (r *Request) view(reader string, fold func(string) string, method string, readPath func(string) string) View {
	p, query, _ := strings.Cut(r.Target, "?")
	v := View{Reader: reader, Method: method, Path: readPath(p), Query: query, Header: make(map[string][]string, len(r.Header))}
	for _, f := range r.Header {
		name := fold(f[0])
		v.Header[name] = append(v.Header[name], f[1])
	}
	return v
}

func unescape(p string) string {
	if d, err := url.PathUnescape(p); err == nil {
		return d
	}
	return p
}

func servletPath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		s, _, _ = strings.Cut(s, ";")
		segs[i] = unescape(s)
	}
	out := path.Clean("/" + strings.Join(segs, "/"))
	if strings.HasSuffix(p, "/") && out != "/" {
		out += "/"
	}
	return out
}
