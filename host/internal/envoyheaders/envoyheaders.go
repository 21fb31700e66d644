// Package envoyheaders makes the Go hosts present a request's headers to
// the pipeline the way Envoy presents them to the filter: which repeated
// headers Envoy folds into one, and what its connection manager removes
// and adds before any filter runs.
//
// Envoy keeps a fixed set of request headers ("inline" headers) in one slot
// each; when a request repeats one of them, the second value is appended to
// the first with a comma. Every other header keeps one entry per value.
// Envoy 1.40 logs the set at start-up ("request header map: ... bytes:");
// Names is that list. Observed through proxy_get_header_map_pairs: two
// Authorization headers arrive as "Bearer a,Bearer b", two X-Multi headers
// as two pairs.
package envoyheaders

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/authgate/authgate/core/pipeline"
)

// Names are the request headers Envoy 1.40 joins, lower case and sorted.
var Names = []string{
	":authority", ":method", ":path", ":protocol", ":scheme", "accept", "accept-encoding",
	"access-control-request-headers", "access-control-request-method",
	"access-control-request-private-network", "authentication", "authorization", "cache-control",
	"cdn-loop", "connection", "content-encoding", "content-length", "content-type", "expect",
	"grpc-accept-encoding", "grpc-timeout", "if-match", "if-modified-since", "if-none-match",
	"if-range", "if-unmodified-since", "keep-alive", "origin", "pragma", "proxy-connection",
	"proxy-status", "referer", "te", "transfer-encoding", "upgrade", "user-agent", "via",
	"x-client-trace-id", "x-envoy-attempt-count", "x-envoy-decorator-operation",
	"x-envoy-downstream-service-cluster", "x-envoy-downstream-service-node",
	"x-envoy-expected-rq-timeout-ms", "x-envoy-external-address", "x-envoy-force-trace",
	"x-envoy-hedge-on-per-try-timeout", "x-envoy-internal", "x-envoy-ip-tags",
	"x-envoy-is-timeout-retry", "x-envoy-max-retries", "x-envoy-original-host",
	"x-envoy-original-path", "x-envoy-original-url", "x-envoy-retriable-header-names",
	"x-envoy-retriable-status-codes", "x-envoy-retry-grpc-on", "x-envoy-retry-on",
	"x-envoy-upstream-alt-stat-name", "x-envoy-upstream-rq-per-try-timeout-ms",
	"x-envoy-upstream-rq-timeout-alt-response", "x-envoy-upstream-rq-timeout-ms",
	"x-envoy-upstream-stream-duration-ms", "x-forwarded-client-cert", "x-forwarded-for",
	"x-forwarded-host", "x-forwarded-port", "x-forwarded-proto", "x-request-id",
}

var joined = func() map[string]bool {
	m := make(map[string]bool, len(Names))
	for _, n := range Names {
		m[n] = true
	}
	return m
}()

// Joined reports whether Envoy joins repeated values of the request header
// name (any case) into one.
func Joined(name string) bool { return joined[strings.ToLower(name)] }

// Values returns the values of one request header as Envoy presents them:
// for a name Envoy joins, one value made of the non-empty vals separated by
// "," (Envoy skips an empty value when it appends, so "" then "b" is "b");
// for any other name, vals as they are.
func Values(name string, vals []string) []string {
	if len(vals) < 2 || !Joined(name) {
		return vals
	}
	var b strings.Builder
	for _, v := range vals {
		if v == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(v)
	}
	return []string{b.String()}
}

// hopByHop are the connection-specific request headers Envoy's connection
// manager removes before any HTTP filter runs (besides those Connection
// names).
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade"}

