// Package wasm runs a proxy-wasm filter (ABI v0.2.1) outside any proxy: it
// loads the compiled filter on wazero, provides the host side of the ABI the
// way Envoy does, and puts the filter in front of a net/http handler.
//
// The contract (function names, signatures, enums, header-map codec) is
// filter/abi; the specification is
// https://github.com/proxy-wasm/spec/tree/main/abi-versions/v0.2.1.
//
// Like an Envoy worker, every VM runs one callback at a time. A request is
// bound to one VM of a pool and holds it only while a callback runs, so a
// request waiting for an HTTP callout leaves its VM free for other requests.
package wasm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/authgate/authgate/filter/abi"
)

// Config describes one plugin: the filter binary, its configuration and the
// world it may reach. Only Wasm is required.
type Config struct {
	// Wasm is the filter, built with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared.
	Wasm []byte
	// PluginConfig is handed to proxy_on_configure (BufferPluginConfiguration).
	PluginConfig []byte
	// VMConfig is handed to proxy_on_vm_start (BufferVMConfiguration).
	VMConfig []byte
	// VMID names the VM group; shared data and queues are scoped to it.
	VMID string
	// PluginName and RootID are the plugin_name and plugin_root_id properties.
	PluginName string
	RootID     string
	// PoolSize is the number of VMs; zero means runtime.GOMAXPROCS(0).
	PoolSize int
	// Clusters maps a proxy_http_call upstream name to a base URL such as
	// "http://127.0.0.1:8080"; the call's :path is appended to it.
	Clusters map[string]string
	// Logger receives proxy_log and the guest's stdout/stderr; nil means
	// slog.Default(). Its enabled level is what proxy_get_log_level reports.
	Logger *slog.Logger
	// StreamLog, when set, is offered every line the guest logs while one
	// of the requests' HTTP contexts is effective (during its callbacks,
	// or after proxy_set_effective_context named it), with the context of
	// that request's *http.Request. A line it takes (returns true) does not reach Logger. With
	// StreamLog set, proxy_get_log_level reports debug at most, so that a
	// guest writes its per-request debug lines for StreamLog to see;
	// Logger still drops those of them it does not record. authgate serve
	// reads the filter's decision lines this way.
	StreamLog func(ctx context.Context, level abi.LogLevel, msg string) bool
	// Clock is the wall clock the guest sees; nil means time.Now.
	Clock func() time.Time
	// HTTPClient performs callouts; nil means a client that, like Envoy's
	// async client, follows no redirect and decodes no content-encoding.
	HTTPClient *http.Client
	// MaxCalloutBody bounds the callout response body the host buffers for
	// the guest; zero means DefaultMaxCalloutBody. A longer body is not
	// read past the bound: the guest gets the headers and a body_size of
	// bound+1 bytes with no body to read, which it can refuse for its size
	// without reading.
	MaxCalloutBody int
	// FailureResponse answers a request the filter failed (a trap, an
	// invalid edit of the request) the way the filter itself answers its
	// own failures; nil answers an empty 500. authgate serve sets the
	// gateway's authorizer failure response.
	FailureResponse *LocalResponse
	// CacheDir keeps compiled filters on disk, so that a later process
	// starting the same filter loads it instead of compiling it again
	// (wazero keys entries by the filter's content, its own version and
	// the CPU). Empty keeps them in memory, for the life of the process.
	// The directory must be writable by this user only: its files are
	// machine code that the host runs.
	CacheDir string
}

// DefaultMaxCalloutBody is the default of Config.MaxCalloutBody.
const DefaultMaxCalloutBody = 16 << 20

// Host runs one plugin in a pool of VMs. It is safe for concurrent use.
type Host struct {
	cfg      Config
	log      *slog.Logger
	client   *http.Client
	rt       wazero.Runtime
	compiled wazero.CompiledModule

	slots []atomic.Pointer[vm]
	rr    atomic.Uint32
	ids   atomic.Uint32 // context ids, unique across the pool
	calls atomic.Uint32 // callout tokens

	shared sharedData
	queues sharedQueues
	stats  metrics

	unimpl   sync.Map // host function names already reported as unimplemented
	replaced atomic.Uint64

	baseCtx context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	closing sync.Once
	wg      sync.WaitGroup
	monoAt  time.Time
}

// ErrClosed is returned, and answered with 503, once Close has been called.
var ErrClosed = errors.New("wasm: host closed")

