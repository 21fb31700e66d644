package config

import (
	"slices"
	"testing"
)

// TestParseLenientAsAPIGateway loads configurations that API Gateway
// deploys although parts of them do nothing or refuse every request: a
// configuration copied from a real API must load, and Warnings must say
// what the gateway makes of the part, naming its JSON path.
func TestParseLenientAsAPIGateway(t *testing.T) {
	const req = `"type": "REQUEST", "cluster": "authz", `
	tests := []struct {
		name  string
		doc   string
		check func(t *testing.T, p *Plan)
		warns []string
	}{
		{
			name: "validation expression on a REST REQUEST authorizer",
			doc:  jwt(req + `"identitySource": "method.request.header.A", "identityValidationExpression": "^x$"`),
			check: func(t *testing.T, p *Plan) {
				if p.Authorizers["jwt"].IdentityValidation != nil {
					t.Error("the expression is applied; API Gateway ignores it on REQUEST authorizers")
				}
			},
			warns: []string{"authorizers.jwt.identityValidationExpression: ignored: only TOKEN authorizers validate the identity; a REQUEST authorizer is called for every identity"},
		},
		{
			name: "validation expression on an HTTP API authorizer",
			doc:  httpAuth(`"type": "REQUEST", "cluster": "authz", "authorizerPayloadFormatVersion": "2.0", "identitySource": "$request.header.A", "identityValidationExpression": "x"`),
			check: func(t *testing.T, p *Plan) {
				if p.Authorizers["lam"].IdentityValidation != nil {
					t.Error("the expression is applied")
				}
			},
			warns: []string{"authorizers.lam.identityValidationExpression: ignored: only TOKEN authorizers validate the identity; a REQUEST authorizer is called for every identity"},
		},
		{
			name: "undefined stage variable as a REST identity source",
			doc:  jwt(req + `"identitySource": "method.request.header.A, stageVariables.tenant"`),
			check: func(t *testing.T, p *Plan) {
				want := []IdentitySource{{SourceHeader, "a"}, {SourceStage, "tenant"}}
				if got := p.Authorizers["jwt"].IdentitySources; !slices.Equal(got, want) {
					t.Errorf("IdentitySources = %v, want %v", got, want)
				}
			},
			warns: []string{`authorizers.jwt.identitySource: "stageVariables.tenant" names a stage variable that stageVariables does not define: every request on this authorizer's routes is answered 401`},
		},
		{
			name:  "undefined stage variable as an HTTP API identity source",
			doc:   httpAuth(`"type": "REQUEST", "cluster": "authz", "authorizerPayloadFormatVersion": "2.0", "identitySource": "$stageVariables.t"`),
			warns: []string{`authorizers.lam.identitySource: "$stageVariables.t" names a stage variable that stageVariables does not define: every request on this authorizer's routes is answered 401`},
		},
		{
			name: "gateway response status code as a number",
			doc:  doc(`"gatewayResponses": {"UNAUTHORIZED": {"statusCode": 401}, "ACCESS_DENIED": {"statusCode": "403"}}`),
			check: func(t *testing.T, p *Plan) {
				if got := p.GatewayResponses["UNAUTHORIZED"].StatusCode; got != 401 {
					t.Errorf("UNAUTHORIZED status = %d, want 401", got)
				}
				if got := p.GatewayResponses["ACCESS_DENIED"].StatusCode; got != 403 {
					t.Errorf("ACCESS_DENIED status = %d, want 403", got)
				}
			},
		},
		{
			name: "nothing to warn about",
			doc:  jwt(`"type": "TOKEN", "cluster": "authz", "identityValidationExpression": "^Bearer .+$"`),
			check: func(t *testing.T, p *Plan) {
				if p.Authorizers["jwt"].IdentityValidation == nil {
					t.Error("a TOKEN authorizer's expression is dropped")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !slices.Equal(p.Warnings, tt.warns) {
				t.Errorf("Warnings =\n%q\nwant\n%q", p.Warnings, tt.warns)
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}
