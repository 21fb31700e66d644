// Package policy parses IAM policy documents returned by authorizers and
// evaluates them for execute-api:Invoke on a method ARN, following the IAM
// evaluation logic: an applicable explicit Deny wins, else an applicable
// Allow, else an implicit deny.
//
// See https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html.
package policy

import (
	"net/netip"
	"time"

	"github.com/tidwall/gjson"
)

// Action is the action every request is evaluated for.
const Action = "execute-api:Invoke"

// Decision is the outcome of an evaluation.
type Decision uint8

// Decision values.
const (
	ImplicitDeny Decision = iota
	Allow
	ExplicitDeny
)

// String returns "ALLOW", "DENY" or "IMPLICIT_DENY".
func (d Decision) String() string { panic("TODO") }

// Request is what a statement is matched against. Resource is the method
// ARN. Action defaults to Action when empty. The remaining fields feed
// condition keys; zero values mean "key absent".
type Request struct {
	Action    string
	Resource  string
	SourceIP  netip.Addr // aws:SourceIp
	Now       time.Time  // aws:CurrentTime, aws:EpochTime
	UserAgent string     // aws:UserAgent
	Referer   string     // aws:Referer
	Secure    bool       // aws:SecureTransport
}

// Policy is a parsed, validated policy document. It is immutable and safe for
// concurrent use.
type Policy struct {
	// TODO
}

// Parse parses a policy document strictly; see ParseResult.
func Parse(doc []byte) (*Policy, error) { panic("TODO") }

// ParseResult parses a policy document already located by gjson (for
// example the "policyDocument" member of an authorizer response). Key names
// are case-sensitive; errors name the bad field ("Statement[1].Effect: ...").
func ParseResult(doc gjson.Result) (*Policy, error) { panic("TODO") }

// Evaluate decides r and returns the index of the deciding statement, or -1
// for an implicit deny. It does not allocate.
func (p *Policy) Evaluate(r *Request) (Decision, int) { panic("TODO") }

// Size estimates the policy's memory in bytes, for cache accounting.
func (p *Policy) Size() int { panic("TODO") }

// Len is the number of statements.
func (p *Policy) Len() int { panic("TODO") }
