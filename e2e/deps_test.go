package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// module is this module's path.
const module = "github.com/authgate/authgate"

// depRule forbids packages under from (tests included) to depend, directly
// or not, on packages under any of forbid, except those under allow.
// Paths are relative to the module; "" is every package.
type depRule struct {
	why    string
	from   string
	forbid []string
	allow  []string
	// outside applies the rule to the packages not under from instead.
	outside bool
}

// depRules are the architecture's import rules (docs/design.md, "Import
// rules").
var depRules = []depRule{
	{why: "core is pure: it imports no embedding, example or test suite",
		from: "core", forbid: []string{"filter", "host", "examples", "e2e"}},
	{why: "the filter and the hosts meet only in filter/abi",
		from: "host", forbid: []string{"filter"}, allow: []string{"filter/abi"}},
	{why: "the filter and the hosts meet only in filter/abi",
		from: "filter", forbid: []string{"host"}},
	{why: "filter/abi is the leaf contract both sides import",
		from: "filter/abi", forbid: []string{""}, allow: []string{"filter/abi"}},
	{why: "the cross-VM protocol is the wasm filter's: the pipeline and the in-process embeddings know nothing of it",
		from: "filter", outside: true, forbid: []string{"core/crossvm"}},
	{why: "the cross-VM protocol is the wasm filter's: the pipeline and the in-process embeddings know nothing of it",
		from: "filter/module", forbid: []string{"core/crossvm"}},
	{why: "examples never import the test suite",
		from: "examples", forbid: []string{"e2e"}},
	{why: "nothing outside the test suite imports it",
		from: "e2e", outside: true, forbid: []string{"e2e"}},
}

// cgoPackages may hold cgo files: only the Envoy dynamic module, which has
// to be a cgo c-shared library. Everything else builds with CGO_ENABLED=0.
var cgoPackages = []string{"filter/module"}

// under reports whether package p (module-relative) is dir or below it.
func under(p, dir string) bool {
	return dir == "" || p == dir || strings.HasPrefix(p, dir+"/")
}

// pkgDeps is one package of `go list -deps -test` with its dependencies,
// both module-relative, outside packages left out.
type pkgDeps struct {
	pkg  string // as listed: "core/arn", "core/arn [core/arn.test]", "core/arn.test"
	deps []string
	cgo  []string // cgo files
}

// base is the package a listed one belongs to: a test variant or test
// binary counts as its package.
func (p pkgDeps) base() string {
	b, _, _ := strings.Cut(p.pkg, " ")
	b = strings.TrimSuffix(b, ".test")
	return strings.TrimSuffix(b, "_test")
}

// checkDeps returns every breach of rules and of the cgo rule in pkgs.
func checkDeps(pkgs []pkgDeps, rules []depRule, cgoAllowed []string) []string {
	var out []string
	for _, p := range pkgs {
		base := p.base()
		for _, r := range rules {
			if under(base, r.from) == r.outside {
				continue
			}
			for _, d := range p.deps {
				if d == base {
					continue
				}
				forbidden := slices.ContainsFunc(r.forbid, func(f string) bool { return under(d, f) })
				allowed := slices.ContainsFunc(r.allow, func(a string) bool { return under(d, a) })
				if forbidden && !allowed {
					out = append(out, fmt.Sprintf("%s depends on %s: %s", p.pkg, d, r.why))
				}
			}
		}
		if len(p.cgo) > 0 && !slices.Contains(cgoAllowed, base) {
			out = append(out, fmt.Sprintf("%s has cgo files %v: cgo is only for the Envoy dynamic module", p.pkg, p.cgo))
		}
	}
	return out
}

