package policy_test

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/authgate/authgate/core/policy"
)

const base = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/"

func TestMatch(t *testing.T) {
	tests := []struct {
		name, pattern, s string
		want             bool
	}{
		{"empty both", "", "", true},
		{"empty pattern", "", "a", false},
		{"star empty", "*", "", true},
		{"star anything", "*", "a/b/c", true},
		{"stars", "***", "abc", true},
		{"literal", "abc", "abc", true},
		{"literal case", "abc", "ABC", false},
		{"literal shorter", "abc", "ab", false},
		{"literal longer", "ab", "abc", false},
		{"question", "a?c", "abc", true},
		{"question needs one", "a?c", "ac", false},
		{"question slash", "a?c", "a/c", true},
		{"question multibyte", "a?c", "aéc", true},
		{"two questions one rune", "a??c", "aéc", false},
		{"question three-byte rune", "?", "€", true},
		{"star then question in rune", "*??", "€", false},
		{"star crosses slash", "a*/z", "a/b/c/z", true},
		{"backtrack", "*ab*cd", "xabyabzcd", true},
		{"backtrack fails", "*ab*cd", "xabyabzc", false},
		{"trailing stars", "ab**", "ab", true},
		{"star question", "*?", "", false},
		{"prefix", base + "GET/*", base + "GET/", true},
		{"suffix", "*/pets", base + "GET/pets", true},
		{"suffix miss", "*/pets", base + "GET/pets/1", false},
		{"inner", base + "*/users/*", base + "POST/users/alice", true},
		{"many stars", "a*b*c*d*e", "aXbXcXdXe", true},
		{"many stars miss", "a*b*c*d*e", "aXbXcXdX", false},
		{"invalid utf8 text", "a?b", "a\xffb", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := policy.Match(tt.pattern, tt.s); got != tt.want {
				t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
			}
		})
	}
}

func TestDecisionString(t *testing.T) {
	tests := []struct {
		name string
		d    policy.Decision
		want string
	}{
		{"allow", policy.Allow, "ALLOW"},
		{"deny", policy.ExplicitDeny, "DENY"},
		{"implicit", policy.ImplicitDeny, "IMPLICIT_DENY"},
		{"unknown", policy.Decision(9), "Decision(9)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseResultMember(t *testing.T) {
	resp := `{"principalId":"alice","policyDocument":{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"read","Effect":"Allow","Action":"execute-api:Invoke","Resource":"` + base + `GET/*"}]},"context":{"a":1}}`
	p, err := policy.ParseResult(gjson.Get(resp, "policyDocument"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Len() != 1 || p.Sid(0) != "read" || p.Sid(1) != "" || p.Sid(-1) != "" {
		t.Fatalf("Len = %d, Sid(0) = %q", p.Len(), p.Sid(0))
	}
	d, i := p.Evaluate(&policy.Request{Resource: base + "GET/pets"})
	if d != policy.Allow || i != 0 {
		t.Fatalf("Evaluate = %v, %d; want ALLOW, 0", d, i)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  gjson.Result
		want string
	}{
		{"missing member", gjson.Get(`{}`, "policyDocument"), "policy document: missing"},
		{"null member", gjson.Get(`{"policyDocument":null}`, "policyDocument"), "policy document: must be an object, got null"},
		{"number", gjson.Parse(`12`), "policy document: must be an object, got a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := policy.ParseResult(tt.doc)
			if err == nil || p != nil {
				t.Fatalf("ParseResult = %v, nil; want error", p)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q, want %q", err, tt.want)
			}
			if !errors.Is(err, policy.ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid")
			}
			var pe *policy.Error
			if !errors.As(err, &pe) || pe.Path != "" {
				t.Errorf("error is not a *policy.Error with an empty path: %#v", err)
			}
		})
	}
}

// TestParseRefusesText checks what is refused before any parser runs:
// text that is not UTF-8 (a pattern's literal could match inside a
// character) and nesting deeper than 32 levels, which a recursive
// validator must never see.
func TestParseRefusesText(t *testing.T) {
	deny := func(resource string) string {
		return `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"` + resource + `"}}`
	}
	tests := []struct {
		name, doc, want string
	}{
		{"continuation byte in a pattern", deny("*\x80*"), "policy document: not valid UTF-8"},
		{"truncated character in a pattern", deny(base + "GET/\xd7"), "policy document: not valid UTF-8"},
		{"invalid byte in a Sid", "{\"Statement\":{\"Sid\":\"\xff\",\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}", "policy document: not valid UTF-8"},
		{"33 levels", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringLike":{"aws:UserAgent":` +
			strings.Repeat("[", 29) + strings.Repeat("]", 29) + `}}}}`, "policy document: nested deeper than 32 levels"},
		{"deep and not JSON", strings.Repeat("[", 50000), "policy document: nested deeper than 32 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := policy.Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want error %q", tt.doc, p, tt.want)
			}
			if err.Error() != tt.want || !errors.Is(err, policy.ErrInvalid) {
				t.Errorf("error = %q, want %q wrapping ErrInvalid", err, tt.want)
			}
			if strings.HasPrefix(tt.doc, "{") {
				if _, err := policy.ParseResult(gjson.Parse(tt.doc)); err == nil || err.Error() != tt.want {
					t.Errorf("ParseResult error = %v, want %q", err, tt.want)
				}
			}
		})
	}
	// 32 levels pass the depth check; this document is refused for its
	// arrays of arrays instead.
	ok := `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringLike":{"aws:UserAgent":` +
		strings.Repeat("[", 28) + `"x"` + strings.Repeat("]", 28) + `}}}}`
	if _, err := policy.Parse([]byte(ok)); err != nil && strings.Contains(err.Error(), "nested") {
		t.Errorf("32 levels refused: %v", err)
	}
}

