package wasm

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/filter/abi"
)

// guests holds the test filters, compiled once by TestMain.
var guests = map[string][]byte{}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wasm-guests")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, name := range []string{"guest", "badexport"} {
		out := filepath.Join(dir, name+".wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "./testdata/"+name)
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if b, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build guest[%s]: %v\n%s", name, err, b)
			os.Exit(1)
		}
		if guests[name], err = os.ReadFile(out); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// logs records what the host logs, for assertions on guest log lines.
type logs struct {
	mu    sync.Mutex
	level slog.Level
	recs  []record
}

type record struct {
	level slog.Level
	msg   string
}

func (l *logs) Enabled(_ context.Context, lv slog.Level) bool { return lv >= l.level }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, record{r.Level, r.Message})
	return nil
}
func (l *logs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logs) WithGroup(string) slog.Handler      { return l }

func (l *logs) messages() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.recs {
		out = append(out, r.msg)
	}
	return out
}

func (l *logs) has(msg string) bool { return slices.Contains(l.messages(), msg) }

func newHost(t testing.TB, cfg Config) (*Host, *logs) {
	t.Helper()
	lg := &logs{level: slog.LevelDebug}
	if cfg.Wasm == nil {
		cfg.Wasm = guests["guest"]
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(lg)
	}
	if cfg.PoolSize == 0 {
		cfg.PoolSize = 1
	}
	h, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return h, lg
}

// echo is the next handler: it answers with what reached it.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Secret", "s")
	var keys []string
	for k := range r.Header {
		// The host gives every request a random x-request-id, as Envoy
		// does (TestRequestID checks it); leave it out of the echo.
		if k != "X-Request-Id" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	fmt.Fprintf(w, "%s %s host=%s\n", r.Method, r.URL.RequestURI(), r.Host)
	for _, k := range keys {
		fmt.Fprintf(w, "%s: %s\n", k, strings.Join(r.Header[k], ","))
	}
})

type result struct {
	status int
	header http.Header
	body   string
}

func do(h *Host, method, target string, hdr map[string]string) result {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.Handler(echo).ServeHTTP(rec, req)
	return result{rec.Code, rec.Header(), rec.Body.String()}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{
			name: "missing and mistyped exports",
			cfg:  Config{Wasm: guests["badexport"]},
			want: "wasm: guest does not match the proxy-wasm contract: " +
				"guest export[proxy_on_log]: missing, want (i32) -> ()\n" +
				"guest export[proxy_on_delete]: has type (i32, i32) -> (), want (i32) -> ()",
		},
		{
			name: "configure returns false",
			cfg:  Config{PluginConfig: []byte("fail")},
			want: "wasm: start vm[0]: proxy_on_configure: returned false: bad config: fail",
		},
		{
			name: "vm start returns false",
			cfg:  Config{VMConfig: []byte("fail")},
			want: "wasm: start vm[0]: proxy_on_vm_start: returned false: vm start refused",
		},
		{
			name: "not wasm",
			cfg:  Config{Wasm: []byte("nope")},
			want: "wasm: compile: invalid magic number",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Logger = slog.New(&logs{})
			if tt.cfg.Wasm == nil {
				tt.cfg.Wasm = guests["guest"]
			}
			h, err := New(context.Background(), tt.cfg)
			if err == nil {
				h.Close(context.Background())
				t.Fatal("New succeeded")
			}
			if err.Error() != tt.want {
				t.Fatalf("error\n got: %q\nwant: %q", err, tt.want)
			}
		})
	}
}

func TestLoadTrapInConfigure(t *testing.T) {
	_, err := New(context.Background(), Config{Wasm: guests["guest"], PluginConfig: []byte("panic"), PoolSize: 1, Logger: slog.New(&logs{})})
	if err == nil || !strings.HasPrefix(err.Error(), "wasm: start vm[0]: proxy_on_configure: trapped: ") ||
		!strings.HasSuffix(err.Error(), "(last error log: panic: configure exploded)") {
		t.Fatalf("error = %v", err)
	}
}

