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
	root      map[string]any
	listeners []any      // static_resources.listeners
	main      *Gateway   // the example's listener
	added     []*Gateway // copies of it, see AddGateway
	clusters  []any
	admin     map[string]any
}

// Gateway is one listener of a bootstrap with its authgate filter: one
// plugin configuration served on one address.
type Gateway struct {
	m       map[string]any
	hcm     map[string]any // the connection manager's typed_config
	filters []any          // its http_filters
	at      int            // index of the authgate entry in filters; -1 once removed
	kind    FilterKind
	plugin  map[string]any // the StringValue holding the plugin configuration
	code    map[string]any // the map whose "filename" is the code file; nil for a module found by name
	vm      map[string]any // the wasm filter's vm_config
	module  string         // the dynamic module's name
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
	b := &Bootstrap{root: root}
	sr, err := MapAt(root, "static_resources")
	if err != nil {
		return nil, err
	}
	if b.listeners, err = ListAt(sr, "listeners"); err != nil {
		return nil, err
	}
	if len(b.listeners) != 1 {
		return nil, fmt.Errorf("static_resources.listeners: want one listener, got %d", len(b.listeners))
	}
	m, err := MapAt(b.listeners[0])
	if err != nil {
		return nil, fmt.Errorf("static_resources.listeners[0]: %w", err)
	}
	if b.main, err = parseListener(m); err != nil {
		return nil, err
	}
	if b.clusters, err = ListAt(sr, "clusters"); err != nil {
		return nil, err
	}
	if err := b.checkRoutes(b.main); err != nil {
		return nil, err
	}
	if b.admin, err = MapAt(root, "admin"); err != nil {
		return nil, err
	}
	if _, err := socketAddress(b.admin, "admin"); err != nil {
		return nil, err
	}
	return b, nil
}

// parseListener finds a listener's connection manager and authgate filter.
func parseListener(m map[string]any) (*Gateway, error) {
	l := &Gateway{m: m, at: -1}
	if _, err := socketAddress(m, "listener"); err != nil {
		return nil, err
	}
	if err := l.findConnectionManager(); err != nil {
		return nil, err
	}
	if err := l.findFilter(); err != nil {
		return nil, err
	}
	return l, nil
}

// findConnectionManager finds the listener's HTTP connection manager.
func (l *Gateway) findConnectionManager() error {
	chains, err := ListAt(l.m, "filter_chains")
	if err != nil {
		return err
	}
	for i, ch := range chains {
		filters, err := ListAt(ch, "filters")
		if err != nil {
			return fmt.Errorf("filter_chains[%d]: %w", i, err)
		}
		if m := ByName(filters, hcmName); m != nil {
			if l.hcm, err = MapAt(m, "typed_config"); err != nil {
				return fmt.Errorf("%s: %w", hcmName, err)
			}
			l.filters, err = ListAt(l.hcm, "http_filters")
			return err
		}
	}
	return fmt.Errorf("listener: no %s", hcmName)
}

