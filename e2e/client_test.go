package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// protocol is one way the client speaks to the gateway. Every row runs
// over each, against gateways of its own. Adding a protocol is adding an
// entry with the transport that speaks it.
type protocol struct {
	name string
	// version is how API Gateway writes it in an event's protocol.
	version   string
	transport func() *http.Transport
	// sendRaw sends a raw request (see request.raw) exactly as written;
	// nil where Go's client already sends what a raw request says.
	sendRaw func(base string, r request) (*reply, error)
}

// protocols are HTTP/1.1 and HTTP/2 with prior knowledge over cleartext
// (h2c): every gateway serves both on one port.
var protocols = []protocol{
	{name: "h1", version: "HTTP/1.1", transport: func() *http.Transport { return &http.Transport{} }, sendRaw: sendRawH1},
	// Go's HTTP/2 client sends :method and :path as given and field names
	// in lower case, as HTTP/2 has them: a raw request needs nothing else.
	{name: "h2", version: "HTTP/2.0", transport: func() *http.Transport {
		p := new(http.Protocols)
		p.SetUnencryptedHTTP2(true)
		return &http.Transport{Protocols: p}
	}},
}

// send sends r over p: through client, or written as it is when r is raw.
func (p protocol) send(client *http.Client, base string, r request) (*reply, error) {
	if r.raw && p.sendRaw != nil {
		return p.sendRaw(base, r)
	}
	return send(client, base, r)
}

// clientUA is the user agent sent when a request names none, so what
// reaches the authorizer and the upstream does not depend on the client
// library's version or the protocol.
const clientUA = "authgate-e2e/1"

// newClient returns a client speaking p to the gateway under test: no
// compression negotiation (so no header the table does not expect),
// bounded waits, no redirects followed, and connections reused or, with
// keepAlive false, a new one per request (Envoy binds a connection to one
// worker, so only new connections spread requests over its VMs).
func newClient(t *testing.T, p protocol, keepAlive bool) *http.Client {
	tr := p.transport()
	tr.DisableCompression = true
	tr.MaxIdleConnsPerHost = 32
	tr.DisableKeepAlives = !keepAlive
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport: tr,
		Timeout:   20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// request is one HTTP request of a row. Headers keep order and may repeat
// a name.
type request struct {
	method string
	// target is sent exactly as written: not cleaned, not re-escaped.
	// Go's client cannot send one that starts with "//" (it would become
	// absolute-form), nor "*", nor an absolute-form one: those need raw.
	target  string
	headers [][2]string
	body    string
	// raw sends the request as written where Go's client would change it:
	// over HTTP/1.1 its bytes go on a new connection, with the method and
	// the header names spelt as given and any target (absolute-form and
	// "//" included). Over HTTP/2 there is no request line; an
	// absolute-form target is the :scheme and :authority pseudo-headers,
	// so a row sending one runs over HTTP/1.1 only (row.only).
	raw bool
	// version, for a raw request over HTTP/1, is the request line's
	// version instead of HTTP/1.1.
	version string
}

// reply is one answer as the client saw it.
type reply struct {
	proto  string
	status int
	header http.Header
	body   []byte
}

// send sends r through client, which speaks the protocol under test.
func send(client *http.Client, base string, r request) (*reply, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(r.target, "/") || strings.HasPrefix(r.target, "//") {
		return nil, fmt.Errorf("target %q: the client sends only origin-form targets that do not start with //", r.target)
	}
	p, query, hasQuery := strings.Cut(r.target, "?")
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, base, body)
	if err != nil {
		return nil, err
	}
	// Opaque is sent as the path, byte for byte.
	req.URL = &url.URL{Scheme: u.Scheme, Host: u.Host, Opaque: p, RawQuery: query, ForceQuery: hasQuery && query == ""}
	for _, h := range r.headers {
		name := http.CanonicalHeaderKey(h[0])
		if name == "Host" {
			req.Host = h[1]
			continue
		}
		req.Header[name] = append(req.Header[name], h[1])
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header.Set("User-Agent", clientUA)
	}
	return readReply(client.Do(req))
}

// readReply reads the answer resp (or the error of getting it).
func readReply(resp *http.Response, err error) (*reply, error) {
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	return &reply{proto: resp.Proto, status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// sendRawH1 writes r on a new HTTP/1.1 connection to base, byte for byte
// as the request says, adding only what Go's client would add too (Host
// for the gateway's address, the suite's User-Agent, Content-Length) and
// Connection: close, and reads one answer.
func sendRawH1(base string, r request) (*reply, error) {
	addr := hostPort(base)
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s\r\n", r.method, r.target, cmpOr(r.version, "HTTP/1.1"))
	named := func(name string) bool {
		return slices.ContainsFunc(r.headers, func(h [2]string) bool { return strings.EqualFold(h[0], name) })
	}
	if !named("Host") {
		fmt.Fprintf(&b, "Host: %s\r\n", addr)
	}
	if !named("User-Agent") {
		fmt.Fprintf(&b, "User-Agent: %s\r\n", clientUA)
	}
	for _, h := range r.headers {
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	if r.body != "" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(r.body))
	}
	b.WriteString("Connection: close\r\n\r\n")
	b.WriteString(r.body)
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return nil, err
	}
	// The method tells the reader whether a body follows (none for HEAD).
	return readReply(http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: r.method}))
}
