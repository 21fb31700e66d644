package e2e

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"
)

// knownHostDiffs are the differences from Envoy that the table has found
// and that are not fixed yet, by run ("host/protocol") or host, and by
// event field (or by another key a check names). A listed difference is
// logged instead of failing; one that no longer occurs fails, so the list
// shrinks as hosts are fixed.
var knownHostDiffs = map[string]map[string]string{
	// net/http parses the request target before any handler runs and
	// answers an invalid percent-escape in the path with its own 400
	// (text/plain, "400 Bad Request"); Envoy hands the request to the
	// filter, whose 400 is API Gateway's JSON. Both refuse, with the same
	// status; a Go server offers no hook to answer otherwise.
	"native/h1":       {netHTTPKey: netHTTPWhy},
	"wasm/h1":         {netHTTPKey: netHTTPWhy},
	"serve-native/h1": {netHTTPKey: netHTTPWhy},
	"serve-wasm/h1":   {netHTTPKey: netHTTPWhy},
}

// netHTTPWhy is why the Go hosts answer net/http's 400 (netHTTPKey).
const netHTTPWhy = "net/http answers an invalid escape in the path before any handler runs"

// knownDiffs records which known differences were seen. Runs go one
// after another, but hosts_agree reads what they wrote, so access is
// serialised by the test order alone.
type knownDiffs struct {
	seen map[string]map[string]bool // entry of knownHostDiffs -> key
}

// known finds the entry of knownHostDiffs that covers key for run
// ("host/protocol"): the run's own, else its host's.
func known(run, key string) (entry, why string, ok bool) {
	host, _, _ := strings.Cut(run, "/")
	for _, e := range []string{run, host} {
		if why, ok := knownHostDiffs[e][key]; ok {
			return e, why, true
		}
	}
	return "", "", false
}

// isKnown reports whether knownHostDiffs covers key for run.
func isKnown(run, key string) bool {
	_, _, ok := known(run, key)
	return ok
}

// upstreamKey is the knownHostDiffs key of an upstream header a host does
// not forward when its value is val.
func upstreamKey(name, val string) string { return "upstream " + name + "=" + val }

// differs reports a difference of run on key: logged when it is known,
// an error otherwise.
func (k *knownDiffs) differs(t *testing.T, run, key, msg string) {
	t.Helper()
	if e, why, ok := known(run, key); ok {
		if k.seen[e] == nil {
			k.seen[e] = make(map[string]bool)
		}
		k.seen[e][key] = true
		t.Logf("known difference of %s (%s): %s", e, why, msg)
		return
	}
	t.Error(msg)
}

// filter drops from a diff of events the lines of fields known to differ
// for h (compared with ref) and returns what is left.
func (k *knownDiffs) filter(t *testing.T, ref, h, diff string) string {
	if diff == "" {
		return ""
	}
	var left []string
	for _, l := range strings.Split(diff, "\n") {
		path, _, _ := strings.Cut(strings.TrimLeft(l, " -+"), " = ")
		isKnown := false
		for _, run := range []string{h, ref} {
			if _, _, ok := known(run, path); ok {
				k.differs(t, run, path, "event field "+path+" differs between "+ref+" and "+h)
				isKnown = true
				break
			}
		}
		if !isKnown {
			left = append(left, l)
		}
	}
	return strings.Join(left, "\n")
}

// stale fails for every known difference of a host or run that ran the
// whole table and never showed it: it is fixed, and the entry must go.
func (k *knownDiffs) stale(t *testing.T, res *results) {
	for e, keys := range knownHostDiffs {
		complete := res.complete(e)
		if !strings.Contains(e, "/") {
			complete = res.ran(e)
		}
		if !complete {
			continue
		}
		for key, why := range keys {
			if !k.seen[e][key] {
				t.Errorf("knownHostDiffs[%q][%q] (%s) no longer occurs: remove it", e, key, why)
			}
		}
	}
}

// Placeholders of normalised event fields.
const (
	normRequestID = "<request-id>"
	normTime      = "<time>"
	normHost      = "<host>"
	normProtocol  = "<the client's protocol>"
)

// perHostHeaders are request headers a host adds before the filter runs
// whose values differ per gateway: x-forwarded-port (the listener's port)
// and x-request-id (a fresh id). Events keep their names with a
// placeholder value, so a host that omits one still differs. The other
// headers a host adds (x-forwarded-proto; with use_remote_address
// x-forwarded-for, its own address appended for a loopback peer, and
// x-envoy-external-address) are compared as they are: the Go hosts add
// them as Envoy's connection manager does. The hosts' listening ports
// differ, so host keeps its name with a placeholder value too.
var perHostHeaders = []string{"x-forwarded-port", "x-request-id"}

// normaliseEvent returns the event as sorted "path = value" lines, with the
// fields that legitimately differ per host or protocol replaced:
// requestContext's requestId (when not empty), time and timeEpoch; the
// protocol, when it is version, the one the client spoke; the host
// header's port (each gateway listens on its own); and the headers of
// perHostHeaders.
func normaliseEvent(t *testing.T, ev []byte, version string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev, &m); err != nil {
		t.Errorf("event is not a JSON object: %v: %s", err, ev)
		return string(ev)
	}
	if rc, ok := m["requestContext"].(map[string]any); ok {
		for _, k := range []string{"time", "timeEpoch"} {
			if _, ok := rc[k]; ok {
				rc[k] = normTime
			}
		}
		// An empty id stays empty: a host that gives none differs.
		if id, ok := rc["requestId"].(string); ok && id != "" {
			rc["requestId"] = normRequestID
		}
		// A protocol other than the client's, or none, still differs.
		if rc["protocol"] == version {
			rc["protocol"] = normProtocol
		}
		if h, ok := rc["http"].(map[string]any); ok && h["protocol"] == version {
			h["protocol"] = normProtocol
		}
	}
	for _, key := range []string{"headers", "multiValueHeaders"} {
		hs, ok := m[key].(map[string]any)
		if !ok {
			continue
		}
		for name, v := range hs {
			lower := strings.ToLower(name)
			switch {
			case slices.Contains(perHostHeaders, lower):
				hs[name] = placeholder(v, "<"+lower+">")
			case lower == "host":
				hs[name] = placeholder(v, normHost)
			}
		}
	}
	var lines []string
	flatten(&lines, "", m)
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// placeholder replaces a header's value in an event (a string in
// headers, a list in multiValueHeaders) with p, keeping its shape.
func placeholder(v any, p string) any {
	if vals, multi := v.([]any); multi {
		out := make([]any, len(vals))
		for i := range out {
			out[i] = p
		}
		return out
	}
	return p
}

// flatten writes one "path = json" line per scalar (arrays as a whole).
func flatten(lines *[]string, path string, v any) {
	if obj, ok := v.(map[string]any); ok && len(obj) > 0 {
		for k, sub := range obj {
			p := k
			if path != "" {
				p = path + "." + k
			}
			flatten(lines, p, sub)
		}
		return
	}
	b, _ := json.Marshal(v) // values decoded from JSON always marshal
	*lines = append(*lines, path+" = "+string(b))
}

// diffLines lists the lines only in a (-) or only in b (+); "" when equal.
func diffLines(a, b string) string {
	if a == b {
		return ""
	}
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range la {
		if !slices.Contains(lb, l) {
			out = append(out, "  - "+l)
		}
	}
	for _, l := range lb {
		if !slices.Contains(la, l) {
			out = append(out, "  + "+l)
		}
	}
	return strings.Join(out, "\n")
}
