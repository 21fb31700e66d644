package crossvm

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/pipeline"
)

// modesConfig has one authorizer per combination of the cache settings.
const modesConfig = `{
  "region": "us-east-1", "accountId": "123456789012", "restApiId": "a1b2c3d4e5", "stage": "prod",
  "authorizerCache": {"sharedSlots": 1024, "sharedMaxEntryBytes": 1024},
  "authorizers": {
    "pos":   {"type": "TOKEN", "cluster": "authz"},
    "neg":   {"type": "TOKEN", "cluster": "authz", "authorizerResultTtlInSeconds": 0, "unauthorizedTtlInSeconds": 60},
    "both":  {"type": "TOKEN", "cluster": "authz", "unauthorizedTtlInSeconds": 60},
    "off":   {"type": "TOKEN", "cluster": "authz", "authorizerResultTtlInSeconds": 0}
  },
  "routes": [
    {"method": "ANY", "path": "/pos", "authorizer": "pos"},
    {"method": "ANY", "path": "/neg", "authorizer": "neg"},
    {"method": "ANY", "path": "/both", "authorizer": "both"},
    {"method": "ANY", "path": "/off", "authorizer": "off"}
  ]
}`

func modes(t testing.TB, edit func(string) string) *pipeline.Pipeline {
	t.Helper()
	cfg := modesConfig
	if edit != nil {
		cfg = edit(cfg)
	}
	return pipeline.New(newPlan(t, cfg))
}

func slotsEdit(n string) func(string) string {
	return func(s string) string { return strings.Replace(s, `"sharedSlots": 1024`, `"sharedSlots": `+n, 1) }
}

// callFor evaluates a bearer-token request that must need a call.
func callFor(t testing.TB, p *pipeline.Pipeline, target, token string) *pipeline.Call {
	t.Helper()
	r := p.Evaluate(&pipeline.Request{Method: "GET", Target: target,
		Headers: []pipeline.Header{{Name: "authorization", Value: "Bearer " + token}}}, t0)
	if r.Kind != pipeline.KindCall {
		t.Fatalf("%s %s: %v, want a call", target, token, r.Kind)
	}
	return r.Call
}

func mustIdentify(t testing.TB, p *pipeline.Pipeline, target, token string) *identity {
	t.Helper()
	id := identify(p, callFor(t, p, target, token))
	if id == nil {
		t.Fatalf("%s %s is not shared", target, token)
	}
	return id
}

func (id *identity) value(kind byte, expiry time.Duration, payload []byte) []byte {
	return encode(value{kind: kind, digest: id.digest, expiry: t0.Add(expiry).UnixNano(), payload: payload})
}

var allowAll = allowBody("alice")

func TestIdentify(t *testing.T) {
	p := modes(t, nil)
	secret := "s3cr3t-token"
	a1 := mustIdentify(t, p, "/pos", secret)
	a2 := mustIdentify(t, p, "/pos", secret)
	want := KeyPrefix + strconv.FormatUint(binary.BigEndian.Uint64(a1.digest[:8])%1024, 10)
	if a1.a != want {
		t.Errorf("first candidate %q, want %q", a1.a, want)
	}
	if a, b := Slots(p, callFor(t, p, "/pos", secret)); a != a1.a || b != a1.b {
		t.Errorf("Slots = %q, %q, want %q, %q", a, b, a1.a, a1.b)
	}
	if strings.Contains(a1.a+a1.b, secret) || strings.Contains(a1.a, "pos") {
		t.Errorf("keys %q %q carry the identity or the authorizer", a1.a, a1.b)
	}
	if a2.digest != a1.digest {
		t.Error("two Calls of one identity have different digests")
	}
	if other := mustIdentify(t, p, "/pos", "another"); other.digest == a1.digest {
		t.Error("another identity shares the digest")
	}
	if other := mustIdentify(t, p, "/both", secret); other.digest == a1.digest {
		t.Error("another authorizer shares the digest")
	}
	for _, v := range [][]byte{a1.claim(t0), a1.release(t0)} {
		if bytes.Contains(v, []byte(secret)) {
			t.Errorf("shared value %q carries the identity", v)
		}
	}
	for _, tt := range []struct {
		name, target string
		edit         func(string) string
		wantA, wantB string
		shared       bool
	}{
		{name: "ttl 0 authorizer shares nothing", target: "/off"},
		{name: "negative-only authorizer shares nothing", target: "/neg"},
		{name: "sharing disabled", target: "/pos", edit: slotsEdit("0")},
		{name: "one slot", target: "/pos", edit: slotsEdit("1"), wantA: "authgate.v1.0", shared: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := modes(t, tt.edit)
			id := identify(p, callFor(t, p, tt.target, "x"))
			if (id != nil) != tt.shared || (id != nil && (id.a != tt.wantA || id.b != tt.wantB)) {
				t.Errorf("identity %+v, want shared %v with %q, %q", id, tt.shared, tt.wantA, tt.wantB)
			}
		})
	}
	// Over many identities the two candidates mostly differ, and every
	// key is a slot in range.
	distinct := 0
	for i := range 200 {
		id := mustIdentify(t, p, "/pos", "tok-"+strconv.Itoa(i))
		if id.b != "" {
			distinct++
		}
		for _, k := range []string{id.a, id.b} {
			if k == "" {
				continue
			}
			if n, err := strconv.Atoi(strings.TrimPrefix(k, KeyPrefix)); err != nil || n < 0 || n >= 1024 {
				t.Errorf("key %q is not a slot of 1024", k)
			}
		}
	}
	if distinct < 190 {
		t.Errorf("only %d of 200 identities have two candidates", distinct)
	}
}

