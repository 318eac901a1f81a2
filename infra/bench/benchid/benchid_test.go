package benchid_test

import (
	"regexp"
	"testing"

	"github.com/fleetclaim/fleetclaim/infra/bench/benchid"
)

func TestIdentifiers(t *testing.T) {
	tests := []struct {
		name string
		make func() string
		want *regexp.Regexp
	}{
		{name: "hex", make: func() string { return benchid.Hex(4) }, want: regexp.MustCompile(`^[0-9a-f]{8}$`)},
		{name: "sub", make: benchid.Sub, want: regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := tt.make(), tt.make()
			if !tt.want.MatchString(a) {
				t.Errorf("got %q, want a match for %s", a, tt.want)
			}
			if a == b {
				t.Errorf("got %q twice, want two different identifiers", a)
			}
		})
	}
}
