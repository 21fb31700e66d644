package envoyrun

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FilterKind says how a bootstrap loads authgate into Envoy.
type FilterKind int

const (
	// WasmFilter is envoy.filters.http.wasm running build/authgate.wasm
	// (examples/envoy/envoy.yaml).
	WasmFilter FilterKind = iota + 1
	// ModuleFilter is envoy.filters.http.dynamic_modules loading
	// build/libauthgate.so (examples/envoy/envoy-module.yaml).
	ModuleFilter
)

func (k FilterKind) String() string {
	switch k {
	case WasmFilter:
		return wasmFilterName
	case ModuleFilter:
		return moduleFilterName
	}
	return "no authgate filter"
}

// Names and types the examples are written with. A bootstrap that lacks one
// where it is expected is refused by ParseBootstrap, so a change to an
// example that the programs running it cannot follow fails loudly instead
// of running something else.
const (
	hcmName          = "envoy.filters.network.http_connection_manager"
	wasmFilterName   = "envoy.filters.http.wasm"
	moduleFilterName = "envoy.filters.http.dynamic_modules"
	routerName       = "envoy.filters.http.router"
	stringValueType  = "type.googleapis.com/google.protobuf.StringValue"
	// ModuleSearchPathVar is where Envoy looks for lib<name>.so when a
	// dynamic module is configured by name only.
	ModuleSearchPathVar = "ENVOY_DYNAMIC_MODULES_SEARCH_PATH"
)

// Bootstrap is an Envoy bootstrap configuration shaped like the examples
// under examples/envoy: one listener whose HTTP connection manager runs
// authgate (the wasm filter or the dynamic module) before the router, STATIC
// clusters with one endpoint each, and an admin listener. It is edited as a
// YAML structure, never as text, and written back with Marshal.
//
// The demo, the bench and the e2e suite run the example files through it, so
// what they test is the file users copy.
type Bootstrap struct {
	root     map[string]any
	listener map[string]any
	filters  []any          // the connection manager's http_filters
	hcm      map[string]any // its typed_config, which holds filters
	at       int            // index of the authgate entry in filters; -1 once removed
	kind     FilterKind
	plugin   map[string]any // the StringValue holding the plugin configuration
	code     map[string]any // the map whose "filename" is the code file; nil for a module found by name
	module   string         // the dynamic module's name
	clusters []any
	admin    map[string]any
}

// ReadBootstrap parses the bootstrap file at path.
func ReadBootstrap(path string) (*Bootstrap, error) {
	doc, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("envoyrun: %w", err)
	}
	b, err := parseBootstrap(doc)
	if err != nil {
		return nil, fmt.Errorf("envoyrun: bootstrap[%s]: %w", path, err)
	}
	return b, nil
}

// ParseBootstrap parses a bootstrap and checks it has the examples' shape:
// exactly one listener, an HTTP connection manager whose http_filters hold
// exactly one authgate entry before the router, whose plugin configuration
// is a google.protobuf.StringValue, clusters for every route, and an admin
// socket address.
func ParseBootstrap(doc []byte) (*Bootstrap, error) {
	b, err := parseBootstrap(doc)
	if err != nil {
		return nil, fmt.Errorf("envoyrun: bootstrap: %w", err)
	}
	return b, nil
}

func parseBootstrap(doc []byte) (*Bootstrap, error) {
	var root map[string]any
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, err
	}
	b := &Bootstrap{root: root, at: -1}
	sr, err := mapAt(root, "static_resources")
	if err != nil {
		return nil, err
	}
	listeners, err := listAt(sr, "listeners")
	if err != nil {
		return nil, err
	}
	if len(listeners) != 1 {
		return nil, fmt.Errorf("static_resources.listeners: want one listener, got %d", len(listeners))
	}
	if b.listener, err = mapAt(listeners[0]); err != nil {
		return nil, fmt.Errorf("static_resources.listeners[0]: %w", err)
	}
	if _, err := socketAddress(b.listener, "static_resources.listeners[0]"); err != nil {
		return nil, err
	}
	if err := b.findConnectionManager(); err != nil {
		return nil, err
	}
	if err := b.findFilter(); err != nil {
		return nil, err
	}
	if b.clusters, err = listAt(sr, "clusters"); err != nil {
		return nil, err
	}
	if err := b.checkRoutes(); err != nil {
		return nil, err
	}
	if b.admin, err = mapAt(root, "admin"); err != nil {
		return nil, err
	}
	if _, err := socketAddress(b.admin, "admin"); err != nil {
		return nil, err
	}
	return b, nil
}