// findFilter finds the one authgate entry of http_filters and what Set*
// will change in it.
func (l *Gateway) findFilter() error {
	router := -1
	for i, f := range l.filters {
		m, _ := f.(map[string]any)
		switch m["name"] {
		case wasmFilterName, moduleFilterName:
			if l.at >= 0 {
				return errors.New("http_filters: more than one authgate filter")
			}
			l.at = i
		case routerName:
			router = i
		}
	}
	if l.at < 0 || router < l.at {
		return fmt.Errorf("http_filters: want %s or %s before %s, got positions %d and %d",
			wasmFilterName, moduleFilterName, routerName, l.at, router)
	}
	entry := l.filters[l.at].(map[string]any)
	var err error
	if entry["name"] == wasmFilterName {
		l.kind = WasmFilter
		if l.plugin, err = MapAt(entry, "typed_config", "config", "configuration"); err != nil {
			return err
		}
		if l.vm, err = MapAt(entry, "typed_config", "config", "vm_config"); err != nil {
			return err
		}
		if _, ok := l.vm["vm_id"].(string); !ok {
			return fmt.Errorf("%s: vm_config.vm_id is not a string", wasmFilterName)
		}
		if l.code, err = MapAt(l.vm, "code", "local"); err != nil {
			return err
		}
		if _, ok := l.code["filename"].(string); !ok {
			return fmt.Errorf("%s: vm_config.code.local.filename is not a string", wasmFilterName)
		}
	} else {
		l.kind = ModuleFilter
		if l.plugin, err = MapAt(entry, "typed_config", "filter_config"); err != nil {
			return err
		}
		dm, err := MapAt(entry, "typed_config", "dynamic_module_config")
		if err != nil {
			return err
		}
		if l.module, _ = dm["name"].(string); l.module == "" {
			return fmt.Errorf("%s: dynamic_module_config.name is not a string", moduleFilterName)
		}
		// A module given as a file (module.local.filename) is loaded from
		// there; one given by name only is searched for.
		if local, err := MapAt(dm, "module", "local"); err == nil {
			if _, ok := local["filename"].(string); !ok {
				return fmt.Errorf("%s: dynamic_module_config.module.local.filename is not a string", moduleFilterName)
			}
			l.code = local
		}
	}
	if l.plugin["@type"] != stringValueType {
		return fmt.Errorf("%s: plugin configuration @type = %v, want %s", l.kind, l.plugin["@type"], stringValueType)
	}
	if _, ok := l.plugin["value"].(string); !ok {
		return fmt.Errorf("%s: plugin configuration value is not a string", l.kind)
	}
	return nil
}

// checkRoutes checks every cluster a route of l sends to exists, so
// renaming one in the example cannot leave requests going where nobody
// points them.
func (b *Bootstrap) checkRoutes(l *Gateway) error {
	rc, err := MapAt(l.hcm, "route_config")
	if err != nil {
		return err
	}
	vhosts, err := ListAt(rc, "virtual_hosts")
	if err != nil {
		return err
	}
	for i, vh := range vhosts {
		routes, err := ListAt(vh, "routes")
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
			if ByName(b.clusters, name) == nil {
				return fmt.Errorf("virtual_hosts[%d].routes[%d]: cluster %q is not defined", i, j, name)
			}
		}
	}
	return nil
}

// AddGateway adds a copy of the example's listener, named name, with its
// own authgate filter: a wasm filter gets its own vm_id, so the copies
// share no VM, no shared data and no cache with each other. Set its address
// and plugin configuration through the Gateway returned; SetCode applies
// to every listener. One Envoy serving several configurations this way
// starts about as fast as one serving a single configuration: Envoy
// compiles the filter once per process.
func (b *Bootstrap) AddGateway(name string) (*Gateway, error) {
	if b.main.kind == 0 {
		return nil, errors.New("envoyrun: bootstrap: the listener has no authgate filter to copy")
	}
	for _, e := range b.listeners {
		if m, _ := e.(map[string]any); m["name"] == name {
			return nil, fmt.Errorf("envoyrun: bootstrap: listener %q exists", name)
		}
	}
	m, err := deepCopy(b.main.m)
	if err != nil {
		return nil, fmt.Errorf("envoyrun: bootstrap: %w", err)
	}
	m["name"] = name
	l, err := parseListener(m)
	if err != nil {
		return nil, fmt.Errorf("envoyrun: bootstrap: listener[%s]: %w", name, err)
	}
	l.hcm["stat_prefix"] = name
	if l.vm != nil {
		l.vm["vm_id"] = l.vm["vm_id"].(string) + "." + name
	}
	b.added = append(b.added, l)
	b.listeners = append(b.listeners, m)
	b.root["static_resources"].(map[string]any)["listeners"] = b.listeners
	return l, nil
}

