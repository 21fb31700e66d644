package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/core/config"
)

// call evaluates a bearer-token request that must need an authorizer call.
func call(t *testing.T, p *Pipeline, target, token string, now time.Time) *Call {
	t.Helper()
	r := p.Evaluate(&Request{Method: "GET", Target: target, Headers: bearer(token)}, now)
	if r.Kind != KindCall {
		t.Fatalf("Evaluate(%s, %s) = %s, want a call", target, token, summary(r))
	}
	return r.Call
}

func TestSharedKey(t *testing.T) {
	p := newModesPipeline(t, nil)
	secret := "s3cr3t-token"
	a1 := call(t, p, "/pos", secret, t0)
	a2 := call(t, p, "/pos", secret, t0.Add(time.Second))
	other := call(t, p, "/pos", "another-token", t0)
	otherAuth := call(t, p, "/both", secret, t0)
	k := p.SharedKey(a1)
	digest := a1.state.digest
	want := "authgate.v1." + strconv.FormatUint(binary.BigEndian.Uint64(digest[:8])%1024, 10)
	if k != want {
		t.Errorf("SharedKey = %q, want %q", k, want)
	}
	if strings.Contains(k, secret) || strings.Contains(k, "pos") {
		t.Errorf("SharedKey %q carries the identity or the authorizer", k)
	}
	if p.SharedKey(a2) != k {
		t.Errorf("two Calls of one identity have keys %q and %q", k, p.SharedKey(a2))
	}
	if p.SharedKey(other) == k || p.SharedKey(otherAuth) == k {
		t.Errorf("other identity or authorizer shares key %q", k)
	}
	for _, v := range [][]byte{p.Claim(a1, t0), p.Resume(a1, allowAll, t0).Share} {
		if bytes.Contains(v, []byte(secret)) {
			t.Errorf("shared value %q carries the identity", v)
		}
	}

	for _, tt := range []struct {
		name, edit, target, want string
	}{
		{"ttl 0 authorizer shares nothing", "", "/off", ""},
		{"negative-only authorizer shares nothing", "", "/neg", ""},
		{"sharing disabled", `"sharedSlots": 0`, "/pos", ""},
		{"one slot", `"sharedSlots": 1`, "/pos", "authgate.v1.0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newModesPipeline(t, func(s string) string {
				return strings.Replace(s, `"sharedSlots": 1024`, cmpOr(tt.edit, `"sharedSlots": 1024`), 1)
			})
			c := call(t, p, tt.target, "x", t0)
			if got := p.SharedKey(c); got != tt.want {
				t.Errorf("SharedKey = %q, want %q", got, tt.want)
			}
			if tt.want == "" {
				if p.Claim(c, t0) != nil {
					t.Error("Claim without a key is not nil")
				}
				if r := p.Resume(c, allowAll, t0); r.Share != nil {
					t.Errorf("Share without a key = %q", r.Share)
				}
				if _, st := p.FromShared(c, p.encodeFor(c, sharedResult, t0.Add(time.Hour), allowAll.Body), t0); st != SharedMiss {
					t.Errorf("FromShared without a key = %v", st)
				}
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// encodeFor builds a shared value for c's identity, as another VM would.
func (p *Pipeline) encodeFor(c *Call, kind byte, expiry time.Time, body []byte) []byte {
	return encodeShared(sharedValue{kind: kind, digest: c.state.digest, expiry: expiry.UnixNano(), payload: body})
}

func TestResumeShare(t *testing.T) {
	big := policyResponse("alice", "Allow", []string{"*"}, map[string]any{"pad": strings.Repeat("x", 1024)})
	tests := []struct {
		name   string
		target string
		resp   Response
		kind   byte
		expiry time.Duration
		body   []byte
	}{
		{"valid allow is shared for the ttl", "/pos", allowAll, sharedResult, 300 * time.Second, allowAll.Body},
		{"valid deny is shared too", "/pos", denyAll, sharedResult, 300 * time.Second, denyAll.Body},
		{"cached 401 is shared", "/both", answer401, sharedUnauthorized, 60 * time.Second, nil},
		{"uncached 401 releases", "/pos", answer401, sharedReleased, 0, nil},
		{"error status releases", "/pos", answer500, sharedReleased, 0, nil},
		{"failed call releases", "/pos", unreached, sharedReleased, 0, nil},
		{"malformed releases", "/pos", malformed, sharedReleased, 0, nil},
		{"bad header releases", "/pos", badHeader, sharedReleased, 0, nil},
		{"body larger than sharedMaxEntryBytes releases", "/pos", big, sharedReleased, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newModesPipeline(t, nil)
			c := call(t, p, tt.target, "tok", t0)
			r := p.Resume(c, tt.resp, t0)
			want := encodeShared(sharedValue{kind: tt.kind, digest: c.state.digest, expiry: t0.Add(tt.expiry).UnixNano(), payload: tt.body})
			if !bytes.Equal(r.Share, want) {
				t.Errorf("Share = %x\nwant    %x", r.Share, want)
			}
		})
	}
	t.Run("stale result served still releases", func(t *testing.T) {
		p := newModesPipeline(t, nil)
		p.Resume(call(t, p, "/stale", "tok", t0), allowAll, t0)
		c := call(t, p, "/stale", "tok", t0.Add(time.Minute))
		r := p.Resume(c, answer500, t0.Add(time.Minute))
		want := p.encodeFor(c, sharedReleased, t0.Add(time.Minute), nil)
		if r.CacheState != CacheStale || !bytes.Equal(r.Share, want) {
			t.Errorf("cache %v, Share %x", r.CacheState, r.Share)
		}
	})
}

func TestClaim(t *testing.T) {
	p := newModesPipeline(t, nil)
	c := call(t, p, "/pos", "tok", t0)
	got := p.Claim(c, t0)
	want := p.encodeFor(c, sharedInFlight, t0.Add(time.Second+SharedClaimSlack), nil)
	if !bytes.Equal(got, want) {
		t.Errorf("Claim = %x, want %x", got, want)
	}
}

func TestFromShared(t *testing.T) {
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	tests := []struct {
		name   string
		target string
		value  func(p *Pipeline, c *Call) []byte
		now    time.Duration
		state  SharedState
		want   string // summary of the Result
	}{
		{"absent", "/pos", func(*Pipeline, *Call) []byte { return nil }, 0, SharedMiss, "call miss PENDING"},
		{"garbage", "/pos", func(*Pipeline, *Call) []byte { return []byte("hello") }, 0, SharedMiss, "call miss PENDING"},
		{"fresh result", "/pos", func(p *Pipeline, c *Call) []byte {
			return p.encodeFor(c, sharedResult, at(time.Minute), allowAll.Body)
		}, 0, SharedHit, "allow shared ALLOW"},
		{"fresh deny", "/pos", func(p *Pipeline, c *Call) []byte {
			return p.encodeFor(c, sharedResult, at(time.Minute), denyAll.Body)
		}, 0, SharedHit, "reject 403 shared DENY"},
		{"result one nanosecond before expiry", "/pos", func(p *Pipeline, c *Call) []byte {
			return p.encodeFor(c, sharedResult, at(time.Minute), allowAll.Body)
		}, time.Minute - 1, SharedHit, "allow shared ALLOW"},
		{"result at expiry", "/pos", func(p *Pipeline, c *Call) []byte {
			return p.encodeFor(c, sharedResult, at(time.Minute), allowAll.Body)
		}, time.Minute, SharedMiss, "call miss PENDING"},
		{"result of another identity", "/pos", func(p *Pipeline, c *Call) []byte {
			return encodeShared(sharedValue{kind: sharedResult, digest: sha256.Sum256([]byte("other")), expiry: at(time.Minute).UnixNano(), payload: allowAll.Body})
		}, 0, SharedMiss, "call miss PENDING"},
		{"result that does not parse", "/pos", func(p *Pipeline, c *Call) []byte {
			return p.encodeFor(c, sharedResult, at(time.Minute), malformed.Body)
		}, 0, SharedMiss, "call miss PENDING"},
		{"result that could not allow", "/pos", func(p *Pipeline, c *Call) []byte {
			return p.encodeFor(c, sharedResult, at(time.Minute), badHeader.Body)
		}, 0, SharedMiss, "call miss PENDING"},
		{"result larger than the shared bound", "/pos", func(p *Pipeline, c *Call) []byte {
			body := policyResponse("alice", "Allow", []string{"*"}, map[string]any{"pad": strings.Repeat("x", 1024)}).Body
			return p.encodeFor(c, sharedResult, at(time.Minute), body)
		}, 0, SharedMiss, "call miss PENDING"},
		{"fresh unauthorized", "/both", func(p *Pipeline, c *Call) []byte {
			return p.encodeFor(c, sharedUnauthorized, at(time.Minute), nil)
		}, 0, SharedUnauthorized, "reject 401 shared UNAUTHORIZED"},
		{"expired unauthorized", "/both", func(p *Pipeline, c *Call) []byte {
			return p.encodeFor(c, sharedUnauthorized, at(time.Minute), nil)
		}, time.Minute, SharedMiss, "call miss PENDING"},
		{"unauthorized where 401s are not cached", "/pos", func(p *Pipeline, c *Call) []byte {
			return p.encodeFor(c, sharedUnauthorized, at(time.Minute), nil)
		}, 0, SharedMiss, "call miss PENDING"},
		{"live claim", "/pos", func(p *Pipeline, c *Call) []byte { return p.Claim(c, t0) }, 0, SharedInFlight, "call miss PENDING"},
		{"claim one nanosecond before its deadline", "/pos", func(p *Pipeline, c *Call) []byte { return p.Claim(c, t0) },
			2*time.Second - 1, SharedInFlight, "call miss PENDING"},
		{"abandoned claim", "/pos", func(p *Pipeline, c *Call) []byte { return p.Claim(c, t0) }, 2 * time.Second, SharedMiss, "call miss PENDING"},
		{"claim too far ahead", "/pos", func(p *Pipeline, c *Call) []byte {
			return p.encodeFor(c, sharedInFlight, at(time.Hour), nil)
		}, 0, SharedMiss, "call miss PENDING"},
		{"released", "/pos", func(p *Pipeline, c *Call) []byte {
			return p.encodeFor(c, sharedReleased, at(time.Hour), nil)
		}, 0, SharedMiss, "call miss PENDING"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newModesPipeline(t, nil)
			c := call(t, p, tt.target, "tok", t0)
			r, st := p.FromShared(c, tt.value(p, c), t0.Add(tt.now))
			if st != tt.state || summary(r) != tt.want {
				t.Errorf("FromShared = %s, %v; want %s, %v (reason %q)", summary(r), st, tt.want, tt.state, r.Reason)
			}
			if r.Kind == KindCall && r.Call != c {
				t.Error("pending result lost the Call")
			}
			if r.Share != nil {
				t.Errorf("FromShared set Share %x", r.Share)
			}
			wantLen := 0
			if st == SharedHit || st == SharedUnauthorized {
				wantLen = 1
			}
			if p.CacheLen() != wantLen {
				t.Errorf("cache holds %d entries, want %d", p.CacheLen(), wantLen)
			}
		})
	}
}

