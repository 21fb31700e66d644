package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/examples/envoy/envoyrun"
)

// envoyWorkers is the --concurrency of the Envoys the table runs: two
// workers, so two wasm VMs, which is what the cache and coalescing rows
// must cope with.
const envoyWorkers = 2

// Bounds on waiting for one Envoy; several starting together get that
// much each.
const (
	envoyReadyTimeout = 2 * time.Minute
	envoyStopTimeout  = 10 * time.Second
)

// envoyGateway is authgate in a real Envoy, started from one of the
// example bootstraps under examples/envoy with the example's addresses,
// code file and (unless the spec keeps it) plugin configuration replaced,
// so the examples cannot rot. One Envoy serves every configuration of a
// start, each on a listener of its own with a filter of its own (its own
// VMs, shared data and cache): Envoy's start costs the same for one
// listener or several, since it compiles the filter once per process.
type envoyGateway struct {
	host    string
	example string // file under examples/envoy
	// code finds the file the filter's code is loaded from.
	code    func() (string, error)
	workers int
	// oneEngine says every worker shares one engine (one cache, one
	// in-flight call table), as a dynamic module does: concurrent misses
	// coalesce across workers.
	oneEngine bool
	// module names the dynamic module a module host runs ("" for the
	// wasm filter). Its own example loads it; in a wasm example a spec
	// names, it takes the wasm filter's place (Bootstrap.UseModule).
	module string
}

// wasmEnvoy is build/authgate.wasm in Envoy's V8, with workers worker
// threads (0: envoyWorkers, and the plain name "envoy").
func wasmEnvoy(workers int) *envoyGateway {
	name := "envoy"
	if workers == 0 {
		workers = envoyWorkers
	} else {
		name = fmt.Sprintf("envoy-c%d", workers)
	}
	return &envoyGateway{host: name, example: "envoy.yaml", code: filterFile, workers: workers}
}

func (g *envoyGateway) name() string { return g.host }

func (g *envoyGateway) vms() int {
	if g.oneEngine {
		return 1
	}
	return g.workers
}

// stats says where this Envoy shows authgate's metrics.
func (g *envoyGateway) stats() statNaming {
	if g.module != "" || g.example == "envoy-module.yaml" {
		return moduleStats
	}
	return wasmStats
}

func (g *envoyGateway) examplePath() string {
	return filepath.Join("..", "examples", "envoy", g.example)
}

// unavailable names what this machine lacks: Envoy, the example, or what
// the code file takes (the module needs a C toolchain for cgo).
func (g *envoyGateway) unavailable() string {
	if _, err := envoyrun.Binary(); err != nil {
		return err.Error()
	}
	if _, err := os.Stat(g.examplePath()); err != nil {
		return err.Error()
	}
	if _, err := g.code(); err != nil {
		return err.Error()
	}
	return ""
}

func (g *envoyGateway) required() bool { return envoyrun.Required() }

func (g *envoyGateway) start(t *testing.T, s spec) (*instance, error) {
	e, _, err := g.launch(t, s)
	if err != nil {
		return nil, err
	}
	bases, err := listenerBases(t, e, len(s.cfgs))
	if err != nil {
		return nil, err
	}
	t.Logf("%s ready after %v, listening on %v", g.host, e.ReadyAfter().Round(time.Millisecond), bases)
	return &instance{bases: bases, envoy: e}, nil
}

// launch starts an Envoy as s describes and waits until it is ready; it
// also returns the path of its log, which outlives the process. An Envoy
// that quits before it is ready gives an error wrapping envoyrun.ErrExited
// and the process's *exec.ExitError. Envoy is stopped when t ends, and t
// fails if it had to be killed; when t ends failed, the bootstrap and the
// whole log are printed.
func (g *envoyGateway) launch(t *testing.T, s spec) (*envoyrun.Envoy, string, error) {
	bin, err := envoyrun.Binary()
	if err != nil {
		return nil, "", err
	}
	logEnvoyVersion(t, bin)
	code, err := g.code()
	if err != nil {
		return nil, "", err
	}
	example, module := g.examplePath(), ""
	if s.envoyExample != "" {
		example, module = filepath.Join("..", "examples", "envoy", s.envoyExample), g.module
	}
	yml, codeEnv, err := renderBootstrap(example, code, module, s)
	if err != nil {
		return nil, "", err
	}
	dir := t.TempDir()
	logPath := filepath.Join(dir, "envoy.log")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s bootstrap:\n%s", g.host, yml)
			t.Logf("%s log:\n%s", g.host, readLog(logPath))
		}
	})
	e, err := envoyrun.Start(t.Context(), envoyrun.Options{
		ConfigYAML:   yml,
		Binary:       bin,
		Env:          append(codeEnv, s.procEnv...),
		Dir:          dir,
		LogPath:      logPath,
		Concurrency:  g.workers,
		ReadyTimeout: time.Duration(max(s.together, 1)) * envoyReadyTimeout,
		StopTimeout:  envoyStopTimeout,
		Args:         s.envoyArgs,
	})
	if err != nil {
		return nil, logPath, err
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Errorf("stopping %s: %v", g.host, err)
		}
	})
	return e, logPath, nil
}

