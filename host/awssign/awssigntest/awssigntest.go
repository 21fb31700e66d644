// Package awssigntest checks AWS Signature Version 4 the way an AWS service
// does, for tests of whatever signs the gateway's Lambda calls (the Go
// hosts, and Envoy's aws_request_signing filter): a request that is not
// signed, or signed with other credentials, for another region or service,
// or over other bytes, is refused with 403 and the error body and header
// AWS services answer with. It also plays STS's AssumeRole, handing out
// temporary credentials that the Verifier then accepts.
//
// The signature is recomputed with the AWS SDK's signer over exactly the
// headers the request says it signed, so the check does not depend on
// which headers a signer chose to include.
package awssigntest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Refusal is an AWS service's answer to a request it does not accept: the
// status, the x-amzn-ErrorType header and the message of the JSON body.
type Refusal struct {
	Status  int
	Type    string
	Message string
}

// Error lets a Refusal travel as an error.
func (r *Refusal) Error() string { return fmt.Sprintf("%d %s: %s", r.Status, r.Type, r.Message) }

// Write answers with the refusal as AWS's JSON services do.
func (r *Refusal) Write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", r.Type)
	w.WriteHeader(r.Status)
	fmt.Fprintf(w, `{"message":%q}`, r.Message)
}

// The refusals, with AWS's wording.
func missingToken() *Refusal {
	return &Refusal{http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"}
}

func incomplete(why string) *Refusal {
	return &Refusal{http.StatusForbidden, "IncompleteSignatureException", why}
}

func unknownKey() *Refusal {
	return &Refusal{http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid."}
}

func mismatch(why string) *Refusal {
	return &Refusal{http.StatusForbidden, "InvalidSignatureException",
		"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details. (" + why + ")"}
}

// MaxSkew is how far a request's X-Amz-Date may be from the Verifier's
// clock, as AWS allows.
const MaxSkew = 5 * time.Minute

// Verifier checks requests signed for one service and region. It is safe
// for concurrent use.
type Verifier struct {
	Service, Region string
	// Clock is the time X-Amz-Date is checked against; nil means time.Now.
	Clock func() time.Time

	mu       sync.Mutex
	creds    map[string]aws.Credentials // by access key id
	accepted atomic.Int64
	refused  atomic.Int64
}

// NewVerifier accepts requests signed with any of creds.
func NewVerifier(service, region string, creds ...aws.Credentials) *Verifier {
	v := &Verifier{Service: service, Region: region, creds: map[string]aws.Credentials{}}
	for _, c := range creds {
		v.Add(c)
	}
	return v
}

// Add accepts one more set of credentials.
func (v *Verifier) Add(c aws.Credentials) {
	v.mu.Lock()
	v.creds[c.AccessKeyID] = c
	v.mu.Unlock()
}

// Accepted and Refused count the requests Verify judged.
func (v *Verifier) Accepted() int64 { return v.accepted.Load() }

// Refused counts the requests Verify refused.
func (v *Verifier) Refused() int64 { return v.refused.Load() }

// Verify checks r, whose body is body, and returns nil or the refusal an
// AWS service would answer with.
func (v *Verifier) Verify(r *http.Request, body []byte) *Refusal {
	ref := v.verify(r, body)
	if ref != nil {
		v.refused.Add(1)
	} else {
		v.accepted.Add(1)
	}
	return ref
}

func (v *Verifier) verify(r *http.Request, body []byte) *Refusal {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return missingToken()
	}
	algo, rest, _ := strings.Cut(auth, " ")
	if algo != "AWS4-HMAC-SHA256" {
		return incomplete("Unsupported authorization type " + algo)
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = val
	}
	cred, signedList, sig := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	if cred == "" || signedList == "" || sig == "" {
		return incomplete("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'.")
	}
	scope := strings.Split(cred, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return incomplete("Credential must have the form key/date/region/service/aws4_request.")
	}
	v.mu.Lock()
	c, ok := v.creds[scope[0]]
	v.mu.Unlock()
	if !ok {
		return unknownKey()
	}
	if scope[2] != v.Region || scope[3] != v.Service {
		return mismatch(fmt.Sprintf("credential scoped to %s/%s, want %s/%s", scope[2], scope[3], v.Region, v.Service))
	}
	date, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	now := time.Now
	if v.Clock != nil {
		now = v.Clock
	}
	if skew := now().Sub(date); skew > MaxSkew || skew < -MaxSkew {
		return &Refusal{http.StatusForbidden, "InvalidSignatureException", "Signature expired: " + r.Header.Get("X-Amz-Date") + " is out of the allowed time window."}
	}
	if scope[1] != date.Format("20060102") {
		return mismatch("credential date differs from X-Amz-Date")
	}
	signed := strings.Split(signedList, ";")
	if !contains(signed, "host") {
		return mismatch("host is not signed")
	}
	if c.SessionToken != "" && (!contains(signed, "x-amz-security-token") || r.Header.Get("X-Amz-Security-Token") != c.SessionToken) {
		return unknownKey()
	}
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != payload && h != "UNSIGNED-PAYLOAD" {
		return mismatch("x-amz-content-sha256 does not match the body")
	}
	// The same request as the SDK's signer would see it, carrying only
	// the signed headers.
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	again := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: http.Header{}}
	for _, h := range signed {
		switch h {
		case "host":
		case "content-length":
			again.ContentLength = r.ContentLength
		default:
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	if !contains(signed, "content-length") {
		again.ContentLength = 0
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), c, again, payload, v.Service, v.Region, date); err != nil {
		return mismatch(err.Error())
	}
	want := again.Header.Get("Authorization")
	if subtle.ConstantTimeCompare([]byte(want), []byte(auth)) != 1 {
		why := "signature differs"
		if !strings.Contains(want, "SignedHeaders="+signedList+",") {
			why = "signed headers " + signedList + " are not the ones AWS signs: " + want[strings.Index(want, "SignedHeaders="):strings.Index(want, ", Signature")]
		}
		return mismatch(why)
	}
	return nil
}

// Wrap refuses what Verify refuses and hands every other request to next,
// with its body intact.
func (v *Verifier) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 6<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if ref := v.Verify(r, body); ref != nil {
			ref.Write(w)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// STS plays AWS STS's AssumeRole for the roles it knows: a call signed
// with credentials Caller accepts gets temporary credentials, which are
// then added to Issue (the Lambda endpoint's Verifier), as IAM would let
// the role invoke the function.
type STS struct {
	Caller *Verifier
	Issue  *Verifier
	Roles  []string
	// Lifetime of the issued credentials; zero means an hour.
	Lifetime time.Duration

	n      atomic.Int64
	issued atomic.Int64
}

// Issued counts the credentials handed out.
func (s *STS) Issued() int64 { return s.issued.Load() }

// ServeHTTP answers AssumeRole in the STS query protocol.
func (s *STS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if ref := s.Caller.Verify(r, body); ref != nil {
		stsError(w, ref.Status, strings.TrimSuffix(ref.Type, "Exception"), ref.Message)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("Action") != "AssumeRole" {
		stsError(w, http.StatusBadRequest, "InvalidAction", "only AssumeRole is served here")
		return
	}
	role := form.Get("RoleArn")
	if !contains(s.Roles, role) {
		stsError(w, http.StatusForbidden, "AccessDenied", "not authorized to perform sts:AssumeRole on "+role)
		return
	}
	n := s.n.Add(1)
	lifetime := s.Lifetime
	if lifetime == 0 {
		lifetime = time.Hour
	}
	c := aws.Credentials{
		AccessKeyID:     fmt.Sprintf("ASIATEST%012d", n),
		SecretAccessKey: fmt.Sprintf("assumed-secret-%d", n),
		SessionToken:    fmt.Sprintf("assumed-session-token-%d", n),
		CanExpire:       true,
		Expires:         time.Now().Add(lifetime).UTC().Truncate(time.Second),
	}
	s.Issue.Add(c)
	s.issued.Add(1)
	type credentials struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}
	var out struct {
		XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleResponse"`
		Result  struct {
			Credentials     credentials
			AssumedRoleUser struct {
				Arn           string
				AssumedRoleID string `xml:"AssumedRoleId"`
			}
		} `xml:"AssumeRoleResult"`
		RequestID string `xml:"ResponseMetadata>RequestId"`
	}
	out.Result.Credentials = credentials{c.AccessKeyID, c.SecretAccessKey, c.SessionToken, c.Expires.Format(time.RFC3339)}
	out.Result.AssumedRoleUser.Arn = role + "/" + form.Get("RoleSessionName")
	out.Result.AssumedRoleUser.AssumedRoleID = "AROATEST:" + form.Get("RoleSessionName")
	out.RequestID = fmt.Sprintf("req-%d", n)
	w.Header().Set("Content-Type", "text/xml")
	_ = xml.NewEncoder(w).Encode(out)
}

// stsError answers in the STS query protocol's error shape.
func stsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>x</RequestId></ErrorResponse>`,
		xmlEscape(code), xmlEscape(msg))
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