// TestSharedCacheAcrossVMs runs two pipelines of one plan, as two VMs of
// one Envoy, over a map standing in for the shared data store with
// compare-and-swap.
func TestSharedCacheAcrossVMs(t *testing.T) {
	type slot struct {
		value []byte
		cas   uint32
	}
	store := map[string]slot{}
	get := func(k string) ([]byte, uint32) { s := store[k]; return s.value, s.cas }
	set := func(k string, v []byte, cas uint32) bool {
		if cas != 0 && store[k].cas != cas {
			return false
		}
		store[k] = slot{v, store[k].cas + 1}
		return true
	}
	p := newModesPipeline(t, nil)
	vmA, vmB := New(p.Plan()), New(p.Plan())
	req := &Request{Method: "GET", Target: "/pos", Headers: bearer("shared-token")}

	// VM A misses everywhere, claims the slot and calls.
	ra := vmA.Evaluate(req, t0)
	if ra.Kind != KindCall {
		t.Fatalf("A: %s", summary(ra))
	}
	key := vmA.SharedKey(ra.Call)
	v, cas := get(key)
	if _, st := vmA.FromShared(ra.Call, v, t0); st != SharedMiss {
		t.Fatalf("A: FromShared = %v, want miss", st)
	}
	if !set(key, vmA.Claim(ra.Call, t0), cas) {
		t.Fatal("A: claim lost")
	}

	// VM B finds the claim and waits.
	rb := vmB.Evaluate(req, t0.Add(10*time.Millisecond))
	if rb.Kind != KindCall || vmB.SharedKey(rb.Call) != key {
		t.Fatalf("B: %s, key %q want %q", summary(rb), vmB.SharedKey(rb.Call), key)
	}
	v, _ = get(key)
	if _, st := vmB.FromShared(rb.Call, v, t0.Add(10*time.Millisecond)); st != SharedInFlight {
		t.Fatalf("B: FromShared before publish = %v, want in flight", st)
	}

	// VM A's authorizer answers; A publishes.
	fin := vmA.Resume(ra.Call, allowAll, t0.Add(50*time.Millisecond))
	if summary(fin) != "allow miss ALLOW" || fin.Share == nil {
		t.Fatalf("A: %s, share %x", summary(fin), fin.Share)
	}
	set(key, fin.Share, 0)

	// VM B reads the result without a call of its own: it never Resumes.
	v, _ = get(key)
	got, st := vmB.FromShared(rb.Call, v, t0.Add(60*time.Millisecond))
	if st != SharedHit || summary(got) != "allow shared ALLOW" || !equalHeaders(got.Set, fin.Set) || got.Route != "/pos" || got.Authorizer != "pos" {
		t.Fatalf("B: FromShared after publish = %s, %v, set %v", summary(got), st, got.Set)
	}
	// B's own cache now answers, until A's TTL ends (not B's own TTL
	// counted from the read).
	expiry := t0.Add(50*time.Millisecond + 300*time.Second)
	if r := vmB.Evaluate(req, expiry.Add(-1)); summary(r) != "allow hit ALLOW" {
		t.Errorf("B before the shared expiry: %s", summary(r))
	}
	rb2 := vmB.Evaluate(req, expiry)
	if rb2.Kind != KindCall {
		t.Fatalf("B at the shared expiry: %s, want a call", summary(rb2))
	}
	// The slot has expired too: B misses and would claim.
	v, _ = get(key)
	if _, st := vmB.FromShared(rb2.Call, v, expiry); st != SharedMiss {
		t.Errorf("B: expired slot = %v, want miss", st)
	}
}

