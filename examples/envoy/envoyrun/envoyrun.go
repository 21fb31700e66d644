// Package envoyrun starts and stops a real Envoy for the end-to-end suite,
// the demo and the load comparison: it finds the binary (Binary), writes the
// configuration into a private directory, waits for the admin /ready
// endpoint and reads listeners, stats, memory and the log back. It also
// renders the example bootstraps under examples/envoy by their YAML
// structure (Bootstrap), so the programs that run Envoy run the files users
// copy.
package envoyrun

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/procfs"
)

// Defaults for Options.
const (
	DefaultReadyTimeout = 30 * time.Second
	DefaultLogLevel     = "info"
	// StopGrace is how long Stop waits after SIGTERM before SIGKILL,
	// unless Options.StopTimeout says otherwise.
	StopGrace = 5 * time.Second
)

// ErrExited is wrapped by Start's error when Envoy exits before it is
// ready, typically because it rejected the configuration. The error also
// wraps the process's exit error (an *exec.ExitError for a non-zero
// status), so callers can tell a refusal from a timeout.
var ErrExited = errors.New("envoy exited")

// managedFlags are the command-line flags Start sets itself; Options.Args
// may not repeat them, since Envoy refuses a flag given twice and the
// caller would not get the Envoy it described.
var managedFlags = []string{"-c", "--config-path", "--concurrency", "--base-id", "--log-level", "-l", "--admin-address-path"}

// Options describes one Envoy to start. Exactly one of ConfigYAML and
// ConfigPath must be set.
type Options struct {
	// ConfigYAML is the bootstrap configuration text; it is written to a
	// file in Envoy's private directory.
	ConfigYAML []byte
	// ConfigPath is an existing bootstrap file, used as is.
	ConfigPath string
	// Concurrency is --concurrency, the number of worker threads (and so
	// of wasm VMs); zero means 1.
	Concurrency int
	// LogLevel is --log-level; empty means DefaultLogLevel.
	LogLevel string
	// LogPath receives Envoy's stdout and stderr; empty means envoy.log in
	// the private directory.
	LogPath string
	// ReadyTimeout bounds the wait for /ready; zero means DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// StopTimeout is how long Stop waits after SIGTERM before it kills
	// Envoy; zero means StopGrace.
	StopTimeout time.Duration
	// Args are extra command-line arguments, appended after the ones
	// Start sets (such as "--component-log-level", "wasm:debug"). They may
	// not repeat a flag that an Options field controls.
	Args []string
	// Binary is the envoy executable; empty means the one Binary finds.
	Binary string
	// Env holds NAME=value entries added to the environment Envoy
	// inherits, such as the AWS credentials its aws_request_signing
	// filter reads or the dynamic module search path Bootstrap.SetCode
	// returns.
	Env []string
	// Dir is the private directory for the configuration, the admin address
	// file and (by default) the log; empty means a new temporary directory,
	// removed by Stop.
	Dir string
}

// Envoy is one running Envoy process.
type Envoy struct {
	cmd        *exec.Cmd
	bin        string
	dir        string
	ownDir     bool
	cfgPath    string
	logPath    string
	admin      string // admin base URL, "http://host:port"
	readyAfter time.Duration
	stopGrace  time.Duration

	done    chan struct{}
	exitErr error // valid once done is closed
	stop    sync.Once
	stopErr error
}

// Version runs `bin --version` and returns its output without the
// "envoy  version:" boilerplate when it can recognise it.
func Version(ctx context.Context, bin string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("envoyrun: %s --version: %w: %s", bin, err, bytes.TrimSpace(out))
	}
	s := strings.TrimSpace(string(out))
	if _, v, ok := strings.Cut(s, "version:"); ok {
		s = strings.TrimSpace(v)
	}
	return s, nil
}

