package pipeline

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"time"

	"github.com/authgate/authgate/core/config"
)

// The shared cache is the proxy-wasm shared data store
// (proxy_get_shared_data / proxy_set_shared_data, with compare-and-swap),
// which all VMs of one vm_id see: Envoy runs one VM per worker, so with it
// one identity costs one authorizer call per TTL for the whole proxy, not
// one per worker. The embedding performs the store I/O; the pipeline
// decides the keys, the values and what a value means:
//
//	key := p.SharedKey(c)              // "" : no sharing for this Call
//	value, cas := get(key)
//	switch res, st := p.FromShared(c, value, now); st {
//	case SharedHit, SharedUnauthorized: // answer res, no call
//	case SharedInFlight:                // another VM calls: wait, read again
//	case SharedMiss:                    // set(key, p.Claim(c, now), cas);
//	}                                   // if the CAS won: call, Resume,
//	                                    // then set(key, res.Share)
//
// The store never evicts by itself, so it is bounded by its keys: an
// identity's value lives in one of SharedSlots slots chosen by its digest
// (direct-mapped), and a colliding identity overwrites the slot. The store
// therefore holds at most SharedSlots values of at most
// SharedMaxEntryBytes + SharedHeaderLen bytes each.

// SharedKeyPrefix starts every shared store key the pipeline gives; the
// version in it changes with the value encoding, so VMs of two versions
// never read each other's values.
const SharedKeyPrefix = "authgate.v1."

// SharedClaimSlack is added to a Call's timeout to make its claim's
// deadline: the claimer's call ends (answer or timeout) within its
// timeout, and the slack covers the time between the claim and the call
// and between the answer and the publication. A claim past its deadline
// is taken as abandoned (the claiming VM died or lost the answer), so a
// waiter claims the slot itself instead of waiting for ever.
const SharedClaimSlack = time.Second

// SharedHeaderLen is the length of a shared value without its payload.
const SharedHeaderLen = 42

// Shared value encoding, version 1. All integers are big-endian.
//
//	byte  0       version, 1
//	byte  1       kind: 1 result, 2 unauthorized, 3 in flight, 4 released
//	bytes 2..33   sharedDigest of the Call's Key (the identity's cache key)
//	bytes 34..41  expiry, unix nanoseconds, signed: for kind 1 and 2 when the
//	              answer stops being fresh; for kind 3 the claim's deadline;
//	              for kind 4 when the claim was released
//	bytes 42..    kind 1 only: the authorizer's 2xx response body, as
//	              received; the other kinds have no payload
//
// Kind 1 is a valid, cacheable result (a deny by policy is one too),
// kind 2 an Unauthorized answer cached for unauthorizedTtlInSeconds, kind 3
// a claim: a VM is calling the authorizer for this identity, and kind 4 the
// end of a claim without a shareable answer (a failure, an uncacheable
// answer, a body too large): waiters stop waiting and call themselves.
// Anything else (another version, an unknown kind, a short value, a payload
// on kinds 2 to 4) is not a value of this encoding and reads as a miss.
const (
	sharedVersion      = 1
	sharedResult       = 1
	sharedUnauthorized = 2
	sharedInFlight     = 3
	sharedReleased     = 4
)

// sharedValue is one decoded shared value.
type sharedValue struct {
	kind    byte
	digest  [32]byte
	expiry  int64 // unix nanoseconds
	payload []byte
}

// encodeShared renders v in the version 1 encoding.
func encodeShared(v sharedValue) []byte {
	b := make([]byte, SharedHeaderLen, SharedHeaderLen+len(v.payload))
	b[0], b[1] = sharedVersion, v.kind
	copy(b[2:34], v.digest[:])
	binary.BigEndian.PutUint64(b[34:42], uint64(v.expiry))
	return append(b, v.payload...)
}

// decodeShared reads a version 1 value; ok is false for anything else. The
// payload aliases b.
func decodeShared(b []byte) (v sharedValue, ok bool) {
	if len(b) < SharedHeaderLen || b[0] != sharedVersion {
		return sharedValue{}, false
	}
	v.kind = b[1]
	switch {
	case v.kind == sharedResult:
		v.payload = b[SharedHeaderLen:]
	case v.kind >= sharedUnauthorized && v.kind <= sharedReleased:
		if len(b) != SharedHeaderLen {
			return sharedValue{}, false
		}
	default:
		return sharedValue{}, false
	}
	copy(v.digest[:], b[2:34])
	v.expiry = int64(binary.BigEndian.Uint64(b[34:42]))
	return v, true
}

// SharedState says what a shared store value means for a Call.
type SharedState uint8

// SharedState values.
const (
	// SharedMiss: no usable value (absent, not this encoding, another
	// identity's, expired, released, an abandoned claim, or an answer
	// this pipeline would not cache). The embedding claims the slot.
	SharedMiss SharedState = iota
	// SharedHit: another VM's result decided the request.
	SharedHit
	// SharedUnauthorized: another VM's cached Unauthorized answer.
	SharedUnauthorized
	// SharedInFlight: another VM is calling the authorizer for this
	// identity; the embedding waits and reads the slot again.
	SharedInFlight
)

