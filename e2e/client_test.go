package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
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
}

// protocols are HTTP/1.1 and HTTP/2 with prior knowledge over cleartext
// (h2c): every gateway serves both on one port.
var protocols = []protocol{
	{name: "h1", version: "HTTP/1.1", transport: func() *http.Transport { return &http.Transport{} }},
	{name: "h2", version: "HTTP/2.0", transport: func() *http.Transport {
		p := new(http.Protocols)
		p.SetUnencryptedHTTP2(true)
		return &http.Transport{Protocols: p}
	}},
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
	// absolute-form), nor "*".
	target  string
	headers [][2]string
	body    string
}

// reply is one answer as the client saw it.
type reply struct {
	proto  string
	status int
	header http.Header
	body   []byte
}

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
	resp, err := client.Do(req)
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