// renderBootstrap turns an example bootstrap into the one a start runs:
// a listener per configuration of s (the example's, then copies named
// gateway1, gateway2, ...) and the admin on 127.0.0.1 port 0 (the kernel
// picks; the suite asks Envoy), the dynamic module in place of the wasm
// filter when module names one, the code file replaced, each plugin
// configuration replaced unless s keeps it, and every cluster of s.env
// pointed at its server (a cluster the example lacks is a copy of its
// authorizer's).
func renderBootstrap(example, code, module string, s spec) ([]byte, []string, error) {
	b, err := envoyrun.ReadBootstrap(example)
	if err != nil {
		return nil, nil, err
	}
	if module != "" {
		if err := b.UseModule(module); err != nil {
			return nil, nil, err
		}
	}
	gws := []*envoyrun.Gateway{b.Main()}
	for i := 1; i < len(s.cfgs); i++ {
		g, err := b.AddGateway(fmt.Sprintf("gateway%d", i))
		if err != nil {
			return nil, nil, err
		}
		gws = append(gws, g)
	}
	for i, g := range gws {
		g.SetAddress("127.0.0.1", 0)
		if s.cfgs[i] != nil {
			if err := g.SetPluginConfig(s.cfgs[i]); err != nil {
				return nil, nil, err
			}
		}
	}
	b.SetAdmin("127.0.0.1", 0)
	if err := b.SetCluster("upstream", hostPort(s.env.up.URL)); err != nil {
		return nil, nil, err
	}
	names := make([]string, 0, len(s.env.clusters))
	for name := range s.env.clusters {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		hp := hostPort(s.env.clusters[name])
		if _, err := b.Cluster(name); err == nil {
			err = b.SetCluster(name, hp)
		} else {
			err = b.AddCluster(name, clusterAuthorizer, hp)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	codeEnv, err := b.SetCode(code)
	if err != nil {
		return nil, nil, err
	}
	yml, err := b.Marshal()
	return yml, codeEnv, err
}

var envoyVersionOnce sync.Once

// logEnvoyVersion logs, once per run, which Envoy runs.
func logEnvoyVersion(t *testing.T, bin string) {
	envoyVersionOnce.Do(func() {
		v, err := envoyrun.Version(t.Context(), bin)
		if err != nil {
			v = err.Error()
		}
		t.Logf("envoy: %s (%s)", bin, v)
	})
}

// listenerBases reads back the ports the kernel gave the n gateway
// listeners, in the order renderBootstrap made them.
func listenerBases(t *testing.T, e *envoyrun.Envoy, n int) ([]string, error) {
	ls, err := e.Listeners(t.Context())
	if err != nil {
		return nil, err
	}
	if len(ls) != n {
		return nil, fmt.Errorf("admin /listeners: want %d listeners, got %+v", n, ls)
	}
	byName := make(map[string]string, n)
	for _, l := range ls {
		host, port, err := net.SplitHostPort(l.Address)
		if err != nil {
			return nil, fmt.Errorf("admin /listeners[%s]: %w", l.Name, err)
		}
		if host != "127.0.0.1" || port == "0" {
			return nil, fmt.Errorf("admin /listeners[%s]: listener on %s, want 127.0.0.1 and a port", l.Name, l.Address)
		}
		byName[l.Name] = "http://" + l.Address
	}
	bases := make([]string, n)
	for i := range bases {
		name := "gateway"
		if i > 0 {
			name = fmt.Sprintf("gateway%d", i)
		}
		if bases[i] = byName[name]; bases[i] == "" {
			return nil, fmt.Errorf("admin /listeners: no listener %q in %+v", name, ls)
		}
	}
	return bases, nil
}

// readLog returns the log at path, or why there is none.
func readLog(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return string(b)
}

// hostPort returns "127.0.0.1:1234" from "http://127.0.0.1:1234".
func hostPort(baseURL string) string {
	return strings.TrimPrefix(strings.TrimPrefix(baseURL, "http://"), "https://")
}