func TestDigestCoversTheDeployment(t *testing.T) {
	plan := newPlan(t, modesConfig)
	auth := plan.Authorizers["pos"]
	base := digest(plan, auth, "k")
	if base != digest(plan, auth, "k") {
		t.Fatal("digest is not deterministic")
	}
	tests := []struct {
		name   string
		change func(pl *config.Plan, a *config.Authorizer)
	}{
		{"cluster", func(_ *config.Plan, a *config.Authorizer) { a.Cluster = "other" }},
		{"authorizer path", func(_ *config.Plan, a *config.Authorizer) { a.Path = "/other" }},
		{"authority", func(_ *config.Plan, a *config.Authorizer) { a.Authority = "other.local" }},
		{"authorizer type", func(_ *config.Plan, a *config.Authorizer) { a.Type = config.TypeRequest }},
		{"api", func(pl *config.Plan, _ *config.Authorizer) { pl.RestAPIID = "zzzzzzzzzz" }},
		{"stage", func(pl *config.Plan, _ *config.Authorizer) { pl.Stage = "dev" }},
		{"account", func(pl *config.Plan, _ *config.Authorizer) { pl.AccountID = "999999999999" }},
		{"api type", func(pl *config.Plan, _ *config.Authorizer) { pl.APIType = "HTTP" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl, a := *plan, *auth
			tt.change(&pl, &a)
			if digest(&pl, &a, "k") == base {
				t.Errorf("changing the %s keeps the digest: two deployments on one vm_id would share results", tt.name)
			}
		})
	}
	if digest(plan, auth, "k2") == base {
		t.Error("another key keeps the digest")
	}
}

func TestSlotNumbers(t *testing.T) {
	digestOf := func(first, second uint64) [32]byte {
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
		{"bytes 0..7 and 8..15", digestOf(5, 9), 1024, 5, 9},
		{"modulo the slots", digestOf(1024+3, 3*1024+7), 1024, 3, 7},
		{"equal candidates", digestOf(17, 17+64), 64, 17, 17},
		{"one slot", digestOf(1<<63, 12345), 1, 0, 0},
		{"largest digest", digestOf(^uint64(0), ^uint64(0)-1), 65536, 65535, 65534},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if a, b := slotNumbers(tt.d, tt.slots); a != tt.wantA || b != tt.wantB {
				t.Errorf("slotNumbers = %d, %d, want %d, %d", a, b, tt.wantA, tt.wantB)
			}
			a, b := slotKeys(tt.d, tt.slots)
			wantB := ""
			if tt.wantB != tt.wantA {
				wantB = KeyPrefix + strconv.FormatUint(tt.wantB, 10)
			}
			if a != KeyPrefix+strconv.FormatUint(tt.wantA, 10) || b != wantB {
				t.Errorf("slotKeys = %q, %q", a, b)
			}
		})
	}
}

func FuzzSlotNumbers(f *testing.F) {
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
		a, b := slotNumbers(d, slots)
		if a >= uint64(slots) || b >= uint64(slots) {
			t.Fatalf("slotNumbers(%d) = %d, %d: out of range", slots, a, b)
		}
		if a != first%uint64(slots) || b != second%uint64(slots) {
			t.Fatalf("slotNumbers(%d) = %d, %d, want %d, %d", slots, a, b, first%uint64(slots), second%uint64(slots))
		}
	})
}