// TestSharedCollision: with one slot every identity maps to the same key;
// a slot holding another identity's result is a miss, and publishing
// overwrites it.
func TestSharedCollision(t *testing.T) {
	p := newModesPipeline(t, func(s string) string { return strings.Replace(s, `"sharedSlots": 1024`, `"sharedSlots": 1`, 1) })
	vmA, vmB := New(p.Plan()), New(p.Plan())
	x := call(t, vmA, "/pos", "x", t0)
	y := call(t, vmB, "/pos", "y", t0)
	if vmA.SharedKey(x) != vmB.SharedKey(y) {
		t.Fatalf("keys %q and %q differ with one slot", vmA.SharedKey(x), vmB.SharedKey(y))
	}
	slot := vmA.Resume(x, allowAll, t0).Share
	if _, st := vmB.FromShared(y, slot, t0); st != SharedMiss {
		t.Errorf("other identity's result = %v, want miss", st)
	}
	if _, st := vmB.FromShared(y, vmA.Claim(x, t0), t0); st != SharedMiss {
		t.Errorf("other identity's claim = %v, want miss", st)
	}
	slot = vmB.Resume(y, denyAll, t0).Share
	x2 := call(t, vmB, "/pos", "x", t0)
	if _, st := vmB.FromShared(x2, slot, t0); st != SharedMiss {
		t.Errorf("overwritten slot = %v, want miss", st)
	}
}

