// Package echo is the upstream of the end-to-end suite: it answers every
// request 200 with a JSON description of what it received, so a scenario
// can assert the headers the gateway let through, added or removed.
package echo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Request is what the upstream saw. Header names are lower case (HTTP
// header names are case-insensitive, and proxies differ in the case they
// forward).
type Request struct {
	Method  string              `json:"method"`
	URI     string              `json:"uri"`
	Host    string              `json:"host"`
	Headers map[string][]string `json:"headers"`
}

// Marker is a response header that only the upstream sets, so a test can
// tell an upstream answer from a gateway answer.
const Marker = "x-echo-upstream"

// Handler answers every request with its description.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := Request{
			Method:  r.Method,
			URI:     r.RequestURI,
			Host:    r.Host,
			Headers: make(map[string][]string, len(r.Header)),
		}
		if out.URI == "" {
			// Handlers called in process (no server) have no RequestURI.
			out.URI = r.URL.RequestURI()
		}
		for name, vals := range r.Header {
			lower := strings.ToLower(name)
			out.Headers[lower] = append(out.Headers[lower], vals...)
		}
		b, err := json.Marshal(&out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("content-type", "application/json")
		w.Header().Set(Marker, "1")
		_, _ = w.Write(b)
	})
}

// Decode reads an upstream answer's body.
func Decode(body []byte) (*Request, error) {
	var r Request
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("echo: decoding upstream answer %.200q: %w", body, err)
	}
	return &r, nil
}

// Get returns the values of a header, by case-insensitive name.
func (r *Request) Get(name string) ([]string, bool) {
	v, ok := r.Headers[strings.ToLower(name)]
	return v, ok
}
