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
//	a, b := p.SharedKeys(c)            // a "" : no sharing for this Call
//	va := get(a)                       // b "" : a is the only candidate
//	if !p.SharedHolds(c, va) && b != "" {
//		vb := get(b)                   // c's slot is b if vb holds c,
//	}                                  // else SharedVictim(va, vb, now)
//	switch res, st := p.FromShared(c, value, now); st {
//	case SharedHit, SharedUnauthorized: // answer res, no call
//	case SharedInFlight:                // another VM calls: wait, read again
//	case SharedMiss:                    // set(key, p.Claim(c, now), cas);
//	}                                   // if the CAS won: call, Resume,
//	                                    // then set(key, res.Share)
//
// The store never evicts by itself, so it is bounded by its keys: an
// identity's value lives in one of two candidate slots of SharedSlots,
// chosen by its digest, and a new identity whose candidates both hold other
// identities' live values overwrites the one that matters least (see
// SharedVictim). The store therefore holds at most SharedSlots values of
// at most SharedMaxEntryBytes + SharedHeaderLen bytes each.

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

// SharedKey is the first candidate slot of c's identity, as SharedKeys
// returns it.
func (p *Pipeline) SharedKey(c *Call) string {
	a, _ := p.SharedKeys(c)
	return a
}

// SharedKeys are the shared store keys of the two candidate slots of c's
// identity: SharedKeyPrefix and a slot number, bytes 0..7 (a) and 8..15
// (b) of the identity's sha256 digest, each modulo the plan's SharedSlots.
// They never contain the identity. b is "" when both numbers are equal:
// the identity then has one slot. Both are "" when the plan disables
// sharing (sharedSlots 0) and for authorizers with a TTL of 0: their
// results are not cached, so VMs share nothing and do not coalesce calls
// across VMs either (each request calls, as it would without a cache).
//
// Two candidates ("power of two choices") instead of one: with one slot
// per identity, any two identities mapped to one slot evict each other;
// with two, an identity finds a slot not holding another live identity
// unless both of its candidates do, which cuts such collisions sharply at
// the same bound on the store.
func (p *Pipeline) SharedKeys(c *Call) (a, b string) {
	if !c.state.hashed || p.plan.SharedSlots <= 0 {
		return "", ""
	}
	sa, sb := sharedSlots(c.state.digest, p.plan.SharedSlots)
	a = SharedKeyPrefix + strconv.FormatUint(sa, 10)
	if sb != sa {
		b = SharedKeyPrefix + strconv.FormatUint(sb, 10)
	}
	return a, b
}

// sharedSlots derives the two candidate slot numbers of a digest from
// disjoint bytes of it, so that identities sharing one candidate are no
// likelier than others to share the second.
func sharedSlots(d [32]byte, slots int) (a, b uint64) {
	n := uint64(slots)
	return binary.BigEndian.Uint64(d[:8]) % n, binary.BigEndian.Uint64(d[8:16]) % n
}

// SharedHolds tells whether value, read from one of c's candidate slots,
// names c's identity: a value of this encoding with c's digest, whatever
// its kind and whether or not it is still live. Such a slot is c's:
// FromShared judges it, and the embedding claims it when that is a miss.
// A slot not holding c's identity holds nothing or another identity's value.
func (p *Pipeline) SharedHolds(c *Call, value []byte) bool {
	if p.SharedKey(c) == "" {
		return false
	}
	v, ok := decodeShared(value)
	return ok && v.digest == c.state.digest
}

// SharedVictim chooses which of an identity's two candidate slots it
// claims when neither holds it (see SharedHolds): 0 for the first
// candidate, holding a, 1 for the second, holding b. A slot whose value is
// no longer live (absent, not this encoding, expired, released, a claim
// past its deadline) is free and taken first. Otherwise a cached answer
// (result or Unauthorized) goes before a live claim, whose overwriting
// would make the VMs waiting on it call again; between two of a kind, the
// one expiring sooner goes, as it has the least time left to save calls.
// Ties go to the first candidate.
func SharedVictim(a, b []byte, now time.Time) int {
	ra, ea := victimRank(a, now)
	rb, eb := victimRank(b, now)
	if rb < ra || (rb == ra && ra > 0 && eb < ea) {
		return 1
	}
	return 0
}

// victimRank orders slot values for SharedVictim: 0 free, 1 a live
// answer, 2 a live claim; expiry orders values of one rank.
func victimRank(b []byte, now time.Time) (rank int, expiry int64) {
	v, ok := decodeShared(b)
	if !ok || v.kind == sharedReleased || v.expiry <= now.UnixNano() {
		return 0, 0
	}
	if v.kind == sharedInFlight {
		return 2, v.expiry
	}
	return 1, v.expiry
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

// Release is the value that ends a claim of c without an answer, as a
// failed call's Result.Share does: the VMs waiting on the slot stop
// waiting and look again. The embedding writes it over its own claim when
// it gives the slot up. Release returns nil when SharedKey(c) is "".
func (p *Pipeline) Release(c *Call, now time.Time) []byte {
	return p.share(c, sharedReleased, now, nil)
}

// share is the value Resume publishes for c, nil without sharing.
func (p *Pipeline) share(c *Call, kind byte, expiry time.Time, body []byte) []byte {
	if p.SharedKey(c) == "" {
		return nil
	}
	return encodeShared(sharedValue{kind: kind, digest: c.state.digest, expiry: expiry.UnixNano(), payload: body})
}

// FromShared reads the value the shared store holds in c's slot (nil when
// absent; the candidate SharedHolds or SharedVictim chose) and, for SharedHit and SharedUnauthorized, returns the final
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