// TestSharedUnauthorizedAcrossVMs: a 401 one VM caches answers the other
// VM, which keeps it for the remaining time only.
func TestSharedUnauthorizedAcrossVMs(t *testing.T) {
	p := newModesPipeline(t, nil)
	vmA, vmB := New(p.Plan()), New(p.Plan())
	share := vmA.Resume(call(t, vmA, "/both", "u", t0), answer401, t0).Share
	c := call(t, vmB, "/both", "u", t0.Add(20*time.Second))
	r, st := vmB.FromShared(c, share, t0.Add(20*time.Second))
	if st != SharedUnauthorized || summary(r) != "reject 401 shared UNAUTHORIZED" || string(r.Body) != wantBody[401] {
		t.Fatalf("FromShared = %s, %v", summary(r), st)
	}
	req := &Request{Method: "GET", Target: "/both", Headers: bearer("u")}
	if r := vmB.Evaluate(req, t0.Add(60*time.Second-1)); summary(r) != "reject 401 hit UNAUTHORIZED" {
		t.Errorf("B before expiry: %s", summary(r))
	}
	if r := vmB.Evaluate(req, t0.Add(60*time.Second)); r.Kind != KindCall {
		t.Errorf("B at expiry: %s, want a call", summary(r))
	}
}

// TestSharedResultKeepsStaleWindow: a result read from the shared store
// can be served stale by the reading VM, as if it had called itself.
func TestSharedResultKeepsStaleWindow(t *testing.T) {
	p := newModesPipeline(t, nil)
	vmA, vmB := New(p.Plan()), New(p.Plan())
	share := vmA.Resume(call(t, vmA, "/stale", "s", t0), allowAll, t0).Share
	if _, st := vmB.FromShared(call(t, vmB, "/stale", "s", t0), share, t0); st != SharedHit {
		t.Fatalf("FromShared = %v", st)
	}
	later := t0.Add(90 * time.Second)
	r := vmB.Resume(call(t, vmB, "/stale", "s", later), unreached, later)
	if summary(r) != "allow stale ALLOW" {
		t.Errorf("B after a failure = %s", summary(r))
	}
}

