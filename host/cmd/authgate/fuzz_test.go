package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// FuzzEval feeds arbitrary policies and ARNs to eval: the exit code is
// always 0, 1 or 2, a decision is printed exactly when it is not 2, and
// nothing panics.
func FuzzEval(f *testing.F) {
	for _, name := range []string{"testdata/policy.json", "testdata/bad-policy.json", "testdata/response.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, arnPrefix+"GET/admin/x", "10.0.0.1", true)
	}
	f.Add([]byte(`{"policyDocument":{"Statement":[]}}`), arnPrefix+"GET/", "", false)
	f.Add([]byte(`{`), "arn:aws:execute-api:us-east-1:123456789012:a/b/GET", "::1", false)
	f.Fuzz(func(t *testing.T, doc []byte, methodARN, ip string, asJSON bool) {
		args := []string{"eval", "--policy", "-", "--arn", methodARN, "--time", "2026-01-02T03:04:05Z"}
		if ip != "" {
			args = append(args, "--source-ip", ip)
		}
		if asJSON {
			args = append(args, "--json")
		}
		var out, errb bytes.Buffer
		code := run(context.Background(), args, bytes.NewReader(doc), &out, &errb)
		switch code {
		case 0, 1:
			if errb.Len() != 0 || !strings.HasSuffix(out.String(), "\n") || strings.Count(out.String(), "\n") != 1 {
				t.Fatalf("exit %d: stdout %q stderr %q", code, out.String(), errb.String())
			}
		case 2:
			if out.Len() != 0 || errb.Len() == 0 {
				t.Fatalf("exit 2: stdout %q stderr %q", out.String(), errb.String())
			}
		default:
			t.Fatalf("exit %d", code)
		}
	})
}

// FuzzClusterFlag checks that --cluster accepts only NAME=URL with an http
// or https URL, and keeps what it accepted.
func FuzzClusterFlag(f *testing.F) {
	for _, s := range []string{"authz=http://127.0.0.1:9000", "a=https://x/y", "=http://x", "a=", "a=ftp://x", "a=b=c", "a=http://[::1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cf := clusterFlags{}
		if err := cf.Set(s); err != nil {
			if len(cf) != 0 {
				t.Fatalf("kept %v after error %v", cf, err)
			}
			return
		}
		name, raw, _ := strings.Cut(s, "=")
		if cf[name] != raw || checkHTTPURL(raw) != nil {
			t.Fatalf("accepted %q as %v", s, cf)
		}
	})
}
