package wasm

import (
	"sync"

	"github.com/authgate/authgate/core/stats"

	"github.com/tetratelabs/wazero/api"

	"github.com/authgate/authgate/filter/abi"
)

// sharedData is the key-value store all VMs of the host share, with the
// compare-and-swap rules of Envoy's: every write gets a fresh non-zero cas;
// a write with cas 0 is unconditional; a write with another cas fails with
// CasMismatch unless it names the current cas or the key does not exist.
type sharedData struct {
	mu      sync.Mutex
	entries map[string]sharedEntry
	nextCas uint32
}

type sharedEntry struct {
	value []byte
	cas   uint32
}

func (d *sharedData) init() { d.entries, d.nextCas = map[string]sharedEntry{}, 1 }

func (d *sharedData) get(key string) (sharedEntry, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.entries[key]
	return e, ok
}

func (d *sharedData) set(key string, value []byte, cas uint32) abi.Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.entries[key]; ok && cas != 0 && cas != e.cas {
		return abi.StatusCasMismatch
	}
	d.entries[key] = sharedEntry{value: value, cas: d.nextCas}
	d.nextCas++
	if d.nextCas == 0 { // 0 means "no cas", so it is never handed out
		d.nextCas = 1
	}
	return abi.StatusOK
}

func hostGetSharedData(v *vm, mod api.Module, s []uint64) abi.Status {
	key, ok := readString(mod, s[0], s[1])
	if !ok {
		return abi.StatusInvalidMemoryAccess
	}
	e, found := v.h.shared.get(key)
	if !found {
		return abi.StatusNotFound
	}
	if st := v.copyOut(mod, e.value, uint32(s[2]), uint32(s[3])); st != abi.StatusOK {
		return st
	}
	if !mod.Memory().WriteUint32Le(uint32(s[4]), e.cas) {
		return abi.StatusInvalidMemoryAccess
	}
	return abi.StatusOK
}

func hostSetSharedData(v *vm, mod api.Module, s []uint64) abi.Status {
	key, ok1 := readString(mod, s[0], s[1])
	val, ok2 := read(mod, s[2], s[3])
	if !ok1 || !ok2 {
		return abi.StatusInvalidMemoryAccess
	}
	return v.h.shared.set(key, append([]byte(nil), val...), uint32(s[4]))
}

// sharedQueues are the host's named queues. A queue belongs to the root
// context that registered it last; enqueueing posts proxy_on_queue_ready to
// that VM, as Envoy posts it to the registering worker.
type sharedQueues struct {
	mu     sync.Mutex
	byName map[string]uint32
	queues map[uint32]*queue
	next   uint32
}

type queue struct {
	owner  *vm
	rootID uint32
	items  [][]byte
}

func (q *sharedQueues) init() {
	q.byName, q.queues, q.next = map[string]uint32{}, map[uint32]*queue{}, 1
}

func hostRegisterSharedQueue(v *vm, mod api.Module, s []uint64) abi.Status {
	name, ok := readString(mod, s[0], s[1])
	if !ok {
		return abi.StatusInvalidMemoryAccess
	}
	qs := &v.h.queues
	qs.mu.Lock()
	id, exists := qs.byName[name]
	if !exists {
		id = qs.next
		qs.next++
		qs.byName[name] = id
		qs.queues[id] = &queue{}
	}
	q := qs.queues[id]
	q.owner, q.rootID = v, v.rootID
	qs.mu.Unlock()
	if !mod.Memory().WriteUint32Le(uint32(s[2]), id) {
		return abi.StatusInvalidMemoryAccess
	}
	return abi.StatusOK
}

// hostResolveSharedQueue finds a queue by VM id and name. The host runs
// one VM id, so another id finds nothing; an empty id means this one.
func hostResolveSharedQueue(v *vm, mod api.Module, s []uint64) abi.Status {
	vmID, ok1 := readString(mod, s[0], s[1])
	name, ok2 := readString(mod, s[2], s[3])
	if !ok1 || !ok2 {
		return abi.StatusInvalidMemoryAccess
	}
	if vmID != "" && vmID != v.h.cfg.VMID {
		return abi.StatusNotFound
	}
	qs := &v.h.queues
	qs.mu.Lock()
	id, found := qs.byName[name]
	qs.mu.Unlock()
	if !found {
		return abi.StatusNotFound
	}
	if !mod.Memory().WriteUint32Le(uint32(s[4]), id) {
		return abi.StatusInvalidMemoryAccess
	}
	return abi.StatusOK
}

func hostDequeueSharedQueue(v *vm, mod api.Module, s []uint64) abi.Status {
	qs := &v.h.queues
	qs.mu.Lock()
	q := qs.queues[uint32(s[0])]
	if q == nil {
		qs.mu.Unlock()
		return abi.StatusNotFound
	}
	if len(q.items) == 0 {
		qs.mu.Unlock()
		return abi.StatusEmpty
	}
	item := q.items[0]
	q.items = q.items[1:]
	qs.mu.Unlock()
	return v.copyOut(mod, item, uint32(s[1]), uint32(s[2]))
}

func hostEnqueueSharedQueue(v *vm, mod api.Module, s []uint64) abi.Status {
	data, ok := read(mod, s[1], s[2])
	if !ok {
		return abi.StatusInvalidMemoryAccess
	}
	id := uint32(s[0])
	qs := &v.h.queues
	qs.mu.Lock()
	q := qs.queues[id]
	if q == nil {
		qs.mu.Unlock()
		return abi.StatusNotFound
	}
	q.items = append(q.items, append([]byte(nil), data...))
	owner, rootID := q.owner, q.rootID
	qs.mu.Unlock()
	v.h.post(owner, func(o *vm) {
		_, _ = o.call(o.fnQueueReady, abi.ExportOnQueueReady, rootID, uint64(rootID), uint64(id))
	})
	return abi.StatusOK
}

