//go:build unix

package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDemo runs the demo as make demo does, as a program of its own in
// its own process group: every check passes and is shown as a curl -i
// command and its answer, and a Ctrl-C (SIGINT to the group, as a
// terminal sends it) ends it with exit status 0 and Envoy stopped.
func TestDemo(t *testing.T) {
	wasm := needs(t)
	bin := filepath.Join(t.TempDir(), "demo")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const secret = "0123456789abcdef0123456789abcdef-demo-test"
	cmd := exec.Command(bin, "--free-ports", "--wasm", wasm, "--ready-timeout", testReadyTimeout.String())
	cmd.Env = append(os.Environ(), SecretVar+"="+secret)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	var out bytes.Buffer
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if !signalled && strings.HasPrefix(sc.Text(), "Press Ctrl-C") {
				signalled = true
				close(ready)
			}
		}
		exited <- cmd.Wait()
	}()
	timeout := time.AfterFunc(testReadyTimeout+time.Minute, func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	defer timeout.Stop()
	select {
	case <-ready:
		err = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	case err = <-exited:
		t.Fatalf("demo exited with %v before it was ready\nstdout:\n%s\nstderr:\n%s", err, out.String(), stderr.String())
	}
	if err != nil {
		t.Fatalf("SIGINT: %v", err)
	}
	if err := <-exited; err != nil {
		t.Fatalf("demo exited with %v after Ctrl-C, want status 0\nstdout:\n%s\nstderr:\n%s", err, out.String(), stderr.String())
	}
	text := out.String()
	if got := strings.Count(text, "   PASS  "); got != len(checks) {
		t.Errorf("%d PASS lines, want %d:\n%s", got, len(checks), text)
	}
	for _, want := range []string{
		"PASS: 6 of 6 checks passed",
		"export JWT_SECRET=" + secret + "\n",
		"export ADMIN_TOKEN=ey",
		"export USER_TOKEN=ey",
		"export BOB_TOKEN=$(go run ./examples/jwt-authorizer mint --sub bob --ttl 1h)",
		`$ curl -i -X DELETE -H "Authorization: Bearer $ADMIN_TOKEN" $GW/users/bob`,
		"   HTTP/1.1 200 OK\n",
		"   echo-x-authorizer-principal-id: alice\n",
		`"x-authorizer-principal-id":"alice"`,
		"   HTTP/1.1 403 Forbidden\n",
		"   x-amzn-errortype: AccessDeniedException\n",
		`   {"Message":"User is not authorized to access this resource"}`,
		"stopping Envoy, the authorizer and the upstream",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	// --free-ports must keep the demo off the example's fixed ports, so
	// the test runs next to a demo a developer left running.
	for _, fixed := range []string{":8080", ":9000", ":9001", ":9901"} {
		if strings.Contains(text, "127.0.0.1"+fixed+"\n") || strings.Contains(text, "127.0.0.1"+fixed+" ") {
			t.Errorf("output mentions fixed port %s with --free-ports:\n%s", fixed, text)
		}
	}
}
