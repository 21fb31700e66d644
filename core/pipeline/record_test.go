package pipeline

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestRecord(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		target   string
		rid      string
		res      Result
		wantText string
		wantJSON string
	}{
		{
			name: "forwarded hit", method: "GET", target: "/pets/7?token=secret", rid: "rid-1",
			res:      Result{Kind: KindAllow, Route: "/pets/{id}", Authorizer: "jwt", CacheState: CacheHit, Decision: DecisionAllow},
			wantText: `method=GET path=/pets/7 route=/pets/{id} authorizer=jwt cache=hit decision=ALLOW status=200 request_id=rid-1`,
			wantJSON: `{"method":"GET","path":"/pets/7","route":"/pets/{id}","authorizer":"jwt","cache":"hit","decision":"ALLOW","status":200,"request_id":"rid-1"}`,
		},
		{
			name: "rejected with a reason to quote", method: "DELETE", target: "/pets/7",
			res: Result{Kind: KindReject, Status: 403, Route: "/pets/{id}", Authorizer: "jwt", CacheState: CacheMiss,
				Decision: DecisionImplicitDeny, Reason: "no statement allows"},
			wantText: `method=DELETE path=/pets/7 route=/pets/{id} authorizer=jwt cache=miss decision=IMPLICIT_DENY status=403 reason="no statement allows"`,
			wantJSON: `{"method":"DELETE","path":"/pets/7","route":"/pets/{id}","authorizer":"jwt","cache":"miss","decision":"IMPLICIT_DENY","status":403,"reason":"no statement allows"}`,
		},
		{
			name: "no route: dashes, no cache", method: "GET", target: "/nowhere?",
			res:      Result{Kind: KindReject, Status: 403, Decision: DecisionNoRoute, Reason: "no route"},
			wantText: `method=GET path=/nowhere route=- authorizer=- cache=- decision=NO_ROUTE status=403 reason="no route"`,
			wantJSON: `{"method":"GET","path":"/nowhere","route":"-","authorizer":"-","cache":"-","decision":"NO_ROUTE","status":403,"reason":"no route"}`,
		},
		{
			name: "pending call: no status", method: "GET", target: "/pets",
			res:      Result{Kind: KindCall, Route: "/pets", Authorizer: "jwt", CacheState: CacheMiss, Decision: DecisionPending},
			wantText: `method=GET path=/pets route=/pets authorizer=jwt cache=miss decision=PENDING`,
			wantJSON: `{"method":"GET","path":"/pets","route":"/pets","authorizer":"jwt","cache":"miss","decision":"PENDING"}`,
		},
		{
			name: "values that could break the line", method: "", target: "/a b=\"c\"\n\xff?q",
			res:      Result{Kind: KindReject, Status: 400, Decision: DecisionBadRequest, Reason: "path: bad\x00"},
			wantText: `method="" path="/a b=\"c\"\n\xff" route=- authorizer=- cache=- decision=BAD_REQUEST status=400 reason="path: bad\x00"`,
			wantJSON: `{"method":"","path":"/a b=\"c\"\n\ufffd","route":"-","authorizer":"-","cache":"-","decision":"BAD_REQUEST","status":400,"reason":"path: bad\u0000"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := NewRecord(tt.method, tt.target, tt.rid, &tt.res)
			if got := string(rec.AppendText(nil)); got != tt.wantText {
				t.Errorf("text\n got %s\nwant %s", got, tt.wantText)
			}
			if got := string(rec.AppendJSON(nil)); got != tt.wantJSON {
				t.Errorf("json\n got %s\nwant %s", got, tt.wantJSON)
			}
		})
	}
}

// FuzzRecord checks that both layouts carry every field back unchanged:
// the JSON decodes to the fields (invalid UTF-8 as U+FFFD), and the text
// splits into exactly the fields' pairs.
func FuzzRecord(f *testing.F) {
	f.Add("GET", "/pets/7?x", "/pets/{id}", "jwt", "no statement allows", "rid", 403)
	f.Add("", "", "", "", "", "", 0)
	f.Add("G T", "/a=b", "\"", "a\\b", "x\ny", "\xff", 200)
	f.Fuzz(func(t *testing.T, method, target, route, auth, reason, rid string, status int) {
		res := Result{Kind: KindReject, Status: status, Route: route, Authorizer: auth, Reason: reason, Decision: DecisionDeny, CacheState: CacheMiss}
		rec := NewRecord(method, target, rid, &res)
		fields := rec.Fields(nil)

		var obj map[string]any
		dec := json.NewDecoder(bytes.NewReader(rec.AppendJSON(nil)))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			t.Fatalf("json: %v", err)
		}
		if len(obj) != len(fields) {
			t.Fatalf("json has %d members, want %d", len(obj), len(fields))
		}
		for _, fd := range fields {
			if fd.IsNumber {
				if obj[fd.Key] != json.Number(strconv.Itoa(fd.Number)) {
					t.Fatalf("json %s = %v, want %d", fd.Key, obj[fd.Key], fd.Number)
				}
				continue
			}
			// Each byte outside valid UTF-8 becomes U+FFFD, as []rune does.
			if want := string([]rune(fd.Text)); obj[fd.Key] != want {
				t.Fatalf("json %s = %q, want %q", fd.Key, obj[fd.Key], want)
			}
		}

		text := string(rec.AppendText(nil))
		for i, fd := range fields {
			prefix := fd.Key + "="
			if !strings.HasPrefix(text, prefix) {
				t.Fatalf("field %d: %q does not start with %q", i, text, prefix)
			}
			text = text[len(prefix):]
			var val string
			if strings.HasPrefix(text, `"`) {
				q, err := strconv.QuotedPrefix(text)
				if err != nil {
					t.Fatalf("field %s: %v in %q", fd.Key, err, text)
				}
				val, _ = strconv.Unquote(q)
				text = text[len(q):]
			} else {
				end := strings.IndexByte(text, ' ')
				if end < 0 {
					end = len(text)
				}
				val, text = text[:end], text[end:]
			}
			want := fd.Text
			if fd.IsNumber {
				want = strconv.Itoa(fd.Number)
			}
			if val != want {
				t.Fatalf("field %s = %q, want %q", fd.Key, val, want)
			}
			if i < len(fields)-1 {
				if !strings.HasPrefix(text, " ") {
					t.Fatalf("field %s not followed by a space: %q", fd.Key, text)
				}
				text = text[1:]
			}
		}
		if text != "" {
			t.Fatalf("trailing text %q", text)
		}

		// The host reads the filter's line back: the record, then the
		// filter's own pairs.
		line := string(rec.AppendText(nil)) + " ctx=7 callout=4"
		back, ok := ParseText(line)
		if !ok {
			t.Fatalf("ParseText(%q) failed", line)
		}
		if !slices.Equal(back, fields) {
			t.Fatalf("ParseText(%q)\n got %+v\nwant %+v", line, back, fields)
		}
	})
}

