package proxywasm

import "unsafe"

// arena keeps the buffers handed to the host by proxy_on_memory_allocate
// reachable until the guest takes them over.
//
// The host asks for memory in the middle of a host call (proxy_get_buffer_bytes
// and friends): it calls proxy_on_memory_allocate, writes into the returned
// address after that export has returned, and only then returns the address
// to the guest through a return pointer. During that window no Go value
// refers to the buffer, so a collection triggered by any allocation (another
// proxy_on_memory_allocate in the same host call, for instance) could free it
// under the host's feet. Go's collector does not move objects, so keeping the
// slice in this list is enough to keep the address valid.
//
// The binding then looks the returned address up here instead of turning an
// integer into a pointer: the guest gets back the very slice it allocated, and
// an address the guest never handed out is refused. Anything the host
// allocated but never returned (a host call failing half way) is dropped
// when the outermost callback returns.
//
// A callback has at most a couple of buffers pending at once, so they are
// kept in a short list: cheaper inside the wasm VM than a map, which this
// path ran through on every host call that returns data.
type arena struct {
	live [][]byte
}

// alloc returns the address of a fresh buffer of size bytes and keeps it alive.
func (a *arena) alloc(size uint32) uintptr {
	if size == 0 {
		// A zero-length slice has no element to point at; one spare byte
		// gives the host a valid, unique address.
		size = 1
	}
	b := make([]byte, size)
	a.live = append(a.live, b)
	return addrOf(b)
}

func addrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// take hands the buffer at addr back to the guest and stops pinning it. An
// empty value comes back as address 0 (the host allocates nothing for it).
func (a *arena) take(addr uintptr, size uint32) ([]byte, bool) {
	if size == 0 {
		a.drop(addr)
		return nil, true
	}
	for i, b := range a.live {
		if addrOf(b) != addr {
			continue
		}
		if uint32(len(b)) < size {
			return nil, false
		}
		a.remove(i)
		return b[:size:size], true
	}
	return nil, false
}

// drop stops pinning the buffer at addr, if it is pinned.
func (a *arena) drop(addr uintptr) {
	for i, b := range a.live {
		if addrOf(b) == addr {
			a.remove(i)
			return
		}
	}
}

// remove unpins entry i; the order of the list does not matter.
func (a *arena) remove(i int) {
	last := len(a.live) - 1
	a.live[i] = a.live[last]
	a.live[last] = nil
	a.live = a.live[:last]
}

// release drops every buffer still pinned.
func (a *arena) release() {
	clear(a.live)
	a.live = a.live[:0]
}

// pinned reports how many buffers are pinned, for tests.
func (a *arena) pinned() int { return len(a.live) }
