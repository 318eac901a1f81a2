package iot

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingKeys returns a generator of cheap, numbered key pairs (the number
// in privateKeyPEM) and the count of pairs it has made.
func countingKeys() (func() (keyPair, error), *atomic.Int64) {
	var n atomic.Int64
	return func() (keyPair, error) {
		i := n.Add(1)
		return keyPair{privateKeyPEM: strconv.FormatInt(i, 10)}, nil
	}, &n
}

// The pool fills up to its size in the background, and no further.
func TestKeyPoolFillsAhead(t *testing.T) {
	gen, made := countingKeys()
	p := newKeyPool(4, gen)
	defer p.close()
	deadline := time.Now().Add(5 * time.Second)
	for len(p.ready) < 4 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := len(p.ready); got != 4 {
		t.Fatalf("pool holds %d pairs after filling, want 4", got)
	}
	// The worker may have made one more, waiting to hand it over.
	if got := made.Load(); got > 5 {
		t.Errorf("made %d pairs for a pool of 4, want at most 5", got)
	}
}

// Every pair is handed out once, from the pool or made on the spot, however
// many callers take at once.
func TestKeyPoolHandsOutEachPairOnce(t *testing.T) {
	tests := []struct {
		name string
		size int
	}{
		{"no pool", 0},
		{"smaller than the demand", 3},
		{"larger than the demand", 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gen, made := countingKeys()
			p := newKeyPool(tt.size, gen)
			var mu sync.Mutex
			seen := map[string]bool{}
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for range 10 {
						k, err := p.take()
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						if seen[k.privateKeyPEM] {
							t.Errorf("pair %s handed out twice", k.privateKeyPEM)
						}
						seen[k.privateKeyPEM] = true
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			p.close()
			if len(seen) != 80 {
				t.Errorf("handed out %d distinct pairs, want 80", len(seen))
			}
			if tt.size == 0 && made.Load() != 80 {
				t.Errorf("without a pool made %d pairs, want exactly the 80 taken", made.Load())
			}
		})
	}
}

// A generator that fails stops the worker; take then reports the error
// instead of blocking.
func TestKeyPoolReportsGenerationErrors(t *testing.T) {
	boom := errors.New("no entropy")
	p := newKeyPool(4, func() (keyPair, error) { return keyPair{}, boom })
	defer p.close()
	if _, err := p.take(); !errors.Is(err, boom) {
		t.Fatalf("take() error = %v, want %v", err, boom)
	}
}

// close returns once the worker has stopped, even with the pool full.
func TestKeyPoolClose(t *testing.T) {
	gen, made := countingKeys()
	p := newKeyPool(2, gen)
	p.close()
	after := made.Load()
	time.Sleep(20 * time.Millisecond)
	if got := made.Load(); got != after {
		t.Errorf("worker made %d pairs after close, want none", got-after)
	}
	p.close() // a second close is harmless
}
