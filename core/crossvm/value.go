package crossvm

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"time"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/pipeline"
)

// KeyPrefix starts every shared store key of the protocol; the version in
// it changes with the value encoding, so VMs of two versions never read
// each other's values.
const KeyPrefix = "authgate.v1."

// RegistryKey holds the queue names of the VMs, one a line, so that a VM
// that publishes knows whom to wake.
const RegistryKey = KeyPrefix + "queues"

// QueuePrefix starts every VM's queue name.
const QueuePrefix = "authgate.done."

// ClaimSlack is added to a Call's timeout to make its claim's deadline:
// the claimer's call ends (answer or timeout) within its timeout, and the
// slack covers the time between the claim and the call and between the
// answer and the publication. A claim past its deadline is taken as
// abandoned (the claiming VM died or lost the answer), so a waiter claims
// the slot itself instead of waiting for ever.
const ClaimSlack = time.Second

// HeaderLen is the length of a shared value without its payload.
const HeaderLen = 42

// Shared value encoding, version 1. All integers are big-endian.
//
//	byte  0       version, 1
//	byte  1       kind: 1 result, 2 unauthorized, 3 in flight, 4 released
//	bytes 2..33   digest of the identity (see digest)
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
	version      = 1
	kindResult   = 1
	kindUnauth   = 2
	kindInFlight = 3
	kindReleased = 4
)

// value is one decoded shared value.
type value struct {
	kind    byte
	digest  [32]byte
	expiry  int64 // unix nanoseconds
	payload []byte
}

// encode renders v in the version 1 encoding.
func encode(v value) []byte {
	b := make([]byte, HeaderLen, HeaderLen+len(v.payload))
	b[0], b[1] = version, v.kind
	copy(b[2:34], v.digest[:])
	binary.BigEndian.PutUint64(b[34:42], uint64(v.expiry))
	return append(b, v.payload...)
}

// decode reads a version 1 value; ok is false for anything else. The
// payload aliases b.
func decode(b []byte) (v value, ok bool) {
	if len(b) < HeaderLen || b[0] != version {
		return value{}, false
	}
	v.kind = b[1]
	switch {
	case v.kind == kindResult:
		v.payload = b[HeaderLen:]
	case v.kind >= kindUnauth && v.kind <= kindReleased:
		if len(b) != HeaderLen {
			return value{}, false
		}
	default:
		return value{}, false
	}
	copy(v.digest[:], b[2:34])
	v.expiry = int64(binary.BigEndian.Uint64(b[34:42]))
	return v, true
}

// identity is what the protocol knows of one authorizer question: its
// digest, its candidate slots and the settings that judge its values.
type identity struct {
	digest [32]byte
	// a and b are the store keys of the two candidate slots; b is ""
	// when both numbers coincide.
	a, b     string
	auth     *config.Authorizer
	timeout  time.Duration // the Call's
	maxEntry int           // the plan's SharedMaxEntryBytes
}

// identify returns the identity of c's question for a VM running pipe,
// or nil when it is not shared: the plan disables sharing (sharedSlots 0),
// or the authorizer has a TTL of 0, whose results are not cached, so VMs
// share nothing and do not coalesce calls across VMs either (each request
// calls, as it would without a cache).
func identify(pipe *pipeline.Pipeline, c *pipeline.Call) *identity {
	plan := pipe.Plan()
	auth := plan.Authorizers[c.Authorizer]
	if plan.SharedSlots <= 0 || auth == nil || auth.TTL <= 0 {
		return nil
	}
	id := &identity{digest: digest(plan, auth, c.Key), auth: auth, timeout: c.Timeout,
		maxEntry: plan.SharedMaxEntryBytes}
	id.a, id.b = slotKeys(id.digest, plan.SharedSlots)
	return id
}

// slotKeys are the keys of the two candidate slots of a digest:
// KeyPrefix and a slot number, bytes 0..7 (a) and 8..15 (b) of the digest,
// each modulo slots. They never contain the identity. b is "" when both
// numbers are equal: the identity then has one slot.
//
// Two candidates ("power of two choices") instead of one: with one slot
// per identity, any two identities mapped to one slot evict each other;
// with two, an identity finds a slot not holding another live identity
// unless both of its candidates do, which cuts such collisions sharply at
// the same bound on the store.
func slotKeys(d [32]byte, slots int) (a, b string) {
	sa, sb := slotNumbers(d, slots)
	a = KeyPrefix + strconv.FormatUint(sa, 10)
	if sb != sa {
		b = KeyPrefix + strconv.FormatUint(sb, 10)
	}
	return a, b
}

// slotNumbers derives the two candidate slot numbers of a digest from
// disjoint bytes of it, so that identities sharing one candidate are no
// likelier than others to share the second.
func slotNumbers(d [32]byte, slots int) (a, b uint64) {
	n := uint64(slots)
	return binary.BigEndian.Uint64(d[:8]) % n, binary.BigEndian.Uint64(d[8:16]) % n
}