// findConnectionManager finds the listener's HTTP connection manager.
func (b *Bootstrap) findConnectionManager() error {
	chains, err := listAt(b.listener, "filter_chains")
	if err != nil {
		return err
	}
	for i, ch := range chains {
		filters, err := listAt(ch, "filters")
		if err != nil {
			return fmt.Errorf("filter_chains[%d]: %w", i, err)
		}
		if m := byName(filters, hcmName); m != nil {
			if b.hcm, err = mapAt(m, "typed_config"); err != nil {
				return fmt.Errorf("%s: %w", hcmName, err)
			}
			b.filters, err = listAt(b.hcm, "http_filters")
			return err
		}
	}
	return fmt.Errorf("listener: no %s", hcmName)
}

// findFilter finds the one authgate entry of http_filters and what Set*
// will change in it.
func (b *Bootstrap) findFilter() error {
	router := -1
	for i, f := range b.filters {
		m, _ := f.(map[string]any)
		switch m["name"] {
		case wasmFilterName, moduleFilterName:
			if b.at >= 0 {
				return errors.New("http_filters: more than one authgate filter")
			}
			b.at = i
		case routerName:
			router = i
		}
	}
	if b.at < 0 || router < b.at {
		return fmt.Errorf("http_filters: want %s or %s before %s, got positions %d and %d",
			wasmFilterName, moduleFilterName, routerName, b.at, router)
	}
	entry := b.filters[b.at].(map[string]any)
	var err error
	if entry["name"] == wasmFilterName {
		b.kind = WasmFilter
		if b.plugin, err = mapAt(entry, "typed_config", "config", "configuration"); err != nil {
			return err
		}
		if b.code, err = mapAt(entry, "typed_config", "config", "vm_config", "code", "local"); err != nil {
			return err
		}
		if _, ok := b.code["filename"].(string); !ok {
			return fmt.Errorf("%s: vm_config.code.local.filename is not a string", wasmFilterName)
		}
	} else {
		b.kind = ModuleFilter
		if b.plugin, err = mapAt(entry, "typed_config", "filter_config"); err != nil {
			return err
		}
		dm, err := mapAt(entry, "typed_config", "dynamic_module_config")
		if err != nil {
			return err
		}
		if b.module, _ = dm["name"].(string); b.module == "" {
			return fmt.Errorf("%s: dynamic_module_config.name is not a string", moduleFilterName)
		}
		// A module given as a file (module.local.filename) is loaded from
		// there; one given by name only is searched for.
		if local, err := mapAt(dm, "module", "local"); err == nil {
			if _, ok := local["filename"].(string); !ok {
				return fmt.Errorf("%s: dynamic_module_config.module.local.filename is not a string", moduleFilterName)
			}
			b.code = local
		}
	}
	if b.plugin["@type"] != stringValueType {
		return fmt.Errorf("%s: plugin configuration @type = %v, want %s", b.kind, b.plugin["@type"], stringValueType)
	}
	if _, ok := b.plugin["value"].(string); !ok {
		return fmt.Errorf("%s: plugin configuration value is not a string", b.kind)
	}
	return nil
}

// checkRoutes checks every cluster a route sends to exists, so renaming
// one in the example cannot leave requests going where nobody points them.
func (b *Bootstrap) checkRoutes() error {
	rc, err := mapAt(b.hcm, "route_config")
	if err != nil {
		return err
	}
	vhosts, err := listAt(rc, "virtual_hosts")
	if err != nil {
		return err
	}
	for i, vh := range vhosts {
		routes, err := listAt(vh, "routes")
		if err != nil {
			return fmt.Errorf("virtual_hosts[%d]: %w", i, err)
		}
		for j, r := range routes {
			m, _ := r.(map[string]any)
			route, _ := m["route"].(map[string]any)
			name, ok := route["cluster"].(string)
			if !ok {
				continue // direct responses, redirects
			}
			if byName(b.clusters, name) == nil {
				return fmt.Errorf("virtual_hosts[%d].routes[%d]: cluster %q is not defined", i, j, name)
			}
		}
	}
	return nil
}

// Kind says how this bootstrap loads authgate; zero once ReplaceFilter
// removed or replaced it.
func (b *Bootstrap) Kind() FilterKind { return b.kind }

// Listener returns the listener's host:port.
func (b *Bootstrap) Listener() string { return mustSocket(b.listener) }

// SetListener binds the listener to host:port; port 0 lets the kernel
// choose (Envoy.Listeners reports it).
func (b *Bootstrap) SetListener(host string, port int) { setSocket(b.listener, host, port) }

