package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// cliGateway is `authgate serve` with one of its engines, as a user runs
// it: the product's flags, configuration loading, signing client and
// reverse proxy, in a process of its own, in front of the engine the
// native and wasm hosts run in process. What serve adds on its way to the
// upstream (query clean-up, absolute-form targets) is only seen here.
type cliGateway struct {
	engine string
	// groups, when set, are the only groups of the table it runs.
	groups []string
}

// runs reports whether the gateway runs the table's group.
func (g cliGateway) runs(group string) bool {
	return g.groups == nil || slices.Contains(g.groups, group)
}

func (g cliGateway) name() string { return "serve-" + g.engine }

// vms is the wasm engine's pool, which the gateway sets like the wasm
// host's.
func (g cliGateway) vms() int {
	if g.engine == "wasm" {
		return wasmPool
	}
	return 1
}

// unavailable is never set: without AUTHGATE_CLI the suite builds the CLI,
// and a build that fails is a failure.
func (cliGateway) unavailable() string { return "" }
func (cliGateway) required() bool      { return true }

// serveReadyTimeout bounds waiting for one authgate serve to listen (the
// wasm engine compiles the filter first); several starting together get
// that much each.
const serveReadyTimeout = 2 * time.Minute

func (g cliGateway) start(t *testing.T, s spec) (*instance, error) {
	bin, err := cliFile()
	if err != nil {
		return nil, err
	}
	var filter string
	if g.engine == "wasm" {
		// The filter under test, not the one the CLI embedded.
		if filter, err = filterFile(); err != nil {
			return nil, err
		}
	}
	dir := t.TempDir()
	inst := &instance{bases: make([]string, len(s.cfgs))}
	errs := make([]error, len(s.cfgs))
	var wg sync.WaitGroup
	for i, cfg := range s.cfgs {
		file := filepath.Join(dir, fmt.Sprintf("config%d.json", i))
		if err := os.WriteFile(file, cfg, 0o600); err != nil {
			return nil, err
		}
		args := []string{"serve", "--config", file, "--listen", "127.0.0.1:0", "--upstream", s.env.up.URL, "--engine", g.engine}
		names := make([]string, 0, len(s.env.clusters))
		for name := range s.env.clusters {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			args = append(args, "--cluster", name+"="+s.env.clusters[name])
		}
		if filter != "" {
			args = append(args, "--filter", filter, "--pool", fmt.Sprint(wasmPool))
		}
		label := g.name() + " for " + s.label(i)
		timeout := time.Duration(max(s.together, 1)*len(s.cfgs)) * serveReadyTimeout
		wg.Go(func() { inst.bases[i], errs[i] = runServe(t, label, bin, args, s.procEnv, timeout) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return inst, nil
}

// runServe starts authgate with args and returns the base URL it listens
// on, once it says so. The process is stopped (SIGINT, then SIGKILL after
// shutdownWait) when t ends; its log is printed if t failed.
func runServe(t *testing.T, label, bin string, args, env []string, timeout time.Duration) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	logs := &syncBuffer{}
	listening := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logs, line)
			if _, rest, ok := strings.Cut(line, "listening on http://"); ok {
				addr, _, _ := strings.Cut(rest, ",")
				select {
				case listening <- "http://" + addr:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		const shutdownWait = 15 * time.Second
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { <-scanned; _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(shutdownWait):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("%s did not stop within %v of SIGINT", label, shutdownWait)
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", label, logs.String())
		}
	})
	select {
	case base := <-listening:
		return base, nil
	case <-scanned:
		return "", fmt.Errorf("%s exited before listening:\n%s", label, logs.String())
	case <-time.After(timeout):
		return "", fmt.Errorf("%s did not listen within %v:\n%s", label, timeout, logs.String())
	}
}

// The CLI is built at most once per test binary when AUTHGATE_CLI is not
// set.
var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

// cliFile returns the authgate executable: $AUTHGATE_CLI, or a fresh build
// of ./host/cmd/authgate (its wasm engine gets the suite's filter with
// --filter, so no filter needs embedding).
func cliFile() (string, error) {
	cliOnce.Do(func() {
		if p := os.Getenv("AUTHGATE_CLI"); p != "" {
			cliPath, cliErr = filepath.Abs(p)
			return
		}
		cliPath, cliErr = goBuild("./host/cmd/authgate", "authgate", "AUTHGATE_CLI", []string{"CGO_ENABLED=0"}, "-trimpath")
	})
	return cliPath, cliErr
}
