//go:build wasip1

// Command probe is the guest of wasmexec's tests: each argument asks it to
// show one thing a test binary relies on.
package main

import (
	"fmt"
	"os"
	"strconv"
)

// hostCall is an import from a module other than WASI, as the proxy-wasm
// binding's are.
//
//go:wasmimport env probe_host_call
func hostCall(x uint32) uint32

func main() {
	args := os.Args[1:]
	for len(args) > 0 {
		verb := args[0]
		args = args[1:]
		switch verb {
		case "env": // env KEY: print the variable
			fmt.Printf("env %s=%s\n", args[0], os.Getenv(args[0]))
			args = args[1:]
		case "read": // read FILE: print a file, relative to the working directory
			b, err := os.ReadFile(args[0])
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
			fmt.Printf("read %s", b)
			args = args[1:]
		case "host": // host: call the import
			fmt.Println("host", hostCall(1))
		case "exit": // exit N
			n, _ := strconv.Atoi(args[0])
			os.Exit(n)
		default:
			fmt.Fprintf(os.Stderr, "unknown verb %q\n", verb)
			os.Exit(2)
		}
	}
}
