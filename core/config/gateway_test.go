package config

import (
	"reflect"
	"testing"
)

func gr(members string) string {
	return doc(`"stageVariables": {"realm": "api"}`, `"gatewayResponses": {`+members+`}`)
}

func TestParseGatewayResponsesErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"not an object", doc(`"gatewayResponses": []`), `gatewayResponses: must be an object, got an array`},
		{"unknown type", gr(`"UNAUTHORISED": {}`), `gatewayResponses.UNAUTHORISED: unknown response type (one of ACCESS_DENIED, AUTHORIZER_CONFIGURATION_ERROR, AUTHORIZER_FAILURE, BAD_REQUEST_PARAMETERS, DEFAULT_4XX, DEFAULT_5XX, MISSING_AUTHENTICATION_TOKEN, UNAUTHORIZED)`},
		{"type authgate never gives", gr(`"THROTTLED": {}`), `gatewayResponses.THROTTLED: authgate never gives a THROTTLED response`},
		{"duplicate type", gr(`"UNAUTHORIZED": {}, "UNAUTHORIZED": {}`), `gatewayResponses.UNAUTHORIZED: duplicate key`},
		{"response not an object", gr(`"UNAUTHORIZED": "401"`), `gatewayResponses.UNAUTHORIZED: must be an object, got "401"`},
		{"unknown member", gr(`"UNAUTHORIZED": {"status": "401"}`), `gatewayResponses.UNAUTHORIZED.status: unknown field`},
		{"status number out of range", gr(`"UNAUTHORIZED": {"statusCode": 200}`), `gatewayResponses.UNAUTHORIZED.statusCode: must be a status code "300" to "599" (a string or a number), got 200`},
		{"status fraction", gr(`"UNAUTHORIZED": {"statusCode": 401.0}`), `gatewayResponses.UNAUTHORIZED.statusCode: must be a status code "300" to "599" (a string or a number), got 401.0`},
		{"status boolean", gr(`"UNAUTHORIZED": {"statusCode": true}`), `gatewayResponses.UNAUTHORIZED.statusCode: must be a status code "300" to "599" (a string or a number), got true`},
		{"status 200", gr(`"UNAUTHORIZED": {"statusCode": "200"}`), `gatewayResponses.UNAUTHORIZED.statusCode: must be a status code "300" to "599" (a string or a number), got "200"`},
		{"status 600", gr(`"DEFAULT_5XX": {"statusCode": "600"}`), `gatewayResponses.DEFAULT_5XX.statusCode: must be a status code "300" to "599" (a string or a number), got "600"`},
		{"status words", gr(`"UNAUTHORIZED": {"statusCode": "4o1"}`), `gatewayResponses.UNAUTHORIZED.statusCode: must be a status code "300" to "599" (a string or a number), got "4o1"`},
		{"status padded", gr(`"UNAUTHORIZED": {"statusCode": "+401"}`), `gatewayResponses.UNAUTHORIZED.statusCode: must be a status code "300" to "599" (a string or a number), got "+401"`},
		{"parameter not a header", gr(`"UNAUTHORIZED": {"responseParameters": {"gatewayresponse.querystring.a": "'b'"}}`),
			`gatewayResponses.UNAUTHORIZED.responseParameters["gatewayresponse.querystring.a"]: must be gatewayresponse.header.NAME with NAME a header name`},
		{"parameter bad header name", gr(`"UNAUTHORIZED": {"responseParameters": {"gatewayresponse.header.a b": "'b'"}}`),
			`gatewayResponses.UNAUTHORIZED.responseParameters["gatewayresponse.header.a b"]: must be gatewayresponse.header.NAME with NAME a header name`},
		{"parameter reserved header", gr(`"UNAUTHORIZED": {"responseParameters": {"gatewayresponse.header.Content-Type": "'text/plain'"}}`),
			`gatewayResponses.UNAUTHORIZED.responseParameters["gatewayresponse.header.Content-Type"]: the gateway sets Content-Type itself`},
		{"parameter error type header", gr(`"UNAUTHORIZED": {"responseParameters": {"gatewayresponse.header.x-amzn-ErrorType": "'x'"}}`),
			`gatewayResponses.UNAUTHORIZED.responseParameters["gatewayresponse.header.x-amzn-ErrorType"]: the gateway sets x-amzn-ErrorType itself`},
		{"parameter twice", gr(`"UNAUTHORIZED": {"responseParameters": {"gatewayresponse.header.A": "'1'", "gatewayresponse.header.a": "'2'"}}`),
			`gatewayResponses.UNAUTHORIZED.responseParameters["gatewayresponse.header.a"]: header a is set twice`},
		{"parameter value type", gr(`"UNAUTHORIZED": {"responseParameters": {"gatewayresponse.header.A": 1}}`),
			`gatewayResponses.UNAUTHORIZED.responseParameters["gatewayresponse.header.A"]: must be a string, got 1`},
		{"parameter unquoted literal", gr(`"UNAUTHORIZED": {"responseParameters": {"gatewayresponse.header.A": "Bearer"}}`),
			`gatewayResponses.UNAUTHORIZED.responseParameters["gatewayresponse.header.A"]: "Bearer" must be a 'quoted literal', method.request.header.NAME, method.request.querystring.NAME, method.request.path.NAME, stageVariables.NAME or context.NAME`},
		{"parameter literal with newline", gr(`"UNAUTHORIZED": {"responseParameters": {"gatewayresponse.header.A": "'a\nb'"}}`),
			`gatewayResponses.UNAUTHORIZED.responseParameters["gatewayresponse.header.A"]: "a\nb" is not a valid header value`},
		{"parameter empty request header", gr(`"UNAUTHORIZED": {"responseParameters": {"gatewayresponse.header.A": "method.request.header."}}`),
			`gatewayResponses.UNAUTHORIZED.responseParameters["gatewayresponse.header.A"]: "method.request.header." does not end in a parameter name`},
		{"parameter undefined stage variable", gr(`"UNAUTHORIZED": {"responseParameters": {"gatewayresponse.header.A": "stageVariables.nope"}}`),
			`gatewayResponses.UNAUTHORIZED.responseParameters["gatewayresponse.header.A"]: "stageVariables.nope" names a stage variable that stageVariables does not define`},
		{"parameter unknown context", gr(`"UNAUTHORIZED": {"responseParameters": {"gatewayresponse.header.A": "context.identity.apiKey"}}`),
			`gatewayResponses.UNAUTHORIZED.responseParameters["gatewayresponse.header.A"]: "context.identity.apiKey" is not a supported context variable (authorizer.KEY or one of accountId, apiId, error.message, error.messageString, error.responseType, httpMethod, identity.sourceIp, identity.userAgent, path, requestId, resourcePath, stage)`},
		{"templates not an object", gr(`"UNAUTHORIZED": {"responseTemplates": "x"}`), `gatewayResponses.UNAUTHORIZED.responseTemplates: must be an object, got "x"`},
		{"template media type", gr(`"UNAUTHORIZED": {"responseTemplates": {"json": "{}"}}`), `gatewayResponses.UNAUTHORIZED.responseTemplates.json: "json" is not a media type (type/subtype)`},
		{"template type", gr(`"UNAUTHORIZED": {"responseTemplates": {"application/json": {}}}`), `gatewayResponses.UNAUTHORIZED.responseTemplates["application/json"]: must be a string, got an object`},
		{"template unknown context", gr(`"UNAUTHORIZED": {"responseTemplates": {"application/json": "{\"m\":\"$context.error.mesage\"}"}}`),
			`gatewayResponses.UNAUTHORIZED.responseTemplates["application/json"]: "$context.error.mesage" is not a supported context variable (authorizer.KEY or one of accountId, apiId, error.message, error.messageString, error.responseType, httpMethod, identity.sourceIp, identity.userAgent, path, requestId, resourcePath, stage)`},
		{"template undefined stage variable", gr(`"UNAUTHORIZED": {"responseTemplates": {"application/json": "$stageVariables.nope"}}`),
			`gatewayResponses.UNAUTHORIZED.responseTemplates["application/json"]: "$stageVariables.nope" names a stage variable that stageVariables does not define`},
		{"duplicate template", gr(`"UNAUTHORIZED": {"responseTemplates": {"application/json": "a", "application/json": "b"}}`),
			`gatewayResponses.UNAUTHORIZED.responseTemplates["application/json"]: duplicate key`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.in))
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("Parse(%s)\nerror = %v\nwant    %s", tt.in, err, tt.wantErr)
			}
			if p != nil {
				t.Error("plan returned with an error")
			}
		})
	}
}

