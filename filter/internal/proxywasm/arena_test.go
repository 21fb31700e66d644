package proxywasm

import "testing"

func TestArena(t *testing.T) {
	tests := []struct {
		name   string
		alloc  uint32
		take   uint32
		offset uintptr // added to the address handed out
		ok     bool
		left   int // buffers still pinned afterwards
	}{
		{name: "exact size", alloc: 8, take: 8, ok: true},
		{name: "shorter value", alloc: 8, take: 3, ok: true},
		{name: "longer than allocated", alloc: 4, take: 5, left: 1},
		{name: "unknown address", alloc: 4, take: 4, offset: 1, left: 1},
		{name: "empty value", alloc: 0, take: 0, ok: true, left: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a arena
			p := a.alloc(tt.alloc)
			if p == 0 {
				t.Fatal("nil address")
			}
			addr := p + tt.offset
			if tt.alloc == 0 {
				addr = 0 // the host sends 0 for an empty value
			}
			b, ok := a.take(addr, tt.take)
			if ok != tt.ok || (ok && len(b) != int(tt.take)) {
				t.Errorf("take = %d bytes, %v; want %d, %v", len(b), ok, tt.take, tt.ok)
			}
			if a.pinned() != tt.left {
				t.Errorf("pinned %d, want %d", a.pinned(), tt.left)
			}
			a.release()
			if a.pinned() != 0 {
				t.Errorf("pinned after release %d", a.pinned())
			}
		})
	}
}
