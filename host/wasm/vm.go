package wasm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/authgate/authgate/filter/abi"
)

// vmKey carries the *vm in the context of every guest call, which is how a
// host function knows which VM called it.
type vmKey struct{}

// errBroken is returned for calls on a VM that has trapped.
var errBroken = errors.New("vm broken by an earlier trap")

// vm is one instance of the filter. mu serialises every guest call and
// guards every field below it; host functions run inside a guest call and
// therefore already hold it.
type vm struct {
	h    *Host
	slot int
	gen  int
	ctx  context.Context
	mod  api.Module
	gone chan struct{} // closed once a replacement serves this slot
	dead atomic.Bool   // mirrors broken for the lock-free pick

	fnInit, fnAlloc, fnCreate, fnVMStart, fnConfigure                    api.Function
	fnReqHeaders, fnRespHeaders, fnCallResp, fnQueueReady, fnLog, fnDone api.Function
	fnDelete, fnTick                                                     api.Function

	mu         sync.Mutex
	broken     bool
	rootID     uint32
	cur        uint32 // the effective context of host calls
	streams    map[uint32]*stream
	nextCall   uint32             // the last callout id handed out
	callResp   *calloutResult     // set while proxy_on_http_call_response runs
	tickPeriod time.Duration      // the period the guest set last; 0 = no ticks
	tickEvery  chan time.Duration // the latest tick period for the ticker; buffered 1
	ticking    bool               // the ticker goroutine runs
	innerErr   error              // a trap inside a nested proxy_on_memory_allocate
	lastErr    string             // the last error-level line the guest logged
	lastLine   string             // the last line the guest logged at any level
	pending    [3][]byte          // partial stdout/stderr lines
	stack      [8]uint64
	allocStack [1]uint64
}

func (h *Host) instantiateHostModules(ctx context.Context) error {
	env := h.rt.NewHostModuleBuilder(abi.HostModule)
	for _, s := range abi.HostFunctions {
		env.NewFunctionBuilder().WithGoModuleFunction(h.hostFunc(s.Name), s.Params, s.Results).Export(s.Name)
	}
	if _, err := env.Instantiate(ctx); err != nil {
		return fmt.Errorf("wasm: instantiate host module[%s]: %w", abi.HostModule, err)
	}
	wasi := h.rt.NewHostModuleBuilder(wasiModule)
	for _, f := range h.compiled.ImportedFunctions() {
		mod, name, _ := f.Import()
		if mod != wasiModule {
			continue
		}
		wasi.NewFunctionBuilder().WithGoModuleFunction(h.wasiFunc(name), f.ParamTypes(), f.ResultTypes()).Export(name)
	}
	if _, err := wasi.Instantiate(ctx); err != nil {
		return fmt.Errorf("wasm: instantiate host module[%s]: %w", wasiModule, err)
	}
	return nil
}