// Prepare edits a request's headers as Envoy's HTTP connection manager does
// before the filter sees them, configured as examples/envoy/envoy.yaml
// configures it: hop-by-hop headers go (the ones above, those the
// Connection header names, and TE unless it is just "trailers"), every
// header whose name has an underscore goes (headers_with_underscores_action
// DROP_HEADER: CGI-style upstreams would read X_Forwarded_For as
// X-Forwarded-For), the forwarding headers are set (see Forwarded), and a
// request without an x-request-id gets a fresh random (version 4) UUID, as
// Envoy generates one. It returns the request id.
func Prepare(r *http.Request) string {
	h := r.Header
	for name := range h {
		if strings.IndexByte(name, '_') >= 0 {
			delete(h, name)
		}
	}
	for _, c := range h.Values("Connection") {
		for name := range strings.SplitSeq(c, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopByHop {
		h.Del(name)
	}
	if te := h.Values("Te"); len(te) > 0 && !(len(te) == 1 && strings.EqualFold(strings.TrimSpace(te[0]), "trailers")) {
		h.Del("Te")
	}
	Forwarded(r)
	id := h.Get("X-Request-Id")
	if id == "" {
		id = newUUID()
		h.Set("X-Request-Id", id)
	}
	return id
}

// Forwarded sets the forwarding headers as Envoy's connection manager does
// with use_remote_address: true, xff_num_trusted_hops: 0 and
// append_x_forwarded_port: true, the settings of the example
// configurations, and as API Gateway sends them to an authorizer:
//
//   - X-Forwarded-For: the client's own entries, joined, then the address
//     of the connection's peer; for a loopback peer Envoy appends its own
//     address instead (the node's first non-loopback IPv4 address), and so
//     does this.
//   - X-Forwarded-Proto: the scheme of the connection, http or https,
//     whatever the client said.
//   - X-Forwarded-Port: the port the request arrived on; removed when the
//     request does not say (one built by hand), so a client never chooses it.
//   - X-Envoy-External-Address: the peer's address; x-envoy-internal,
//     which only Envoy may set, goes.
func Forwarded(r *http.Request) {
	h := r.Header
	peer := pipeline.SourceAddress(r.RemoteAddr)
	if peer != "" {
		appended := peer
		if ip, err := netip.ParseAddr(peer); err == nil && ip.IsLoopback() {
			if node := nodeAddress(); node != "" {
				appended = node
			}
		}
		xff := Values("x-forwarded-for", h.Values("X-Forwarded-For"))
		if len(xff) == 1 && xff[0] != "" {
			appended = xff[0] + "," + appended
		}
		h.Set("X-Forwarded-For", appended)
		h.Set("X-Envoy-External-Address", peer)
	}
	h.Del("X-Envoy-Internal")
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	h.Set("X-Forwarded-Proto", proto)
	h.Del("X-Forwarded-Port")
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(a.String()); err == nil {
			h.Set("X-Forwarded-Port", strconv.Itoa(int(ap.Port())))
		}
	}
}

// nodeAddress is the address Envoy calls its own: the first non-loopback
// IPv4 address of the machine's interfaces, "" when there is none. It is
// looked up once.
var nodeAddress = sync.OnceValue(func() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap().Is4() && !ip.IsLoopback() {
			return ip.Unmap().String()
		}
	}
	return ""
})

// OriginForm turns a request received in absolute form ("GET
// http://host/pets HTTP/1.1", RFC 9112, 3.2.2) into the origin-form
// request Envoy's HTTP/1 codec makes of it: RequestURI becomes the path
// and query ("/" when the target has no path) and URL loses its scheme
// and host, so the pipeline routes it and the upstream receives it like
// any other request. Host already holds the target's authority: net/http
// takes it from an absolute-form target, as Envoy does for :authority.
// Any other request is left alone.
func OriginForm(r *http.Request) {
	u := r.RequestURI
	if u == "" || u[0] == '/' || u == "*" {
		return
	}
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok || !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") {
		return
	}
	i := strings.IndexAny(rest, "/?")
	switch {
	case i < 0:
		u = "/"
	case rest[i] == '?':
		u = "/" + rest[i:]
	default:
		u = rest[i:]
	}
	r.RequestURI = u
	r.URL.Scheme, r.URL.Host, r.URL.User = "", "", nil
	if r.URL.Path == "" {
		r.URL.Path = "/"
	}
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// Pairs returns r's request as Envoy's header map hands it to a filter:
// the pseudo headers :authority, :path, :method and :scheme, then every
// header with its name in lower case, sorted by name (so nothing depends
// on map order), one pair per value except for the names Envoy joins (see
// Values). Like Envoy, it shows the Host header only as :authority
// (net/http keeps it out of r.Header). H is the caller's header type.
func Pairs[H ~struct{ Name, Value string }](r *http.Request) []H {
	path := r.RequestURI
	if path == "" {
		// A request built by hand (not served by net/http) has no
		// RequestURI.
		path = r.URL.RequestURI()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	hs := make([]H, 4, 4+len(r.Header))
	hs[0] = H{Name: ":authority", Value: r.Host}
	hs[1] = H{Name: ":path", Value: path}
	hs[2] = H{Name: ":method", Value: r.Method}
	hs[3] = H{Name: ":scheme", Value: scheme}
	type entry struct {
		name, key string
		vals      []string
	}
	// Most requests carry few headers: sort them on the stack.
	var buf [24]entry
	entries := buf[:0]
	for k, vs := range r.Header {
		entries = append(entries, entry{strings.ToLower(k), k, vs})
	}
	// A header map set by hand may hold one name in two spellings: they
	// are one header to Envoy, ordered here by spelling so the order of
	// their values does not depend on map order either.
	slices.SortFunc(entries, func(a, b entry) int {
		return cmp.Or(strings.Compare(a.name, b.name), strings.Compare(a.key, b.key))
	})
	for i := 0; i < len(entries); {
		j, vals := i+1, entries[i].vals
		for ; j < len(entries) && entries[j].name == entries[i].name; j++ {
			if j == i+1 {
				vals = slices.Clone(vals)
			}
			vals = append(vals, entries[j].vals...)
		}
		name := entries[i].name
		for _, v := range Values(name, vals) {
			hs = append(hs, H{Name: name, Value: v})
		}
		i = j
	}
	return hs
}
