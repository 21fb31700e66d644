package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/authgate/authgate/core/arn"
	"github.com/authgate/authgate/core/policy"
	"github.com/tidwall/gjson"
)

// evalOutput is the --json answer of eval; the field order is the output's.
type evalOutput struct {
	Decision  string `json:"decision"`
	Statement *int   `json:"statement"`
	Reason    string `json:"reason"`
}

// eval evaluates a policy document for execute-api:Invoke on a method ARN,
// as the gateway does with an authorizer's answer.
func (c *cli) eval(args []string) int {
	fs := c.flags("eval", "--policy FILE --arn METHOD_ARN [--source-ip IP] [--time RFC3339] [--json]")
	policyFile := fs.String("policy", "", "policy document `FILE` (JSON; - for stdin); an authorizer response with a policyDocument member also works")
	arnFlag := fs.String("arn", "", "`METHOD_ARN`: arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/VERB/PATH")
	sourceIP := fs.String("source-ip", "", "caller `IP` for aws:SourceIp conditions")
	at := fs.String("time", "", "evaluation time (`RFC3339`) for date conditions; default now")
	asJSON := fs.Bool("json", false, "print the decision as JSON")
	if code, ok := c.parse(fs, args); !ok {
		return code
	}
	switch {
	case *policyFile == "":
		c.usageError(fs, "--policy is required")
		return exitUsage
	case *arnFlag == "":
		c.usageError(fs, "--arn is required")
		return exitUsage
	}

	req := policy.Request{Resource: *arnFlag, Now: time.Now()}
	if _, err := arn.Parse(*arnFlag); err != nil {
		fmt.Fprintf(c.stderr, "authgate eval: --arn: %v\n", err)
		return exitUsage
	}
	if *sourceIP != "" {
		ip, err := netip.ParseAddr(*sourceIP)
		if err != nil {
			fmt.Fprintf(c.stderr, "authgate eval: --source-ip: not an IP address: %q\n", *sourceIP)
			return exitUsage
		}
		req.SourceIP = ip.Unmap()
	}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fmt.Fprintf(c.stderr, "authgate eval: --time: not an RFC 3339 time: %q\n", *at)
			return exitUsage
		}
		req.Now = t
	}
	doc, err := c.readInput(*policyFile)
	if err != nil {
		fmt.Fprintf(c.stderr, "authgate eval: %v\n", err)
		return exitUsage
	}
	p, err := parsePolicy(doc)
	if err != nil {
		fmt.Fprintf(c.stderr, "authgate eval: %s: %v\n", displayName(*policyFile), err)
		return exitUsage
	}

	d, stmt := p.Evaluate(&req)
	out := evalOutput{Decision: d.String()}
	line := d.String()
	switch d {
	case policy.Allow, policy.ExplicitDeny:
		out.Statement = &stmt
		name := statementName(p, stmt)
		verb := "allows"
		if d == policy.ExplicitDeny {
			verb = "explicitly denies"
		}
		out.Reason = fmt.Sprintf("%s %s %s on %s", name, verb, policy.Action, *arnFlag)
		line += " by " + name
	default:
		out.Reason = fmt.Sprintf("no statement allows %s on %s", policy.Action, *arnFlag)
		line += ": " + out.Reason
	}
	if *asJSON {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(out) // cannot fail for these types
		c.stdout.Write(b.Bytes())
	} else {
		fmt.Fprintln(c.stdout, line)
	}
	if d == policy.Allow {
		return exitOK
	}
	return exitDeny
}

// parsePolicy accepts a policy document, or a whole authorizer response
// (whose policyDocument is evaluated), so an authorizer's output can be
// piped in as is.
func parsePolicy(doc []byte) (*policy.Policy, error) {
	if gjson.ValidBytes(doc) {
		if pd := gjson.GetBytes(doc, "policyDocument"); pd.Exists() {
			p, err := policy.ParseResult(pd)
			var pe *policy.Error
			if errors.As(err, &pe) {
				// Name the field from the top of the file the user gave.
				path := "policyDocument"
				if pe.Path != "" {
					path += "." + pe.Path
				}
				return nil, &policy.Error{Path: path, Msg: pe.Msg}
			}
			return p, err
		}
	}
	return policy.Parse(doc)
}

// statementName renders `Statement[i] (Sid "x")`, or `Statement[i]` when the
// statement has no Sid.
func statementName(p *policy.Policy, i int) string {
	s := "Statement[" + strconv.Itoa(i) + "]"
	if sid := p.Sid(i); sid != "" {
		s += " (Sid " + strconv.Quote(sid) + ")"
	}
	return s
}

func displayName(file string) string {
	if file == "-" {
		return "<stdin>"
	}
	return file
}