// post runs fn on v later, on its own goroutine with v.mu held, unless v has
// broken or the host is closing. Callbacks never run nested inside another
// VM's callback, which keeps the lock order trivial.
func (h *Host) post(v *vm, fn func(*vm)) {
	if h.closed() {
		return
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		v.mu.Lock()
		defer v.mu.Unlock()
		if !v.broken {
			fn(v)
		}
	}()
}

// Metric is a snapshot of one metric the guest defined. Counters and gauges
// have a Value; histograms have the Count and Sum of recorded values and
// their counts in Envoy's default buckets (stats.Bounds).
type Metric struct {
	Kind  MetricKind
	Value int64
	Count uint64
	Sum   uint64
	// Buckets counts histogram samples per bucket of stats.Bounds (not
	// cumulative); nil until a sample is recorded.
	Buckets []uint64
}

// MetricKind says what a Metric measures, as the guest defined it.
type MetricKind uint8

// MetricKind values.
const (
	Counter MetricKind = iota
	Gauge
	Histogram
)

// String names the kind for logs and exports.
func (k MetricKind) String() string {
	switch k {
	case Counter:
		return "counter"
	case Gauge:
		return "gauge"
	case Histogram:
		return "histogram"
	}
	return "unknown"
}

// kindOf maps the ABI's metric type onto the host's own kinds, so that
// callers of Metrics never need the ABI package.
func kindOf(t abi.MetricType) MetricKind {
	switch t {
	case abi.MetricGauge:
		return Gauge
	case abi.MetricHistogram:
		return Histogram
	}
	return Counter
}

type metric struct {
	name  string
	typ   abi.MetricType
	value int64
	hist  stats.Histogram
}

// metrics holds the guest's metrics. They are host-wide: every VM that
// defines a name gets the same id, as Envoy's stats are process-wide.
type metrics struct {
	mu     sync.Mutex
	byName map[string]uint32
	list   []*metric // id-1 indexes list
}

func (m *metrics) init() { m.byName = map[string]uint32{} }

// Metrics returns a snapshot of every metric by the name the guest gave it.
func (h *Host) Metrics() map[string]Metric {
	m := &h.stats
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]Metric, len(m.list))
	for _, e := range m.list {
		h := e.hist.Clone()
		out[e.name] = Metric{Kind: kindOf(e.typ), Value: e.value, Count: h.Count, Sum: h.Sum, Buckets: h.Buckets}
	}
	return out
}

func hostDefineMetric(v *vm, mod api.Module, s []uint64) abi.Status {
	t := abi.MetricType(s[0])
	if t > abi.MetricHistogram {
		return abi.StatusBadArgument
	}
	name, ok := readString(mod, s[1], s[2])
	if !ok {
		return abi.StatusInvalidMemoryAccess
	}
	m := &v.h.stats
	m.mu.Lock()
	id, exists := m.byName[name]
	if exists && m.list[id-1].typ != t {
		m.mu.Unlock()
		return abi.StatusBadArgument
	}
	if !exists {
		m.list = append(m.list, &metric{name: name, typ: t})
		id = uint32(len(m.list))
		m.byName[name] = id
	}
	m.mu.Unlock()
	if !mod.Memory().WriteUint32Le(uint32(s[3]), id) {
		return abi.StatusInvalidMemoryAccess
	}
	return abi.StatusOK
}

// lookup returns the metric of an id with m.mu held; the caller unlocks.
func (m *metrics) lookup(id uint32) *metric {
	m.mu.Lock()
	if id == 0 || int(id) > len(m.list) {
		return nil
	}
	return m.list[id-1]
}

// hostIncrementMetric follows Envoy: counters only go up, gauges move
// either way, histograms cannot be incremented.
func hostIncrementMetric(v *vm, _ api.Module, s []uint64) abi.Status {
	m := &v.h.stats
	e := m.lookup(uint32(s[0]))
	defer m.mu.Unlock()
	if e == nil {
		return abi.StatusNotFound
	}
	delta := int64(s[1])
	switch e.typ {
	case abi.MetricCounter:
		if delta <= 0 {
			return abi.StatusBadArgument
		}
		e.value += delta
	case abi.MetricGauge:
		e.value += delta
	default:
		return abi.StatusBadArgument
	}
	return abi.StatusOK
}

// hostRecordMetric sets a counter or gauge and records a histogram sample.
func hostRecordMetric(v *vm, _ api.Module, s []uint64) abi.Status {
	m := &v.h.stats
	e := m.lookup(uint32(s[0]))
	defer m.mu.Unlock()
	if e == nil {
		return abi.StatusNotFound
	}
	switch e.typ {
	case abi.MetricHistogram:
		e.hist.Record(s[1])
	default:
		e.value = int64(s[1])
	}
	return abi.StatusOK
}

func hostGetMetric(v *vm, mod api.Module, s []uint64) abi.Status {
	m := &v.h.stats
	e := m.lookup(uint32(s[0]))
	var val int64
	st := abi.StatusOK
	switch {
	case e == nil:
		st = abi.StatusNotFound
	case e.typ == abi.MetricHistogram:
		st = abi.StatusBadArgument
	default:
		val = e.value
	}
	m.mu.Unlock()
	if st != abi.StatusOK {
		return st
	}
	if !mod.Memory().WriteUint64Le(uint32(s[1]), uint64(val)) {
		return abi.StatusInvalidMemoryAccess
	}
	return abi.StatusOK
}
