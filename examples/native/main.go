// Command native puts authgate in front of a Go handler without Envoy or
// wasm: the host/native middleware asks the authorizer, evaluates its
// policy and lets only allowed requests reach the handler, which reads the
// principal from x-authorizer-principal-id.
//
//	go run ./examples/native --config examples/envoy/authgate.json --authorizer http://127.0.0.1:9001
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/authgate/authgate/core/config"
	"github.com/authgate/authgate/host/native"
)

func main() {
	configFile := flag.String("config", "examples/envoy/authgate.json", "the plugin configuration (JSON)")
	authorizer := flag.String("authorizer", "http://127.0.0.1:9001", "base URL of the cluster the configuration calls \"authorizer\"")
	listen := flag.String("listen", "127.0.0.1:8080", "address to listen on")
	flag.Parse()

	raw, err := os.ReadFile(*configFile)
	if err != nil {
		log.Fatal(err)
	}
	h, err := newHandler(raw, *authorizer, hello)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on http://%s", *listen)
	log.Fatal(http.ListenAndServe(*listen, h))
}

// newHandler validates the configuration once and wraps app in the
// middleware; every authorizer's cluster needs a URL.
func newHandler(configJSON []byte, authorizerURL string, app http.HandlerFunc) (http.Handler, error) {
	plan, err := config.Parse(configJSON)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	mw, err := native.New(plan, native.Options{
		Clusters: map[string]string{"authorizer": authorizerURL},
	})
	if err != nil {
		return nil, err
	}
	return mw.Handler(app), nil
}

// hello is the application: it runs only for allowed requests.
func hello(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "hello %s, you may %s %s\n", r.Header.Get("X-Authorizer-Principal-Id"), r.Method, r.URL.Path)
}
