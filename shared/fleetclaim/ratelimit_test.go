package fleetclaim_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

func TestRateLimiter(t *testing.T) {
	w := newWorld(t)
	l := &fleetclaim.RateLimiter{Quotas: w.store, PerMinute: 3, Now: w.clock}
	ctx := context.Background()
	other := w.admin.ID
	w.advance(-time.Duration(w.clock().Second())*time.Second + 50*time.Second) // 10 s left in the minute
	tests := []struct {
		name      string
		id        fleetclaim.InstallerID
		wantKind  fleetclaim.Kind
		wantRetry time.Duration
	}{
		{"first", w.installer.ID, "", 0},
		{"second", w.installer.ID, "", 0},
		{"third", w.installer.ID, "", 0},
		{"fourth is over", w.installer.ID, fleetclaim.KindQuota, 10 * time.Second},
		{"another installer has their own", other, "", 0},
	}
	for _, tt := range tests {
		err := l.Allow(ctx, tt.id)
		if tt.wantKind == "" {
			if err != nil {
				t.Errorf("%s: got %v, want allowed", tt.name, err)
			}
			continue
		}
		e := errorOf(t, err)
		if e.Kind != tt.wantKind || e.Code != fleetclaim.CodeThrottled || e.RetryAfter != tt.wantRetry {
			t.Errorf("%s: got %s %s retry %v, want %s throttled retry %v", tt.name, e.Kind, e.Code, e.RetryAfter, tt.wantKind, tt.wantRetry)
		}
	}
	w.advance(10 * time.Second)
	if err := l.Allow(ctx, w.installer.ID); err != nil {
		t.Errorf("next minute: got %v, want allowed", err)
	}
}

func TestRateLimiterFailsClosed(t *testing.T) {
	l := &fleetclaim.RateLimiter{Quotas: quotaFunc(func() error { return errors.New("RequestLimitExceeded") }), Now: time.Now}
	if e := errorOf(t, l.Allow(context.Background(), "x")); e.Kind != fleetclaim.KindUnavailable {
		t.Errorf("got %s, want unavailable", e.Kind)
	}
}
