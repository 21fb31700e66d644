package crossvm

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/authgate/authgate/core/config"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const rootID = 1

// simStore is the shared data and the queues of one proxy. Its
// compare-and-swap rules are Envoy's (proxy-wasm-cpp-host's SharedData):
// every write takes the next value of one counter as its cas, cas 0 writes
// unconditionally, a key that does not exist is written whatever cas is
// given, and another cas must be the key's current one.
type simStore struct {
	data   map[string]simValue
	next   uint32
	queues map[string][][]byte
}

type simValue struct {
	v   []byte
	cas uint32
}

func newSimStore() *simStore {
	return &simStore{data: map[string]simValue{}, next: 1, queues: map[string][][]byte{}}
}

func (s *simStore) get(key string) ([]byte, uint32, Status) {
	e, ok := s.data[key]
	if !ok {
		return nil, 0, Missing
	}
	return slices.Clone(e.v), e.cas, OK
}

func (s *simStore) set(key string, v []byte, cas uint32) Status {
	if e, ok := s.data[key]; ok && cas != 0 && cas != e.cas {
		return Mismatch
	}
	s.data[key] = simValue{slices.Clone(v), s.next}
	s.next++
	return OK
}

// allowBodies caches allowBody's answers.
var allowBodies = map[string][]byte{}

// allowBody is the authorizer's answer allowing principal everything.
func allowBody(principal string) []byte {
	if b, ok := allowBodies[principal]; ok {
		return b
	}
	b, _ := json.Marshal(map[string]any{
		"principalId": principal,
		"policyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}}},
	})
	allowBodies[principal] = b
	return b
}

func newPlan(t testing.TB, cfg string) *config.Plan {
	t.Helper()
	plan, err := config.Parse([]byte(cfg))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return plan
}
