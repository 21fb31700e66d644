package envoyheaders

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestPrepare(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	tests := []struct {
		name    string
		in      http.Header
		gone    []string
		kept    map[string]string
		givenID string
	}{
		{
			name: "hop-by-hop headers and those Connection names",
			in: http.Header{"Connection": {"close, X-Secret"}, "X-Secret": {"s"}, "Keep-Alive": {"5"},
				"Proxy-Connection": {"x"}, "Transfer-Encoding": {"chunked"}, "Upgrade": {"h2c"}, "Authorization": {"Bearer a"}},
			gone: []string{"Connection", "X-Secret", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade"},
			kept: map[string]string{"Authorization": "Bearer a"},
		},
		{
			name: "te trailers stays, other te goes",
			in:   http.Header{"Te": {"trailers"}},
			kept: map[string]string{"Te": "trailers"},
		},
		{
			name: "te gzip goes",
			in:   http.Header{"Te": {"gzip"}},
			gone: []string{"Te"},
		},
		{
			name: "names with underscores, as the example's connection manager drops them",
			in: http.Header{"X_authorizer_principal_id": {"admin"}, "X-Authorizer_Tier": {"gold"}, "X_forwarded_for": {"10.0.0.1"},
				"_": {"x"}, "X-Http-Method-Override": {"DELETE"}, "Authorization": {"Bearer a"}},
			gone: []string{"X_authorizer_principal_id", "X-Authorizer_Tier", "X_forwarded_for", "_"},
			kept: map[string]string{"X-Http-Method-Override": "DELETE", "Authorization": "Bearer a"},
		},
		{
			name:    "client request id kept",
			in:      http.Header{"X-Request-Id": {"abc"}},
			kept:    map[string]string{"X-Request-Id": "abc"},
			givenID: "abc",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := Prepare(&http.Request{Header: tt.in, RemoteAddr: "203.0.113.9:5000"})
			for _, name := range tt.gone {
				if v, ok := tt.in[http.CanonicalHeaderKey(name)]; ok {
					t.Errorf("%s still present: %q", name, v)
				}
			}
			for name, want := range tt.kept {
				if got := tt.in.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			switch {
			case tt.givenID != "" && id != tt.givenID:
				t.Errorf("request id = %q, want the client's %q", id, tt.givenID)
			case tt.givenID == "" && !uuid.MatchString(id):
				t.Errorf("generated request id %q is not a version 4 UUID", id)
			}
			if got := tt.in.Get("X-Request-Id"); got != id {
				t.Errorf("x-request-id header = %q, want %q", got, id)
			}
		})
	}
	if a, b := Prepare(&http.Request{Header: http.Header{}}), Prepare(&http.Request{Header: http.Header{}}); a == b {
		t.Errorf("two generated request ids are equal: %s", a)
	}
}

func TestForwarded(t *testing.T) {
	node := nodeAddress()
	listener := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	tests := []struct {
		name   string
		remote string
		tls    bool
		local  net.Addr
		in     http.Header
		want   map[string]string // "" means absent
	}{
		{
			name:   "peer appended to the client's entries, listener's port and scheme",
			remote: "203.0.113.9:5000", local: listener,
			in: http.Header{"X-Forwarded-For": {"10.1.2.3", "10.9.9.9, 10.8.8.8"}, "X-Forwarded-Proto": {"https"}, "X-Forwarded-Port": {"1"}},
			want: map[string]string{"X-Forwarded-For": "10.1.2.3,10.9.9.9, 10.8.8.8,203.0.113.9", "X-Forwarded-Proto": "http",
				"X-Forwarded-Port": "8080", "X-Envoy-External-Address": "203.0.113.9"},
		},
		{
			name: "no client entries", remote: "[2001:db8::7]:443", tls: true, local: &net.TCPAddr{IP: net.IPv6loopback, Port: 8443},
			in:   http.Header{},
			want: map[string]string{"X-Forwarded-For": "2001:db8::7", "X-Forwarded-Proto": "https", "X-Forwarded-Port": "8443", "X-Envoy-External-Address": "2001:db8::7"},
		},
		{
			name: "a loopback peer: the node's own address, as Envoy appends it", remote: "127.0.0.1:5000", local: listener,
			in:   http.Header{"X-Forwarded-For": {"10.1.2.3"}},
			want: map[string]string{"X-Forwarded-For": "10.1.2.3," + cmp.Or(node, "127.0.0.1"), "X-Envoy-External-Address": "127.0.0.1"},
		},
		{
			name: "client-chosen internal markers and port go", remote: "203.0.113.9:5000",
			in:   http.Header{"X-Envoy-Internal": {"true"}, "X-Envoy-External-Address": {"6.6.6.6"}, "X-Forwarded-Port": {"443"}},
			want: map[string]string{"X-Envoy-Internal": "", "X-Envoy-External-Address": "203.0.113.9", "X-Forwarded-Port": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{Header: tt.in, RemoteAddr: tt.remote}
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tt.local != nil {
				r = r.WithContext(context.WithValue(context.Background(), http.LocalAddrContextKey, tt.local))
			}
			Forwarded(r)
			for name, want := range tt.want {
				got := strings.Join(r.Header.Values(name), "|")
				if got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestOriginForm(t *testing.T) {
	tests := []struct {
		name, target, want, wantPath, wantHost string
	}{
		{"absolute form", "http://api.example.com/pets?x=1", "/pets?x=1", "/pets", "api.example.com"},
		{"absolute form with port", "http://api.example.com:8080/pets/1", "/pets/1", "/pets/1", "api.example.com:8080"},
		{"absolute form https upper case", "HTTPS://h/a%20b", "/a%20b", "/a b", "h"},
		{"absolute form without path", "http://h", "/", "/", "h"},
		{"absolute form with query only", "http://h?q=%ZZ", "/?q=%ZZ", "/", "h"},
		{"origin form untouched", "/pets?x=1", "/pets?x=1", "/pets", "h"},
		{"asterisk untouched", "*", "*", "*", "h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.ReadRequest(bufio.NewReader(strings.NewReader("OPTIONS " + tt.target + " HTTP/1.1\r\nHost: h\r\n\r\n")))
			if err != nil {
				t.Fatal(err)
			}
			OriginForm(req)
			if req.RequestURI != tt.want || req.URL.Path != tt.wantPath || req.Host != tt.wantHost {
				t.Errorf("RequestURI, URL.Path, Host = %q, %q, %q; want %q, %q, %q", req.RequestURI, req.URL.Path, req.Host, tt.want, tt.wantPath, tt.wantHost)
			}
			if req.URL.Scheme != "" || req.URL.Host != "" {
				t.Errorf("URL keeps scheme %q and host %q", req.URL.Scheme, req.URL.Host)
			}
		})
	}
}
