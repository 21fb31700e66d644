package proxywasm

import (
	"errors"
	"slices"
	"testing"

	"github.com/authgate/authgate/filter/abi"
)

func TestDecodeHeadersInPlace(t *testing.T) {
	valid := abi.EncodeHeaders([]abi.Header{{Name: ":path", Value: "/pets"}, {Name: "x-empty", Value: ""}, {Name: "", Value: "v"}})
	tests := []struct {
		name    string
		in      []byte
		want    []abi.Header
		wantErr bool
	}{
		{name: "empty", in: nil, want: nil},
		{name: "no pairs", in: []byte{0, 0, 0, 0}, want: []abi.Header{}},
		{name: "pairs", in: valid, want: []abi.Header{{Name: ":path", Value: "/pets"}, {Name: "x-empty", Value: ""}, {Name: "", Value: "v"}}},
		{name: "short count", in: []byte{1, 0}, wantErr: true},
		{name: "count past end", in: []byte{9, 0, 0, 0, 0, 0, 0, 0}, wantErr: true},
		{name: "truncated", in: valid[:len(valid)-1], wantErr: true},
		{name: "trailing byte", in: append(slices.Clone(valid), 0), wantErr: true},
		{name: "missing nul", in: func() []byte { b := slices.Clone(valid); b[len(b)-1] = 'x'; return b }(), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeHeadersInPlace(tt.in)
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, abi.ErrHeaderMap)) {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzDecodeHeadersInPlace checks that the in-place decoder accepts and
// returns exactly what the contract's decoder does.
func FuzzDecodeHeadersInPlace(f *testing.F) {
	f.Add(abi.EncodeHeaders([]abi.Header{{Name: ":method", Value: "GET"}, {Name: "a", Value: ""}}))
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 'a', 0, 'b', 0})
	f.Add([]byte{255, 255, 255, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		want, wantErr := abi.DecodeHeaders(b)
		got, err := decodeHeadersInPlace(slices.Clone(b))
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("err = %v, contract decoder's %v", err, wantErr)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("got %q, contract decoder's %q", got, want)
		}
	})
}
