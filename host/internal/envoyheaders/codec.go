package envoyheaders

import (
	"net/http"
	"strconv"
)

// MaxHeaders is the most request header fields Envoy's HTTP connection
// manager accepts (max_headers_count, 100 by default, which the example
// envoy.yaml writes out). Envoy counts the entries of its header map: Host
// (:authority) included, a header it joins (see Joined) once however often
// it is repeated, and over HTTP/2 the pseudo headers :method, :scheme and
// :path too.
const MaxHeaders = 100

// Codec answers, byte for byte as Envoy 1.40's HTTP/1 codec gives them
// before any filter runs.
const (
	upgradeRequired     = "Upgrade Required"
	headerFieldsTooLong = "Request Header Fields Too Large"
)

// Refuse answers r as Envoy's connection manager answers a request it
// refuses before any filter runs, and reports whether it did: HTTP/1.0
// (426, since Envoy accepts HTTP/1.0 only with accept_http_10) and more
// than MaxHeaders header fields (431 over HTTP/1; over HTTP/2 Envoy resets
// the stream, and so does Refuse, by panicking with http.ErrAbortHandler).
// The Go hosts call it first, so that a request never reaches the filter
// in one host and not in another.
func Refuse(w http.ResponseWriter, r *http.Request) bool {
	status, body := 0, ""
	switch {
	case r.ProtoMajor == 1 && r.ProtoMinor == 0:
		status, body = http.StatusUpgradeRequired, upgradeRequired
	case HeaderCount(r) > MaxHeaders:
		if r.ProtoMajor == 2 {
			panic(http.ErrAbortHandler)
		}
		status, body = http.StatusRequestHeaderFieldsTooLarge, headerFieldsTooLong
	default:
		return false
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
	return true
}

// HeaderCount is the number of entries Envoy's header map would hold for
// r's headers: one per value, except one per name Envoy joins, plus Host
// and Transfer-Encoding, which net/http keeps out of r.Header, and over
// HTTP/2 the three other pseudo headers. (Measured on Envoy 1.40: over
// HTTP/1.1, 99 fields and Host pass and a 101st entry gets 431; over h2c,
// 96 fields and the four pseudo headers pass and a 101st resets the
// stream.)
func HeaderCount(r *http.Request) int {
	n := 0
	for name, vals := range r.Header {
		if Joined(name) {
			n++
		} else {
			n += len(vals)
		}
	}
	if r.Host != "" && r.Header.Get("Host") == "" {
		n++
	}
	if len(r.TransferEncoding) > 0 && r.Header.Get("Transfer-Encoding") == "" {
		n++
	}
	if r.ProtoMajor == 2 {
		n += 3 // :method, :scheme, :path
	}
	return n
}
