// Package core_test enforces the rules that keep core/ pure: only the
// standard library and gjson, no I/O, no clock, no goroutines, and a build
// for wasip1 so the filter can carry it.
package core_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// allowedStd lists the standard packages core may import. Anything that can
// reach the outside world (os, net, syscall, net/http, ...) is absent.
var allowedStd = map[string]bool{
	"bytes": true, "encoding/binary": true, "encoding/json": true, "errors": true,
	"fmt": true, "math": true, "net/netip": true, "net/url": true, "regexp": true,
	"slices": true, "sort": true, "strconv": true, "strings": true, "sync": true,
	"time": true, "unicode": true, "unicode/utf8": true, "unicode/utf16": true,
	"maps": true, "iter": true, "cmp": true, "hash/fnv": true, "hash/maphash": true,
	"crypto/sha256": true, "encoding/hex": true, "encoding/base64": true, "math/bits": true,
	"sync/atomic": true,
}

func coreFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no core sources found")
	}
	return files
}

func TestCoreImportsAndCalls(t *testing.T) {
	fset := token.NewFileSet()
	for _, path := range coreFiles(t) {
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		timeName := ""
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			switch {
			case strings.HasPrefix(p, "github.com/authgate/authgate/core/"):
			case p == "github.com/tidwall/gjson":
			case allowedStd[p]:
			default:
				t.Errorf("%s imports %q: core may import only the standard library's pure packages and gjson", path, p)
			}
			if p == "time" {
				timeName = "time"
				if imp.Name != nil {
					timeName = imp.Name.Name
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: go statement: core starts no goroutines", fset.Position(n.Pos()))
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && timeName != "" && id.Name == timeName {
					switch n.Sel.Name {
					case "Now", "Since", "Until", "Sleep", "After", "AfterFunc", "NewTimer", "NewTicker", "Tick":
						t.Errorf("%s: time.%s: core reads no clock; time is passed in", fset.Position(n.Pos()), n.Sel.Name)
					}
				}
			}
			return true
		})
	}
}

func TestCoreBuildsForWasip1(t *testing.T) {
	if testing.Short() {
		t.Skip("builds for wasip1")
	}
	if runtime.GOOS == "wasip1" {
		t.Skip("wasip1 starts no process; these very tests running there show core builds for it")
	}
	cmd := exec.Command("go", "build", "./...")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("core does not build for wasip1: %v\n%s", err, out)
	}
}