func TestSharedEncodingRoundTrip(t *testing.T) {
	digest := sha256.Sum256([]byte("k"))
	tests := []struct {
		name string
		v    sharedValue
		want []byte
	}{
		{"result", sharedValue{kind: sharedResult, digest: digest, expiry: 0x0102030405060708, payload: []byte("{}")},
			append(append([]byte{1, 1}, digest[:]...), 1, 2, 3, 4, 5, 6, 7, 8, '{', '}')},
		{"unauthorized", sharedValue{kind: sharedUnauthorized, digest: digest, expiry: 1},
			append(append([]byte{1, 2}, digest[:]...), 0, 0, 0, 0, 0, 0, 0, 1)},
		{"negative expiry", sharedValue{kind: sharedReleased, digest: digest, expiry: -1},
			append(append([]byte{1, 4}, digest[:]...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := encodeShared(tt.v)
			if !bytes.Equal(b, tt.want) {
				t.Fatalf("encode = %x\nwant     %x", b, tt.want)
			}
			got, ok := decodeShared(b)
			if !ok || !equalShared(got, tt.v) {
				t.Errorf("decode = %+v, %v; want %+v", got, ok, tt.v)
			}
		})
	}
	bad := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"header cut short", encodeShared(sharedValue{kind: sharedUnauthorized})[:SharedHeaderLen-1]},
		{"version 2", append([]byte{2, 1}, make([]byte, 40)...)},
		{"version 0", make([]byte, 42)},
		{"kind 0", append([]byte{1, 0}, make([]byte, 40)...)},
		{"kind 5", append([]byte{1, 5}, make([]byte, 40)...)},
		{"payload on unauthorized", append(encodeShared(sharedValue{kind: sharedUnauthorized}), 'x')},
		{"payload on a claim", append(encodeShared(sharedValue{kind: sharedInFlight}), 'x')},
		{"payload on a release", append(encodeShared(sharedValue{kind: sharedReleased}), 'x')},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if v, ok := decodeShared(tt.b); ok {
				t.Errorf("decode(%x) = %+v, want a miss", tt.b, v)
			}
		})
	}
}

func equalShared(a, b sharedValue) bool {
	return a.kind == b.kind && a.digest == b.digest && a.expiry == b.expiry && bytes.Equal(a.payload, b.payload)
}

func FuzzSharedDecode(f *testing.F) {
	digest := sha256.Sum256([]byte("k"))
	f.Add([]byte{})
	f.Add(encodeShared(sharedValue{kind: sharedResult, digest: digest, expiry: 7, payload: allowAll.Body}))
	f.Add(encodeShared(sharedValue{kind: sharedUnauthorized, digest: digest, expiry: 7}))
	f.Add(encodeShared(sharedValue{kind: sharedInFlight, digest: digest, expiry: 7}))
	f.Add(encodeShared(sharedValue{kind: sharedReleased, digest: digest}))
	f.Add([]byte("authgate.v1.0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, ok := decodeShared(b)
		if !ok {
			return
		}
		// A value that decodes is exactly the encoding of what it decodes to.
		if again := encodeShared(v); !bytes.Equal(again, b) {
			t.Fatalf("encode(decode(%x)) = %x", b, again)
		}
	})
}