// startVM instantiates the filter and runs the start sequence Envoy runs:
// _initialize, proxy_on_context_create(root, 0), proxy_on_vm_start and
// proxy_on_configure.
func (h *Host) startVM(slot, gen int) (*vm, error) {
	v := &vm{h: h, slot: slot, gen: gen, gone: make(chan struct{}), streams: map[uint32]*stream{}}
	v.ctx = context.WithValue(h.baseCtx, vmKey{}, v)
	name := fmt.Sprintf("vm%d.%d", slot, gen)
	mod, err := h.rt.InstantiateModule(v.ctx, h.compiled, wazero.NewModuleConfig().WithName(name).WithStartFunctions())
	if err != nil {
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	v.mod = mod
	for _, e := range []struct {
		fn   *api.Function
		name string
	}{
		{&v.fnInit, abi.ExportInitialize}, {&v.fnAlloc, abi.ExportOnMemoryAllocate},
		{&v.fnCreate, abi.ExportOnContextCreate}, {&v.fnVMStart, abi.ExportOnVMStart},
		{&v.fnConfigure, abi.ExportOnConfigure}, {&v.fnReqHeaders, abi.ExportOnRequestHeaders},
		{&v.fnRespHeaders, abi.ExportOnResponseHeaders}, {&v.fnCallResp, abi.ExportOnHTTPCallResponse},
		{&v.fnQueueReady, abi.ExportOnQueueReady}, {&v.fnLog, abi.ExportOnLog},
		{&v.fnDone, abi.ExportOnDone}, {&v.fnDelete, abi.ExportOnDelete},
		{&v.fnTick, abi.ExportOnTick},
	} {
		*e.fn = mod.ExportedFunction(e.name)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	err = v.start()
	if err != nil {
		v.broken = true
		v.dead.Store(true)
		_ = mod.Close(h.baseCtx)
		return nil, err
	}
	return v, nil
}

func (v *vm) start() error {
	if _, err := v.call(v.fnInit, abi.ExportInitialize, 0); err != nil {
		return err
	}
	v.rootID = v.h.ids.Add(1)
	if _, err := v.call(v.fnCreate, abi.ExportOnContextCreate, v.rootID, uint64(v.rootID), 0); err != nil {
		return err
	}
	ok, err := v.call(v.fnVMStart, abi.ExportOnVMStart, v.rootID, uint64(v.rootID), uint64(len(v.h.cfg.VMConfig)))
	if err != nil {
		return err
	}
	if uint32(ok) == 0 {
		return fmt.Errorf("%s: returned false: %s", abi.ExportOnVMStart, v.lastLog())
	}
	ok, err = v.call(v.fnConfigure, abi.ExportOnConfigure, v.rootID, uint64(v.rootID), uint64(len(v.h.cfg.PluginConfig)))
	if err != nil {
		return err
	}
	if uint32(ok) == 0 {
		return fmt.Errorf("%s: returned false: %s", abi.ExportOnConfigure, v.lastLog())
	}
	return nil
}

// lastLog is what a failed start reports: the last error line, or else the
// last line, the guest logged.
func (v *vm) lastLog() string {
	switch {
	case v.lastErr != "":
		return v.lastErr
	case v.lastLine != "":
		return v.lastLine
	default:
		return "the guest logged nothing"
	}
}

// call runs one guest export for context ctxID and returns its first result.
// The caller holds v.mu. A trap breaks the VM (see fail) and comes back as
// an error naming the export.
func (v *vm) call(fn api.Function, name string, ctxID uint32, params ...uint64) (uint64, error) {
	if v.broken {
		return 0, fmt.Errorf("%s: %w", name, errBroken)
	}
	v.cur = ctxID
	stack := v.stack[:]
	copy(stack, params)
	err := fn.CallWithStack(v.ctx, stack)
	if err == nil && v.innerErr != nil {
		err = v.innerErr
	}
	v.innerErr = nil
	if err != nil {
		err = fmt.Errorf("%s: trapped: %w", name, err)
		if v.lastErr != "" {
			err = fmt.Errorf("%w (last error log: %s)", err, v.lastErr)
		}
		v.fail(err)
		return 0, err
	}
	return stack[0], nil
}

// fail marks the VM broken after a trap: its instance can no longer be
// trusted, so every stream on it fails and a fresh VM takes its slot.
func (v *vm) fail(err error) {
	if v.broken {
		return
	}
	v.broken = true
	v.dead.Store(true)
	v.h.log.Error("wasm vm broken", "vm", v.slot, "err", err)
	for _, st := range v.streams {
		if st.failed == nil {
			st.failed = err
		}
		st.signal()
	}
	_ = v.mod.Close(v.h.baseCtx)
	if v.rootID != 0 && !v.h.closed() { // started VMs only; New reports start failures itself
		v.h.wg.Add(1)
		go v.h.replace(v)
	}
}

// alloc reserves n bytes in guest memory through proxy_on_memory_allocate.
func (v *vm) alloc(n uint32) (uint32, bool) {
	v.allocStack[0] = uint64(n)
	if err := v.fnAlloc.CallWithStack(v.ctx, v.allocStack[:]); err != nil {
		v.innerErr = fmt.Errorf("%s: %w", abi.ExportOnMemoryAllocate, err)
		return 0, false
	}
	p := uint32(v.allocStack[0])
	return p, p != 0
}

// copyOut hands data to the guest: it allocates guest memory, copies data
// there and stores the pointer and length at the guest's return pointers.
// Empty data is returned as a null pointer and zero length.
func (v *vm) copyOut(mod api.Module, data []byte, retPtr, retLen uint32) abi.Status {
	var p uint32
	if len(data) > 0 {
		var ok bool
		if p, ok = v.alloc(uint32(len(data))); !ok {
			return abi.StatusInvalidMemoryAccess
		}
		if !mod.Memory().Write(p, data) {
			return abi.StatusInvalidMemoryAccess
		}
	}
	mem := mod.Memory()
	if !mem.WriteUint32Le(retPtr, p) || !mem.WriteUint32Le(retLen, uint32(len(data))) {
		return abi.StatusInvalidMemoryAccess
	}
	return abi.StatusOK
}

// log records a guest log line and remembers it for error messages.
func (v *vm) log(level abi.LogLevel, msg string) {
	v.lastLine = msg
	if level >= abi.LogError {
		v.lastErr = msg
	}
	if f := v.h.cfg.StreamLog; f != nil {
		if st := v.streams[v.cur]; st != nil && f(st.ctx, level, msg) {
			return
		}
	}
	v.h.log.Log(context.Background(), slogLevel(level), msg, slog.Int("vm", v.slot))
}

// output logs complete lines the guest writes to stdout or stderr.
func (v *vm) output(fd uint32, b []byte) {
	level := abi.LogInfo
	if fd == 2 {
		level = abi.LogError
	}
	buf := append(v.pending[fd], b...)
	for {
		i := strings.IndexByte(string(buf), '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimRight(string(buf[:i]), "\r"); line != "" {
			// Only the headline of a Go crash becomes the remembered error:
			// the goroutine dump after it says less about what went wrong.
			keep := v.lastErr
			v.log(level, line)
			if fd == 2 && !strings.HasPrefix(line, "panic: ") && !strings.HasPrefix(line, "fatal error: ") {
				v.lastErr = keep
			}
		}
		buf = buf[i+1:]
	}
	v.pending[fd] = append(v.pending[fd][:0], buf...)
}
