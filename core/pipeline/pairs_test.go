package pipeline

import (
	"reflect"
	"strings"
	"testing"
)

// pair has the shape of the proxy-wasm binding's header type, a distinct
// named type, as NewRequest's callers pass it.
type pair struct{ Name, Value string }

func hd(name, value string) Header { return Header{Name: name, Value: value} }

func TestNewRequest(t *testing.T) {
	tests := []struct {
		name  string
		pairs []pair
		want  Request
	}{
		{
			name: "envoy HTTP/1 request: :authority becomes host, last",
			pairs: []pair{{":authority", "api.example.com"}, {":path", "/pets?a=1"}, {":method", "GET"}, {":scheme", "https"},
				{"authorization", "Bearer t"}, {"x-request-id", "rid-1"}},
			want: Request{Method: "GET", Target: "/pets?a=1", Scheme: "https", Authority: "api.example.com", RequestID: "rid-1",
				Headers: []Header{hd("authorization", "Bearer t"), hd("x-request-id", "rid-1"), hd("host", "api.example.com")}},
		},
		{
			name:  "a host header is kept and not doubled, whatever its case",
			pairs: []pair{{":authority", "a.example"}, {":method", "GET"}, {"Host", "b.example"}},
			want:  Request{Method: "GET", Authority: "a.example", Headers: []Header{hd("Host", "b.example")}},
		},
		{
			name:  "first x-request-id wins, any case",
			pairs: []pair{{"X-Request-Id", "one"}, {"x-request-id", "two"}},
			want:  Request{RequestID: "one", Headers: []Header{hd("X-Request-Id", "one"), hd("x-request-id", "two")}},
		},
		{
			name:  "unknown pseudo headers are dropped; a repeated pseudo header keeps its last value",
			pairs: []pair{{":protocol", "websocket"}, {":method", "GET"}, {":method", "POST"}, {":status", "200"}, {"accept", "*/*"}},
			want:  Request{Method: "POST", Headers: []Header{hd("accept", "*/*")}},
		},
		{
			name:  "no :authority, no host",
			pairs: []pair{{":path", "/"}},
			want:  Request{Target: "/", Headers: []Header{}},
		},
		{
			name:  "repeated headers stay apart, in order",
			pairs: []pair{{"x-multi", "1"}, {"cookie", "a=1"}, {"x-multi", "2"}},
			want:  Request{Headers: []Header{hd("x-multi", "1"), hd("cookie", "a=1"), hd("x-multi", "2")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NewRequest(tt.pairs)
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

// FuzzNewRequest reads lines "name:value" (a leading ':' makes a pseudo
// header) and checks NewRequest against what it promises.
func FuzzNewRequest(f *testing.F) {
	f.Add(":method GET\n:path /pets?x=1\n:authority h\nx-request-id r\nauthorization Bearer t")
	f.Add("Host h\n:authority a\nX-REQUEST-ID 1\nx-request-id 2")
	f.Add(":authority \n:scheme https\n::\n:")
	f.Fuzz(func(t *testing.T, in string) {
		var pairs []pair
		for line := range strings.SplitSeq(in, "\n") {
			name, value, _ := strings.Cut(line, " ")
			pairs = append(pairs, pair{name, value})
		}
		r := NewRequest(pairs)
		var plain []Header
		var method, target, scheme, authority, rid string
		host := false
		for _, p := range pairs {
			switch {
			case p.Name == ":method":
				method = p.Value
			case p.Name == ":path":
				target = p.Value
			case p.Name == ":scheme":
				scheme = p.Value
			case p.Name == ":authority":
				authority = p.Value
			case strings.HasPrefix(p.Name, ":"):
			default:
				plain = append(plain, Header(p))
				if strings.EqualFold(p.Name, "host") {
					host = true
				}
				if rid == "" && strings.EqualFold(p.Name, "x-request-id") {
					rid = p.Value
				}
			}
		}
		if authority != "" && !host {
			plain = append(plain, Header{Name: "host", Value: authority})
		}
		if r.Method != method || r.Target != target || r.Scheme != scheme || r.Authority != authority || r.RequestID != rid {
			t.Fatalf("fields %q %q %q %q %q, want %q %q %q %q %q", r.Method, r.Target, r.Scheme, r.Authority, r.RequestID,
				method, target, scheme, authority, rid)
		}
		if len(r.Headers) != len(plain) || (len(plain) > 0 && !reflect.DeepEqual(r.Headers, plain)) {
			t.Fatalf("headers %q, want %q", r.Headers, plain)
		}
		for _, h := range r.Headers {
			if strings.HasPrefix(h.Name, ":") {
				t.Fatalf("pseudo header %q among the headers", h.Name)
			}
		}
	})
}

func TestNewResponse(t *testing.T) {
	tests := []struct {
		name    string
		pairs   []pair
		want    Response
		wantErr string
	}{
		{name: "status, headers in order, pseudo headers dropped",
			pairs: []pair{{":status", "200"}, {"content-type", "application/json"}, {":x", "y"}, {"x-amz-function-error", "Unhandled"}},
			want:  Response{Status: 200, Body: []byte("b"), Headers: []Header{hd("content-type", "application/json"), hd("x-amz-function-error", "Unhandled")}}},
		{name: "no status", pairs: []pair{{"content-type", "text/plain"}}, wantErr: "callout answer without :status"},
		{name: "status not a number", pairs: []pair{{":status", "2OO"}}, wantErr: `callout answer with bad :status "2OO"`},
		{name: "status out of range", pairs: []pair{{":status", "1000"}}, wantErr: `callout answer with bad :status "1000"`},
		{name: "status 0", pairs: []pair{{":status", "0"}}, wantErr: `callout answer with bad :status "0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewResponse(tt.pairs, []byte("b"))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || got.Status != 0 || got.Body != nil {
					t.Fatalf("NewResponse = %+v, %v; want Response{} and %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("NewResponse = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// FuzzNewResponse reads lines "name value" as FuzzNewRequest does: an
// answer is read only with one valid :status, never keeps a pseudo
// header, and keeps every other header in order.
func FuzzNewResponse(f *testing.F) {
	f.Add(":status 200\ncontent-type application/json")
	f.Add(":status 99\n:status 200")
	f.Add("x 1\n:status +200\n:status 0x1F")
	f.Fuzz(func(t *testing.T, in string) {
		var pairs []pair
		var plain []Header
		for line := range strings.SplitSeq(in, "\n") {
			name, value, _ := strings.Cut(line, " ")
			pairs = append(pairs, pair{name, value})
			if !strings.HasPrefix(name, ":") {
				plain = append(plain, Header{Name: name, Value: value})
			}
		}
		r, err := NewResponse(pairs, nil)
		if err != nil {
			if r.Status != 0 || r.Headers != nil {
				t.Fatalf("failed read %+v", r)
			}
			return
		}
		if r.Status < 100 || r.Status > 999 {
			t.Fatalf("status %d read from %q", r.Status, in)
		}
		if len(r.Headers) != len(plain) || (len(plain) > 0 && !reflect.DeepEqual(r.Headers, plain)) {
			t.Fatalf("headers %q, want %q", r.Headers, plain)
		}
	})
}
