package policy

import "testing"

func TestUsesSourceIP(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want bool
	}{
		{"no conditions", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, false},
		{"other key", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:UserAgent":"x"}}}}`, false},
		{"ip condition", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`, true},
		{"key case folded", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"AWS:SOURCEIP":"10.0.0.1"}}}}`, true},
		{"null check", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Null":{"aws:SourceIp":"false"}}}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.UsesSourceIP(); got != tt.want {
				t.Errorf("UsesSourceIP() = %v, want %v", got, tt.want)
			}
		})
	}
}
