package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// object is a JSON object whose members keep the order they were added in,
// so the configuration comes out byte for byte the same for the same input.
type object struct {
	members []member
	// inline writes the object on one line (routes read best that way).
	inline bool
}

type member struct {
	key string
	val any // string, int, bool, *object or []any
}

func (o *object) set(key string, val any) { o.members = append(o.members, member{key, val}) }

// encode writes v as indented JSON with a final newline. Strings are not
// HTML-escaped: templates keep their '<', '>' and '&' as written.
func encode(v any) []byte {
	var b bytes.Buffer
	write(&b, v, "")
	b.WriteByte('\n')
	return b.Bytes()
}

func write(b *bytes.Buffer, v any, indent string) {
	switch v := v.(type) {
	case string:
		writeString(b, v)
	case int:
		b.WriteString(strconv.Itoa(v))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case *object:
		if len(v.members) == 0 {
			b.WriteString("{}")
			return
		}
		if v.inline {
			b.WriteByte('{')
			for i, m := range v.members {
				if i > 0 {
					b.WriteString(", ")
				}
				writeString(b, m.key)
				b.WriteString(": ")
				write(b, m.val, indent)
			}
			b.WriteByte('}')
			return
		}
		inner := indent + "  "
		b.WriteString("{\n")
		for i, m := range v.members {
			b.WriteString(inner)
			writeString(b, m.key)
			b.WriteString(": ")
			write(b, m.val, inner)
			if i < len(v.members)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "}")
	case []any:
		if len(v) == 0 {
			b.WriteString("[]")
			return
		}
		inner := indent + "  "
		b.WriteString("[\n")
		for i, e := range v {
			b.WriteString(inner)
			write(b, e, inner)
			if i < len(v)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "]")
	default:
		// Only the types above are ever built; anything else is a bug.
		panic(fmt.Sprintf("openapi: cannot encode %T", v))
	}
}

// writeString writes s as a JSON string, escaping only what JSON requires.
func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes
	b.Truncate(b.Len() - 1) // Encode ends with a newline
}