func TestHeaders(t *testing.T) {
	h, _ := newHost(t, Config{})
	tests := []struct {
		name   string
		method string
		target string
		hdr    map[string]string
		want   string
	}{
		{
			name: "continue", method: "GET", target: "/a?b=c",
			want: "GET /a?b=c host=example.com\nX-Envoy-External-Address: 192.0.2.1\nX-Forwarded-For: 192.0.2.1\nX-Forwarded-Proto: http\n",
		},
		{
			name: "edit", method: "POST", target: "/orig",
			hdr:  map[string]string{"x-test": "edit", "X-Replace": "old", "X-Remove": "gone", "X-New-Path": "/new?q=1", "X-New-Method": "PATCH"},
			want: "PATCH /new?q=1 host=example.com\nX-Added: yes\nX-Envoy-External-Address: 192.0.2.1\nX-Forwarded-For: 192.0.2.1\nX-Forwarded-Proto: http\nX-New-Method: PATCH\nX-New-Path: /new?q=1\nX-Replace: replaced\nX-Test: edit\n",
		},
		{
			name: "set pairs", method: "GET", target: "/x",
			hdr:  map[string]string{"x-test": "setpairs", "X-Dropped": "1"},
			want: "PUT /set?x=1 host=set.example\nX-Only: 1\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := do(h, tt.method, tt.target, tt.hdr)
			if got.status != 200 || got.body != tt.want {
				t.Fatalf("got %d %q, want 200 %q", got.status, got.body, tt.want)
			}
		})
	}
}

func TestHeaderPairs(t *testing.T) {
	h, _ := newHost(t, Config{})
	req := httptest.NewRequest("GET", "/p/a?q=1", nil)
	req.Header.Add("X-Test", "pairs")
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	req.Header.Add("Authorization", "Bearer a")
	req.Header.Add("Authorization", "Bearer b")
	req.Header.Add("Accept", "")
	req.Header.Add("Accept", "text/plain")
	req.Header.Add("X-Request-Id", "rid-1")
	rec := httptest.NewRecorder()
	h.Handler(echo).ServeHTTP(rec, req)
	head, raw, _ := strings.Cut(rec.Body.String(), "\n")
	if head != "n=13 eos=1 st=ok" {
		t.Fatalf("head = %q", head)
	}
	got, err := abi.DecodeHeaders([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	want := []abi.Header{{Name: ":authority", Value: "example.com"}, {Name: ":path", Value: "/p/a?q=1"},
		{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
		// Envoy joins repeated inline headers (and skips empty values),
		// and keeps other repeated headers as separate pairs.
		{Name: "accept", Value: "text/plain"}, {Name: "authorization", Value: "Bearer a,Bearer b"},
		{Name: "x-envoy-external-address", Value: "192.0.2.1"}, {Name: "x-forwarded-for", Value: "192.0.2.1"}, {Name: "x-forwarded-proto", Value: "http"},
		{Name: "x-multi", Value: "one"}, {Name: "x-multi", Value: "two"}, {Name: "x-request-id", Value: "rid-1"},
		{Name: "x-test", Value: "pairs"}}
	if !slices.Equal(got, want) {
		t.Fatalf("pairs\n got %v\nwant %v", got, want)
	}
}

func TestHeaderValue(t *testing.T) {
	h, _ := newHost(t, Config{})
	tests := []struct {
		name, key, want string
	}{
		{"pseudo", ":method", "ok:GET"},
		{"authority", ":authority", "ok:example.com"},
		{"mixed case", "X-Multi", "ok:one"},
		{"missing", "x-none", "not found:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("x-test", "value")
			req.Header.Set("x-key", tt.key)
			req.Header.Add("x-multi", "one")
			req.Header.Add("x-multi", "two")
			rec := httptest.NewRecorder()
			h.Handler(echo).ServeHTTP(rec, req)
			if rec.Body.String() != tt.want {
				t.Fatalf("got %q, want %q", rec.Body.String(), tt.want)
			}
		})
	}
}

func TestLocalResponse(t *testing.T) {
	h, _ := newHost(t, Config{})
	got := do(h, "GET", "/", map[string]string{"x-test": "local"})
	if got.status != 403 || got.body != "nope" || got.header.Get("X-Why") != "test" ||
		got.header.Get("Content-Type") != "application/json" || got.header.Get("X-Secret") != "" {
		t.Fatalf("got %d %q %v", got.status, got.body, got.header)
	}
}

func TestResponseHeaders(t *testing.T) {
	h, _ := newHost(t, Config{})
	tests := []struct {
		name       string
		mode       string
		wantStatus int
		wantHeader map[string]string
		wantBody   string
	}{
		{"edit", "resp", 201, map[string]string{"X-Saw-Status": "200", "X-Secret": ""}, "GET / host=example.com\nX-Envoy-External-Address: 192.0.2.1\nX-Forwarded-For: 192.0.2.1\nX-Forwarded-Proto: http\nX-Test: resp\n"},
		{"local", "resp-local", 418, map[string]string{"X-Secret": "", "Content-Type": "text/plain"}, "short and stout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := do(h, "GET", "/", map[string]string{"x-test": tt.mode})
			if got.status != tt.wantStatus || got.body != tt.wantBody {
				t.Fatalf("got %d %q", got.status, got.body)
			}
			for k, v := range tt.wantHeader {
				if got.header.Get(k) != v {
					t.Fatalf("header %s = %q, want %q", k, got.header.Get(k), v)
				}
			}
		})
	}
}

func TestProperties(t *testing.T) {
	h, _ := newHost(t, Config{PluginName: "authz", RootID: "root-1", VMID: "vm-a"})
	got := do(h, "DELETE", "/p?x=1", map[string]string{"x-test": "props", "X-Request-Id": "rid-7"})
	want := "source.address=ok:192.0.2.1:1234\nrequest.id=ok:rid-7\nplugin_name=ok:authz\nplugin_root_id=ok:root-1\n" +
		"plugin_vm_id=ok:vm-a\nrequest.path=ok:/p?x=1\nrequest.method=ok:DELETE\nrequest.protocol=ok:HTTP/1.1\nno.such=not found:\n"
	if got.body != want {
		t.Fatalf("got %q\nwant %q", got.body, want)
	}
}

// TestRequestProtocol: the request.protocol property names the version as
// Envoy's attribute does, whatever Go calls it.
func TestRequestProtocol(t *testing.T) {
	h, _ := newHost(t, Config{})
	for _, tt := range []struct{ proto, want string }{
		{"HTTP/1.0", "HTTP/1.0"}, {"HTTP/1.1", "HTTP/1.1"}, {"HTTP/2.0", "HTTP/2"},
	} {
		t.Run(tt.proto, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.Proto = tt.proto
			req.Header.Set("x-test", "props")
			rec := httptest.NewRecorder()
			h.Handler(echo).ServeHTTP(rec, req)
			if want := "request.protocol=ok:" + tt.want + "\n"; !strings.Contains(rec.Body.String(), want) {
				t.Errorf("got %q, want a line %q", rec.Body.String(), want)
			}
		})
	}
}

