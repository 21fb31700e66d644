package openapi

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authgate/authgate/core/config"
)

// update rewrites the golden files from what Import produces; review the
// diff before committing it.
var update = flag.Bool("update", false, "rewrite testdata/golden from the importer's output")

// account is the account every golden case passes: no definition names it.
var account = Options{AccountID: "123456789012"}

// identity completes definitions that name neither region, API nor stage.
var identity = Options{Region: "us-east-1", AccountID: "123456789012", APIID: "a1b2c3d4e5", Stage: "prod"}

// goldenCases are real definitions (testdata/README.md names their
// origin). For each, testdata/golden/NAME.json is the configuration and
// NAME.txt the warnings, one a line, then "error: ..." when it fails.
var goldenCases = []struct {
	name string
	file string
	opts Options
}{
	{"docs REST TOKEN authorizer", "aws-docs-rest-token.json", identity},
	{"docs REST REQUEST authorizers", "aws-docs-rest-request.json", identity},
	{"docs HTTP API Lambda authorizer", "aws-docs-http-lambda.json", identity},
	{"docs gateway responses", "aws-docs-gateway-responses.json", identity},
	{"docs authtype custom scheme", "aws-docs-authtype-custom.json", identity},
	{"docs authtype IAM", "aws-docs-authtype-sigv4.json", identity},
	{"docs auth IAM", "aws-docs-auth-iam.json", identity},
	{"sample SAM swagger", "aws-samples-python-rest-sam-swagger.yaml", identity},
	{"sample terraform openapi", "aws-samples-python-rest-terraform-openapi.yaml", identity},
	{"sample powertools cognito", "aws-samples-powertools-openapi.json", identity},
	{"roundtrip REST", "roundtrip-rest.yaml", account},
	{"roundtrip HTTP", "roundtrip-http.yaml", account},
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			out, warns, err := Import(src, tc.opts)
			var log strings.Builder
			for _, w := range warns {
				log.WriteString(w.String() + "\n")
			}
			if err != nil {
				log.WriteString("error: " + err.Error() + "\n")
			}
			base := filepath.Join("testdata", "golden", strings.TrimSuffix(tc.file, filepath.Ext(tc.file)))
			if *update {
				writeGolden(t, base+".txt", []byte(log.String()))
				if out != nil {
					writeGolden(t, base+".json", out)
				} else {
					_ = os.Remove(base + ".json")
				}
				return
			}
			wantLog, err := os.ReadFile(base + ".txt")
			if err != nil {
				t.Fatal(err)
			}
			if log.String() != string(wantLog) {
				t.Errorf("warnings differ from %s.txt\ngot:\n%s\nwant:\n%s", base, log.String(), wantLog)
			}
			wantOut, err := os.ReadFile(base + ".json")
			switch {
			case os.IsNotExist(err) && out == nil:
			case err != nil:
				t.Fatalf("%v (the import gave %d bytes)", err, len(out))
			case !bytes.Equal(out, wantOut):
				t.Errorf("configuration differs from %s.json\ngot:\n%s\nwant:\n%s", base, out, wantOut)
			}
			if out != nil {
				plan, err := config.Parse(out)
				switch {
				case err != nil:
					t.Errorf("config.Parse: %v", err)
				case len(plan.Warnings) > 0:
					t.Errorf("config.Parse warns: %q", plan.Warnings)
				}
			}
		})
	}
}

func writeGolden(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