// digest names an identity in the shared store. Besides the cache key
// (authorizer name and identity) it covers what makes the authorizer's
// answer mean something: the API it answers for and where it is called.
// Two plugin configurations that share a vm_id, and so one store, can then
// never read each other's results, even with equal authorizer names.
func digest(plan *config.Plan, auth *config.Authorizer, key string) [32]byte {
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

// holds tells whether b, read from one of id's candidate slots, names id:
// a value of this encoding with id's digest, whatever its kind and whether
// or not it is still live. Such a slot is id's: the protocol judges it,
// and claims it when that is a miss. A slot not holding id holds nothing
// or another identity's value.
func (id *identity) holds(b []byte) bool {
	v, ok := decode(b)
	return ok && v.digest == id.digest
}

// victim chooses which of an identity's two candidate slots it claims
// when neither holds it: 0 for the first candidate, holding a, 1 for the
// second, holding b. A slot whose value is no longer live (absent, not
// this encoding, expired, released, a claim past its deadline) is free
// and taken first. Otherwise a cached answer (result or Unauthorized)
// goes before a live claim, whose overwriting would make the VMs waiting
// on it call again; between two of a kind, the one expiring sooner goes,
// as it has the least time left to save calls. Ties go to the first
// candidate.
func victim(a, b []byte, now time.Time) int {
	ra, ea := victimRank(a, now)
	rb, eb := victimRank(b, now)
	if rb < ra || (rb == ra && ra > 0 && eb < ea) {
		return 1
	}
	return 0
}

// victimRank orders slot values for victim: 0 free, 1 a live answer, 2 a
// live claim; expiry orders values of one rank.
func victimRank(b []byte, now time.Time) (rank int, expiry int64) {
	v, ok := decode(b)
	if !ok || v.kind == kindReleased || v.expiry <= now.UnixNano() {
		return 0, 0
	}
	if v.kind == kindInFlight {
		return 2, v.expiry
	}
	return 1, v.expiry
}

// verdict is what a slot's value means for an identity.
type verdict uint8

const (
	// miss: no usable value (absent, not this encoding, another
	// identity's, expired, released, an abandoned claim, or an answer
	// this VM would not cache). The VM claims the slot.
	miss verdict = iota
	// answered: a result (payload) or Unauthorized answer, fresh for
	// remaining; adopted if the pipeline accepts it, else a miss.
	answered
	// inFlight: another VM is calling the authorizer for this identity.
	inFlight
)

// judge reads a slot's value for id at now, a clock read after the slot
// was read. A remaining time longer than the authorizer's TTL (or
// UnauthorizedTTL) can only come from another configuration or a clock
// step, and is cut by the adopting pipeline; a claim deadline further
// away than the call's timeout + ClaimSlack means the same, and is a
// miss, so that no VM waits longer than its own call could take.
func (id *identity) judge(b []byte, now time.Time) (verdict, value, time.Duration) {
	v, ok := decode(b)
	if !ok || v.digest != id.digest {
		return miss, value{}, 0
	}
	remaining := time.Unix(0, v.expiry).Sub(now)
	switch v.kind {
	case kindInFlight:
		if remaining > 0 && remaining <= id.timeout+ClaimSlack {
			return inFlight, v, remaining
		}
	case kindUnauth:
		if remaining > 0 && id.auth.UnauthorizedTTL > 0 {
			return answered, v, remaining
		}
	case kindResult:
		if remaining > 0 && len(v.payload) <= id.maxEntry {
			return answered, v, remaining
		}
	}
	return miss, value{}, 0
}

// adopt decides c's request, run by pipe, from an answered value.
func adopt(pipe *pipeline.Pipeline, c *pipeline.Call, v value, remaining time.Duration, now time.Time) (pipeline.Result, bool) {
	if v.kind == kindUnauth {
		return pipe.AdoptUnauthorized(c, remaining, now)
	}
	return pipe.Adopt(c, v.payload, remaining, now)
}

// claim is the value a VM compare-and-swaps into the slot before calling
// the authorizer, so that other VMs wait for its answer instead of
// calling too. Its deadline is now + the call's timeout + ClaimSlack.
func (id *identity) claim(now time.Time) []byte {
	return encode(value{kind: kindInFlight, digest: id.digest, expiry: now.Add(id.timeout + ClaimSlack).UnixNano()})
}

// release is the value that ends a claim without an answer: the VMs
// waiting on the slot stop waiting and look again.
func (id *identity) release(now time.Time) []byte {
	return encode(value{kind: kindReleased, digest: id.digest, expiry: now.UnixNano()})
}

// publication is the value a VM writes to the slot after its call: what
// the pipeline cached (res.TTL), for as long, or a release. body is the
// authorizer's answer; a result larger than the plan's
// sharedMaxEntryBytes is not shared.
func (id *identity) publication(res *pipeline.Result, body []byte, now time.Time) []byte {
	switch {
	case res.TTL > 0 && res.Decision == pipeline.DecisionUnauthorized:
		return encode(value{kind: kindUnauth, digest: id.digest, expiry: now.Add(res.TTL).UnixNano()})
	case res.TTL > 0 && len(body) <= id.maxEntry:
		return encode(value{kind: kindResult, digest: id.digest, expiry: now.Add(res.TTL).UnixNano(), payload: body})
	}
	return id.release(now)
}

// lines splits a registry value into names.
func lines(v []byte) []string {
	if len(v) == 0 {
		return nil
	}
	var out []string
	for len(v) > 0 {
		i := bytes.IndexByte(v, '\n')
		if i < 0 {
			out = append(out, string(v))
			break
		}
		out = append(out, string(v[:i]))
		v = v[i+1:]
	}
	return out
}
