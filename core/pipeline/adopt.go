package pipeline

import "time"

// Adopt decides c's request from an answer another cache obtained: body
// is the authorizer's 2xx response body, as that cache's call received
// it, and remaining how long it stays fresh there. The answer is parsed
// with the parser Resume uses and kept in this pipeline's cache for
// min(remaining, the authorizer's TTL), with the authorizer's stale
// window after that, so that the identity's next request is a plain hit
// and an answer is never served past the time its authorizer gave it.
// The Result has CacheState CacheShared.
//
// ok is false, and nothing is cached, when the answer cannot be adopted:
// the authorizer caches no results (TTL 0), nothing remains, the body
// does not parse, or the result could not allow (a principal or context
// value that is not a valid header), and always for a pipeline built
// WithoutSharing. The caller then asks the authorizer itself: an answer
// from elsewhere can save a call but never fail a request.
func (p *Pipeline) Adopt(c *Call, body []byte, remaining time.Duration, now time.Time) (r Result, ok bool) {
	st := &c.state
	if p.unshared || st.auth.TTL <= 0 || remaining <= 0 {
		return Result{}, false
	}
	res, err := p.parser(st.auth)(200, body)
	if err != nil {
		return Result{}, false
	}
	e := newEntry(res)
	if e.badHeader != "" {
		return Result{}, false
	}
	p.cache.PutStale(c.Key, e, e.size(), min(remaining, st.auth.TTL), st.auth.StaleIfError, now)
	st.eval.Now = now
	return p.decide(e, st, CacheShared), true
}

// AdoptUnauthorized decides c's request from an Unauthorized answer
// another cache obtained and keeps for remaining: the 401 is cached here
// for min(remaining, UnauthorizedTTL) and the Result has CacheState
// CacheShared. ok is false when this pipeline caches no Unauthorized
// answers for the authorizer, when nothing remains, and for a pipeline
// built WithoutSharing.
func (p *Pipeline) AdoptUnauthorized(c *Call, remaining time.Duration, now time.Time) (r Result, ok bool) {
	st := &c.state
	if p.unshared || st.auth.UnauthorizedTTL <= 0 || remaining <= 0 {
		return Result{}, false
	}
	p.cache.Put(c.Key, unauthorizedEntry, unauthorizedSize, min(remaining, st.auth.UnauthorizedTTL), now)
	r = p.reject(p.ans.unauthorized, st.vars, st.route, st.auth.Name, "authorizer answered unauthorized (shared)")
	r.CacheState = CacheShared
	return r, true
}
