package config

import (
	"strings"
	"testing"
	"time"
)

// The online window: a positive Go duration, 15 minutes when unset, and a
// bad value fails the start naming the variable.
func TestLoadClaimsOnlineWithin(t *testing.T) {
	tests := []struct {
		name    string
		value   string // "" leaves it unset
		want    time.Duration
		wantErr bool
	}{
		{name: "unset", want: DefaultOnlineWithin},
		{name: "set", value: "30m", want: 30 * time.Minute},
		{name: "padded", value: " 90s ", want: 90 * time.Second},
		{name: "zero", value: "0s", wantErr: true},
		{name: "negative", value: "-1m", wantErr: true},
		{name: "not a duration", value: "15", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{EnvTableName: "fleetclaim", EnvTemplateName: "fleet", EnvUserPoolID: "eu-west-1_Ab"}
			if tt.value != "" {
				env[EnvOnlineWithin] = tt.value
			}
			c, err := LoadClaims(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), EnvOnlineWithin) {
					t.Errorf("got %v, want an error naming %s", err, EnvOnlineWithin)
				}
				return
			}
			if err != nil || c.OnlineWithin != tt.want {
				t.Errorf("got %v, %v; want %v", c.OnlineWithin, err, tt.want)
			}
		})
	}
}