func FuzzSharedRoundTrip(f *testing.F) {
	f.Add(byte(1), []byte("digest"), int64(0), []byte(`{}`), 0)
	f.Add(byte(2), []byte{}, int64(-1), []byte{}, 41)
	f.Add(byte(3), []byte("x"), int64(1<<62), []byte(nil), 10)
	f.Fuzz(func(t *testing.T, kind byte, d []byte, expiry int64, payload []byte, cut int) {
		kind = kind%4 + 1
		v := sharedValue{kind: kind, expiry: expiry}
		copy(v.digest[:], d)
		if kind == sharedResult {
			v.payload = payload
		}
		b := encodeShared(v)
		got, ok := decodeShared(b)
		if !ok || !equalShared(got, v) {
			t.Fatalf("decode(encode(%+v)) = %+v, %v", v, got, ok)
		}
		// Any truncation into the header is a miss.
		if cut = cut % SharedHeaderLen; cut < 0 {
			cut = -cut
		}
		if _, ok := decodeShared(b[:cut]); ok {
			t.Fatalf("decode of %d bytes of %x succeeded", cut, b)
		}
	})
}

// FuzzFromShared feeds arbitrary store values to FromShared, with this
// identity's digest spliced in so the value reaches the kind handling: it
// must never panic, never fail a request, and hit only for a result or an
// Unauthorized answer.
func FuzzFromShared(f *testing.F) {
	p := newModesPipeline(f, nil)
	digest := sha256.Sum256([]byte("dummy"))
	f.Add(encodeShared(sharedValue{kind: sharedResult, digest: digest, expiry: t0.Add(time.Minute).UnixNano(), payload: allowAll.Body}), true)
	f.Add(encodeShared(sharedValue{kind: sharedUnauthorized, digest: digest, expiry: t0.Add(time.Minute).UnixNano()}), true)
	f.Add(encodeShared(sharedValue{kind: sharedInFlight, digest: digest, expiry: t0.Add(time.Second).UnixNano()}), true)
	f.Add([]byte(`{"principalId":"x"}`), false)
	f.Fuzz(func(t *testing.T, value []byte, splice bool) {
		for _, target := range []string{"/pos", "/both"} {
			c := p.Evaluate(&Request{Method: "GET", Target: target, Headers: bearer("fuzz")}, t0).Call
			v := value
			if splice && len(v) >= SharedHeaderLen {
				v = bytes.Clone(v)
				d := c.state.digest
				copy(v[2:34], d[:])
			}
			r, st := p.FromShared(c, v, t0)
			switch st {
			case SharedMiss, SharedInFlight:
				if r.Kind != KindCall {
					t.Fatalf("%v with kind %v", st, r.Kind)
				}
			case SharedHit:
				if r.CacheState != CacheShared || r.Decision == DecisionError {
					t.Fatalf("hit = %s", summary(r))
				}
			case SharedUnauthorized:
				if summary(r) != "reject 401 shared UNAUTHORIZED" {
					t.Fatalf("unauthorized = %s", summary(r))
				}
			default:
				t.Fatalf("state %v", st)
			}
			p.cache.Delete(c.Key)
		}
	})
}

func TestSharedDigestCoversTheDeployment(t *testing.T) {
	p := newPipeline(t)
	plan := p.Plan()
	auth := plan.Authorizers["jwt"]
	base := sharedDigest(plan, auth, "k")
	if base != sharedDigest(plan, auth, "k") {
		t.Fatal("digest is not deterministic")
	}
	tests := []struct {
		name   string
		change func(pl *config.Plan, a *config.Authorizer)
	}{
		{"cluster", func(_ *config.Plan, a *config.Authorizer) { a.Cluster = "other" }},
		{"authorizer path", func(_ *config.Plan, a *config.Authorizer) { a.Path = "/other" }},
		{"authority", func(_ *config.Plan, a *config.Authorizer) { a.Authority = "other.local" }},
		{"api", func(pl *config.Plan, _ *config.Authorizer) { pl.RestAPIID = "zzzzzzzzzz" }},
		{"stage", func(pl *config.Plan, _ *config.Authorizer) { pl.Stage = "dev" }},
		{"account", func(pl *config.Plan, _ *config.Authorizer) { pl.AccountID = "999999999999" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl, a := *plan, *auth
			tt.change(&pl, &a)
			if sharedDigest(&pl, &a, "k") == base {
				t.Errorf("changing the %s keeps the digest: two deployments on one vm_id would share results", tt.name)
			}
		})
	}
}