func TestEncodingRoundTrip(t *testing.T) {
	d := sha256.Sum256([]byte("k"))
	tests := []struct {
		name string
		v    value
		want []byte
	}{
		{"result", value{kind: kindResult, digest: d, expiry: 0x0102030405060708, payload: []byte("{}")},
			append(append([]byte{1, 1}, d[:]...), 1, 2, 3, 4, 5, 6, 7, 8, '{', '}')},
		{"unauthorized", value{kind: kindUnauth, digest: d, expiry: 1},
			append(append([]byte{1, 2}, d[:]...), 0, 0, 0, 0, 0, 0, 0, 1)},
		{"negative expiry", value{kind: kindReleased, digest: d, expiry: -1},
			append(append([]byte{1, 4}, d[:]...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := encode(tt.v)
			if !bytes.Equal(b, tt.want) {
				t.Fatalf("encode = %x\nwant     %x", b, tt.want)
			}
			got, ok := decode(b)
			if !ok || !equalValues(got, tt.v) {
				t.Errorf("decode = %+v, %v; want %+v", got, ok, tt.v)
			}
		})
	}
	bad := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"header cut short", encode(value{kind: kindUnauth})[:HeaderLen-1]},
		{"version 2", append([]byte{2, 1}, make([]byte, 40)...)},
		{"version 0", make([]byte, 42)},
		{"kind 0", append([]byte{1, 0}, make([]byte, 40)...)},
		{"kind 5", append([]byte{1, 5}, make([]byte, 40)...)},
		{"payload on unauthorized", append(encode(value{kind: kindUnauth}), 'x')},
		{"payload on a claim", append(encode(value{kind: kindInFlight}), 'x')},
		{"payload on a release", append(encode(value{kind: kindReleased}), 'x')},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if v, ok := decode(tt.b); ok {
				t.Errorf("decode(%x) = %+v, want a miss", tt.b, v)
			}
		})
	}
}

func equalValues(a, b value) bool {
	return a.kind == b.kind && a.digest == b.digest && a.expiry == b.expiry && bytes.Equal(a.payload, b.payload)
}

func FuzzDecode(f *testing.F) {
	d := sha256.Sum256([]byte("k"))
	f.Add([]byte{})
	f.Add(encode(value{kind: kindResult, digest: d, expiry: 7, payload: allowAll}))
	f.Add(encode(value{kind: kindUnauth, digest: d, expiry: 7}))
	f.Add(encode(value{kind: kindInFlight, digest: d, expiry: 7}))
	f.Add(encode(value{kind: kindReleased, digest: d}))
	f.Add([]byte("authgate.v1.0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, ok := decode(b)
		if !ok {
			return
		}
		// A value that decodes is exactly the encoding of what it decodes to.
		if again := encode(v); !bytes.Equal(again, b) {
			t.Fatalf("encode(decode(%x)) = %x", b, again)
		}
	})
}

func FuzzRoundTrip(f *testing.F) {
	f.Add(byte(1), []byte("digest"), int64(0), []byte(`{}`), 0)
	f.Add(byte(2), []byte{}, int64(-1), []byte{}, 41)
	f.Add(byte(3), []byte("x"), int64(1<<62), []byte(nil), 10)
	f.Fuzz(func(t *testing.T, kind byte, d []byte, expiry int64, payload []byte, cut int) {
		kind = kind%4 + 1
		v := value{kind: kind, expiry: expiry}
		copy(v.digest[:], d)
		if kind == kindResult {
			v.payload = payload
		}
		b := encode(v)
		got, ok := decode(b)
		if !ok || !equalValues(got, v) {
			t.Fatalf("decode(encode(%+v)) = %+v, %v", v, got, ok)
		}
		// Any truncation into the header is a miss.
		if cut = cut % HeaderLen; cut < 0 {
			cut = -cut
		}
		if _, ok := decode(b[:cut]); ok {
			t.Fatalf("decode of %d bytes of %x succeeded", cut, b)
		}
	})
}

