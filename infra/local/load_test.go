package main

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// The window opens once every client has finished an operation, even when
// that takes longer than the warm-up: a first wave of slow operations (cold
// caches, a queue at the start) is warm-up, not throughput. Before, the
// window opened after the fixed warm-up and counted that wave.
func TestRunLevelWarmsUpEveryClient(t *testing.T) {
	const slow, fast = 300 * time.Millisecond, 5 * time.Millisecond
	tests := []struct {
		name    string
		clients int
	}{
		{"one client", 1},
		{"four clients", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int64
			op := func(ctx context.Context, _ *installer) (map[string]time.Duration, error) {
				d := fast
				if calls.Add(1) <= int64(tt.clients) {
					d = slow // every client's first operation
				}
				time.Sleep(d)
				return nil, ctx.Err()
			}
			c := loadConfig{window: 400 * time.Millisecond, warmup: 0, maxOps: 100000}
			r := runLevel(t.Context(), tt.clients, c, make([]*installer, tt.clients), op)
			if len(r.latencies) == 0 {
				t.Fatal("no operations counted in the window")
			}
			if got := pctDur(r.latencies, 100); got >= slow {
				t.Errorf("slowest operation in the window took %v, want under %v: the first wave was counted", got, slow)
			}
			if r.errors != 0 {
				t.Errorf("errors = %d (first: %v), want 0", r.errors, r.firstErr)
			}
		})
	}
}

// The window lasts -d once it opens, and a level never runs past maxOps.
func TestRunLevelBounds(t *testing.T) {
	op := func(ctx context.Context, _ *installer) (map[string]time.Duration, error) {
		time.Sleep(time.Millisecond)
		return nil, nil
	}
	c := loadConfig{window: 200 * time.Millisecond, warmup: 50 * time.Millisecond, maxOps: 30}
	start := time.Now()
	r := runLevel(t.Context(), 3, c, make([]*installer, 3), op)
	if len(r.latencies) > 30 {
		t.Errorf("counted %d operations, want at most max-ops 30", len(r.latencies))
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("level took %v with max-ops 30, want it to stop early", took)
	}
}