// Admin returns the admin listener's host:port.
func (b *Bootstrap) Admin() string { return mustSocket(b.admin) }

// SetAdmin binds the admin listener; port 0 lets the kernel choose (Start
// reads it back through --admin-address-path).
func (b *Bootstrap) SetAdmin(host string, port int) { setSocket(b.admin, host, port) }

// Cluster returns the host:port of the named cluster's one endpoint.
func (b *Bootstrap) Cluster(name string) (string, error) {
	c := byName(b.clusters, name)
	if c == nil {
		return "", fmt.Errorf("envoyrun: bootstrap: no cluster %q", name)
	}
	ep, err := endpoint(c, name)
	if err != nil {
		return "", fmt.Errorf("envoyrun: bootstrap: %w", err)
	}
	return mustSocket(ep), nil
}

// SetCluster points the named cluster, which must exist, at hostport.
func (b *Bootstrap) SetCluster(name, hostport string) error {
	c := byName(b.clusters, name)
	if c == nil {
		return fmt.Errorf("envoyrun: bootstrap: no cluster %q", name)
	}
	if err := pointCluster(c, name, hostport); err != nil {
		return fmt.Errorf("envoyrun: bootstrap: %w", err)
	}
	return nil
}

// AddCluster adds a cluster named name, a copy of cluster like pointed at
// hostport; a plugin configuration may name clusters the example lacks.
func (b *Bootstrap) AddCluster(name, like, hostport string) error {
	if byName(b.clusters, name) != nil {
		return fmt.Errorf("envoyrun: bootstrap: cluster %q exists", name)
	}
	tmpl := byName(b.clusters, like)
	if tmpl == nil {
		return fmt.Errorf("envoyrun: bootstrap: no cluster %q to copy for %q", like, name)
	}
	c, err := deepCopy(tmpl)
	if err != nil {
		return fmt.Errorf("envoyrun: bootstrap: %w", err)
	}
	c["name"] = name
	if err := pointCluster(c, name, hostport); err != nil {
		return fmt.Errorf("envoyrun: bootstrap: %w", err)
	}
	b.clusters = append(b.clusters, c)
	b.root["static_resources"].(map[string]any)["clusters"] = b.clusters
	return nil
}

// Code returns the file the filter's code is loaded from, as written; ""
// for a dynamic module found by name on ENVOY_DYNAMIC_MODULES_SEARCH_PATH.
func (b *Bootstrap) Code() string {
	if b.code == nil {
		return ""
	}
	return b.code["filename"].(string)
}

// SetCode makes Envoy load the filter's code from file (an absolute path:
// Envoy resolves relative ones against its working directory). A dynamic
// module configured by name is found through ENVOY_DYNAMIC_MODULES_SEARCH_PATH
// instead, so file must then be lib<name>.so; the returned environment
// (for Options.Env) points Envoy at its directory.
func (b *Bootstrap) SetCode(file string) (env []string, err error) {
	switch {
	case b.kind == 0:
		return nil, errors.New("envoyrun: bootstrap: no authgate filter to set the code of")
	case b.code != nil:
		b.code["filename"] = file
		return nil, nil
	}
	if want := "lib" + b.module + ".so"; filepath.Base(file) != want {
		return nil, fmt.Errorf("envoyrun: bootstrap: dynamic module %q is found by name: the file must be called %s, not %s", b.module, want, filepath.Base(file))
	}
	return []string{ModuleSearchPathVar + "=" + filepath.Dir(file)}, nil
}

// PluginConfig returns the plugin configuration JSON the bootstrap carries;
// nil once ReplaceFilter removed or replaced the filter.
func (b *Bootstrap) PluginConfig() []byte {
	if b.kind == 0 {
		return nil
	}
	return []byte(b.plugin["value"].(string))
}

// SetPluginConfig replaces the plugin configuration JSON.
func (b *Bootstrap) SetPluginConfig(doc []byte) error {
	if b.kind == 0 {
		return errors.New("envoyrun: bootstrap: no authgate filter to configure")
	}
	b.plugin["value"] = string(doc)
	return nil
}

// FilterConfig returns the typed_config of the authgate entry, for callers
// that inspect settings Bootstrap has no method for; nil once ReplaceFilter
// removed or replaced the entry. Changes to it change the bootstrap.
func (b *Bootstrap) FilterConfig() map[string]any {
	if b.kind == 0 {
		return nil
	}
	m, _ := b.filters[b.at].(map[string]any)["typed_config"].(map[string]any)
	return m
}