// UseModule makes every gateway of the bootstrap load authgate as the
// dynamic module name (lib<name>.so) instead of the wasm filter, with the
// same plugin configuration: the two take the same document, and
// envoy-module.yaml is envoy.yaml with this one entry changed. The module
// is found by name; SetCode then says where.
func (b *Bootstrap) UseModule(name string) error {
	for _, g := range append([]*Gateway{b.main}, b.added...) {
		if g.kind != WasmFilter {
			return fmt.Errorf("envoyrun: bootstrap: listener %q has no wasm filter to replace", g.Name())
		}
		entry := map[string]any{
			"name": moduleFilterName,
			"typed_config": map[string]any{
				"@type":                 "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter",
				"dynamic_module_config": map[string]any{"name": name, "do_not_close": true},
				"filter_name":           name,
				"filter_config":         map[string]any{"@type": stringValueType, "value": g.plugin["value"]},
			},
		}
		g.filters[g.at] = entry
		g.at, g.kind, g.vm, g.code, g.module = -1, 0, nil, nil, ""
		if err := g.findFilter(); err != nil {
			return fmt.Errorf("envoyrun: bootstrap: %w", err)
		}
	}
	return nil
}

// Main is the example's own listener and filter.
func (b *Bootstrap) Main() *Gateway { return b.main }

// Name is the listener's name, which Envoy's admin /listeners reports.
func (l *Gateway) Name() string { n, _ := l.m["name"].(string); return n }

// Address returns the listener's host:port.
func (l *Gateway) Address() string { return mustSocket(l.m) }

// SetAddress binds the listener to host:port; port 0 lets the kernel
// choose (Envoy.Listeners reports it).
func (l *Gateway) SetAddress(host string, port int) { setSocket(l.m, host, port) }

// Kind says how the listener loads authgate; zero once ReplaceFilter
// removed or replaced it.
func (l *Gateway) Kind() FilterKind { return l.kind }

// PluginConfig returns the plugin configuration JSON the listener's filter
// carries; nil once ReplaceFilter removed or replaced the filter.
func (l *Gateway) PluginConfig() []byte {
	if l.kind == 0 {
		return nil
	}
	return []byte(l.plugin["value"].(string))
}

// SetPluginConfig replaces the plugin configuration JSON.
func (l *Gateway) SetPluginConfig(doc []byte) error {
	if l.kind == 0 {
		return errors.New("envoyrun: bootstrap: no authgate filter to configure")
	}
	l.plugin["value"] = string(doc)
	return nil
}

// FilterConfig returns the typed_config of the authgate entry, for callers
// that inspect settings Gateway has no method for; nil once ReplaceFilter
// removed or replaced the entry. Changes to it change the bootstrap.
func (l *Gateway) FilterConfig() map[string]any {
	if l.kind == 0 {
		return nil
	}
	m, _ := l.filters[l.at].(map[string]any)["typed_config"].(map[string]any)
	return m
}

// ReplaceFilter puts entry, one http_filters item as YAML (a mapping with a
// name), where the authgate filter is, or removes the authgate filter when
// entry is empty. The router stays.
func (l *Gateway) ReplaceFilter(entry []byte) error {
	if l.at < 0 {
		return errors.New("envoyrun: bootstrap: the authgate filter is already gone")
	}
	filters := append([]any(nil), l.filters[:l.at]...)
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
	filters = append(filters, l.filters[l.at+1:]...)
	l.filters = filters
	l.hcm["http_filters"] = filters
	l.at, l.kind, l.plugin, l.code, l.vm, l.module = -1, 0, nil, nil, nil, ""
	return nil
}

// Kind says how the example's listener loads authgate; zero once
// ReplaceFilter removed or replaced it.
func (b *Bootstrap) Kind() FilterKind { return b.main.kind }

// Listener returns the example listener's host:port.
func (b *Bootstrap) Listener() string { return b.main.Address() }

// SetListener binds the example's listener to host:port; port 0 lets the
// kernel choose (Envoy.Listeners reports it).
func (b *Bootstrap) SetListener(host string, port int) { b.main.SetAddress(host, port) }

// Admin returns the admin listener's host:port.
func (b *Bootstrap) Admin() string { return mustSocket(b.admin) }

// SetAdmin binds the admin listener; port 0 lets the kernel choose (Start
// reads it back through --admin-address-path).
func (b *Bootstrap) SetAdmin(host string, port int) { setSocket(b.admin, host, port) }