// listDeps runs `go list -deps -test` over the module, with cgo enabled so
// that cgo files are listed rather than left out by their build tag.
func listDeps(t *testing.T) []pkgDeps {
	t.Helper()
	cmd := exec.Command(goCommand(), "list", "-deps", "-test", "-f", "{{.ImportPath}}\t{{join .Deps \" \"}}\t{{join .CgoFiles \" \"}}", "./...")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	rel := func(p string) (string, bool) {
		p, _, _ = strings.Cut(p, " ")
		if p == module {
			return "", true
		}
		r, ok := strings.CutPrefix(p, module+"/")
		return r, ok
	}
	var pkgs []pkgDeps
	for line := range strings.Lines(string(out)) {
		f := strings.Split(strings.TrimRight(line, "\n"), "\t")
		if len(f) != 3 {
			t.Fatalf("go list printed %q", line)
		}
		if _, ok := rel(f[0]); !ok {
			continue
		}
		p := pkgDeps{pkg: strings.ReplaceAll(f[0], module+"/", ""), cgo: strings.Fields(f[2])}
		for _, d := range strings.Fields(f[1]) {
			if r, ok := rel(d); ok {
				p.deps = append(p.deps, r)
			}
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestDependencyRules checks the import rules over every package of the
// module, its tests included.
func TestDependencyRules(t *testing.T) {
	pkgs := listDeps(t)
	// The rules only mean something if go list saw every layer.
	for _, want := range []string{"core", "core/pipeline", "filter", "filter/abi", "host/wasm", "host/native", "examples/envoy/envoyrun", "e2e"} {
		if !slices.ContainsFunc(pkgs, func(p pkgDeps) bool { return p.pkg == want }) {
			t.Fatalf("go list did not list %s; it listed %d packages", want, len(pkgs))
		}
	}
	for _, v := range checkDeps(pkgs, depRules, cgoPackages) {
		t.Error(v)
	}
}

// TestCheckDeps checks the rule checker itself finds what it must.
func TestCheckDeps(t *testing.T) {
	tests := []struct {
		name string
		pkg  pkgDeps
		want int
	}{
		{"core on core", pkgDeps{pkg: "core/pipeline", deps: []string{"core/policy", "core/arn"}}, 0},
		{"core test on host", pkgDeps{pkg: "core/pipeline_test [core/pipeline.test]", deps: []string{"core/pipeline", "host/native"}}, 1},
		// Two rules keep core off e2e.
		{"core test binary on e2e and examples", pkgDeps{pkg: "core.test", deps: []string{"e2e/internal/echo", "examples/demo"}}, 3},
		{"host on filter/abi", pkgDeps{pkg: "host/wasm", deps: []string{"filter/abi", "core/config"}}, 0},
		{"host on the filter", pkgDeps{pkg: "host/wasm [host/wasm.test]", deps: []string{"filter/internal/plugin"}}, 1},
		{"filter on a host", pkgDeps{pkg: "filter/internal/plugin", deps: []string{"host/internal/envoyheaders"}}, 1},
		{"filter/abi on core", pkgDeps{pkg: "filter/abi", deps: []string{"core/config"}}, 1},
		{"examples on e2e", pkgDeps{pkg: "examples/demo", deps: []string{"e2e/internal/authz"}}, 2},
		{"examples on a host", pkgDeps{pkg: "examples/jwt-authorizer", deps: []string{"host/lambdahttp"}}, 0},
		{"e2e on everything", pkgDeps{pkg: "e2e.test", deps: []string{"e2e/internal/echo", "host/wasm", "examples/envoy/envoyrun", "core/config"}}, 0},
		{"a host on e2e", pkgDeps{pkg: "host/native", deps: []string{"e2e/internal/authz"}}, 1},
		{"cgo outside the module package", pkgDeps{pkg: "host/native", cgo: []string{"x.go"}}, 1},
		{"cgo in the module package", pkgDeps{pkg: "filter/module", cgo: []string{"x.go"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkDeps([]pkgDeps{tt.pkg}, depRules, []string{"filter/module"}); len(got) != tt.want {
				t.Errorf("%d breaches %q, want %d", len(got), got, tt.want)
			}
		})
	}
}
