package envoyrun

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The values examples/envoy/envoy.yaml is written with. RewriteExample
// looks for them literally, so a change to the example that moves or
// renames one makes it fail instead of running a different configuration.
const (
	ExampleListenerPort   = 8080
	ExampleUpstreamPort   = 9000
	ExampleAuthorizerPort = 9001
	ExampleAdminPort      = 9901
	ExampleWasmFile       = "build/authgate.wasm"
	// ExampleLambdaPort is where examples/envoy/envoy-lambda.yaml's lambda
	// cluster sends Invoke calls (a local Lambda endpoint).
	ExampleLambdaPort = 9002
)

// AnyPort asks RewriteExample for port_value 0, the kernel's choice. Envoy
// reports the admin port it bound through --admin-address-path, which
// Start reads; other listeners would have to be discovered through the
// admin /listeners page.
const AnyPort = -1

// ExampleOptions says what RewriteExample changes. Zero values keep the
// example's text.
type ExampleOptions struct {
	ListenerPort   int
	UpstreamPort   int
	AuthorizerPort int
	AdminPort      int
	LambdaPort     int // envoy-lambda.yaml's lambda cluster
	// WasmFile replaces `filename: build/authgate.wasm`; Envoy resolves a
	// relative name against its working directory, so pass an absolute path.
	WasmFile string
	// PluginConfig replaces the JSON document of the filter's
	// configuration value.
	PluginConfig string
	// ReplaceWasmFilter, when set, replaces the whole wasm entry of
	// http_filters: with the YAML list item in WasmFilterReplacement
	// (written without indentation; it is indented to fit), or removes the
	// entry when that is empty. The comment above the entry goes with it;
	// the router stays.
	ReplaceWasmFilter     bool
	WasmFilterReplacement string
}

// RewriteExample returns the example configuration with the changes in o.
// Every change is an exact text replacement of what the example contains
// today; one that matches nothing, or more than once, is an error.
func RewriteExample(text string, o ExampleOptions) (string, error) {
	var err error
	ports := []struct {
		what      string
		old, with int
	}{
		{"listener", ExampleListenerPort, o.ListenerPort},
		{"upstream", ExampleUpstreamPort, o.UpstreamPort},
		{"authorizer", ExampleAuthorizerPort, o.AuthorizerPort},
		{"admin", ExampleAdminPort, o.AdminPort},
		{"lambda", ExampleLambdaPort, o.LambdaPort},
	}
	for _, p := range ports {
		if p.with == 0 {
			continue
		}
		port := p.with
		if port == AnyPort {
			port = 0
		}
		if text, err = ReplaceOnce(text, portValue(p.old), portValue(port)); err != nil {
			return "", fmt.Errorf("envoyrun: %s port: %w", p.what, err)
		}
	}
	if o.WasmFile != "" {
		if text, err = ReplaceOnce(text, "filename: "+ExampleWasmFile, "filename: "+strconv.Quote(o.WasmFile)); err != nil {
			return "", fmt.Errorf("envoyrun: wasm filename: %w", err)
		}
	}
	if o.PluginConfig != "" {
		if text, err = replacePluginConfig(text, o.PluginConfig); err != nil {
			return "", err
		}
	}
	if o.ReplaceWasmFilter {
		if text, err = replaceWasmFilter(text, o.WasmFilterReplacement); err != nil {
			return "", err
		}
	}
	return text, nil
}

// portValue is how the example writes a port: inside a flow mapping, so
// the closing brace makes 9000 not match 90001.
func portValue(p int) string { return "port_value: " + strconv.Itoa(p) + "}" }

// ReplaceOnce replaces old by new in text, and fails unless old occurs
// exactly once.
func ReplaceOnce(text, old, new string) (string, error) {
	switch n := strings.Count(text, old); n {
	case 1:
		return strings.Replace(text, old, new, 1), nil
	case 0:
		return "", fmt.Errorf("%q not found", old)
	default:
		return "", fmt.Errorf("%q found %d times, want once", old, n)
	}
}

