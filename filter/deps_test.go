package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestNoAWSSDKInEmbeddings keeps signing out of what runs inside Envoy: the
// wasm filter and the dynamic module never depend on the AWS SDK (the
// cluster's aws_request_signing filter signs their Lambda calls), so
// neither can carry a credential.
func TestNoAWSSDKInEmbeddings(t *testing.T) {
	for _, tt := range []struct {
		name, pkg string
		env       []string
	}{
		{"wasm filter", ".", []string{"GOOS=wasip1", "GOARCH=wasm"}},
		{"dynamic module", "./module", []string{"CGO_ENABLED=1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("go", "list", "-deps", tt.pkg)
			cmd.Env = append(os.Environ(), tt.env...)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			for dep := range strings.FieldsSeq(string(out)) {
				if strings.HasPrefix(dep, "github.com/aws/aws-sdk-go-v2") || strings.HasPrefix(dep, "github.com/aws/smithy-go") {
					t.Errorf("%s depends on %s", tt.pkg, dep)
				}
			}
		})
	}
}