func TestBuffers(t *testing.T) {
	h, _ := newHost(t, Config{PluginConfig: []byte(`{"p":1}`), VMConfig: []byte("vmcfg")})
	got := do(h, "GET", "/", map[string]string{"x-test": "buffers"})
	want := "ok:{\"p\":1}\nok:vmcfg\nok:\"p\"\nbad argument:\nnot found:\nnot found:\n"
	if got.body != want {
		t.Fatalf("got %q\nwant %q", got.body, want)
	}
}

func TestHTTPCall(t *testing.T) {
	release := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hangup" {
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		if r.URL.Path == "/slow" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo", r.Method+" "+r.URL.Path+" "+r.Host+" "+r.Header.Get("X-Token")+" "+string(b))
		w.WriteHeader(202)
		io.WriteString(w, "pong")
	}))
	defer upstream.Close()
	defer close(release)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	h, _ := newHost(t, Config{Clusters: map[string]string{"authz": upstream.URL + "/", "down": closed.URL}})
	tests := []struct {
		name       string
		hdr        map[string]string
		wantStatus int
		wantBody   string
	}{
		{"response", map[string]string{"x-test": "call", "x-cluster": "authz", "x-call-path": "/check"},
			200, "status=202 body=pong echo=POST /check auth.local abc ping trailers=0"},
		{"continue after call", map[string]string{"x-test": "call-continue", "x-cluster": "authz", "x-call-path": "/check"},
			200, "GET / host=example.com\nX-Call-Path: /check\nX-Call-Status: 202\nX-Cluster: authz\nX-Envoy-External-Address: 192.0.2.1\nX-Forwarded-For: 192.0.2.1\nX-Forwarded-Proto: http\nX-Test: call-continue\n"},
		{"unknown cluster", map[string]string{"x-test": "call", "x-cluster": "nope", "x-call-path": "/check"},
			500, "call bad argument"},
		{"missing path", map[string]string{"x-test": "call", "x-cluster": "authz"},
			500, "call bad argument"},
		// Envoy's own answers for calls that got none, headers and all.
		{"timeout", map[string]string{"x-test": "call-headers", "x-cluster": "authz", "x-call-path": "/slow", "x-timeout": "50"},
			200, ":status: 504\ncontent-length: 24\ncontent-type: text/plain\nbody=upstream request timeout"},
		{"connection refused", map[string]string{"x-test": "call-headers", "x-cluster": "down", "x-call-path": "/check"},
			200, ":status: 503\ncontent-length: 98\ncontent-type: text/plain\n" +
				"body=upstream connect error or disconnect/reset before headers. reset reason: remote connection failure"},
		{"connection closed before the answer", map[string]string{"x-test": "call-headers", "x-cluster": "authz", "x-call-path": "/hangup"},
			200, ":status: 503\ncontent-length: 95\ncontent-type: text/plain\n" +
				"body=upstream connect error or disconnect/reset before headers. reset reason: connection termination"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := do(h, "GET", "/", tt.hdr)
			if got.status != tt.wantStatus || got.body != tt.wantBody {
				t.Fatalf("got %d %q\nwant %d %q", got.status, got.body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestSharedData(t *testing.T) {
	h, _ := newHost(t, Config{PoolSize: 2})
	want := "ok\nok:v1\ncas mismatch\nok\nok:v2 newer=true\ncas mismatch\nnot found\nok\n"
	for i := range 2 { // one request per VM: the store is shared by the pool
		got := do(h, "GET", "/", map[string]string{"x-test": "shared", "x-key": fmt.Sprint("k", i)})
		if got.body != want {
			t.Fatalf("request %d: got %q\nwant %q", i, got.body, want)
		}
	}
}

func TestQueue(t *testing.T) {
	h, lg := newHost(t, Config{PoolSize: 2, VMID: "vm-a"})
	tests := []struct {
		name, vmID, want string
	}{
		{"this vm id", "vm-a", "ok ok not found"},
		{"empty vm id", "", "ok ok not found"},
		{"other vm id", "vm-b", "not found not found not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := do(h, "GET", "/", map[string]string{"x-test": "queue", "x-vm-id": tt.vmID, "x-data": "hello " + tt.name})
			if got.body != tt.want {
				t.Fatalf("got %q, want %q", got.body, tt.want)
			}
		})
	}
	waitFor(t, func() bool { return lg.has("dequeued hello this vm id") && lg.has("dequeued hello empty vm id") })
	if !lg.has("dequeue empty") {
		t.Fatal("queue never reported empty")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMetrics(t *testing.T) {
	h, _ := newHost(t, Config{PoolSize: 2})
	want := "same=true retype=bad argument\nok\nbad argument\nok\nok\nbad argument\nok:-2\nbad argument\nnot found\n"
	got := do(h, "GET", "/", map[string]string{"x-test": "metrics"})
	if got.body != want {
		t.Fatalf("got %q\nwant %q", got.body, want)
	}
	do(h, "GET", "/", map[string]string{"x-test": "metrics"})
	m := h.Metrics()
	wantM := map[string]Metric{
		"requests": {Kind: Counter, Value: 2},
		"inflight": {Kind: Gauge, Value: -4},
		"latency": {Kind: Histogram, Count: 2, Sum: 14,
			Buckets: []uint64{0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}, // 7 is in (5, 10]
	}
	if len(m) != len(wantM) {
		t.Fatalf("metrics = %v", m)
	}
	for k, v := range wantM {
		if !reflect.DeepEqual(m[k], v) {
			t.Fatalf("metric %s = %+v, want %+v", k, m[k], v)
		}
	}
}

func TestLogging(t *testing.T) {
	tests := []struct {
		name     string
		level    slog.Level
		want     string
		wantLogs []record
	}{
		{"debug", slog.LevelDebug, "level=1", []record{
			{slog.LevelDebug, "level debug"}, {slog.LevelInfo, "level info"}, {slog.LevelWarn, "level warn"},
			{slog.LevelError, "level error"}, {slog.LevelError + 4, "level critical"}}},
		{"trace", slog.LevelDebug - 4, "level=0", nil},
		{"warn", slog.LevelWarn, "level=3", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lg := &logs{level: tt.level}
			h, _ := newHost(t, Config{Logger: slog.New(lg)})
			got := do(h, "GET", "/", map[string]string{"x-test": "log"})
			if got.body != tt.want {
				t.Fatalf("got %q, want %q", got.body, tt.want)
			}
			if tt.wantLogs == nil {
				return
			}
			lg.mu.Lock()
			defer lg.mu.Unlock()
			var levels []record
			for _, r := range lg.recs {
				if strings.HasPrefix(r.msg, "level ") {
					levels = append(levels, r)
				}
			}
			if !slices.Equal(levels, tt.wantLogs) {
				t.Fatalf("logs = %v", levels)
			}
		})
	}
}

func TestTime(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	h, _ := newHost(t, Config{Clock: func() time.Time { return at }})
	got := do(h, "GET", "/", map[string]string{"x-test": "time"})
	if got.body != fmt.Sprint(at.UnixNano()) {
		t.Fatalf("got %q", got.body)
	}
}

func TestMisc(t *testing.T) {
	h, _ := newHost(t, Config{})
	got := do(h, "GET", "/", map[string]string{"x-test": "misc"})
	want := "ok\nunimplemented\nbad argument\ninvalid memory access\nbad argument\nnot found\nnot found\nbad argument\n"
	if got.body != want {
		t.Fatalf("got %q\nwant %q", got.body, want)
	}
}

func TestLifecycle(t *testing.T) {
	h, lg := newHost(t, Config{})
	do(h, "GET", "/", nil)
	var got []string
	for _, m := range lg.messages() {
		if strings.HasPrefix(m, "on_") {
			got = append(got, m)
		}
	}
	want := []string{"on_done ctx=2", "on_log ctx=2", "on_delete ctx=2"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestTrapReplacesVM(t *testing.T) {
	h, _ := newHost(t, Config{})
	// A paused stream on the VM fails with it.
	paused := make(chan result)
	go func() { paused <- do(h, "GET", "/", map[string]string{"x-test": "pause"}) }()
	waitFor(t, func() bool {
		v := h.slots[0].Load()
		v.mu.Lock()
		defer v.mu.Unlock()
		return len(v.streams) == 1
	})
	if got := do(h, "GET", "/", map[string]string{"x-test": "panic"}); got.status != 500 {
		t.Fatalf("trapping request got %d", got.status)
	}
	if got := <-paused; got.status != 500 {
		t.Fatalf("paused request got %d", got.status)
	}
	for i := range 3 {
		if got := do(h, "GET", "/", nil); got.status != 200 {
			t.Fatalf("request %d after trap got %d %q", i, got.status, got.body)
		}
	}
	if n := h.Replacements(); n != 1 {
		t.Fatalf("replacements = %d", n)
	}
}

func TestClientCancel(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
	}))
	defer upstream.Close()
	h, lg := newHost(t, Config{Clusters: map[string]string{"authz": upstream.URL}})
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest("GET", "/", nil).WithContext(ctx)
	req.Header.Set("x-test", "call")
	req.Header.Set("x-cluster", "authz")
	req.Header.Set("x-call-path", "/slow")
	done := make(chan struct{})
	go func() {
		h.Handler(echo).ServeHTTP(httptest.NewRecorder(), req)
		close(done)
	}()
	<-arrived
	cancel()
	<-done
	if !lg.has("on_delete ctx=2") {
		t.Fatal("on_delete not called")
	}
	// The next request is served while the callout is still out.
	if got := do(h, "GET", "/", nil); got.status != 200 {
		t.Fatalf("next request got %d", got.status)
	}
	// The callout belongs to the root context, so it is not cancelled: its
	// answer reaches the root, and the guest finds its stream gone.
	close(release)
	waitFor(t, func() bool { return lg.has("stream gone: bad argument") })
	if !lg.has("callout response ctx=1 root=true stream=2 token=4") {
		t.Fatalf("callout response not delivered on the root context: %q", lg.messages())
	}
}

func TestCloseStream(t *testing.T) {
	h, _ := newHost(t, Config{})
	srv := httptest.NewServer(h.Handler(echo))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("x-test", "close")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("got %d, want a reset stream", resp.StatusCode)
	}
	if got := do(h, "GET", "/", nil); got.status != 200 {
		t.Fatalf("next request got %d", got.status)
	}
}

func TestHammer(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "pong")
	}))
	defer upstream.Close()
	h, _ := newHost(t, Config{PoolSize: 3, Clusters: map[string]string{"authz": upstream.URL}})
	srv := httptest.NewServer(h.Handler(echo))
	defer srv.Close()
	modes := []struct {
		hdr    map[string]string
		status int
		prefix string
	}{
		{nil, 200, "GET /"},
		{map[string]string{"x-test": "call", "x-cluster": "authz", "x-call-path": "/c"}, 200, "status=200 body=pong"},
		{map[string]string{"x-test": "local"}, 403, "nope"},
		{map[string]string{"x-test": "metrics"}, 200, "same=true"},
		{map[string]string{"x-test": "panic"}, 500, ""},
	}
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := modes[i%len(modes)]
			req, _ := http.NewRequest("GET", srv.URL+"/", nil)
			for k, v := range m.hdr {
				req.Header.Set(k, v)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				errs <- err
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// A trap elsewhere on the same VM may fail any stream with 500.
			if resp.StatusCode != 500 && (resp.StatusCode != m.status || !strings.HasPrefix(string(b), m.prefix)) {
				errs <- fmt.Errorf("mode %v: got %d %q", m.hdr, resp.StatusCode, b)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := do(h, "GET", "/", nil); got.status != 200 {
		t.Fatalf("after hammer got %d", got.status)
	}
	if h.Replacements() == 0 {
		t.Fatal("no VM was replaced")
	}
}

func TestInspect(t *testing.T) {
	imports, exports, err := Inspect(guests["guest"])
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range exports {
		if want, ok := abi.GuestFunction(e.Name); ok {
			if !sameType(e, want) {
				t.Errorf("export %s: %s", e.Name, formatSig(e))
			}
			names = append(names, e.Name)
		}
	}
	if len(names) != len(abi.GuestFunctions) {
		t.Fatalf("contract exports found: %v", names)
	}
	imported := map[string]bool{}
	for _, im := range imports {
		if im.Module == abi.HostModule {
			want, ok := abi.HostFunction(im.Name)
			if !ok || !sameType(im.Signature, want) {
				t.Errorf("import %s: %s", im.Name, formatSig(im.Signature))
			}
			imported[im.Name] = true
		}
	}
	var unused []string
	for _, s := range abi.HostFunctions {
		if !imported[s.Name] {
			unused = append(unused, s.Name)
		}
	}
	if want := []string{abi.FnSetBufferBytes, abi.FnDone}; !slices.Equal(unused, want) {
		t.Fatalf("host functions the guest does not import: %v, want %v", unused, want)
	}
	if err := Check(guests["guest"]); err != nil {
		t.Fatal(err)
	}
}

func TestHostProvidesWholeContract(t *testing.T) {
	calls := (&Host{}).hostCalls()
	for _, s := range abi.HostFunctions {
		if calls[s.Name] == nil {
			t.Errorf("host function %s has no implementation", s.Name)
		}
	}
}

func BenchmarkContinue(b *testing.B) {
	h, _ := newHost(b, Config{Logger: slog.New(&logs{level: slog.LevelInfo})})
	handler := h.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req := httptest.NewRequest("GET", "/pets/1", nil)
	req.Header.Set("Authorization", "Bearer abc")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		handler.ServeHTTP(httptest.NewRecorder(), req)
	}
}

