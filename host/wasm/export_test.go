package wasm

// MemoryBytes reports the linear memory of the VM in each slot, for tests
// of what an answer may cost a VM whose memory never shrinks.
func (h *Host) MemoryBytes() []uint32 {
	out := make([]uint32, len(h.slots))
	for i := range h.slots {
		if v := h.slots[i].Load(); v != nil {
			out[i] = v.mod.Memory().Size()
		}
	}
	return out
}
