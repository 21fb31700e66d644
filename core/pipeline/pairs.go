package pipeline

import (
	"errors"
	"strconv"
	"strings"
)

// NewRequest builds the pipeline's view of a request from its header pairs
// as Envoy presents them to a filter, so that every embedding reads a
// request the same way. The pseudo headers :method, :path, :scheme and
// :authority give Method, Target, Scheme and Authority (a repeated one:
// its last value); other pseudo headers are dropped. Every other pair is a
// header, in order, and the first x-request-id is RequestID. Envoy keeps an
// HTTP/1 Host header as :authority; a request without a host header gets
// :authority as one, last, because API Gateway shows authorizers the Host
// header. Names are compared case-insensitively.
//
// SourceIP, SourceIPFunc and Protocol are the caller's to set; so is
// RequestID when the request has no x-request-id (a proxy may know it
// otherwise).
func NewRequest[H ~struct{ Name, Value string }](pairs []H) *Request {
	req := &Request{Headers: make([]Header, 0, len(pairs)+1)}
	hasHost := false
	for _, p := range pairs {
		h := Header(p)
		if strings.HasPrefix(h.Name, ":") {
			switch h.Name {
			case ":method":
				req.Method = h.Value
			case ":path":
				req.Target = h.Value
			case ":scheme":
				req.Scheme = h.Value
			case ":authority":
				req.Authority = h.Value
			}
			continue
		}
		switch {
		case len(h.Name) == len("host") && strings.EqualFold(h.Name, "host"):
			hasHost = true
		case len(h.Name) == len("x-request-id") && strings.EqualFold(h.Name, "x-request-id"):
			if req.RequestID == "" {
				req.RequestID = h.Value
			}
		}
		req.Headers = append(req.Headers, h)
	}
	if req.Authority != "" && !hasHost {
		req.Headers = append(req.Headers, Header{Name: "host", Value: req.Authority})
	}
	return req
}

// NewResponse builds an authorizer's answer from the header pairs and body
// of a callout's response as Envoy presents them to a filter: :status
// gives Status, other pseudo headers are dropped, every other pair is a
// header, in order. A missing :status, or one that is not a number from
// 100 to 999, is an error: the embedding then passes Response{} (a failed
// call) to Resume.
func NewResponse[H ~struct{ Name, Value string }](pairs []H, body []byte) (Response, error) {
	resp := Response{Body: body}
	for _, p := range pairs {
		h := Header(p)
		if h.Name == ":status" {
			n, err := strconv.Atoi(h.Value)
			if err != nil || n < 100 || n > 999 {
				return Response{}, errors.New("callout answer with bad :status " + strconv.Quote(h.Value))
			}
			resp.Status = n
			continue
		}
		if !strings.HasPrefix(h.Name, ":") {
			resp.Headers = append(resp.Headers, h)
		}
	}
	if resp.Status == 0 {
		return Response{}, errors.New("callout answer without :status")
	}
	return resp, nil
}