// Start launches Envoy and waits until its admin /ready answers 200. On any
// failure Envoy is stopped and the error carries the end of its log.
func Start(ctx context.Context, o Options) (*Envoy, error) {
	if (o.ConfigYAML == nil) == (o.ConfigPath == "") {
		return nil, errors.New("envoyrun: set exactly one of ConfigYAML and ConfigPath")
	}
	for _, a := range o.Args {
		flag, _, _ := strings.Cut(a, "=")
		if slices.Contains(managedFlags, flag) {
			return nil, fmt.Errorf("envoyrun: args[%s]: set by Start itself; use the Options field instead", flag)
		}
	}
	bin := o.Binary
	if bin == "" {
		var err error
		if bin, err = Binary(); err != nil {
			return nil, err
		}
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 1
	}
	if o.LogLevel == "" {
		o.LogLevel = DefaultLogLevel
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = DefaultReadyTimeout
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = StopGrace
	}
	e := &Envoy{bin: bin, dir: o.Dir, stopGrace: o.StopTimeout, done: make(chan struct{})}
	if e.dir == "" {
		d, err := os.MkdirTemp("", "envoyrun-")
		if err != nil {
			return nil, fmt.Errorf("envoyrun: %w", err)
		}
		e.dir, e.ownDir = d, true
	}
	e.cfgPath = o.ConfigPath
	if o.ConfigYAML != nil {
		e.cfgPath = filepath.Join(e.dir, "envoy.yaml")
		if err := os.WriteFile(e.cfgPath, o.ConfigYAML, 0o600); err != nil {
			e.cleanup()
			return nil, fmt.Errorf("envoyrun: writing config: %w", err)
		}
	}
	e.logPath = o.LogPath
	if e.logPath == "" {
		e.logPath = filepath.Join(e.dir, "envoy.log")
	}
	logFile, err := os.Create(e.logPath)
	if err != nil {
		e.cleanup()
		return nil, fmt.Errorf("envoyrun: log file: %w", err)
	}
	addrFile := filepath.Join(e.dir, "admin.address")
	args := []string{
		"-c", e.cfgPath,
		"--concurrency", strconv.Itoa(o.Concurrency),
		// A random base id keeps this Envoy's hot-restart shared memory
		// apart from any other Envoy on the machine (tests, a user's own).
		"--base-id", strconv.Itoa(100_000 + rand.IntN(1_000_000_000)),
		"--log-level", o.LogLevel,
		// Envoy writes the admin address it bound here, so a config with
		// admin port 0 works and we never guess from the YAML.
		"--admin-address-path", addrFile,
	}
	e.cmd = exec.Command(bin, append(args, o.Args...)...)
	if len(o.Env) > 0 {
		e.cmd.Env = append(os.Environ(), o.Env...)
	}
	dieWithParent(e.cmd)
	e.cmd.Dir = e.dir
	e.cmd.Stdout, e.cmd.Stderr = logFile, logFile
	began := time.Now()
	if err := e.cmd.Start(); err != nil {
		_ = logFile.Close()
		e.cleanup()
		return nil, fmt.Errorf("envoyrun: starting %s: %w", bin, err)
	}
	go func() {
		e.exitErr = e.cmd.Wait()
		_ = logFile.Close()
		close(e.done)
	}()
	if err := e.waitReady(ctx, addrFile, o.ReadyTimeout); err != nil {
		tail := e.LogTail(40)
		_ = e.Stop()
		return nil, fmt.Errorf("envoyrun: %w\n--- envoy log, last lines ---\n%s", err, tail)
	}
	e.readyAfter = time.Since(began)
	return e, nil
}

func (e *Envoy) waitReady(ctx context.Context, addrFile string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-e.done:
			if e.exitErr == nil {
				return fmt.Errorf("%w before it was ready, with status 0", ErrExited)
			}
			return fmt.Errorf("%w before it was ready: %w", ErrExited, e.exitErr)
		case <-ctx.Done():
			return fmt.Errorf("envoy not ready after %v: %w", timeout, ctx.Err())
		case <-tick.C:
		}
		if e.admin == "" {
			b, err := os.ReadFile(addrFile)
			if err != nil || len(bytes.TrimSpace(b)) == 0 {
				continue
			}
			e.admin = "http://" + strings.TrimSpace(string(b))
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.admin+"/ready", nil)
		resp, err := client.Do(req)
		if err != nil {
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
	}
}

// AdminURL is the admin base URL, such as "http://127.0.0.1:9901".
func (e *Envoy) AdminURL() string { return e.admin }

// PID is the process id.
func (e *Envoy) PID() int { return e.cmd.Process.Pid }

// ReadyAfter is the time from exec to the first 200 from /ready: the cold
// start, including compiling and starting any wasm VMs.
func (e *Envoy) ReadyAfter() time.Duration { return e.readyAfter }

// LogPath is the file holding Envoy's output.
func (e *Envoy) LogPath() string { return e.logPath }

// ConfigPath is the bootstrap file Envoy runs.
func (e *Envoy) ConfigPath() string { return e.cfgPath }

// Version is `envoy --version` of the binary this Envoy runs.
func (e *Envoy) Version(ctx context.Context) (string, error) { return Version(ctx, e.bin) }