func TestParseGatewayResponses(t *testing.T) {
	p, err := Parse([]byte(gr(`
	  "UNAUTHORIZED": {"statusCode": "401",
	    "responseParameters": {"gatewayresponse.header.WWW-Authenticate": "'Bearer realm=\"x\"'", "gatewayresponse.header.X-Req": "context.requestId",
	      "gatewayresponse.header.X-Key": "method.request.header.X-Api-Key", "gatewayresponse.header.X-Q": "method.request.querystring.q",
	      "gatewayresponse.header.X-P": "method.request.path.id", "gatewayresponse.header.X-Realm": "stageVariables.realm",
	      "gatewayresponse.header.X-User": "context.authorizer.user"},
	    "responseTemplates": {"application/json": "{\"message\":$context.error.messageString,\"rid\":\"$context.requestId.\",\"cost\":\"$5 $input\"}",
	      "Text/Plain": "$stageVariables.realm $context.stage $context.apiId $context.accountId"}},
	  "DEFAULT_4XX": {}`)))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*GatewayResponse{
		"UNAUTHORIZED": {
			Type: "UNAUTHORIZED", StatusCode: 401,
			Headers: []ResponseHeader{
				{Name: "www-authenticate", Value: Variable{VarStatic, `Bearer realm="x"`}},
				{Name: "x-key", Value: Variable{VarHeader, "x-api-key"}},
				{Name: "x-p", Value: Variable{VarPathParam, "id"}},
				{Name: "x-q", Value: Variable{VarQuery, "q"}},
				{Name: "x-realm", Value: Variable{VarStatic, "api"}},
				{Name: "x-req", Value: Variable{VarRequestID, ""}},
				{Name: "x-user", Value: Variable{VarAuthorizer, "user"}},
			},
			Templates: []ResponseTemplate{
				{ContentType: "application/json", Body: Template{Parts: []TemplatePart{
					{Literal: `{"message":`},
					{Var: Variable{Kind: VarErrorMessageString}},
					{Literal: `,"rid":"`},
					{Var: Variable{Kind: VarRequestID}, InString: true},
					{Literal: `.","cost":"$5 $input"}`},
				}}},
				{ContentType: "text/plain", Body: Template{Parts: []TemplatePart{
					{Var: Variable{VarStatic, "api"}}, {Literal: " "},
					{Var: Variable{VarStatic, "prod"}}, {Literal: " "},
					{Var: Variable{VarStatic, "a1b2c3d4e5"}}, {Literal: " "},
					{Var: Variable{VarStatic, "123456789012"}},
				}}},
			},
		},
		"DEFAULT_4XX": {Type: "DEFAULT_4XX"},
	}
	if !reflect.DeepEqual(p.GatewayResponses, want) {
		t.Errorf("GatewayResponses =\n%+v\nwant\n%+v", p.GatewayResponses["UNAUTHORIZED"], want["UNAUTHORIZED"])
	}
}