func TestHolds(t *testing.T) {
	p := modes(t, nil)
	x, y := mustIdentify(t, p, "/pos", "x"), mustIdentify(t, p, "/pos", "y")
	for _, tt := range []struct {
		name  string
		value []byte
		want  bool
	}{
		{"absent", nil, false},
		{"its result", x.value(kindResult, time.Hour, allowAll), true},
		{"its expired result", x.value(kindResult, -time.Hour, allowAll), true},
		{"its claim", x.claim(t0), true},
		{"its release", x.release(t0), true},
		{"another identity's result", y.value(kindResult, time.Hour, allowAll), false},
		{"another identity's claim", y.claim(t0), false},
		{"not this encoding", []byte("garbage"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := x.holds(tt.value); got != tt.want {
				t.Errorf("holds = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestVictim(t *testing.T) {
	p := modes(t, nil)
	x, y := mustIdentify(t, p, "/pos", "x"), mustIdentify(t, p, "/pos", "y")
	result := func(id *identity, d time.Duration) []byte { return id.value(kindResult, d, allowAll) }
	unauthorized := func(id *identity, d time.Duration) []byte { return id.value(kindUnauth, d, nil) }
	claim := func(id *identity, d time.Duration) []byte { return id.value(kindInFlight, d, nil) }
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
		{"second released", claim(x, time.Second), y.release(t0), 1},
		{"second claim past its deadline", result(x, time.Minute), claim(y, -time.Second), 1},
		{"both free: the first", result(x, -time.Minute), nil, 0},
		{"answers: the sooner expiry", result(x, time.Hour), result(y, time.Minute), 1},
		{"answers: the first expiring sooner", unauthorized(x, time.Minute), result(y, time.Hour), 0},
		{"answers expiring together: the first", result(x, time.Minute), unauthorized(y, time.Minute), 0},
		{"an answer before a claim", claim(x, time.Second), result(y, time.Hour), 1},
		{"a claim after an answer", result(x, time.Hour), claim(y, time.Second), 0},
		{"claims: the sooner deadline", claim(x, 2*time.Second), claim(y, time.Second), 1},
		{"a free first before a free second", x.release(t0), nil, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := victim(tt.a, tt.b, t0); got != tt.want {
				t.Errorf("victim = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestClaim(t *testing.T) {
	p := modes(t, nil)
	x := mustIdentify(t, p, "/pos", "x")
	want := x.value(kindInFlight, x.timeout+ClaimSlack, nil)
	if got := x.claim(t0); !bytes.Equal(got, want) {
		t.Errorf("claim = %x, want %x", got, want)
	}
	if got, want := x.release(t0), x.value(kindReleased, 0, nil); !bytes.Equal(got, want) {
		t.Errorf("release = %x, want %x", got, want)
	}
}

func TestJudge(t *testing.T) {
	p := modes(t, nil)
	// The authorizers' default timeout plus the slack.
	bound := config.DefaultTimeoutMs*time.Millisecond + ClaimSlack
	big := allowBody(strings.Repeat("p", 1024))
	tests := []struct {
		name    string
		target  string
		value   func(x, y *identity) []byte
		now     time.Duration
		verdict verdict
	}{
		{"absent", "/pos", func(x, y *identity) []byte { return nil }, 0, miss},
		{"garbage", "/pos", func(x, y *identity) []byte { return []byte("hello") }, 0, miss},
		{"fresh result", "/pos", func(x, y *identity) []byte { return x.value(kindResult, time.Minute, allowAll) }, 0, answered},
		{"result one nanosecond before expiry", "/pos", func(x, y *identity) []byte { return x.value(kindResult, time.Minute, allowAll) }, time.Minute - 1, answered},
		{"result at expiry", "/pos", func(x, y *identity) []byte { return x.value(kindResult, time.Minute, allowAll) }, time.Minute, miss},
		{"result of another identity", "/pos", func(x, y *identity) []byte { return y.value(kindResult, time.Minute, allowAll) }, 0, miss},
		{"result larger than the shared bound", "/pos", func(x, y *identity) []byte { return x.value(kindResult, time.Minute, big) }, 0, miss},
		{"fresh unauthorized", "/both", func(x, y *identity) []byte { return x.value(kindUnauth, time.Minute, nil) }, 0, answered},
		{"expired unauthorized", "/both", func(x, y *identity) []byte { return x.value(kindUnauth, time.Minute, nil) }, time.Minute, miss},
		{"unauthorized where 401s are not cached", "/pos", func(x, y *identity) []byte { return x.value(kindUnauth, time.Minute, nil) }, 0, miss},
		{"live claim", "/pos", func(x, y *identity) []byte { return x.claim(t0) }, 0, inFlight},
		{"claim one nanosecond before its deadline", "/pos", func(x, y *identity) []byte { return x.claim(t0) }, bound - 1, inFlight},
		{"abandoned claim", "/pos", func(x, y *identity) []byte { return x.claim(t0) }, bound, miss},
		{"claim too far ahead", "/pos", func(x, y *identity) []byte { return x.value(kindInFlight, time.Hour, nil) }, 0, miss},
		{"released", "/pos", func(x, y *identity) []byte { return x.value(kindReleased, time.Hour, nil) }, 0, miss},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, y := mustIdentify(t, p, tt.target, "x"), mustIdentify(t, p, tt.target, "y")
			if got, _, _ := x.judge(tt.value(x, y), t0.Add(tt.now)); got != tt.verdict {
				t.Errorf("judge = %d, want %d", got, tt.verdict)
			}
		})
	}
}

// TestPublication: what a VM publishes after its call is what its
// pipeline cached, for as long, and a release for anything else.
func TestPublication(t *testing.T) {
	big := allowBody(strings.Repeat("p", 1024))
	tests := []struct {
		name   string
		target string
		resp   pipeline.Response
		kind   byte
		expiry time.Duration
		body   []byte
	}{
		{"valid allow is shared for the ttl", "/pos", pipeline.Response{Status: 200, Body: allowAll}, kindResult, 300 * time.Second, allowAll},
		{"cached 401 is shared", "/both", pipeline.Response{Status: 401}, kindUnauth, 60 * time.Second, nil},
		{"uncached 401 releases", "/pos", pipeline.Response{Status: 401}, kindReleased, 0, nil},
		{"error status releases", "/pos", pipeline.Response{Status: 500, Body: []byte("boom")}, kindReleased, 0, nil},
		{"failed call releases", "/pos", pipeline.Response{}, kindReleased, 0, nil},
		{"malformed releases", "/pos", pipeline.Response{Status: 200, Body: []byte(`{"principalId":`)}, kindReleased, 0, nil},
		{"body larger than sharedMaxEntryBytes releases", "/pos", pipeline.Response{Status: 200, Body: big}, kindReleased, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := modes(t, nil)
			c := callFor(t, p, tt.target, "tok")
			res := p.Resume(c, tt.resp, t0)
			id := identify(p, c)
			if got, want := id.publication(&res, tt.resp.Body, t0), id.value(tt.kind, tt.expiry, tt.body); !bytes.Equal(got, want) {
				t.Errorf("publication = %x\nwant          %x", got, want)
			}
		})
	}
}

// FuzzAdoption feeds arbitrary store values, with the identity's digest
// spliced in so that they reach the kind handling, to a VM whose request
// finds them in its slot: whatever they hold, the request is answered
// from them only as the authorizer could have answered it, and otherwise
// the VM calls, never failing the request.
func FuzzAdoption(f *testing.F) {
	d := sha256.Sum256([]byte("dummy"))
	f.Add(encode(value{kind: kindResult, digest: d, expiry: t0.Add(time.Minute).UnixNano(), payload: allowAll}), true)
	f.Add(encode(value{kind: kindUnauth, digest: d, expiry: t0.Add(time.Minute).UnixNano()}), true)
	f.Add(encode(value{kind: kindInFlight, digest: d, expiry: t0.Add(time.Second).UnixNano()}), true)
	f.Add([]byte(`{"principalId":"x"}`), false)
	plan := newPlan(f, modesConfig)
	f.Fuzz(func(t *testing.T, v []byte, splice bool) {
		for _, target := range []string{"/pos", "/both"} {
			pipe := pipeline.New(plan)
			c := callFor(t, pipe, target, "fuzz")
			id := identify(pipe, c)
			if splice && len(v) >= HeaderLen {
				v = bytes.Clone(v)
				copy(v[2:34], id.digest[:])
			}
			store := newSimStore()
			store.set(id.a, v, 0)
			vm := New("q")
			vm.roots[rootID] = pipe
			s := vm.Request(1, rootID, c, t0)
			var settled []Answer
			called := false
			for s.Op != Idle {
				var o Outcome
				switch s.Op {
				case Read:
					o.Value, o.Cas, o.Status = store.get(s.Key)
				case Write:
					o.Status = store.set(s.Key, s.Value, s.Cas)
				case Clock:
					o.Now = t0
				case Dispatch:
					called, o.Callout = true, 1
				case Settle:
					settled = append(settled, s.Answers...)
				}
				s = vm.Next(s, o)
			}
			switch {
			case called && len(settled) == 0:
			case !called && len(settled) == 0:
				if _, ok := vm.Stream(1); !ok {
					t.Fatalf("%s: neither answered nor waiting", target)
				}
			case !called && len(settled) == 1:
				r := settled[0].Result
				if r.CacheState != pipeline.CacheShared || r.Decision == pipeline.DecisionError {
					t.Fatalf("%s: answered %s %s from %x", target, r.Decision, r.CacheState, v)
				}
			default:
				t.Fatalf("%s: called %v, answers %+v", target, called, settled)
			}
		}
	})
}
