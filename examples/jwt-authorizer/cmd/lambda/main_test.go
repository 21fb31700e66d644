package main

import (
	"strings"
	"testing"
)

func TestConfigFromEnv(t *testing.T) {
	secret := strings.Repeat("s", 32)
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"hs256", map[string]string{"JWT_SECRET": secret, "JWT_ISSUER": "iss"}, ""},
		{"none", map[string]string{}, "no key"},
		{"both", map[string]string{"JWT_SECRET": secret, "JWT_RS256_PUBLIC_KEY": "x"}, "exclusive"},
		{"bad pem", map[string]string{"JWT_RS256_PUBLIC_KEY": "x"}, "JWT_RS256_PUBLIC_KEY:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := configFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || string(cfg.HS256Secret) != secret || cfg.Issuer != "iss" {
				t.Fatalf("cfg = %+v, err = %v", cfg, err)
			}
		})
	}
}
