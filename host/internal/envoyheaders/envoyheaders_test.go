package envoyheaders

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

func TestValues(t *testing.T) {
	tests := []struct {
		name   string
		header string
		vals   []string
		want   []string
	}{
		{"joined", "Authorization", []string{"Bearer a", "Bearer b"}, []string{"Bearer a,Bearer b"}},
		{"joined lower case", "accept", []string{"x", "y", "z"}, []string{"x,y,z"}},
		{"empty skipped", "authorization", []string{"", "Bearer b"}, []string{"Bearer b"}},
		{"empty in the middle", "accept", []string{"x", "", "z"}, []string{"x,z"}},
		{"all empty", "accept", []string{"", ""}, []string{""}},
		{"one value kept", "authorization", []string{""}, []string{""}},
		{"not joined", "X-Multi", []string{"one", "two"}, []string{"one", "two"}},
		{"cookie not joined", "cookie", []string{"a=1", "b=2"}, []string{"a=1", "b=2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Values(tt.header, tt.vals); !slices.Equal(got, tt.want) {
				t.Fatalf("Values(%q, %q) = %q, want %q", tt.header, tt.vals, got, tt.want)
			}
		})
	}
}

func TestNamesSortedLowerCase(t *testing.T) {
	if !slices.IsSorted(Names) {
		t.Fatal("Names is not sorted")
	}
	for _, n := range Names {
		if !Joined(n) {
			t.Fatalf("Joined(%q) = false", n)
		}
	}
}

func TestPairs(t *testing.T) {
	type pair struct{ Name, Value string }
	tests := []struct {
		name   string
		target string
		tls    bool
		host   string
		header http.Header
		want   []pair
	}{
		{
			name: "pseudo headers first, names lower case and sorted", target: "/pets?a=1", host: "api.example.com",
			header: http.Header{"X-Request-Id": {"rid"}, "Authorization": {"Bearer a"}, "Accept": {"*/*"}},
			want: []pair{{":authority", "api.example.com"}, {":path", "/pets?a=1"}, {":method", "GET"}, {":scheme", "http"},
				{"accept", "*/*"}, {"authorization", "Bearer a"}, {"x-request-id", "rid"}},
		},
		{
			name: "inline headers joined, others repeated", target: "/", tls: true,
			header: http.Header{"Authorization": {"Bearer a", "", "Bearer b"}, "X-Multi": {"1", "2"}},
			want: []pair{{":authority", "example.com"}, {":path", "/"}, {":method", "GET"}, {":scheme", "https"},
				{"authorization", "Bearer a,Bearer b"}, {"x-multi", "1"}, {"x-multi", "2"}},
		},
		{
			name: "one name in two spellings is one header", target: "/",
			header: http.Header{"authorization": {"Bearer b"}, "Authorization": {"Bearer a"}, "x-multi": {"2"}, "X-Multi": {"1"}},
			want: []pair{{":authority", "example.com"}, {":path", "/"}, {":method", "GET"}, {":scheme", "http"},
				{"authorization", "Bearer a,Bearer b"}, {"x-multi", "1"}, {"x-multi", "2"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.target, nil)
			if tt.host != "" {
				r.Host = tt.host
			}
			r.Header = tt.header
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			r.RequestURI = "" // as a request built by hand: the URL gives the target
			if got := Pairs[pair](r); !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