// String names the state for logs.
func (s SharedState) String() string {
	switch s {
	case SharedMiss:
		return "miss"
	case SharedHit:
		return "hit"
	case SharedUnauthorized:
		return "unauthorized"
	case SharedInFlight:
		return "in-flight"
	}
	return "invalid"
}

// SharedKey is the shared store key of c's identity: SharedKeyPrefix and a
// slot number, the first 8 bytes of sha256(c.Key) modulo the plan's
// SharedSlots. It never contains the identity. It is "" when the plan
// disables sharing (sharedSlots 0) and for authorizers with a TTL of 0:
// their results are not cached, so VMs share nothing and do not coalesce
// calls across VMs either (each request calls, as it would without a cache).
func (p *Pipeline) SharedKey(c *Call) string {
	if !c.state.hashed || p.plan.SharedSlots <= 0 {
		return ""
	}
	slot := binary.BigEndian.Uint64(c.state.digest[:8]) % uint64(p.plan.SharedSlots)
	return SharedKeyPrefix + strconv.FormatUint(slot, 10)
}

// Claim is the value the embedding compare-and-swaps into the slot of c
// before calling the authorizer, so that other VMs wait for its answer
// (SharedInFlight) instead of calling too. The claim's deadline is now +
// c.Timeout + SharedClaimSlack. Claim returns nil when SharedKey(c) is "".
func (p *Pipeline) Claim(c *Call, now time.Time) []byte {
	if p.SharedKey(c) == "" {
		return nil
	}
	return encodeShared(sharedValue{kind: sharedInFlight, digest: c.state.digest,
		expiry: now.Add(c.Timeout + SharedClaimSlack).UnixNano()})
}

// share is the value Resume publishes for c, nil without sharing.
func (p *Pipeline) share(c *Call, kind byte, expiry time.Time, body []byte) []byte {
	if p.SharedKey(c) == "" {
		return nil
	}
	return encodeShared(sharedValue{kind: kind, digest: c.state.digest, expiry: expiry.UnixNano(), payload: body})
}

// FromShared reads the value the shared store holds in c's slot (nil when
// absent) and, for SharedHit and SharedUnauthorized, returns the final
// Result (CacheState CacheShared) and puts the answer in this pipeline's
// cache for the rest of its time, so the next request of this VM is a
// plain hit. For SharedMiss and SharedInFlight it returns the pending Call
// result, as Evaluate did.
//
// A result is parsed with the parser Resume uses; one that does not parse
// or could not allow (a principal or context value that is not a valid
// header) is a miss, never a failure: the VM then asks the authorizer
// itself. A remaining time longer than the authorizer's TTL (or
// UnauthorizedTTL), or a claim deadline further away than c.Timeout +
// SharedClaimSlack, can only come from another configuration or a clock
// step, and is cut to this pipeline's setting, or taken as a miss for a
// claim.
func (p *Pipeline) FromShared(c *Call, value []byte, now time.Time) (Result, SharedState) {
	pending := Result{Kind: KindCall, Call: c, Route: c.state.route, Authorizer: c.Authorizer,
		CacheState: CacheMiss, Decision: DecisionPending, Statement: -1}
	if p.SharedKey(c) == "" {
		return pending, SharedMiss
	}
	v, ok := decodeShared(value)
	if !ok || v.digest != c.state.digest {
		return pending, SharedMiss
	}
	st := &c.state
	remaining := time.Unix(0, v.expiry).Sub(now)
	switch v.kind {
	case sharedInFlight:
		if remaining > 0 && remaining <= c.Timeout+SharedClaimSlack {
			return pending, SharedInFlight
		}
	case sharedUnauthorized:
		if remaining > 0 && st.auth.UnauthorizedTTL > 0 {
			p.cache.Put(c.Key, unauthorizedEntry, unauthorizedSize, min(remaining, st.auth.UnauthorizedTTL), now)
			r := p.reject(p.ans.unauthorized, st.vars, st.route, st.auth.Name, "authorizer answered unauthorized (shared)")
			r.CacheState = CacheShared
			return r, SharedUnauthorized
		}
	case sharedResult:
		if remaining <= 0 || len(v.payload) > p.plan.SharedMaxEntryBytes {
			break
		}
		res, err := p.parser(st.auth)(200, v.payload)
		if err != nil {
			break
		}
		e := newEntry(res)
		if e.badHeader != "" {
			break
		}
		p.cache.PutStale(c.Key, e, e.size(), min(remaining, st.auth.TTL), st.auth.StaleIfError, now)
		st.eval.Now = now
		return p.decide(e, st, CacheShared), SharedHit
	}
	return pending, SharedMiss
}

// sharedDigest names an identity in the shared store. Besides the cache key
// (authorizer name and identity) it covers what makes the authorizer's
// answer mean something: the API it answers for and where it is called.
// Two plugin configurations that share a vm_id, and so one store, can then
// never read each other's results, even with equal authorizer names.
func sharedDigest(plan *config.Plan, auth *config.Authorizer, key string) [32]byte {
	h := sha256.New()
	for _, part := range []string{plan.AccountID, plan.RestAPIID, plan.Stage, plan.APIType,
		auth.Type, auth.Cluster, auth.Path, auth.Authority, key} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(part)))
		h.Write(n[:])
		h.Write([]byte(part))
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}
