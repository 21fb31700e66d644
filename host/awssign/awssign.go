// Package awssign signs the gateway's calls to Lambda authorizers with AWS
// Signature Version 4, in the Go hosts (`authgate serve` on either engine,
// and host/native). The plugin configuration names the function; signing is
// the job of whatever sends the request, never of the filter, just as in
// Envoy a Lambda cluster carries the aws_request_signing upstream filter.
//
// NewTransport wraps an http.RoundTripper: requests to the base URL of a
// Lambda cluster (config.Plan.LambdaClusters) are signed for service
// "lambda" in the cluster's region, with credentials from the AWS SDK's
// default chain (environment, shared config and credentials files, web
// identity, container and instance metadata), or with those of the
// cluster's authorizerCredentials role, assumed through STS. Every other
// request passes through untouched. Credentials never reach a log line.
//
// See https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html.
package awssign

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/authgate/authgate/core/arn"
	"github.com/authgate/authgate/core/config"
)

// Service is the signing name of the Lambda Invoke API.
const Service = "lambda"

// RoleSessionName names the sessions of assumed authorizerCredentials
// roles, so CloudTrail shows who invoked the function.
const RoleSessionName = "authgate"

// Options configure NewTransport. The zero value loads the default AWS
// configuration and sends through a clone of http.DefaultTransport.
type Options struct {
	// Config supplies the credentials (and STS settings for assumed
	// roles); nil loads the SDK's default configuration, and only when
	// the plan has a Lambda cluster.
	Config *aws.Config
	// Base sends the requests, signed or not; nil means a clone of
	// http.DefaultTransport.
	Base http.RoundTripper
	// Clock is the signing time; nil means time.Now.
	Clock func() time.Time
}

// signer signs the requests of one origin.
type signer struct {
	cluster string
	region  string
	role    string
	creds   aws.CredentialsProvider
}

// Transport signs requests to Lambda clusters; see the package comment.
type Transport struct {
	base    http.RoundTripper
	signers map[string]*signer // by origin, "scheme://host" in lower case
	v4      *v4.Signer
	now     func() time.Time
}

// NewTransport returns a Transport for plan's Lambda clusters, whose base
// URLs clusters gives (cluster name to URL, as the hosts take them).
//
// A cluster whose URL is a public Lambda endpoint
// (lambda.{region}.amazonaws.com) must be in its functions' region; any
// other URL (a local emulator, a VPC endpoint's private name, a proxy) is
// signed for the functions' region. A Lambda cluster must not share its
// scheme and host with another cluster that signs differently or not at
// all, since requests are matched to their signer by origin. Errors name
// the configuration field that disagrees.
func NewTransport(ctx context.Context, plan *config.Plan, clusters map[string]string, o Options) (*Transport, error) {
	t := &Transport{base: o.Base, signers: map[string]*signer{}, now: o.Clock}
	if t.base == nil {
		t.base = http.DefaultTransport.(*http.Transport).Clone()
	}
	if t.now == nil {
		t.now = time.Now
	}
	if len(plan.LambdaClusters) == 0 {
		return t, nil
	}
	origins := map[string]string{} // origin -> cluster name, for every cluster
	for _, name := range sortedKeys(clusters) {
		o, err := origin(clusters[name])
		if err != nil {
			return nil, fmt.Errorf("awssign: cluster %q: %w", name, err)
		}
		origins[name] = o
	}
	cfg := o.Config
	if cfg == nil {
		loaded, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("awssign: loading the AWS configuration: %w", err)
		}
		cfg = &loaded
	}
	t.v4 = v4.NewSigner()
	for _, lc := range plan.LambdaClusters {
		first := "authorizers." + lc.Authorizers[0]
		raw, ok := clusters[lc.Name]
		if !ok {
			return nil, fmt.Errorf("awssign: %s.cluster: cluster %q has no URL", first, lc.Name)
		}
		u, _ := url.Parse(raw)
		if region, ok := arn.EndpointRegion(u.Hostname()); ok && region != lc.Region {
			return nil, fmt.Errorf("awssign: %s.authorizerUri: the function is in %s, but cluster %q (%s) is Lambda's endpoint in %s",
				first, lc.Region, lc.Name, u.Redacted(), region)
		}
		s := &signer{cluster: lc.Name, region: lc.Region, role: lc.Role, creds: cfg.Credentials}
		if lc.Role != "" {
			client := sts.NewFromConfig(*cfg, func(so *sts.Options) {
				if so.Region == "" {
					so.Region = lc.Region
				}
			})
			s.creds = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(client, lc.Role, func(ao *stscreds.AssumeRoleOptions) {
				ao.RoleSessionName = RoleSessionName
			}))
		}
		if s.creds == nil {
			return nil, fmt.Errorf("awssign: %s: no AWS credentials provider configured for cluster %q", first, lc.Name)
		}
		org := origins[lc.Name]
		if prev := t.signers[org]; prev != nil && (prev.region != s.region || prev.role != s.role) {
			return nil, fmt.Errorf("awssign: %s.cluster: cluster %q has the origin %s of cluster %q, which signs for another region or role", first, lc.Name, org, prev.cluster)
		}
		t.signers[org] = s
	}
	for _, name := range sortedKeys(clusters) {
		if s := t.signers[origins[name]]; s != nil && !isLambdaCluster(plan, name) {
			return nil, fmt.Errorf("awssign: cluster %q has the origin %s of Lambda cluster %q: its requests would be signed too; give it another host or port", name, origins[name], s.cluster)
		}
	}
	return t, nil
}

