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
	"github.com/authgate/authgate/core/authorizer"
	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/core/pipeline"
	"github.com/authgate/authgate/core/policy"
	"github.com/tidwall/gjson"
)

// evalOutput is the --json answer of eval; the field order is the output's.
type evalOutput struct {
	Decision  string `json:"decision"`
	Statement *int   `json:"statement"`
	Reason    string `json:"reason"`
}

// evalResponseOutput is the --json answer of eval --response: evalOutput's
// keys first, then what the gateway would pass upstream.
type evalResponseOutput struct {
	evalOutput
	// PrincipalID is nil (null) for an Unauthorized answer.
	PrincipalID *string `json:"principalId"`
	// Headers are the headers the upstream would receive; empty unless
	// the decision is ALLOW.
	Headers headerObject `json:"headers"`
}

// headerObject writes headers as a JSON object in their own order (the
// order the gateway sets them), not sorted as a map would be.
type headerObject []pipeline.Header

// MarshalJSON writes {"name":"value",...}.
func (h headerObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteByte('{')
	for i, hd := range h {
		if i > 0 {
			b.WriteByte(',')
		}
		// Strings always encode; Encode adds a newline, which JSON allows
		// between tokens and the caller's encoder compacts away.
		_ = enc.Encode(hd.Name)
		b.WriteByte(':')
		_ = enc.Encode(hd.Value)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// unauthorizedReason explains an Unauthorized answer.
const unauthorizedReason = "the authorizer refused the identity; the gateway would answer 401"

// failurePrefix starts the reason of a response the gateway answers 500.
const failurePrefix = "the gateway would answer 500 (AuthorizerConfigurationException): "

// API types of --api-type; "" detects the type from the ARN and response.
const (
	apiREST = "REST"
	apiHTTP = "HTTP"
)

// eval evaluates a policy document, or a whole authorizer response, for
// execute-api:Invoke on a method ARN, as the gateway does with an
// authorizer's answer.
func (c *cli) eval(args []string) int {
	fs := c.flags("eval", "(--policy FILE | --response FILE) --arn METHOD_ARN [--api-type TYPE] [--source-ip IP] [--time RFC3339] [--json]")
	policyFile := fs.String("policy", "", "policy document `FILE` (JSON; - for stdin); an authorizer response with a policyDocument member also works")
	responseFile := fs.String("response", "", "whole authorizer response `FILE` (JSON; - for stdin), read as the gateway reads it; prints the headers it would pass upstream")
	arnFlag := fs.String("arn", "", "`METHOD_ARN`: arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/VERB/PATH (HTTP APIs: their routeArn, stage $default included)")
	apiType := fs.String("api-type", "", "read --response as the answer of a REST or HTTP API's authorizer (`TYPE`); default: HTTP when the ARN's stage is $default or the answer has isAuthorized, else REST")
	sourceIP := fs.String("source-ip", "", "caller `IP` for aws:SourceIp conditions")
	at := fs.String("time", "", "evaluation time (`RFC3339`) for date conditions; default now")
	asJSON := fs.Bool("json", false, "print the decision as JSON")
	if code, ok := c.parse(fs, args); !ok {
		return code
	}
	switch {
	case *policyFile == "" && *responseFile == "":
		c.usageError(fs, "--policy or --response is required")
		return exitUsage
	case *policyFile != "" && *responseFile != "":
		c.usageError(fs, "--policy and --response exclude each other")
		return exitUsage
	case *arnFlag == "":
		c.usageError(fs, "--arn is required")
		return exitUsage
	case *apiType != "" && *apiType != apiREST && *apiType != apiHTTP:
		c.usageError(fs, fmt.Sprintf("--api-type must be REST or HTTP, got %q", *apiType))
		return exitUsage
	}

	req := policy.Request{Resource: *arnFlag, Now: time.Now()}
	methodARN, err := arn.Parse(*arnFlag)
	if err != nil {
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
	file := *policyFile
	if file == "" {
		file = *responseFile
	}
	doc, err := c.readInput(file)
	if err != nil {
		fmt.Fprintf(c.stderr, "authgate eval: %v\n", err)
		return exitUsage
	}
	if *responseFile != "" {
		return c.evalResponse(doc, &req, methodARN, *apiType, *asJSON)
	}
	p, err := parsePolicy(doc)
	if err != nil {
		fmt.Fprintf(c.stderr, "authgate eval: %s: %v\n", displayName(file), err)
		return exitUsage
	}
	out := decide(p, &req)
	if *asJSON {
		c.writeJSON(out)
	} else {
		fmt.Fprintln(c.stdout, out.line)
	}
	return exitFor(out.Decision)
}

// evalResponse reads a whole authorizer answer as the gateway reads it for
// the API type, and prints the decision and the headers the upstream would
// receive. An answer the gateway would refuse with 500 is a decision too,
// ERROR, with its reason.
func (c *cli) evalResponse(doc []byte, req *policy.Request, methodARN arn.MethodARN, apiType string, asJSON bool) int {
	if apiType == "" {
		apiType = apiREST
		if methodARN.Stage == config.DefaultRouteKey || gjson.GetBytes(doc, "isAuthorized").Exists() {
			apiType = apiHTTP
		}
	}
	parse := authorizer.ParseResponse
	if apiType == apiHTTP {
		parse = authorizer.ParseHTTPResponse
		if gjson.GetBytes(doc, "isAuthorized").Exists() {
			parse = authorizer.ParseSimpleResponse
		}
	}
	res, err := parse(200, doc)
	if errors.Is(err, authorizer.ErrUnauthorized) {
		c.printUnauthorized(asJSON)
		return exitDeny
	}
	var set []pipeline.Header
	if err == nil {
		set, err = pipeline.UpstreamHeaders(res)
	}
	if err != nil {
		out := evalOutput{Decision: pipeline.DecisionError, Reason: failurePrefix + err.Error()}
		if asJSON {
			c.writeJSON(evalResponseOutput{evalOutput: out, Headers: headerObject(nil)})
		} else {
			fmt.Fprintln(c.stdout, pipeline.DecisionError+": "+out.Reason)
		}
		return exitDeny
	}
	var out decision
	var principal *string
	switch {
	case res.Simple && res.Authorized:
		out = decision{evalOutput: evalOutput{Decision: policy.Allow.String(), Reason: "the authorizer answered isAuthorized true"}}
		out.line = out.Decision + ": " + out.Reason
	case res.Simple:
		out = decision{evalOutput: evalOutput{Decision: pipeline.DecisionDeny, Reason: "the authorizer answered isAuthorized false"}}
		out.line = out.Decision + ": " + out.Reason
	default:
		out = decide(res.Policy, req)
		principal = &res.PrincipalID
	}
	if out.Decision != policy.Allow.String() {
		// Nothing reaches the upstream of a denied request.
		set = nil
	}
	if asJSON {
		c.writeJSON(evalResponseOutput{evalOutput: out.evalOutput, PrincipalID: principal, Headers: headerObject(set)})
	} else {
		fmt.Fprintln(c.stdout, out.line)
		for _, h := range set {
			fmt.Fprintf(c.stdout, "%s: %s\n", h.Name, h.Value)
		}
	}
	return exitFor(out.Decision)
}

// decision is a policy's verdict as eval prints it: the JSON fields and
// the text line.
type decision struct {
	evalOutput
	line string
}

// decide evaluates p for req and explains the verdict.
func decide(p *policy.Policy, req *policy.Request) decision {
	d, stmt := p.Evaluate(req)
	out := decision{evalOutput: evalOutput{Decision: d.String()}, line: d.String()}
	switch d {
	case policy.Allow, policy.ExplicitDeny:
		out.Statement = &stmt
		name := statementName(p, stmt)
		verb := "allows"
		if d == policy.ExplicitDeny {
			verb = "explicitly denies"
		}
		out.Reason = fmt.Sprintf("%s %s %s on %s", name, verb, policy.Action, req.Resource)
		out.line += " by " + name
	default:
		out.Reason = fmt.Sprintf("no statement allows %s on %s", policy.Action, req.Resource)
		out.line += ": " + out.Reason
	}
	return out
}

// exitFor is eval's exit code for a decision: 0 when the gateway would
// forward the request, 1 when it would answer it (deny, 401 or 500).
func exitFor(decision string) int {
	if decision == policy.Allow.String() {
		return exitOK
	}
	return exitDeny
}

// printUnauthorized reports an Unauthorized answer: the gateway answers
// 401 and passes nothing upstream.
func (c *cli) printUnauthorized(asJSON bool) {
	if asJSON {
		c.writeJSON(evalResponseOutput{evalOutput: evalOutput{Decision: pipeline.DecisionUnauthorized, Reason: unauthorizedReason}})
		return
	}
	fmt.Fprintln(c.stdout, pipeline.DecisionUnauthorized+": "+unauthorizedReason)
}

// writeJSON prints v as one line of JSON, without HTML escaping.
func (c *cli) writeJSON(v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // cannot fail for the output types
	c.stdout.Write(b.Bytes())
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
