package arn

import (
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/",
		"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets/42",
		"arn:aws-cn:execute-api:cn-north-1:123456789012:abc/s/POST/a:b/c",
		"arn:aws:execute-api:us-east-1:12:a/p/GET/",
		"arn:aws:execute-api:us-east-1:123456789012:a/p/GET/a//b",
		"arn:aws",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			return
		}
		out := a.String()
		if out != s {
			t.Fatalf("String(Parse(%q)) = %q", s, out)
		}
		b, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(String()) of %q: %v", out, err)
		}
		if a != b {
			t.Fatalf("round trip: %+v != %+v", a, b)
		}
	})
}
