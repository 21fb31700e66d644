package stats

import (
	"slices"
	"testing"
)

func TestHistogram(t *testing.T) {
	tests := []struct {
		name      string
		samples   []uint64
		wantSum   uint64
		wantFirst []uint64 // the first five cumulative buckets: 0.5, 1, 5, 10, 25
		wantLast  uint64   // the cumulative count at the last bound
	}{
		{"empty", nil, 0, []uint64{0, 0, 0, 0, 0}, 0},
		{"bounds are inclusive", []uint64{0, 1, 5, 10}, 16, []uint64{1, 2, 3, 4, 4}, 4},
		{"between bounds", []uint64{2, 7, 24}, 33, []uint64{0, 0, 1, 2, 3}, 3},
		{"above the last bound", []uint64{3600001}, 3600001, []uint64{0, 0, 0, 0, 0}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			for _, s := range tt.samples {
				h.Record(s)
			}
			c := h.Cumulative()
			if h.Count != uint64(len(tt.samples)) || h.Sum != tt.wantSum || !slices.Equal(c[:5], tt.wantFirst) || c[len(c)-1] != tt.wantLast {
				t.Fatalf("count %d sum %d cumulative %v", h.Count, h.Sum, c)
			}
			cl := h.Clone()
			h.Record(1)
			if cl.Count != uint64(len(tt.samples)) || slices.Equal(cl.Cumulative(), h.Cumulative()) {
				t.Fatal("Clone shares memory")
			}
		})
	}
}
