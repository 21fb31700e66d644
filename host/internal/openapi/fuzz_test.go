package openapi

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authgate/authgate/core/config"
)

// FuzzImport feeds the importer arbitrary definitions. It must never
// panic; a definition it accepts must give a configuration config.Parse
// accepts, the same bytes every time; every warning names a path; and
// every error is about the definition, never a configuration the importer
// got wrong.
func FuzzImport(f *testing.F) {
	files, err := filepath.Glob("testdata/*.*")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		if strings.HasSuffix(p, ".md") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("openapi: 3.0.1\npaths:\n  /a/{b+}:\n    x-amazon-apigateway-any-method: {isDefaultRoute: true}\n"))
	f.Add([]byte(`{"swagger":"2.0","paths":{"/":{"get":{"security":[{"a":[],"b":[]}]}}},"securityDefinitions":{"a":{"type":"apiKey","x-amazon-apigateway-authorizer":{"type":"request","identitySource":"context.stage,stageVariables.x"}}}}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		opts := identity
		out, warns, err := Import(src, opts)
		for _, w := range warns {
			if w.Message == "" {
				t.Errorf("warning without a message at %q", w.Path)
			}
		}
		if err != nil {
			if errors.Is(err, errInvalidOutput) {
				t.Fatalf("%v\ninput:\n%s", err, src)
			}
			if out != nil {
				t.Fatalf("output with error %v", err)
			}
			return
		}
		plan, err := config.Parse(out)
		if err != nil {
			t.Fatalf("config.Parse refuses the output: %v\n%s", err, out)
		}
		if len(plan.Warnings) > 0 {
			t.Fatalf("config.Parse warns about the output: %q\n%s", plan.Warnings, out)
		}
		again, _, err := Import(src, opts)
		if err != nil || !bytes.Equal(out, again) {
			t.Fatalf("a second import differs (%v):\n%s\n%s", err, out, again)
		}
	})
}
