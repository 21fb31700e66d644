package proxywasm

import (
	"encoding/binary"
	"unsafe"

	"github.com/authgate/authgate/filter/abi"
)

// decodeHeadersInPlace parses a serialized header map like
// abi.DecodeHeaders, but the names and values it returns share b's memory
// instead of being copied: one allocation (the slice) instead of one per
// name and value, which matters on the request path inside the wasm VM.
//
// b must never be written again: it is a buffer the host filled through
// proxy_on_memory_allocate and handed over to the guest, which nothing
// else refers to.
func decodeHeadersInPlace(b []byte) ([]abi.Header, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if len(b) < 4 {
		return nil, abi.ErrHeaderMap
	}
	n := binary.LittleEndian.Uint32(b)
	if uint64(n)*8 > uint64(len(b)-4) {
		return nil, abi.ErrHeaderMap
	}
	sizes := b[4 : 4+8*n]
	data := b[4+8*n:]
	hs := make([]abi.Header, n)
	for i := range hs {
		kl := uint64(binary.LittleEndian.Uint32(sizes[8*i:]))
		vl := uint64(binary.LittleEndian.Uint32(sizes[8*i+4:]))
		if kl+vl+2 > uint64(len(data)) || data[kl] != 0 || data[kl+1+vl] != 0 {
			return nil, abi.ErrHeaderMap
		}
		hs[i] = abi.Header{Name: view(data[:kl]), Value: view(data[kl+1 : kl+1+vl])}
		data = data[kl+vl+2:]
	}
	if len(data) != 0 {
		return nil, abi.ErrHeaderMap
	}
	return hs, nil
}

// view returns the bytes of b as a string without copying them.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}