func TestCalloutIDs(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "pong")
	}))
	defer upstream.Close()
	h, lg := newHost(t, Config{PoolSize: 2, Clusters: map[string]string{"authz": upstream.URL}})
	for range 4 {
		got := do(h, "GET", "/", map[string]string{"x-test": "call", "x-cluster": "authz", "x-call-path": "/c"})
		if got.status != 200 || !strings.HasPrefix(got.body, "status=200 body=pong") {
			t.Fatalf("got %d %q", got.status, got.body)
		}
	}
	// Round robin puts requests 1 and 3 on one VM and 2 and 4 on the other;
	// ids are per VM, four apart, and answers go to each VM's root (1 and 2).
	var got []string
	for _, m := range lg.messages() {
		if strings.HasPrefix(m, "callout response") {
			got = append(got, m)
		}
	}
	slices.Sort(got)
	want := []string{
		"callout response ctx=1 root=true stream=4 token=4",
		"callout response ctx=1 root=true stream=6 token=8",
		"callout response ctx=2 root=true stream=3 token=4",
		"callout response ctx=2 root=true stream=5 token=8",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("callout responses\n got %q\nwant %q", got, want)
	}
}

func TestTicks(t *testing.T) {
	h, lg := newHost(t, Config{})
	ticks := func() int {
		t.Helper()
		got := do(h, "GET", "/", map[string]string{"x-test": "tick"})
		n, err := strconv.Atoi(got.body)
		if err != nil {
			t.Fatalf("tick count %q", got.body)
		}
		return n
	}
	if n := ticks(); n != 0 {
		t.Fatalf("ticks before a period was set: %d", n)
	}
	if got := do(h, "GET", "/", map[string]string{"x-test": "tick", "x-period": "5"}); got.body != "ok" {
		t.Fatalf("set period: %q", got.body)
	}
	waitFor(t, func() bool { return ticks() >= 3 })
	// Period 0 stops the ticks.
	do(h, "GET", "/", map[string]string{"x-test": "tick", "x-period": "0"})
	stopped := ticks()
	time.Sleep(50 * time.Millisecond)
	if n := ticks(); n != stopped {
		t.Fatalf("ticks went on after period 0: %d then %d", stopped, n)
	}
	// A new period starts them again, and Close stops them for good.
	do(h, "GET", "/", map[string]string{"x-test": "tick", "x-period": "1"})
	waitFor(t, func() bool { return ticks() > stopped })
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, m := range lg.messages() {
		if strings.HasPrefix(m, "tick on context") {
			t.Fatalf("tick delivered to a non-root context: %s", m)
		}
	}
}