// New compiles the filter once, checks it against the contract and starts
// the pool: for each VM it runs _initialize, creates the root context and
// calls proxy_on_vm_start and proxy_on_configure. Any failure closes
// everything and names the guest function that failed.
func New(ctx context.Context, cfg Config) (*Host, error) {
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = runtime.GOMAXPROCS(0)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.MaxCalloutBody <= 0 {
		cfg.MaxCalloutBody = DefaultMaxCalloutBody
	}
	client := cfg.HTTPClient
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DisableCompression = true
		client = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	rt, compiled, err := compile(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	if err := check(compiled); err != nil {
		_ = rt.Close(ctx)
		return nil, err
	}
	base, cancel := context.WithCancel(context.Background())
	h := &Host{
		cfg: cfg, log: cfg.Logger.With("plugin", cfg.PluginName), client: client,
		rt: rt, compiled: compiled, slots: make([]atomic.Pointer[vm], cfg.PoolSize),
		baseCtx: base, cancel: cancel, done: make(chan struct{}), monoAt: time.Now(),
	}
	h.shared.init()
	h.queues.init()
	h.stats.init()
	if err := h.instantiateHostModules(ctx); err != nil {
		h.abort(ctx)
		return nil, err
	}
	for i := range h.slots {
		v, err := h.startVM(i, 0)
		if err != nil {
			h.abort(ctx)
			return nil, fmt.Errorf("wasm: start vm[%d]: %w", i, err)
		}
		h.slots[i].Store(v)
	}
	return h, nil
}

func (h *Host) abort(ctx context.Context) {
	h.cancel()
	_ = h.rt.Close(ctx)
}

// Close stops the host: pending callouts are cancelled, queued deliveries
// and VM replacements finish, and every VM is released. Requests arriving
// afterwards are answered 503.
func (h *Host) Close(ctx context.Context) error {
	h.closing.Do(func() {
		close(h.done)
		h.cancel()
	})
	h.wg.Wait()
	return h.rt.Close(ctx)
}

func (h *Host) closed() bool {
	select {
	case <-h.done:
		return true
	default:
		return false
	}
}

// PoolSize reports the number of VMs.
func (h *Host) PoolSize() int { return len(h.slots) }

// Replacements reports how many broken VMs have been replaced so far.
func (h *Host) Replacements() uint64 { return h.replaced.Load() }

// pick chooses a healthy VM round robin. When every VM is broken it waits
// for a replacement, bounded by ctx.
func (h *Host) pick(ctx context.Context) (*vm, error) {
	for {
		if h.closed() {
			return nil, ErrClosed
		}
		n := uint32(len(h.slots))
		start := h.rr.Add(1)
		var waitOn *vm
		for i := uint32(0); i < n; i++ {
			v := h.slots[(start+i)%n].Load()
			if !v.dead.Load() {
				return v, nil
			}
			waitOn = v
		}
		select {
		case <-waitOn.gone:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-h.done:
			return nil, ErrClosed
		}
	}
}

// replace starts a fresh VM in the broken VM's slot, retrying with backoff
// until it succeeds or the host closes.
func (h *Host) replace(old *vm) {
	defer h.wg.Done()
	backoff := 50 * time.Millisecond
	for {
		nv, err := h.startVM(old.slot, old.gen+1)
		if err == nil {
			h.slots[old.slot].Store(nv)
			h.replaced.Add(1)
			close(old.gone)
			h.log.Info("wasm vm replaced", "vm", old.slot)
			return
		}
		h.log.Error("wasm vm replacement failed", "vm", old.slot, "err", err)
		select {
		case <-time.After(backoff):
		case <-h.done:
			return
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// slogLevel maps proxy-wasm levels onto slog: trace sits below debug and
// critical above error, as Envoy's spdlog levels do.
func slogLevel(l abi.LogLevel) slog.Level {
	switch l {
	case abi.LogTrace:
		return slog.LevelDebug - 4
	case abi.LogDebug:
		return slog.LevelDebug
	case abi.LogInfo:
		return slog.LevelInfo
	case abi.LogWarn:
		return slog.LevelWarn
	case abi.LogError:
		return slog.LevelError
	default:
		return slog.LevelError + 4
	}
}

// logLevel is the lowest proxy-wasm level the logger records, so a guest
// can skip formatting messages nobody will see.
func (h *Host) logLevel() abi.LogLevel {
	for l := abi.LogTrace; l < abi.LogCritical; l++ {
		if h.log.Enabled(context.Background(), slogLevel(l)) || (l == abi.LogDebug && h.cfg.StreamLog != nil) {
			return l
		}
	}
	return abi.LogCritical
}

// unimplemented logs the first use of an unsupported host feature.
func (h *Host) unimplemented(what string) abi.Status {
	if _, seen := h.unimpl.LoadOrStore(what, true); !seen {
		h.log.Warn("wasm guest used an unimplemented host feature", "feature", what)
	}
	return abi.StatusUnimplemented
}
