package policy_test

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/authgate/authgate/core/policy"
)

// specCase is one entry of testdata/spec/*.json. A policy given as a JSON
// string is used as the raw document bytes, so malformed JSON can be tested.
type specCase struct {
	Name      string          `json:"name"`
	Why       string          `json:"why"`
	Policy    json.RawMessage `json:"policy"`
	Request   specRequest     `json:"request"`
	Want      string          `json:"want"`
	Statement *int            `json:"statement"`
	Error     string          `json:"error"`
}

type specRequest struct {
	Action    string `json:"action"`
	Resource  string `json:"resource"`
	SourceIP  string `json:"sourceIp"`
	Now       string `json:"now"`
	UserAgent string `json:"userAgent"`
	Referer   string `json:"referer"`
	Secure    bool   `json:"secure"`
}

func (sr specRequest) request(t *testing.T) *policy.Request {
	t.Helper()
	r := &policy.Request{Action: sr.Action, Resource: sr.Resource, UserAgent: sr.UserAgent, Referer: sr.Referer, Secure: sr.Secure}
	if sr.SourceIP != "" {
		a, err := netip.ParseAddr(sr.SourceIP)
		if err != nil {
			t.Fatalf("bad sourceIp in spec: %v", err)
		}
		r.SourceIP = a
	}
	if sr.Now != "" {
		n, err := time.Parse(time.RFC3339Nano, sr.Now)
		if err != nil {
			t.Fatalf("bad now in spec: %v", err)
		}
		r.Now = n
	}
	return r
}

func loadSpec(t *testing.T) map[string][]specCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "spec", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found %d spec files, want at least 4", len(files))
	}
	out := make(map[string][]specCase)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cases []specCase
		if err := json.Unmarshal(b, &cases); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = cases
	}
	return out
}

func TestSpec(t *testing.T) {
	for file, cases := range loadSpec(t) {
		t.Run(file, func(t *testing.T) {
			seen := make(map[string]bool)
			for _, tc := range cases {
				if tc.Name == "" || tc.Why == "" || seen[tc.Name] {
					t.Fatalf("case %q: every case needs a unique name and a why", tc.Name)
				}
				seen[tc.Name] = true
				t.Run(tc.Name, func(t *testing.T) { runSpecCase(t, tc) })
			}
		})
	}
}

func runSpecCase(t *testing.T, tc specCase) {
	doc := []byte(tc.Policy)
	var raw string
	if json.Unmarshal(tc.Policy, &raw) == nil {
		doc = []byte(raw)
	}
	p, err := policy.Parse(doc)
	if tc.Want == "INVALID" {
		if err == nil {
			t.Fatalf("Parse succeeded, want error %q (%s)", tc.Error, tc.Why)
		}
		if tc.Error != "" && err.Error() != tc.Error {
			t.Fatalf("error = %q, want %q", err.Error(), tc.Error)
		}
		return
	}
	if err != nil {
		t.Fatalf("Parse: %v (%s)", err, tc.Why)
	}
	d, i := p.Evaluate(tc.Request.request(t))
	if d.String() != tc.Want {
		t.Errorf("decision = %s, want %s (%s)", d, tc.Want, tc.Why)
	}
	if tc.Statement != nil && i != *tc.Statement {
		t.Errorf("statement = %d, want %d (%s)", i, *tc.Statement, tc.Why)
	}
}
