package abi

import (
	"encoding/binary"
	"errors"
)

// Header is one header name and value.
type Header struct {
	Name, Value string
}

// ErrHeaderMap reports serialized header-map bytes that do not follow the layout.
var ErrHeaderMap = errors.New("proxy-wasm: malformed header map")

// EncodeHeaders serializes headers as proxy-wasm header maps travel across the
// boundary: a little-endian u32 count, then a u32 name length and a u32 value
// length per pair, then each name and value followed by a NUL byte.
func EncodeHeaders(hs []Header) []byte {
	size := 4 + 8*len(hs)
	for _, h := range hs {
		size += len(h.Name) + len(h.Value) + 2
	}
	b := make([]byte, size)
	binary.LittleEndian.PutUint32(b, uint32(len(hs)))
	off := 4
	for _, h := range hs {
		binary.LittleEndian.PutUint32(b[off:], uint32(len(h.Name)))
		binary.LittleEndian.PutUint32(b[off+4:], uint32(len(h.Value)))
		off += 8
	}
	for _, h := range hs {
		off += copy(b[off:], h.Name) + 1
		off += copy(b[off:], h.Value) + 1
	}
	return b
}

// DecodeHeaders parses the encoding EncodeHeaders produces. It rejects
// truncated input, missing NUL terminators and trailing bytes.
func DecodeHeaders(b []byte) ([]Header, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if len(b) < 4 {
		return nil, ErrHeaderMap
	}
	n := binary.LittleEndian.Uint32(b)
	if uint64(n)*8 > uint64(len(b)-4) {
		return nil, ErrHeaderMap
	}
	sizes := b[4 : 4+8*n]
	data := b[4+8*n:]
	hs := make([]Header, n)
	for i := range hs {
		kl := uint64(binary.LittleEndian.Uint32(sizes[8*i:]))
		vl := uint64(binary.LittleEndian.Uint32(sizes[8*i+4:]))
		if kl+vl+2 > uint64(len(data)) || data[kl] != 0 || data[kl+1+vl] != 0 {
			return nil, ErrHeaderMap
		}
		hs[i] = Header{Name: string(data[:kl]), Value: string(data[kl+1 : kl+1+vl])}
		data = data[kl+vl+2:]
	}
	if len(data) != 0 {
		return nil, ErrHeaderMap
	}
	return hs, nil
}