// Client returns an HTTP client sending through t that does not follow
// redirects: an authorizer's redirect is an answer, not somewhere to send
// the identity (or a signature) next.
func (t *Transport) Client() *http.Client {
	return &http.Client{Transport: t, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Signs reports whether requests to the given cluster URL are signed.
func (t *Transport) Signs(rawURL string) bool {
	o, err := origin(rawURL)
	return err == nil && t.signers[o] != nil
}

// RoundTrip signs req when it goes to a Lambda cluster and sends it. The
// request is cloned before signing (a RoundTripper must not change it);
// its body is read whole to hash it, which a Lambda event (at most what
// the gateway builds) allows.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	s := t.signers[strings.ToLower(req.URL.Scheme+"://"+req.URL.Host)]
	if s == nil {
		return t.base.RoundTrip(req)
	}
	body, err := readBody(req)
	if err != nil {
		return nil, fmt.Errorf("awssign: cluster %q: reading the body: %w", s.cluster, err)
	}
	creds, err := s.creds.Retrieve(req.Context())
	if err != nil {
		return nil, fmt.Errorf("awssign: cluster %q: credentials: %w", s.cluster, err)
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	out.ContentLength = int64(len(body))
	// Nothing the caller set may pose as part of the signature.
	for _, h := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-Sha256"} {
		out.Header.Del(h)
	}
	sum := sha256.Sum256(body)
	if err := t.v4.SignHTTP(req.Context(), creds, out, hex.EncodeToString(sum[:]), Service, s.region, t.now()); err != nil {
		return nil, fmt.Errorf("awssign: cluster %q: signing: %w", s.cluster, err)
	}
	return t.base.RoundTrip(out)
}

// readBody returns the request body without consuming req's own: through
// GetBody when the request has one (bytes readers do), else by reading it.
func readBody(req *http.Request) ([]byte, error) {
	switch {
	case req.Body == nil || req.Body == http.NoBody:
		return nil, nil
	case req.GetBody != nil:
		rc, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(rc)
	}
	defer req.Body.Close()
	return io.ReadAll(req.Body)
}

// origin is the lower-case scheme://host[:port] of a cluster URL.
func origin(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("want an http or https URL with a host")
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

func isLambdaCluster(plan *config.Plan, name string) bool {
	return slices.ContainsFunc(plan.LambdaClusters, func(c config.LambdaCluster) bool { return c.Name == name })
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
