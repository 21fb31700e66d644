package pipeline

import (
	"net/netip"
	"testing"
)

func TestSourceAddress(t *testing.T) {
	tests := []struct {
		name, addr, want string
	}{
		{"ipv4 with port", "10.0.0.1:80", "10.0.0.1"},
		{"ipv6 with port", "[2001:db8::1]:443", "2001:db8::1"},
		{"ipv6 not canonical", "[2001:DB8:0::1]:443", "2001:db8::1"},
		{"ipv4-mapped ipv6 with port", "[::ffff:10.1.2.3]:80", "10.1.2.3"},
		{"ipv4-mapped ipv6 bare", "::ffff:10.1.2.3", "10.1.2.3"},
		{"bracketed ipv6", "[::1]", "::1"},
		{"bare ipv6", "::1", "::1"},
		{"bare ipv4", "1.2.3.4", "1.2.3.4"},
		{"zone kept", "[fe80::1%eth0]:1", "fe80::1%eth0"},
		{"leading zeros", "010.1.1.1:80", ""},
		{"empty", "", ""},
		{"name", "localhost:80", ""},
		{"unix socket", "@", ""},
		{"bracketed ipv4", "[192.0.2.1]", "192.0.2.1"},
		{"bracketed ipv4 with port", "[192.0.2.1]:80", ""},
		{"bad port", "192.0.2.1:http", ""},
		{"port out of range", "192.0.2.1:70000", ""},
		{"port only", ":80", ""},
		{"unclosed bracket", "[::1:80", ""},
		{"unopened bracket", "::1]", ""},
		{"garbage", "not an address", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SourceAddress(tt.addr); got != tt.want {
				t.Errorf("SourceAddress(%q) = %q, want %q", tt.addr, got, tt.want)
			}
		})
	}
}

func TestSourceAddressIPv4AllocatesNothing(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _ = SourceAddress("192.168.10.20:54321") }); n != 0 {
		t.Errorf("SourceAddress allocates %v times for ip:port, want 0", n)
	}
}

func FuzzSourceAddress(f *testing.F) {
	for _, s := range []string{"10.0.0.1:80", "[2001:db8::1]:443", "[::1]", "::1", "1.2.3.4", "", "[", "a:b:c",
		"[fe80::1%eth0]:1", "010.1.1.1:80", "1.2.3.4:0", "[::ffff:1.2.3.4]:9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		got := SourceAddress(addr)
		if ap, err := netip.ParseAddrPort(addr); err == nil && got != ap.Addr().Unmap().String() {
			// The IPv4 shortcut slices the input: it must match the
			// canonical form.
			t.Errorf("SourceAddress(%q) = %q, want %q", addr, got, ap.Addr().Unmap().String())
		}
		if got == "" {
			return
		}
		a, err := netip.ParseAddr(got)
		if err != nil {
			t.Errorf("SourceAddress(%q) = %q, not an address", addr, got)
		} else if a.Is4In6() {
			t.Errorf("SourceAddress(%q) = %q, an IPv4-mapped address", addr, got)
		}
	})
}