func TestTicksRaceWithRequests(t *testing.T) {
	h, _ := newHost(t, Config{PoolSize: 2})
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			period := fmt.Sprint(i % 3) // 0, 1, 2 ms: start, stop, restart
			if got := do(h, "GET", "/", map[string]string{"x-test": "tick", "x-period": period}); got.body != "ok" {
				t.Errorf("set period: %q", got.body)
			}
		})
	}
	wg.Wait()
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestQueueReadyOnRegisteringRoot(t *testing.T) {
	h, lg := newHost(t, Config{PoolSize: 3})
	// Every VM registers "q" when it starts; the last one (vm 2, root 3)
	// owns it, so every enqueue wakes that root, whichever VM enqueues.
	for i := range 3 {
		if got := do(h, "GET", "/", map[string]string{"x-test": "queue", "x-data": fmt.Sprint("item", i)}); got.body != "ok ok not found" {
			t.Fatalf("request %d: %q", i, got.body)
		}
	}
	waitFor(t, func() bool {
		return lg.has("dequeued item0") && lg.has("dequeued item1") && lg.has("dequeued item2")
	})
	for _, m := range lg.messages() {
		if strings.HasPrefix(m, "queue ready") && m != "queue ready root=3 own=true" {
			t.Fatalf("queue ready on the wrong context: %s", m)
		}
	}
}

// TestRequestID checks the host treats a request as Envoy's connection
// manager does before the filter: a client's x-request-id is kept, a
// missing one is generated, and hop-by-hop headers never reach the guest
// or the upstream.
func TestRequestID(t *testing.T) {
	h, _ := newHost(t, Config{})
	var seen http.Header
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r.Header.Clone() })
	tests := []struct {
		name, sent string
	}{
		{"client id kept", "client-id"},
		{"missing id generated", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/x", nil)
			req.Header.Set("Connection", "close, X-Hop")
			req.Header.Set("X-Hop", "1")
			if tt.sent != "" {
				req.Header.Set("X-Request-Id", tt.sent)
			}
			h.Handler(next).ServeHTTP(httptest.NewRecorder(), req)
			got := seen.Get("X-Request-Id")
			if tt.sent != "" && got != tt.sent || tt.sent == "" && len(got) != 36 {
				t.Errorf("x-request-id = %q (sent %q)", got, tt.sent)
			}
			if seen.Get("Connection") != "" || seen.Get("X-Hop") != "" {
				t.Errorf("hop-by-hop headers reached the upstream: %v", seen)
			}
		})
	}
}
