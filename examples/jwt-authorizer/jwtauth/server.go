package jwtauth

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/authgate/authgate/core/arn"
	"github.com/authgate/authgate/core/route"
	"github.com/authgate/authgate/host/lambdahttp"
)

// ExtAuthzPrefix is the path under which the server answers Envoy's ext_authz
// HTTP filter; configure the filter's http_service with
// path_prefix: "/ext_authz".
const ExtAuthzPrefix = "/ext_authz"

// PrincipalHeader carries the principal on an allowed ext_authz answer;
// list it in the filter's allowed_upstream_headers.
const PrincipalHeader = "x-authorizer-principal-id"

// Gateway response bodies, the ones authgate and API Gateway send, so that a
// client sees the same answer through ext_authz.
const (
	bodyUnauthorized = `{"message":"Unauthorized"}`
	bodyForbidden    = `{"Message":"User is not authorized to access this resource"}`
	bodyBadRequest   = `{"message":"Bad Request"}`
)

// API names the execute-api stage the ext_authz endpoint builds method ARNs
// for; it plays the part of the gateway's region, accountId, restApiId and
// stage settings.
type API struct {
	Region    string
	AccountID string
	APIID     string
	Stage     string
}

// Validate reports the first field that could not appear in a method ARN.
func (api API) Validate() error {
	checks := []struct {
		name  string
		value string
		check func(string) error
	}{
		{"region", api.Region, arn.CheckRegion},
		{"account id", api.AccountID, arn.CheckAccountID},
		{"api id", api.APIID, arn.CheckAPIID},
		{"stage", api.Stage, arn.CheckStage},
	}
	for _, c := range checks {
		if err := c.check(c.value); err != nil {
			return fmt.Errorf("jwtauth: api %s: %w", c.name, err)
		}
	}
	return nil
}

// Handler serves both endpoints: requests under ExtAuthzPrefix+"/" go to
// ExtAuthz, every other path is the Lambda-style authorizer endpoint that
// authgate POSTs its events to. Dispatch is by prefix, not http.ServeMux,
// because the mux would answer unclean paths with a redirect, which the
// ext_authz filter would pass to the client as a denial with the wrong
// status.
func (a *Authorizer) Handler(api API) (http.Handler, error) {
	ext, err := a.ExtAuthz(api)
	if err != nil {
		return nil, err
	}
	lambda := lambdahttp.Handler(a.Authorize)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.EscapedPath(), ExtAuthzPrefix+"/") {
			ext.ServeHTTP(w, r)
			return
		}
		lambda.ServeHTTP(w, r)
	}), nil
}

// ExtAuthz returns the handler for Envoy's ext_authz HTTP filter. The filter
// forwards the original method, the original path behind ExtAuthzPrefix
// and the allowed headers (which must include authorization). The handler
// performs the same token check as Authorize and the decision the policy
// from Response would make for that request's method ARN: 200 with
// PrincipalHeader when allowed, 401 for a bad token, 403 when the policy
// denies and 400 for a path the gateway would refuse.
func (a *Authorizer) ExtAuthz(api API) (http.Handler, error) {
	if err := api.Validate(); err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := strings.TrimPrefix(r.URL.EscapedPath(), ExtAuthzPrefix)
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		// The same path rules as the gateway, so a path it would answer
		// 400 is not judged differently here.
		path, _, err := route.CleanPath(target)
		if err != nil {
			a.log.InfoContext(r.Context(), "decision", "endpoint", "ext_authz", "decision", "bad_request", "reason", err.Error())
			deny(w, http.StatusBadRequest, bodyBadRequest)
			return
		}
		methodARN := arn.Format(api.Region, api.AccountID, api.APIID, api.Stage, r.Method, path)
		id, err := a.Authenticate(r.Header.Get("Authorization"))
		if err != nil {
			a.log.InfoContext(r.Context(), "decision", "endpoint", "ext_authz", "decision", "unauthorized", "methodArn", methodARN, "reason", err.Error())
			deny(w, http.StatusUnauthorized, bodyUnauthorized)
			return
		}
		// The resource as arn.Format writes it: no leading slash, trailing
		// slash dropped.
		resource := strings.TrimSuffix(strings.TrimPrefix(path, "/"), "/")
		if !id.Allows(r.Method, resource) {
			a.log.InfoContext(r.Context(), "decision", "endpoint", "ext_authz", "decision", "deny", "principalId", id.Subject, "methodArn", methodARN)
			deny(w, http.StatusForbidden, bodyForbidden)
			return
		}
		a.log.InfoContext(r.Context(), "decision", "endpoint", "ext_authz", "decision", "allow", "principalId", id.Subject, "methodArn", methodARN)
		w.Header().Set(PrincipalHeader, id.Subject)
		w.WriteHeader(http.StatusOK)
	}), nil
}

func deny(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