const (
	stringValueType = `"@type": type.googleapis.com/google.protobuf.StringValue`
	wasmFilterItem  = "- name: envoy.filters.http.wasm"
)

// block is a run of lines of text: lines[start:end].
type block struct {
	lines      []string
	start, end int
	indent     int // of the line that introduces the block
}

// findLine returns the index of the only line whose trimmed text is want.
func findLine(lines []string, want string) (int, error) {
	at := -1
	for i, l := range lines {
		if strings.TrimSpace(l) == want {
			if at >= 0 {
				return 0, fmt.Errorf("line %q found more than once", want)
			}
			at = i
		}
	}
	if at < 0 {
		return 0, fmt.Errorf("line %q not found", want)
	}
	return at, nil
}

func indentOf(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }

// childBlock is the lines after lines[at] indented deeper than it (blank
// lines inside count, trailing blank lines do not).
func childBlock(lines []string, at int) block {
	b := block{lines: lines, start: at + 1, indent: indentOf(lines[at])}
	end := b.start
	for i := b.start; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) == "" {
			continue
		}
		if indentOf(lines[i]) <= b.indent {
			break
		}
		end = i + 1
	}
	b.end = end
	return b
}

func indentLines(text string, n int) []string {
	pad := strings.Repeat(" ", n)
	var out []string
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if strings.TrimSpace(l) == "" {
			out = append(out, "")
			continue
		}
		out = append(out, pad+l)
	}
	return out
}

func splice(lines []string, start, end int, with []string) string {
	out := make([]string, 0, len(lines)-(end-start)+len(with))
	out = append(out, lines[:start]...)
	out = append(out, with...)
	out = append(out, lines[end:]...)
	return strings.Join(out, "\n")
}

// pluginConfigBlock finds the literal block scalar (`value: |`) that holds
// the plugin configuration: the only one right under the StringValue type.
func pluginConfigBlock(text string) (block, error) {
	lines := strings.Split(text, "\n")
	at, err := findLine(lines, stringValueType)
	if err != nil {
		return block{}, fmt.Errorf("envoyrun: plugin configuration: %w", err)
	}
	if at+1 >= len(lines) || strings.TrimSpace(lines[at+1]) != "value: |" {
		return block{}, errors.New("envoyrun: plugin configuration: no `value: |` line right after the StringValue @type")
	}
	b := childBlock(lines, at+1)
	if b.end == b.start {
		return block{}, errors.New("envoyrun: plugin configuration: `value: |` is empty")
	}
	return b, nil
}

// PluginConfig returns the plugin configuration JSON the example embeds,
// without the YAML indentation.
func PluginConfig(text string) (string, error) {
	b, err := pluginConfigBlock(text)
	if err != nil {
		return "", err
	}
	pad := indentOf(b.lines[b.start])
	var sb strings.Builder
	for _, l := range b.lines[b.start:b.end] {
		if len(l) >= pad {
			l = l[pad:]
		}
		sb.WriteString(strings.TrimRight(l, " "))
		sb.WriteByte('\n')
	}
	return sb.String(), nil
}

func replacePluginConfig(text, doc string) (string, error) {
	b, err := pluginConfigBlock(text)
	if err != nil {
		return "", err
	}
	return splice(b.lines, b.start, b.end, indentLines(doc, indentOf(b.lines[b.start]))), nil
}

// replaceWasmFilter swaps the wasm list item of http_filters (its line,
// every line indented deeper and the comment lines right above it) for item.
func replaceWasmFilter(text, item string) (string, error) {
	lines := strings.Split(text, "\n")
	at, err := findLine(lines, wasmFilterItem)
	if err != nil {
		return "", fmt.Errorf("envoyrun: wasm filter: %w", err)
	}
	b := childBlock(lines, at)
	// The comment right above the entry speaks of authgate; it goes too.
	start := at
	for start > 0 && indentOf(lines[start-1]) == b.indent && strings.HasPrefix(strings.TrimSpace(lines[start-1]), "#") {
		start--
	}
	var with []string
	if strings.TrimSpace(item) != "" {
		with = indentLines(item, b.indent)
	}
	return splice(lines, start, b.end, with), nil
}
