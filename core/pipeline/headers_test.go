package pipeline

import (
	"testing"

	"github.com/authgate/authgate/core/authorizer"
)

// TestContextKeyCollisions pins the rule for context keys: the header is
// x-authorizer- and the key in lower case, and two headers collide when
// they are equal once '_' is read as '-'. A key colliding with the
// principal header, or with another key, is refused whatever its case,
// for a simple response (which sends no principal header) too.
func TestContextKeyCollisions(t *testing.T) {
	tests := []struct {
		name   string
		keys   []string
		simple bool
		want   string // "" when the headers are accepted
	}{
		{"principal-id", []string{"principal-id"}, false, `context["principal-id"]: collides with header x-authorizer-principal-id`},
		{"principal_id", []string{"principal_id"}, false, `context["principal_id"]: collides with header x-authorizer-principal-id`},
		{"Principal-Id", []string{"Principal-Id"}, false, `context["Principal-Id"]: collides with header x-authorizer-principal-id`},
		{"PRINCIPAL_ID", []string{"PRINCIPAL_ID"}, false, `context["PRINCIPAL_ID"]: collides with header x-authorizer-principal-id`},
		{"Principal_id", []string{"Principal_id"}, false, `context["Principal_id"]: collides with header x-authorizer-principal-id`},
		{"principal_id in a simple response", []string{"principal_id"}, true, `context["principal_id"]: collides with header x-authorizer-principal-id`},
		{"two keys folding together", []string{"user-id", "user_id"}, false, `context["user_id"]: collides with header x-authorizer-user-id`},
		{"two keys differing in case", []string{"Tier", "tier"}, false, `context["tier"]: collides with header x-authorizer-tier`},
		{"principal alone is not the header", []string{"principal", "principalid", "principal-ids"}, false, ""},
		{"underscores elsewhere", []string{"user_id", "tenant_name"}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := &authorizer.Result{PrincipalID: "p", Simple: tt.simple, Authorized: tt.simple}
			for _, k := range tt.keys {
				res.Context = append(res.Context, authorizer.ContextValue{Key: k, Value: "v", Raw: `"v"`})
			}
			_, err := UpstreamHeaders(res)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}
