package envoyrun

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/procfs"
)

// helperDirEnv, when set, makes TestEnvoyDiesWithParent the helper
// process: it starts an Envoy in that directory and a plain sleep with
// the same parent-death setting, prints both pids and waits to be killed.
const helperDirEnv = "ENVOYRUN_HELPER_DIR"

// TestEnvoyDiesWithParent kills, with SIGKILL, a process that started an
// Envoy, so no Stop runs, and checks nothing it started outlives it. Some
// Envoy builds ask for a parent-death signal of their own, so Envoy alone
// would pass without dieWithParent; the sleep, which does not, is what
// shows dieWithParent works.
func TestEnvoyDiesWithParent(t *testing.T) {
	if dir := os.Getenv(helperDirEnv); dir != "" {
		runDeathHelper(dir)
		return
	}
	envoyOrSkip(t)
	helper := exec.Command(os.Args[0], "-test.run=^TestEnvoyDiesWithParent$")
	helper.Env = append(os.Environ(), helperDirEnv+"="+t.TempDir())
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = helper.Process.Kill()
		_ = helper.Wait()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the helper's output: %v", err)
	}
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "pids" {
		t.Fatalf("helper said %q, want \"pids <envoy> <sleep>\"", line)
	}
	procs := map[string]int{}
	for i, name := range []string{"envoy", "sleep"} {
		pid, err := strconv.Atoi(f[i+1])
		if err != nil {
			t.Fatal(err)
		}
		procs[name] = pid
		// Whatever happens below, leave nothing running.
		defer func() { _ = syscall.Kill(pid, syscall.SIGKILL) }()
		if !alive(pid) {
			t.Fatalf("%s %d is not running while its parent is", name, pid)
		}
	}
	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for name, pid := range procs {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("%s %d still runs 10s after its parent was killed", name, pid)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// runDeathHelper is the helper process of TestEnvoyDiesWithParent.
func runDeathHelper(dir string) {
	e, err := Start(context.Background(), Options{ConfigYAML: []byte(directResponse(0)), Dir: dir, LogLevel: "warn"})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	sleep := exec.Command("sleep", "120")
	dieWithParent(sleep)
	if err := sleep.Start(); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("pids", e.PID(), sleep.Process.Pid)
	// The parent kills this process long before; the bound keeps a parent
	// that failed to from leaving it behind for ever.
	time.Sleep(2 * time.Minute)
	_ = e.Stop()
	os.Exit(0)
}

// alive reports whether pid is a live process: a zombie counts as dead,
// since whoever inherits it may not reap it at once.
func alive(pid int) bool {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return false
	}
	st, err := p.Stat()
	if err != nil {
		return false
	}
	return st.State != "Z" && st.State != "X"
}