func TestRecordCoalesced(t *testing.T) {
	res := Result{Kind: KindAllow, Route: "/pets", Authorizer: "jwt", CacheState: CacheMiss, Decision: DecisionAllow}
	rec := NewRecord("GET", "/pets", "", &res)
	rec.Coalesced = true
	want := `method=GET path=/pets route=/pets authorizer=jwt cache=coalesced decision=ALLOW status=200`
	if got := string(rec.AppendText(nil)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestParseText(t *testing.T) {
	head := `method=GET path=/pets route=/pets authorizer=jwt cache=hit decision=ALLOW`
	tests := []struct {
		name string
		line string
		want string // the fields as key=value|..., "" when not a record
	}{
		{"bare record", head, "method=GET|path=/pets|route=/pets|authorizer=jwt|cache=hit|decision=ALLOW"},
		{"all fields and the filter's pairs", head + ` status=200 reason="a b" request_id=r1 ctx=2 callout=4`,
			"method=GET|path=/pets|route=/pets|authorizer=jwt|cache=hit|decision=ALLOW|status=200|reason=a b|request_id=r1"},
		{"quoted escapes", `method="" path="/a b\xff" route=- authorizer=- cache=- decision=BAD_REQUEST status=400`,
			"method=|path=/a b\xff|route=-|authorizer=-|cache=-|decision=BAD_REQUEST|status=400"},
		{"a request id without a status", head + ` request_id=r1`, "method=GET|path=/pets|route=/pets|authorizer=jwt|cache=hit|decision=ALLOW|request_id=r1"},
		{"ctx first is not a record", `ctx=2 ` + head, ""},
		{"a field missing", `method=GET path=/pets route=/pets authorizer=jwt decision=ALLOW`, ""},
		{"fields out of order", head + ` reason=x status=200`, ""},
		{"a record key after the filter's pairs", head + ` ctx=2 status=200`, ""},
		{"status twice", head + ` status=200 status=200`, ""},
		{"status not a number", head + ` status=ok`, ""},
		{"status with a sign", head + ` status=+200`, ""},
		{"a value that needed quotes", head + ` reason=a"b`, ""},
		{"an empty bare value", `method= path=/pets route=/pets authorizer=jwt cache=hit decision=ALLOW`, ""},
		{"two spaces", `method=GET  path=/pets route=/pets authorizer=jwt cache=hit decision=ALLOW`, ""},
		{"unterminated quote", head + ` reason="abc`, ""},
		{"text after a quote", head + ` reason="abc"def`, ""},
		{"a plain message", "configured: 2 routes, 1 authorizers", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields, ok := ParseText(tt.line)
			var got []string
			for _, f := range fields {
				v := f.Text
				if f.IsNumber {
					v = strconv.Itoa(f.Number)
				}
				got = append(got, f.Key+"="+v)
			}
			if tt.want == "" {
				if ok {
					t.Errorf("ParseText(%q) = %q, want not a record", tt.line, got)
				}
				return
			}
			if !ok || strings.Join(got, "|") != tt.want {
				t.Errorf("ParseText(%q) = %q, %v; want %q", tt.line, strings.Join(got, "|"), ok, tt.want)
			}
		})
	}
}

// FuzzParseText: whatever a guest logs, ParseText either refuses it or
// returns fields that, laid out again, read back the same.
func FuzzParseText(f *testing.F) {
	f.Add(`method=GET path=/pets route=/pets authorizer=jwt cache=hit decision=ALLOW status=200 ctx=2`)
	f.Add(`method="" path="/a b\xff" route=- authorizer=- cache=- decision=BAD_REQUEST status=400 reason="x\"y"`)
	f.Add(`ctx=2 method=GET`)
	f.Fuzz(func(t *testing.T, line string) {
		fields, ok := ParseText(line)
		if !ok {
			return
		}
		var b []byte
		for i, fd := range fields {
			if i > 0 {
				b = append(b, ' ')
			}
			b = append(b, fd.Key...)
			b = append(b, '=')
			switch {
			case fd.IsNumber:
				b = strconv.AppendInt(b, int64(fd.Number), 10)
			case needsQuote(fd.Text):
				b = strconv.AppendQuote(b, fd.Text)
			default:
				b = append(b, fd.Text...)
			}
		}
		again, ok := ParseText(string(b))
		if !ok || !slices.Equal(again, fields) {
			t.Fatalf("%q read as %+v, laid out as %q, read back as %+v (%v)", line, fields, b, again, ok)
		}
	})
}

func TestRecordLine(t *testing.T) {
	res := Result{Kind: KindAllow, Route: "/pets/{id}", Authorizer: "jwt", CacheState: CacheMiss, Decision: DecisionAllow}
	rec := NewRecord("GET", "/pets/7?token=secret", "", &res)
	tests := []struct {
		name  string
		extra []string
		want  string
	}{
		{"no extra", nil, `method=GET path=/pets/7 route=/pets/{id} authorizer=jwt cache=miss decision=ALLOW status=200 stream=42`},
		{"extra pairs", []string{"callout", "7", "coalesced", "wait"},
			`method=GET path=/pets/7 route=/pets/{id} authorizer=jwt cache=miss decision=ALLOW status=200 stream=42 callout=7 coalesced=wait`},
		{"an odd extra is dropped", []string{"callout", "7", "stray"},
			`method=GET path=/pets/7 route=/pets/{id} authorizer=jwt cache=miss decision=ALLOW status=200 stream=42 callout=7`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(rec.AppendLine([]byte(nil), "stream", 42, tt.extra...)); got != tt.want {
				t.Errorf("AppendLine =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
