package wasm

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/authgate/authgate/filter/abi"
)

// WASI errno values the stubs return.
const (
	errnoSuccess = 0
	errnoBadf    = 8
	errnoInval   = 28
	errnoNosys   = 52
)

var (
	i32 = abi.I32
	i64 = abi.I64
)

func wsig(params []abi.ValueType, results ...abi.ValueType) abi.Signature {
	return abi.Signature{Params: params, Results: results}
}

// wasiSignatures types the WASI functions the host implements. Like Envoy,
// the host offers no filesystem, arguments or environment: a filter only
// needs clocks, randomness and a place for its stdout and stderr. Any other
// WASI import the module declares is given a stub with its declared type
// that answers ENOSYS (EBADF for fd_ functions).
var wasiSignatures = map[string]abi.Signature{
	"args_sizes_get":    wsig([]abi.ValueType{i32, i32}, i32),
	"args_get":          wsig([]abi.ValueType{i32, i32}, i32),
	"environ_sizes_get": wsig([]abi.ValueType{i32, i32}, i32),
	"environ_get":       wsig([]abi.ValueType{i32, i32}, i32),
	"clock_time_get":    wsig([]abi.ValueType{i32, i64, i32}, i32),
	"random_get":        wsig([]abi.ValueType{i32, i32}, i32),
	"fd_write":          wsig([]abi.ValueType{i32, i32, i32, i32}, i32),
	"fd_fdstat_get":     wsig([]abi.ValueType{i32, i32}, i32),
	"fd_prestat_get":    wsig([]abi.ValueType{i32, i32}, i32),
	"proc_exit":         wsig([]abi.ValueType{i32}),
	"sched_yield":       wsig(nil, i32),
	"poll_oneoff":       wsig([]abi.ValueType{i32, i32, i32, i32}, i32),
}

func (h *Host) wasiFunc(name string) api.GoModuleFunc {
	switch name {
	case "args_sizes_get", "environ_sizes_get":
		return func(_ context.Context, mod api.Module, stack []uint64) {
			mem := mod.Memory()
			if !mem.WriteUint32Le(uint32(stack[0]), 0) || !mem.WriteUint32Le(uint32(stack[1]), 0) {
				stack[0] = errnoInval
				return
			}
			stack[0] = errnoSuccess
		}
	case "args_get", "environ_get", "sched_yield":
		return func(_ context.Context, _ api.Module, stack []uint64) { stack[0] = errnoSuccess }
	case "clock_time_get":
		return h.wasiClockTimeGet
	case "random_get":
		return func(_ context.Context, mod api.Module, stack []uint64) {
			buf, ok := mod.Memory().Read(uint32(stack[0]), uint32(stack[1]))
			if !ok {
				stack[0] = errnoInval
				return
			}
			_, _ = rand.Read(buf)
			stack[0] = errnoSuccess
		}
	case "fd_write":
		return h.wasiFdWrite
	case "fd_fdstat_get":
		return func(_ context.Context, mod api.Module, stack []uint64) {
			fd := uint32(stack[0])
			if fd != 1 && fd != 2 {
				stack[0] = errnoBadf
				return
			}
			// A zeroed fdstat with only the fd_write right: enough for the
			// Go runtime to treat stdout and stderr as writable streams.
			var st [24]byte
			binary.LittleEndian.PutUint64(st[8:], 1<<6)
			if !mod.Memory().Write(uint32(stack[1]), st[:]) {
				stack[0] = errnoInval
				return
			}
			stack[0] = errnoSuccess
		}
	case "fd_prestat_get":
		// No preopened directories: EBADF ends the runtime's scan at fd 3.
		return func(_ context.Context, _ api.Module, stack []uint64) { stack[0] = errnoBadf }
	case "proc_exit":
		return func(ctx context.Context, mod api.Module, stack []uint64) {
			code := uint32(stack[0])
			_ = mod.CloseWithExitCode(ctx, code)
			panic(sys.NewExitError(code))
		}
	case "poll_oneoff":
		return wasiPollOneoff
	}
	if strings.HasPrefix(name, "fd_") {
		return func(_ context.Context, _ api.Module, stack []uint64) { stack[0] = errnoBadf }
	}
	return func(_ context.Context, _ api.Module, stack []uint64) { stack[0] = errnoNosys }
}

// wasiClockTimeGet serves the realtime clock from Config.Clock and the
// other clocks from a monotonic clock local to the host, so a frozen test
// clock cannot stop the guest runtime's own timekeeping.
func (h *Host) wasiClockTimeGet(_ context.Context, mod api.Module, stack []uint64) {
	var ns uint64
	switch uint32(stack[0]) {
	case 0:
		ns = uint64(h.cfg.Clock().UnixNano())
	case 1, 2, 3:
		ns = uint64(time.Since(h.monoAt)) + 1
	default:
		stack[0] = errnoInval
		return
	}
	if !mod.Memory().WriteUint64Le(uint32(stack[2]), ns) {
		stack[0] = errnoInval
		return
	}
	stack[0] = errnoSuccess
}

// wasiFdWrite sends complete lines written to stdout to the log at info and
// those written to stderr at error (a Go panic message arrives this way).
func (h *Host) wasiFdWrite(ctx context.Context, mod api.Module, stack []uint64) {
	fd, iovs, n, nwritten := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	if fd != 1 && fd != 2 {
		stack[0] = errnoBadf
		return
	}
	v, _ := ctx.Value(vmKey{}).(*vm)
	mem := mod.Memory()
	var total uint32
	for i := uint32(0); i < n; i++ {
		ptr, ok1 := mem.ReadUint32Le(iovs + 8*i)
		size, ok2 := mem.ReadUint32Le(iovs + 8*i + 4)
		buf, ok3 := mem.Read(ptr, size)
		if !ok1 || !ok2 || !ok3 {
			stack[0] = errnoInval
			return
		}
		if v != nil {
			v.output(fd, buf)
		}
		total += size
	}
	if !mem.WriteUint32Le(nwritten, total) {
		stack[0] = errnoInval
		return
	}
	stack[0] = errnoSuccess
}

// wasiPollOneoff reports every subscription as ready at once: a callback
// must never block its VM, so a guest timer fires early rather than
// stalling other requests. Clock events succeed; fd events get EBADF.
func wasiPollOneoff(_ context.Context, mod api.Module, stack []uint64) {
	in, out, n, neventsPtr := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	mem := mod.Memory()
	subs, ok := mem.Read(in, 48*n)
	if !ok {
		stack[0] = errnoInval
		return
	}
	events := make([]byte, 32*n)
	for i := uint32(0); i < n; i++ {
		sub, ev := subs[48*i:], events[32*i:]
		copy(ev[0:8], sub[0:8]) // userdata
		tag := sub[8]
		ev[10] = tag
		if tag != 0 {
			binary.LittleEndian.PutUint16(ev[8:], errnoBadf)
		}
	}
	if !mem.Write(out, events) || !mem.WriteUint32Le(neventsPtr, n) {
		stack[0] = errnoInval
		return
	}
	stack[0] = errnoSuccess
}
