package envoyheaders

import (
	"slices"
	"testing"
)

func TestValues(t *testing.T) {
	tests := []struct {
		name   string
		header string
		vals   []string
		want   []string
	}{
		{"joined", "Authorization", []string{"Bearer a", "Bearer b"}, []string{"Bearer a,Bearer b"}},
		{"joined lower case", "accept", []string{"x", "y", "z"}, []string{"x,y,z"}},
		{"empty skipped", "authorization", []string{"", "Bearer b"}, []string{"Bearer b"}},
		{"empty in the middle", "accept", []string{"x", "", "z"}, []string{"x,z"}},
		{"all empty", "accept", []string{"", ""}, []string{""}},
		{"one value kept", "authorization", []string{""}, []string{""}},
		{"not joined", "X-Multi", []string{"one", "two"}, []string{"one", "two"}},
		{"cookie not joined", "cookie", []string{"a=1", "b=2"}, []string{"a=1", "b=2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Values(tt.header, tt.vals); !slices.Equal(got, tt.want) {
				t.Fatalf("Values(%q, %q) = %q, want %q", tt.header, tt.vals, got, tt.want)
			}
		})
	}
}

func TestNamesSortedLowerCase(t *testing.T) {
	if !slices.IsSorted(Names) {
		t.Fatal("Names is not sorted")
	}
	for _, n := range Names {
		if !Joined(n) {
			t.Fatalf("Joined(%q) = false", n)
		}
	}
}
