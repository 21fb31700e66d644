package e2e

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestMakeHelp: `make help` lists every target the Makefile declares
// phony (all, the default, aside), each with a summary.
func TestMakeHelp(t *testing.T) {
	makefile, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\.PHONY:(.*)$`).FindSubmatch(makefile)
	if m == nil {
		t.Fatal("the Makefile declares no .PHONY targets")
	}
	mk, err := exec.LookPath("make")
	if err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(mk, "-s", "help")
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make help: %v\n%s", err, out)
	}
	listed := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(line, "  ") {
			listed[f[0]] = strings.Join(f[1:], " ")
		}
	}
	for _, target := range strings.Fields(string(m[1])) {
		if target == "all" {
			continue
		}
		if len(listed[target]) < 10 {
			t.Errorf("make help does not describe %s:\n%s", target, out)
		}
	}
}