// Cluster returns the host:port of the named cluster's one endpoint.
func (b *Bootstrap) Cluster(name string) (string, error) {
	c := ByName(b.clusters, name)
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
	c := ByName(b.clusters, name)
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
	if ByName(b.clusters, name) != nil {
		return fmt.Errorf("envoyrun: bootstrap: cluster %q exists", name)
	}
	tmpl := ByName(b.clusters, like)
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
	if b.main.code == nil {
		return ""
	}
	return b.main.code["filename"].(string)
}

// SetCode makes Envoy load the filter's code, in every listener, from file
// (an absolute path: Envoy resolves relative ones against its working
// directory). A dynamic module configured by name is found through
// ENVOY_DYNAMIC_MODULES_SEARCH_PATH instead, so file must then be
// lib<name>.so; the returned environment (for Options.Env) points Envoy at
// its directory.
func (b *Bootstrap) SetCode(file string) (env []string, err error) {
	l := b.main
	switch {
	case l.kind == 0:
		return nil, errors.New("envoyrun: bootstrap: no authgate filter to set the code of")
	case l.code == nil:
		if want := "lib" + l.module + ".so"; filepath.Base(file) != want {
			return nil, fmt.Errorf("envoyrun: bootstrap: dynamic module %q is found by name: the file must be called %s, not %s", l.module, want, filepath.Base(file))
		}
		env = []string{ModuleSearchPathVar + "=" + filepath.Dir(file)}
	}
	for _, l := range append([]*Gateway{b.main}, b.added...) {
		if l.code != nil {
			l.code["filename"] = file
		}
	}
	return env, nil
}

// PluginConfig returns the plugin configuration JSON of the example's
// listener; nil once ReplaceFilter removed or replaced the filter.
func (b *Bootstrap) PluginConfig() []byte { return b.main.PluginConfig() }

// SetPluginConfig replaces the plugin configuration JSON of the example's
// listener.
func (b *Bootstrap) SetPluginConfig(doc []byte) error { return b.main.SetPluginConfig(doc) }

// FilterConfig returns the typed_config of the example listener's authgate
// entry (see Gateway.FilterConfig).
func (b *Bootstrap) FilterConfig() map[string]any { return b.main.FilterConfig() }

// ReplaceFilter replaces or removes the example listener's authgate filter
// (see Gateway.ReplaceFilter).
func (b *Bootstrap) ReplaceFilter(entry []byte) error { return b.main.ReplaceFilter(entry) }

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
	eps, err := ListAt(c, "load_assignment", "endpoints")
	if err != nil || len(eps) != 1 {
		return nil, fmt.Errorf("cluster[%s]: want one endpoints entry (%v)", name, err)
	}
	lbs, err := ListAt(eps[0], "lb_endpoints")
	if err != nil || len(lbs) != 1 {
		return nil, fmt.Errorf("cluster[%s]: want one lb_endpoints entry (%v)", name, err)
	}
	ep, err := MapAt(lbs[0], "endpoint")
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
	if la, err := MapAt(c, "load_assignment"); err == nil {
		la["cluster_name"] = name
	}
	setSocket(ep, host, p)
	return nil
}

// socketAddress returns m.address.socket_address, which must have a
// port_value.
func socketAddress(m map[string]any, where string) (map[string]any, error) {
	sa, err := MapAt(m, "address", "socket_address")
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

// MapAt follows keys through nested YAML or JSON mappings; the path is
// named in errors.
func MapAt(v any, keys ...string) (map[string]any, error) {
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

// ListAt follows keys to a sequence.
func ListAt(v any, keys ...string) ([]any, error) {
	m, err := MapAt(v, keys[:len(keys)-1]...)
	if err != nil {
		return nil, err
	}
	l, ok := m[keys[len(keys)-1]].([]any)
	if !ok {
		return nil, fmt.Errorf("%s: missing or not a sequence", strings.Join(keys, "."))
	}
	return l, nil
}

// ByName finds the entry of l whose name is name (a listener, a
// cluster, a filter), or nil.
func ByName(l []any, name string) map[string]any {
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