func TestSharedSlots(t *testing.T) {
	digest := func(first, second uint64) [32]byte {
		var d [32]byte
		binary.BigEndian.PutUint64(d[:8], first)
		binary.BigEndian.PutUint64(d[8:16], second)
		d[31] = 0xff // later bytes take no part
		return d
	}
	for _, tt := range []struct {
		name         string
		d            [32]byte
		slots        int
		wantA, wantB uint64
	}{
		{"bytes 0..7 and 8..15", digest(5, 9), 1024, 5, 9},
		{"modulo the slots", digest(1024+3, 3*1024+7), 1024, 3, 7},
		{"equal candidates", digest(17, 17+64), 64, 17, 17},
		{"one slot", digest(1<<63, 12345), 1, 0, 0},
		{"largest digest", digest(^uint64(0), ^uint64(0)-1), 65536, 65535, 65534},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if a, b := sharedSlots(tt.d, tt.slots); a != tt.wantA || b != tt.wantB {
				t.Errorf("sharedSlots = %d, %d, want %d, %d", a, b, tt.wantA, tt.wantB)
			}
		})
	}
}

func FuzzSharedSlots(f *testing.F) {
	f.Add(uint64(0), uint64(0), 1)
	f.Add(uint64(5), uint64(5), 65536)
	f.Add(^uint64(0), uint64(1), 7)
	f.Fuzz(func(t *testing.T, first, second uint64, slots int) {
		if slots <= 0 {
			return
		}
		var d [32]byte
		binary.BigEndian.PutUint64(d[:8], first)
		binary.BigEndian.PutUint64(d[8:16], second)
		a, b := sharedSlots(d, slots)
		if a >= uint64(slots) || b >= uint64(slots) {
			t.Fatalf("sharedSlots(%d) = %d, %d: out of range", slots, a, b)
		}
		if a != first%uint64(slots) || b != second%uint64(slots) {
			t.Fatalf("sharedSlots(%d) = %d, %d, want %d, %d", slots, a, b, first%uint64(slots), second%uint64(slots))
		}
		d[0]++
		d[8]++
		if a2, b2 := sharedSlots(d, slots); slots == 1 && (a2 != 0 || b2 != 0) {
			t.Fatalf("one slot gave %d, %d", a2, b2)
		}
	})
}

func TestSharedKeys(t *testing.T) {
	p := newModesPipeline(t, nil)
	c := call(t, p, "/pos", "s3cr3t-token", t0)
	d := c.state.digest
	wantA := "authgate.v1." + strconv.FormatUint(binary.BigEndian.Uint64(d[:8])%1024, 10)
	wantB := "authgate.v1." + strconv.FormatUint(binary.BigEndian.Uint64(d[8:16])%1024, 10)
	if wantA == wantB {
		wantB = ""
	}
	if a, b := p.SharedKeys(c); a != wantA || b != wantB {
		t.Errorf("SharedKeys = %q, %q, want %q, %q", a, b, wantA, wantB)
	}
	if p.SharedKey(c) != wantA {
		t.Errorf("SharedKey = %q, want the first candidate %q", p.SharedKey(c), wantA)
	}
	// Over many identities the two candidates mostly differ, and every
	// key is a slot in range.
	distinct := 0
	for i := range 200 {
		a, b := p.SharedKeys(call(t, p, "/pos", "tok-"+strconv.Itoa(i), t0))
		if b != "" {
			distinct++
		}
		for _, k := range []string{a, b} {
			if k == "" {
				continue
			}
			n, err := strconv.Atoi(strings.TrimPrefix(k, SharedKeyPrefix))
			if err != nil || n < 0 || n >= 1024 {
				t.Errorf("key %q is not a slot of 1024", k)
			}
		}
	}
	if distinct < 190 {
		t.Errorf("only %d of 200 identities have two candidates", distinct)
	}
	for _, tt := range []struct {
		name, edit, target string
		wantA              string
	}{
		{"ttl 0 authorizer shares nothing", "", "/off", ""},
		{"sharing disabled", `"sharedSlots": 0`, "/pos", ""},
		{"one slot", `"sharedSlots": 1`, "/pos", "authgate.v1.0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newModesPipeline(t, func(s string) string {
				return strings.Replace(s, `"sharedSlots": 1024`, cmpOr(tt.edit, `"sharedSlots": 1024`), 1)
			})
			c := call(t, p, tt.target, "x", t0)
			if a, b := p.SharedKeys(c); a != tt.wantA || b != "" {
				t.Errorf("SharedKeys = %q, %q, want %q, \"\"", a, b, tt.wantA)
			}
		})
	}
}