func TestSize(t *testing.T) {
	small := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)
	big := mustParse(t, tenStatements(true))
	if small.Size() <= 0 {
		t.Fatalf("Size() = %d, want > 0", small.Size())
	}
	if big.Size() <= small.Size()+len(base)*10 {
		t.Errorf("Size() of ten statements = %d, want more than %d", big.Size(), small.Size()+len(base)*10)
	}
}

func mustParse(t testing.TB, doc string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tenStatements builds a realistic ten-statement policy whose only
// applicable statement is the last one for benchRequest.
func tenStatements(conditions bool) string {
	var b strings.Builder
	b.WriteString(`{"Version":"2012-10-17","Statement":[`)
	verbs := []string{"GET", "POST", "PUT", "PATCH"}
	for i := range 9 {
		fmt.Fprintf(&b, `{"Effect":"%s","Action":["execute-api:Inv*"],"Resource":["%s%s/v?/items/%d/*","%s*/admin/%d"]`,
			[]string{"Allow", "Deny"}[i%2], base, verbs[i%4], i, base, i)
		if conditions {
			b.WriteString(`,"Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]},"StringLike":{"aws:UserAgent":"curl/*"},"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}`)
		}
		b.WriteString(`},`)
	}
	fmt.Fprintf(&b, `{"Effect":"Allow","Action":"execute-api:*","Resource":"%s*/pets/*"`, base)
	if conditions {
		b.WriteString(`,"Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]},"Bool":{"aws:SecureTransport":"true"},"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},"NumericGreaterThan":{"aws:EpochTime":1}}`)
	}
	b.WriteString(`}]}`)
	return b.String()
}

var benchRequest = policy.Request{
	Resource:  base + "GET/pets/42",
	SourceIP:  netip.MustParseAddr("2001:db8::7"),
	Now:       time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
	UserAgent: "curl/8.5.0",
	Secure:    true,
}

func TestEvaluateDoesNotAllocate(t *testing.T) {
	for _, cond := range []bool{false, true} {
		t.Run(fmt.Sprintf("conditions=%v", cond), func(t *testing.T) {
			p := mustParse(t, tenStatements(cond))
			r := benchRequest
			if d, i := p.Evaluate(&r); d != policy.Allow || i != 9 {
				t.Fatalf("Evaluate = %v, %d; want ALLOW, 9", d, i)
			}
			r.Action = "EXECUTE-API:Invoke" // the folding matcher path
			if n := testing.AllocsPerRun(200, func() { p.Evaluate(&r) }); n != 0 {
				t.Errorf("Evaluate allocates %v times per run, want 0", n)
			}
		})
	}
}

func BenchmarkEvaluate(b *testing.B) {
	for _, cond := range []bool{false, true} {
		b.Run(fmt.Sprintf("10stmts/conditions=%v", cond), func(b *testing.B) {
			p := mustParse(b, tenStatements(cond))
			r := benchRequest
			b.ReportAllocs()
			for b.Loop() {
				p.Evaluate(&r)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	doc := []byte(tenStatements(true))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := policy.Parse(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzParseEvaluate(f *testing.F) {
	f.Add([]byte(tenStatements(true)), base+"GET/pets/1", "10.1.2.3", "curl/1")
	f.Add([]byte(tenStatements(false)), base+"POST/x", "::ffff:10.0.0.1", "")
	f.Add([]byte(`{"Statement":{"Effect":"Deny","NotAction":"s3:*","NotResource":[],"Condition":{"Null":{"aws:Referer":true}}}}`), "", "", "")
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"a${x}b","Condition":{"StringNotLikeIfExists":{"AWS:userAgent":["*?"]}}}]}`), "a/b", "2001:db8::1", "x")
	f.Add([]byte(`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateEquals":{"aws:EpochTime":[1,"2020-01-01"]},"NumericLessThan":{"aws:EpochTime":"-1.5"}}}]}`), "x", "", "")
	f.Fuzz(func(t *testing.T, doc []byte, resource, ip, ua string) {
		p, err := policy.Parse(doc)
		if err != nil {
			if p != nil || !errors.Is(err, policy.ErrInvalid) {
				t.Fatalf("Parse = %v, %v", p, err)
			}
			return
		}
		if p.Len() < 1 || p.Size() <= 0 {
			t.Fatalf("Len = %d, Size = %d", p.Len(), p.Size())
		}
		r := &policy.Request{Resource: resource, UserAgent: ua, Referer: ua, Secure: len(ua)%2 == 0,
			Now: time.Unix(int64(len(resource))*1e8, 0)}
		r.SourceIP, _ = netip.ParseAddr(ip)
		d1, i1 := p.Evaluate(r)
		d2, i2 := p.Evaluate(r)
		if d1 != d2 || i1 != i2 {
			t.Fatalf("not deterministic: %v,%d then %v,%d", d1, i1, d2, i2)
		}
		if (d1 == policy.ImplicitDeny) != (i1 == -1) || i1 >= p.Len() {
			t.Fatalf("decision %v with statement %d of %d", d1, i1, p.Len())
		}
		r.Action = resource
		p.Evaluate(r)
	})
}

// globRegexp is the reference for Match: '*' is "any run", '?' one
// character, everything else literal.
func globRegexp(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	for _, c := range pattern {
		switch c {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String())
}

func FuzzMatch(f *testing.F) {
	f.Add("*ab*cd", "xabyabzcd")
	f.Add("a?c", "aéc")
	f.Add("*??", "€")
	f.Add(base+"*/users/*", base+"POST/users/alice")
	f.Add("?*?", "a\xffb")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		got := policy.Match(pattern, s)
		if !utf8.ValidString(pattern) || len(pattern) > 64 || len(s) > 1024 {
			// The reference cannot express invalid UTF-8 literals, and
			// regexp's NFA is too slow on long inputs to keep the
			// fuzzer moving.
			return
		}
		if want := globRegexp(pattern).MatchString(s); got != want {
			t.Fatalf("Match(%q, %q) = %v, reference says %v", pattern, s, got, want)
		}
	})
}
