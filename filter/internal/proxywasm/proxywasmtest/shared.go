package proxywasmtest

import (
	"slices"

	"github.com/authgate/authgate/filter/abi"
)

// Store is the state the VMs of one vm_id share: shared data with Envoy's
// compare-and-swap rules, named queues and metrics. It is not safe for
// concurrent use: tests drive their VMs from one goroutine, as each VM is
// driven from one thread.
type Store struct {
	data    map[string]SharedValue
	nextCas uint32

	queues    []*Queue // id-1 indexes queues
	queueIDs  map[string]uint32
	ready     []Ready
	metrics   []*Metric // id-1 indexes metrics
	metricIDs map[string]uint32

	// Sets counts the proxy_set_shared_data calls per key; CasMismatches
	// counts those refused.
	Sets          map[string]int
	CasMismatches int
}

// SharedValue is one shared-data entry.
type SharedValue struct {
	Value []byte
	Cas   uint32
}

// Queue is one shared queue. Its ready notifications go to the root context
// Root of the host Owner that registered it last, as in Envoy.
type Queue struct {
	ID    uint32
	Name  string
	Owner *Host
	Root  uint32
	Items [][]byte
}

// Ready is one proxy_on_queue_ready the host owes a VM.
type Ready struct {
	Host  *Host
	Root  uint32
	Queue uint32
}

// Metric is one defined metric. Histograms keep every sample.
type Metric struct {
	Type    abi.MetricType
	Name    string
	Value   int64
	Samples []uint64
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{data: map[string]SharedValue{}, nextCas: 1, queueIDs: map[string]uint32{},
		metricIDs: map[string]uint32{}, Sets: map[string]int{}}
}

// Get returns a shared-data entry.
func (s *Store) Get(key string) (SharedValue, bool) {
	v, ok := s.data[key]
	return v, ok
}