// Log returns the whole log.
func (e *Envoy) Log() string {
	b, err := os.ReadFile(e.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return string(b)
}

// LogTail returns the last n lines of the log.
func (e *Envoy) LogTail(n int) string {
	lines := strings.Split(strings.TrimRight(e.Log(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Exited reports whether the process has ended, and how.
func (e *Envoy) Exited() (bool, error) {
	select {
	case <-e.done:
		return true, e.exitErr
	default:
		return false, nil
	}
}

// Stats reads the admin /stats page ("name: value" lines) into a map.
// Histograms keep their summary text as the value.
func (e *Envoy) Stats(ctx context.Context) (map[string]string, error) {
	page, err := e.adminGet(ctx, "stats", "/stats")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(page))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ": ")
		if ok {
			out[name] = value
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("envoyrun: stats: %w", err)
	}
	return out, nil
}

// adminGet reads one admin page whole, in at most five seconds; what names
// the page in errors.
func (e *Envoy) adminGet(ctx context.Context, what, path string) ([]byte, error) {
	if e.admin == "" {
		return nil, fmt.Errorf("envoyrun: %s: admin address unknown", what)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.admin+path, nil)
	if err != nil {
		return nil, fmt.Errorf("envoyrun: %s: %w", what, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("envoyrun: %s: %w", what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("envoyrun: %s: admin answered %s", what, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("envoyrun: %s: %w", what, err)
	}
	return b, nil
}

// Listener is one listener as the admin /listeners page reports it.
type Listener struct {
	// Name is the listener's name in the configuration.
	Name string
	// Address is the host:port it is bound to: for a configuration with
	// port_value 0, the port the kernel chose.
	Address string
}

// Listeners reads the admin /listeners page, so a configuration can leave
// every listener port to the kernel (port_value 0) and the caller learn
// them after Start instead of racing other processes for a free port.
// A listener on a pipe or other non-TCP address is skipped.
func (e *Envoy) Listeners(ctx context.Context) ([]Listener, error) {
	b, err := e.adminGet(ctx, "listeners", "/listeners?format=json")
	if err != nil {
		return nil, err
	}
	var page struct {
		ListenerStatuses []struct {
			Name         string `json:"name"`
			LocalAddress struct {
				SocketAddress *struct {
					Address   string `json:"address"`
					PortValue int    `json:"port_value"`
				} `json:"socket_address"`
			} `json:"local_address"`
		} `json:"listener_statuses"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		return nil, fmt.Errorf("envoyrun: listeners: %w", err)
	}
	out := make([]Listener, 0, len(page.ListenerStatuses))
	for _, l := range page.ListenerStatuses {
		sa := l.LocalAddress.SocketAddress
		if sa == nil {
			continue
		}
		out = append(out, Listener{Name: l.Name, Address: net.JoinHostPort(sa.Address, strconv.Itoa(sa.PortValue))})
	}
	return out, nil
}

// RSS is the resident set size of the process in bytes.
func (e *Envoy) RSS() (int64, error) { return RSS(e.PID()) }

// RSS is the resident set size of process pid in bytes (VmRSS of
// /proc/<pid>/status).
func RSS(pid int) (int64, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, fmt.Errorf("envoyrun: rss[%d]: %w", pid, err)
	}
	st, err := p.NewStatus()
	if err != nil {
		return 0, fmt.Errorf("envoyrun: rss[%d]: %w", pid, err)
	}
	if st.VmRSS == 0 {
		// A kernel thread or a zombie has no VmRSS line; procfs leaves 0.
		return 0, fmt.Errorf("envoyrun: rss[%d]: no VmRSS in /proc status", pid)
	}
	return int64(st.VmRSS), nil
}

// Stop sends SIGTERM, waits up to Options.StopTimeout and then kills Envoy, and
// removes the private directory Start created. Calling it again returns
// the first result.
func (e *Envoy) Stop() error {
	e.stop.Do(func() {
		select {
		case <-e.done:
		default:
			_ = e.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-e.done:
			case <-time.After(e.stopGrace):
				_ = e.cmd.Process.Kill()
				<-e.done
				e.stopErr = fmt.Errorf("envoyrun: envoy did not exit %v after SIGTERM; killed it", e.stopGrace)
			}
		}
		e.cleanup()
	})
	return e.stopErr
}

// cleanup removes the private directory Start created, log included when
// it lives there: callers that want the log afterwards read it before Stop
// or set Options.LogPath.
func (e *Envoy) cleanup() {
	if e.ownDir {
		_ = os.RemoveAll(e.dir)
	}
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1. Another
// process may take it before it is used; callers that can should listen
// on port 0 themselves instead.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("envoyrun: free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// PortFree reports whether 127.0.0.1:port can be bound right now.
func PortFree(port int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}
