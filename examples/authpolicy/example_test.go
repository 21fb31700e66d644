package authpolicy_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/authgate/authgate/examples/authpolicy"
)

// policyFor is the policy of the example JWT authorizer, written with
// authpolicy: members of "admins" may invoke every method; everyone else may
// GET anything and POST only to their own /users/{sub}. The token is assumed
// to have been verified already.
func policyFor(sub string, groups []string, methodARN string) (events.APIGatewayCustomAuthorizerResponse, error) {
	// The subject becomes part of a resource pattern, where '*' is a
	// wildcard: a subject "*" must not turn into POST on every user.
	// AllowMethod rejects the other characters that are not plain path
	// characters, '?' and "${" among them.
	if strings.Contains(sub, "*") {
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
	}
	// Scoping the policy to the API and stage, not to the one method, lets
	// the gateway reuse the cached policy for the token's next requests.
	p, err := authpolicy.FromMethodARN(sub, methodARN)
	if err != nil {
		return events.APIGatewayCustomAuthorizerResponse{}, err
	}
	admin := slices.Contains(groups, "admins")
	if admin {
		p.AllowAllMethods()
	} else {
		p.AllowMethod(authpolicy.Get, "*")
		p.AllowMethod(authpolicy.Post, "/users/"+sub)
	}
	p.WithContext("sub", sub).
		WithContext("groups", strings.Join(groups, ",")).
		WithContext("admin", admin)
	return p.Build()
}

func Example() {
	const methodARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/pets"
	for _, user := range []struct {
		sub    string
		groups []string
	}{
		{"alice", []string{"admins"}},
		{"bob", []string{"users"}},
	} {
		resp, err := policyFor(user.sub, user.groups, methodARN)
		if err != nil {
			fmt.Println(err)
			continue
		}
		out, _ := json.MarshalIndent(resp, "", "  ")
		fmt.Println(string(out))
	}
	// Output:
	// {
	//   "principalId": "alice",
	//   "policyDocument": {
	//     "Version": "2012-10-17",
	//     "Statement": [
	//       {
	//         "Action": [
	//           "execute-api:Invoke"
	//         ],
	//         "Effect": "Allow",
	//         "Resource": [
	//           "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/*/*"
	//         ]
	//       }
	//     ]
	//   },
	//   "context": {
	//     "admin": true,
	//     "groups": "admins",
	//     "sub": "alice"
	//   }
	// }
	// {
	//   "principalId": "bob",
	//   "policyDocument": {
	//     "Version": "2012-10-17",
	//     "Statement": [
	//       {
	//         "Action": [
	//           "execute-api:Invoke"
	//         ],
	//         "Effect": "Allow",
	//         "Resource": [
	//           "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/*",
	//           "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/POST/users/bob"
	//         ]
	//       }
	//     ]
	//   },
	//   "context": {
	//     "admin": false,
	//     "groups": "users",
	//     "sub": "bob"
	//   }
	// }
}

// ExampleAuthPolicy_BuildResponse builds a policy with a condition, which
// the events type cannot carry: reports may only be read from the office
// network.
func ExampleAuthPolicy_BuildResponse() {
	p := authpolicy.New("user|a1b2c3d4", "123456789012", authpolicy.APIOptions{
		RestAPIID: "abcdef1234", Region: "us-east-1", Stage: "prod",
	})
	p.AllowMethod(authpolicy.Get, "/pets/*")
	p.AllowMethodWithConditions(authpolicy.Get, "/reports/*", authpolicy.Conditions{
		"IpAddress": {"aws:SourceIp": []string{"203.0.113.0/24"}},
	})
	p.DenyMethod(authpolicy.Delete, "/pets/*")
	resp, err := p.BuildResponse()
	if err != nil {
		fmt.Println(err)
		return
	}
	out, _ := json.Marshal(resp.PolicyDocument)
	fmt.Println(string(out))

	_, err = p.Build()
	fmt.Println(errors.Is(err, authpolicy.ErrConditions))
	// Output:
	// {"Version":"2012-10-17","Statement":[{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/reports/*"],"Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24"]}}},{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/pets/*"]},{"Action":["execute-api:Invoke"],"Effect":"Deny","Resource":["arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/DELETE/pets/*"]}]}
	// true
}