// Keys returns the shared-data keys in sorted order.
func (s *Store) Keys() []string {
	keys := make([]string, 0, len(s.data))
	for k := range s.data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Put writes a shared-data entry unconditionally, as another VM would.
func (s *Store) Put(key string, value []byte) {
	s.set(key, value, 0)
}

func (s *Store) set(key string, value []byte, cas uint32) abi.Status {
	s.Sets[key]++
	if e, ok := s.data[key]; ok && cas != 0 && cas != e.Cas {
		s.CasMismatches++
		return abi.StatusCasMismatch
	}
	s.data[key] = SharedValue{Value: append([]byte(nil), value...), Cas: s.nextCas}
	s.nextCas++
	if s.nextCas == 0 {
		s.nextCas = 1
	}
	return abi.StatusOK
}

// TakeReady returns the queue notifications owed so far and forgets them;
// the test delivers each with the plugin's OnQueueReady on that host.
func (s *Store) TakeReady() []Ready {
	r := s.ready
	s.ready = nil
	return r
}

// QueueByName returns a registered queue.
func (s *Store) QueueByName(name string) (*Queue, bool) {
	id, ok := s.queueIDs[name]
	if !ok {
		return nil, false
	}
	return s.queues[id-1], true
}

// Queues returns every registered queue in registration order.
func (s *Store) Queues() []*Queue { return slices.Clone(s.queues) }

// Metric returns a metric by name.
func (s *Store) Metric(name string) (*Metric, bool) {
	id, ok := s.metricIDs[name]
	if !ok {
		return nil, false
	}
	return s.metrics[id-1], true
}

// Metrics returns every metric in definition order.
func (s *Store) Metrics() []*Metric { return slices.Clone(s.metrics) }

// root returns the root context of the current context.
func (h *Host) root() uint32 {
	if s, ok := h.Streams[h.Current]; ok {
		return s.Root
	}
	return h.Current
}

// SetTickPeriod implements proxywasm.Host.
func (h *Host) SetTickPeriod(ms uint32) abi.Status {
	h.record(abi.FnSetTickPeriod)
	h.TickPeriods[h.root()] = ms
	return abi.StatusOK
}

// GetSharedData implements proxywasm.Host.
func (h *Host) GetSharedData(key string) ([]byte, uint32, abi.Status) {
	h.record(abi.FnGetSharedData)
	if h.BeforeSharedRead != nil {
		h.BeforeSharedRead(key)
	}
	e, ok := h.Store.data[key]
	if !ok {
		return nil, 0, abi.StatusNotFound
	}
	return append([]byte(nil), e.Value...), e.Cas, abi.StatusOK
}

// SetSharedData implements proxywasm.Host with Envoy's rules: cas 0 writes
// unconditionally, a key that does not exist is always written, otherwise
// a cas other than the current one fails with abi.StatusCasMismatch. As in
// Envoy, every write takes the next value of one counter as its cas,
// whatever its key, so no two values ever have the same cas.
func (h *Host) SetSharedData(key string, value []byte, cas uint32) abi.Status {
	h.record(abi.FnSetSharedData)
	if h.BeforeSharedWrite != nil {
		h.BeforeSharedWrite(key)
	}
	return h.Store.set(key, value, cas)
}

// RegisterSharedQueue implements proxywasm.Host.
func (h *Host) RegisterSharedQueue(name string) (uint32, abi.Status) {
	h.record(abi.FnRegisterSharedQueue)
	if h.RegisterQueueError != abi.StatusOK {
		return 0, h.RegisterQueueError
	}
	s := h.Store
	id, ok := s.queueIDs[name]
	if !ok {
		s.queues = append(s.queues, &Queue{ID: uint32(len(s.queues) + 1), Name: name})
		id = uint32(len(s.queues))
		s.queueIDs[name] = id
	}
	q := s.queues[id-1]
	q.Owner, q.Root = h, h.root()
	return id, abi.StatusOK
}

// ResolveSharedQueue implements proxywasm.Host. The fake has one vm_id, so
// only "" finds anything.
func (h *Host) ResolveSharedQueue(vmID, name string) (uint32, abi.Status) {
	h.record(abi.FnResolveSharedQueue)
	id, ok := h.Store.queueIDs[name]
	if vmID != "" || !ok {
		return 0, abi.StatusNotFound
	}
	return id, abi.StatusOK
}

// DequeueSharedQueue implements proxywasm.Host.
func (h *Host) DequeueSharedQueue(id uint32) ([]byte, abi.Status) {
	h.record(abi.FnDequeueSharedQueue)
	s := h.Store
	if id == 0 || int(id) > len(s.queues) {
		return nil, abi.StatusNotFound
	}
	q := s.queues[id-1]
	if len(q.Items) == 0 {
		return nil, abi.StatusEmpty
	}
	item := q.Items[0]
	q.Items = q.Items[1:]
	return item, abi.StatusOK
}

// EnqueueSharedQueue implements proxywasm.Host: the message is stored and a
// notification for the queue's owner is added to Store.TakeReady.
func (h *Host) EnqueueSharedQueue(id uint32, data []byte) abi.Status {
	h.record(abi.FnEnqueueSharedQueue)
	s := h.Store
	if id == 0 || int(id) > len(s.queues) {
		return abi.StatusNotFound
	}
	q := s.queues[id-1]
	q.Items = append(q.Items, append([]byte(nil), data...))
	s.ready = append(s.ready, Ready{Host: q.Owner, Root: q.Root, Queue: id})
	return abi.StatusOK
}

// DefineMetric implements proxywasm.Host. A name defined again returns the
// same id; with another type it fails, as in Envoy.
func (h *Host) DefineMetric(t abi.MetricType, name string) (uint32, abi.Status) {
	h.record(abi.FnDefineMetric)
	s := h.Store
	if t > abi.MetricHistogram {
		return 0, abi.StatusBadArgument
	}
	if id, ok := s.metricIDs[name]; ok {
		if s.metrics[id-1].Type != t {
			return 0, abi.StatusBadArgument
		}
		return id, abi.StatusOK
	}
	s.metrics = append(s.metrics, &Metric{Type: t, Name: name})
	id := uint32(len(s.metrics))
	s.metricIDs[name] = id
	return id, abi.StatusOK
}

func (s *Store) metric(id uint32) *Metric {
	if id == 0 || int(id) > len(s.metrics) {
		return nil
	}
	return s.metrics[id-1]
}

// IncrementMetric implements proxywasm.Host: counters only go up,
// histograms cannot be incremented.
func (h *Host) IncrementMetric(id uint32, delta int64) abi.Status {
	h.record(abi.FnIncrementMetric)
	m := h.Store.metric(id)
	switch {
	case m == nil:
		return abi.StatusNotFound
	case m.Type == abi.MetricHistogram, m.Type == abi.MetricCounter && delta <= 0:
		return abi.StatusBadArgument
	}
	m.Value += delta
	return abi.StatusOK
}

// RecordMetric implements proxywasm.Host.
func (h *Host) RecordMetric(id uint32, value uint64) abi.Status {
	h.record(abi.FnRecordMetric)
	m := h.Store.metric(id)
	if m == nil {
		return abi.StatusNotFound
	}
	if m.Type == abi.MetricHistogram {
		m.Samples = append(m.Samples, value)
	} else {
		m.Value = int64(value)
	}
	return abi.StatusOK
}
