package config

import (
	"testing"
	"time"
)

func TestParseCacheSharingErrors(t *testing.T) {
	tok := `"type": "TOKEN", "cluster": "authz", `
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"unauthorized ttl negative", jwt(tok + `"unauthorizedTtlInSeconds": -1`), `authorizers.jwt.unauthorizedTtlInSeconds: must be 0..3600, got -1`},
		{"unauthorized ttl too long", jwt(tok + `"unauthorizedTtlInSeconds": 3601`), `authorizers.jwt.unauthorizedTtlInSeconds: must be 0..3600, got 3601`},
		{"unauthorized ttl a string", jwt(tok + `"unauthorizedTtlInSeconds": "60"`), `authorizers.jwt.unauthorizedTtlInSeconds: must be an integer, got "60"`},
		{"stale window too long", jwt(tok + `"staleIfErrorSeconds": 3601`), `authorizers.jwt.staleIfErrorSeconds: must be 0..3600, got 3601`},
		{"stale window a float", jwt(tok + `"staleIfErrorSeconds": 1.5`), `authorizers.jwt.staleIfErrorSeconds: must be an integer, got 1.5`},
		{"stale window without a cache", jwt(tok + `"authorizerResultTtlInSeconds": 0, "staleIfErrorSeconds": 60`),
			`authorizers.jwt.staleIfErrorSeconds: serving stale results needs authorizerResultTtlInSeconds above 0; set it or set 0`},
		{"stale window on a request authorizer without sources", doc(`"authorizers": {"r": {"type": "REQUEST", "cluster": "c", "staleIfErrorSeconds": 60}}`, `"routes": [{"method": "GET", "path": "/", "authorizer": "r"}]`),
			`authorizers.r.staleIfErrorSeconds: serving stale results needs authorizerResultTtlInSeconds above 0; set it or set 0`},
		{"unauthorized ttl on a request authorizer without sources", doc(`"authorizers": {"r": {"type": "REQUEST", "cluster": "c", "unauthorizedTtlInSeconds": 60}}`, `"routes": [{"method": "GET", "path": "/", "authorizer": "r"}]`),
			`authorizers.r.unauthorizedTtlInSeconds: caching needs an identitySource; set it or set 0`},
		{"shared slots negative", doc(`"authorizerCache": {"sharedSlots": -1}`), `authorizerCache.sharedSlots: must be 0..1048576, got -1`},
		{"shared slots too many", doc(`"authorizerCache": {"sharedSlots": 1048577}`), `authorizerCache.sharedSlots: must be 0..1048576, got 1048577`},
		{"shared entry bytes too small", doc(`"authorizerCache": {"sharedMaxEntryBytes": 1023}`), `authorizerCache.sharedMaxEntryBytes: must be 1024..1048576, got 1023`},
		{"shared entry bytes too large", doc(`"authorizerCache": {"sharedMaxEntryBytes": 1048577}`), `authorizerCache.sharedMaxEntryBytes: must be 1024..1048576, got 1048577`},
		{"shared slots a boolean", doc(`"authorizerCache": {"sharedSlots": true}`), `authorizerCache.sharedSlots: must be an integer, got true`},
		{"shared key differs in case", doc(`"authorizerCache": {"SharedSlots": 1}`), `authorizerCache.SharedSlots: unknown field`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.in))
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("Parse(%s)\nerror = %v\nwant    %s", tt.in, err, tt.wantErr)
			}
			if p != nil {
				t.Errorf("Parse returned a plan with an error")
			}
		})
	}
}

func TestParseCacheSharing(t *testing.T) {
	tok := `"type": "TOKEN", "cluster": "authz", `
	tests := []struct {
		name                  string
		in                    string
		auth                  string
		wantUnauth, wantStale time.Duration
		wantSlots, wantBytes  int
	}{
		{"defaults keep today's behaviour", doc(), "jwt", 0, 0, DefaultSharedSlots, DefaultSharedMaxEntryBytes},
		{"both windows at their bounds", jwt(tok + `"unauthorizedTtlInSeconds": 3600, "staleIfErrorSeconds": 3600`), "jwt", time.Hour, time.Hour, 65536, 16384},
		{"negative cache without a positive one", jwt(tok + `"authorizerResultTtlInSeconds": 0, "unauthorizedTtlInSeconds": 30`), "jwt", 30 * time.Second, 0, 65536, 16384},
		{"shared cache off", doc(`"authorizerCache": {"sharedSlots": 0}`), "jwt", 0, 0, 0, 16384},
		{"shared bounds at their limits", doc(`"authorizerCache": {"maxEntries": 5, "sharedSlots": 1048576, "sharedMaxEntryBytes": 1024}`), "jwt", 0, 0, 1 << 20, 1024},
		{"shared entry bytes at the top", doc(`"authorizerCache": {"sharedSlots": 1, "sharedMaxEntryBytes": 1048576}`), "jwt", 0, 0, 1, 1 << 20},
		{"request authorizer without sources and explicit zeros", doc(`"authorizers": {"r": {"type": "REQUEST", "cluster": "c", "unauthorizedTtlInSeconds": 0, "staleIfErrorSeconds": 0}}`, `"routes": [{"method": "GET", "path": "/", "authorizer": "r"}]`),
			"r", 0, 0, 65536, 16384},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse(%s): %v", tt.in, err)
			}
			a := p.Authorizers[tt.auth]
			if a.UnauthorizedTTL != tt.wantUnauth || a.StaleIfError != tt.wantStale {
				t.Errorf("UnauthorizedTTL, StaleIfError = %v, %v; want %v, %v", a.UnauthorizedTTL, a.StaleIfError, tt.wantUnauth, tt.wantStale)
			}
			if p.SharedSlots != tt.wantSlots || p.SharedMaxEntryBytes != tt.wantBytes {
				t.Errorf("SharedSlots, SharedMaxEntryBytes = %d, %d; want %d, %d", p.SharedSlots, p.SharedMaxEntryBytes, tt.wantSlots, tt.wantBytes)
			}
		})
	}
}