func TestSharedHolds(t *testing.T) {
	p := newModesPipeline(t, nil)
	c := call(t, p, "/pos", "x", t0)
	other := call(t, p, "/pos", "y", t0)
	off := call(t, p, "/off", "x", t0)
	for _, tt := range []struct {
		name  string
		c     *Call
		value []byte
		want  bool
	}{
		{"absent", c, nil, false},
		{"its result", c, p.encodeFor(c, sharedResult, t0.Add(time.Hour), allowAll.Body), true},
		{"its expired result", c, p.encodeFor(c, sharedResult, t0.Add(-time.Hour), allowAll.Body), true},
		{"its claim", c, p.Claim(c, t0), true},
		{"its release", c, p.Release(c, t0), true},
		{"another identity's result", c, p.encodeFor(other, sharedResult, t0.Add(time.Hour), allowAll.Body), false},
		{"another identity's claim", c, p.Claim(other, t0), false},
		{"not this encoding", c, []byte("garbage"), false},
		{"no sharing for the call", off, p.encodeFor(off, sharedResult, t0.Add(time.Hour), allowAll.Body), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.SharedHolds(tt.c, tt.value); got != tt.want {
				t.Errorf("SharedHolds = %v, want %v", got, tt.want)
			}
		})
	}
	if p.Release(off, t0) != nil {
		t.Error("Release without a key is not nil")
	}
	if got, want := p.Release(c, t0), p.Resume(c, Response{}, t0).Share; !bytes.Equal(got, want) {
		t.Errorf("Release = %q, want a failed call's share %q", got, want)
	}
}

func TestSharedVictim(t *testing.T) {
	p := newModesPipeline(t, nil)
	x := call(t, p, "/pos", "x", t0)
	y := call(t, p, "/pos", "y", t0)
	result := func(c *Call, d time.Duration) []byte {
		return p.encodeFor(c, sharedResult, t0.Add(d), allowAll.Body)
	}
	unauthorized := func(c *Call, d time.Duration) []byte { return p.encodeFor(c, sharedUnauthorized, t0.Add(d), nil) }
	claim := func(c *Call, d time.Duration) []byte { return p.encodeFor(c, sharedInFlight, t0.Add(d), nil) }
	for _, tt := range []struct {
		name string
		a, b []byte
		want int
	}{
		{"both absent: the first", nil, nil, 0},
		{"second absent", result(x, time.Minute), nil, 1},
		{"second not this encoding", result(x, time.Minute), []byte("junk"), 1},
		{"second expired", result(x, time.Minute), result(y, -time.Nanosecond), 1},
		{"second expires now", result(x, time.Minute), result(y, 0), 1},
		{"second released", claim(x, time.Second), p.Release(y, t0), 1},
		{"second claim past its deadline", result(x, time.Minute), claim(y, -time.Second), 1},
		{"both free: the first", result(x, -time.Minute), nil, 0},
		{"answers: the sooner expiry", result(x, time.Hour), result(y, time.Minute), 1},
		{"answers: the first expiring sooner", unauthorized(x, time.Minute), result(y, time.Hour), 0},
		{"answers expiring together: the first", result(x, time.Minute), unauthorized(y, time.Minute), 0},
		{"an answer before a claim", claim(x, time.Second), result(y, time.Hour), 1},
		{"a claim after an answer", result(x, time.Hour), claim(y, time.Second), 0},
		{"claims: the sooner deadline", claim(x, 2*time.Second), claim(y, time.Second), 1},
		{"a free first before a free second", p.Release(x, t0), nil, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := SharedVictim(tt.a, tt.b, t0); got != tt.want {
				t.Errorf("SharedVictim = %d, want %d", got, tt.want)
			}
		})
	}
}