func TestCompileTemplate(t *testing.T) {
	sv := []StageVariable{{"v", "x"}}
	tests := []struct {
		name string
		in   string
		want []TemplatePart
	}{
		{"no variables", `{"a":"$"}`, []TemplatePart{{Literal: `{"a":"$"}`}}},
		{"escaped quote keeps string state", `"a\"$context.requestId"`, []TemplatePart{{Literal: `"a\"`}, {Var: Variable{Kind: VarRequestID}, InString: true}, {Literal: `"`}}},
		{"escaped backslash ends escape", `"a\\" $context.requestId`, []TemplatePart{{Literal: `"a\\" `}, {Var: Variable{Kind: VarRequestID}}}},
		{"authorizer key", `$context.authorizer.principalId$context.authorizer.a_b`, []TemplatePart{{Var: Variable{VarAuthorizer, "principalId"}}, {Var: Variable{VarAuthorizer, "a_b"}}}},
		{"dangling dot is literal", `$context.`, []TemplatePart{{Literal: `$context.`}}},
		{"stage variable", `[$stageVariables.v]`, []TemplatePart{{Literal: `[`}, {Var: Variable{VarStatic, "x"}}, {Literal: `]`}}},
		{"other dollar words literal", `$input.params('x') $util`, []TemplatePart{{Literal: `$input.params('x') $util`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CompileTemplate(tt.in, sv, "1", "a", "s")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Parts, tt.want) {
				t.Errorf("parts = %+v\nwant %+v", got.Parts, tt.want)
			}
		})
	}
}