// ReplaceFilter puts entry, one http_filters item as YAML (a mapping with a
// name), where the authgate filter is, or removes the authgate filter when
// entry is empty. The router stays.
func (b *Bootstrap) ReplaceFilter(entry []byte) error {
	if b.at < 0 {
		return errors.New("envoyrun: bootstrap: the authgate filter is already gone")
	}
	filters := append([]any(nil), b.filters[:b.at]...)
	if len(strings.TrimSpace(string(entry))) > 0 {
		var m map[string]any
		if err := yaml.Unmarshal(entry, &m); err != nil {
			return fmt.Errorf("envoyrun: bootstrap: replacement filter: %w", err)
		}
		if name, _ := m["name"].(string); name == "" {
			return errors.New("envoyrun: bootstrap: replacement filter has no name")
		}
		filters = append(filters, m)
	}
	filters = append(filters, b.filters[b.at+1:]...)
	b.filters = filters
	b.hcm["http_filters"] = filters
	b.at, b.kind, b.plugin, b.code, b.module = -1, 0, nil, nil, ""
	return nil
}

// Marshal writes the bootstrap as YAML.
func (b *Bootstrap) Marshal() ([]byte, error) {
	out, err := yaml.Marshal(b.root)
	if err != nil {
		return nil, fmt.Errorf("envoyrun: bootstrap: %w", err)
	}
	return out, nil
}

// endpoint returns the one endpoint of cluster c.
func endpoint(c map[string]any, name string) (map[string]any, error) {
	eps, err := listAt(c, "load_assignment", "endpoints")
	if err != nil || len(eps) != 1 {
		return nil, fmt.Errorf("cluster[%s]: want one endpoints entry (%v)", name, err)
	}
	lbs, err := listAt(eps[0], "lb_endpoints")
	if err != nil || len(lbs) != 1 {
		return nil, fmt.Errorf("cluster[%s]: want one lb_endpoints entry (%v)", name, err)
	}
	ep, err := mapAt(lbs[0], "endpoint")
	if err != nil {
		return nil, fmt.Errorf("cluster[%s]: %w", name, err)
	}
	if _, err := socketAddress(ep, "cluster["+name+"]"); err != nil {
		return nil, err
	}
	return ep, nil
}

// pointCluster makes cluster c send to the one endpoint hostport.
func pointCluster(c map[string]any, name, hostport string) error {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("cluster[%s]: %w", name, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Errorf("cluster[%s]: port: %w", name, err)
	}
	ep, err := endpoint(c, name)
	if err != nil {
		return err
	}
	if la, err := mapAt(c, "load_assignment"); err == nil {
		la["cluster_name"] = name
	}
	setSocket(ep, host, p)
	return nil
}

// socketAddress returns m.address.socket_address, which must have a
// port_value.
func socketAddress(m map[string]any, where string) (map[string]any, error) {
	sa, err := mapAt(m, "address", "socket_address")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if _, ok := sa["port_value"]; !ok {
		return nil, fmt.Errorf("%s: address.socket_address has no port_value", where)
	}
	return sa, nil
}

func setSocket(m map[string]any, host string, port int) {
	sa := m["address"].(map[string]any)["socket_address"].(map[string]any)
	sa["address"] = host
	sa["port_value"] = port
}

func mustSocket(m map[string]any) string {
	sa := m["address"].(map[string]any)["socket_address"].(map[string]any)
	return net.JoinHostPort(fmt.Sprint(sa["address"]), fmt.Sprint(sa["port_value"]))
}

// mapAt follows keys through nested mappings; the path is named in errors.
func mapAt(v any, keys ...string) (map[string]any, error) {
	cur, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("not a mapping")
	}
	for i, k := range keys {
		next, ok := cur[k].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: missing or not a mapping", strings.Join(keys[:i+1], "."))
		}
		cur = next
	}
	return cur, nil
}

// listAt follows keys to a sequence.
func listAt(v any, keys ...string) ([]any, error) {
	m, err := mapAt(v, keys[:len(keys)-1]...)
	if err != nil {
		return nil, err
	}
	l, ok := m[keys[len(keys)-1]].([]any)
	if !ok {
		return nil, fmt.Errorf("%s: missing or not a sequence", strings.Join(keys, "."))
	}
	return l, nil
}

// byName finds the entry of l whose name is name.
func byName(l []any, name string) map[string]any {
	for _, e := range l {
		if m, ok := e.(map[string]any); ok && m["name"] == name {
			return m
		}
	}
	return nil
}

func deepCopy(m map[string]any) (map[string]any, error) {
	b, err := yaml.Marshal(m)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := yaml.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}
