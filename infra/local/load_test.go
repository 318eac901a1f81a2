package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The window opens once every client has finished an operation, even when
// that takes longer than the warm-up: a first wave of slow operations (cold
// caches, a queue at the start) is warm-up, not throughput. Before, the
// window opened after the fixed warm-up and counted that wave.
func TestRunLevelWarmsUpEveryClient(t *testing.T) {
	// slow is far from fast, so that a fast operation the machine delays
	// is not mistaken for a first one.
	const slow, fast = 600 * time.Millisecond, 5 * time.Millisecond
	tests := []struct {
		name    string
		clients int
	}{
		{"one client", 1},
		{"four clients", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each client's own first operation is slow, whenever the
			// machine gets round to starting it.
			clients := make([]*installer, tt.clients)
			for i := range clients {
				clients[i] = &installer{}
			}
			var started sync.Map
			op := func(ctx context.Context, in *installer) (map[string]time.Duration, error) {
				d := fast
				if _, again := started.LoadOrStore(in, true); !again {
					d = slow
				}
				time.Sleep(d)
				return nil, ctx.Err()
			}
			// A window longer than a first operation: opened at once, as it
			// was before, it would count the first wave.
			c := loadConfig{window: 800 * time.Millisecond, warmup: 0, maxOps: 100000}
			r := runLevel(t.Context(), tt.clients, c, clients, op)
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

// A level counts every operation that finished without error, warm-up and
// tail included, for the CPU each one cost; the window counts only its own.
func TestRunLevelCountsEveryOperationForCPU(t *testing.T) {
	var calls atomic.Int64
	op := func(ctx context.Context, _ *installer) (map[string]time.Duration, error) {
		time.Sleep(2 * time.Millisecond)
		if calls.Add(1)%5 == 0 {
			return nil, errors.New("every fifth fails")
		}
		return nil, nil
	}
	c := loadConfig{window: 100 * time.Millisecond, warmup: 50 * time.Millisecond, maxOps: 100000}
	r := runLevel(t.Context(), 2, c, make([]*installer, 2), op)
	n := int(calls.Load())
	if want := n - n/5; r.total != want {
		t.Errorf("total = %d of %d operations (every fifth failed), want %d", r.total, n, want)
	}
	if r.total <= len(r.latencies) {
		t.Errorf("total %d, window %d: want the warm-up's operations counted in the total too", r.total, len(r.latencies))
	}
}

// processCPU reads a process's CPU time from /proc: this one's grows as it
// works, and a process that is not there is not read.
func TestProcessCPU(t *testing.T) {
	before, ok := processCPU(os.Getpid())
	if !ok {
		t.Fatal("processCPU(this process) not readable")
	}
	// Work until the clock's next tick (10 ms) shows, however busy the
	// machine; a reading that never moves fails.
	after := before
	for deadline := time.Now().Add(10 * time.Second); after <= before && time.Now().Before(deadline); {
		for x := range 10000 {
			_ = sha256.Sum256([]byte{byte(x)})
		}
		after, _ = processCPU(os.Getpid())
	}
	if after <= before {
		t.Errorf("CPU time still %v after 10 s of hashing: want it to grow", after)
	}
	for _, pid := range []int{0, -1} {
		if _, ok := processCPU(pid); ok {
			t.Errorf("processCPU(%d) ok, want not readable", pid)
		}
	}
}
