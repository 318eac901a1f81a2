package fleetclaimtest

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Stall stands for a dependency that accepted a call and never answers:
// Wait blocks until the call's context is done. It records the deadline
// each call was given, so that a test can tell whose deadline cut it short.
// Its zero value is ready to use.
type Stall struct {
	mu        sync.Mutex
	deadlines []time.Time
}

// Wait blocks until ctx is done and returns its error. A context without a
// deadline would block for ever; Wait records the zero time for it and
// returns at once, so the test fails in CheckDeadline instead of hanging.
func (s *Stall) Wait(ctx context.Context) error {
	d, ok := ctx.Deadline()
	s.mu.Lock()
	s.deadlines = append(s.deadlines, d)
	s.mu.Unlock()
	if !ok {
		return context.DeadlineExceeded
	}
	<-ctx.Done()
	return ctx.Err()
}

// CheckDeadline fails tb unless exactly one call stalled (nothing retried
// it) and its deadline was d from start. The deadline is set a moment after
// start, by the code under test; a second d of slack covers that moment and
// still tells d from any longer deadline.
func (s *Stall) CheckDeadline(tb testing.TB, start time.Time, d time.Duration) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.deadlines) != 1 {
		tb.Fatalf("the stalled call ran %d times, want once (no retries)", len(s.deadlines))
	}
	got := s.deadlines[0]
	if got.IsZero() {
		tb.Fatal("the stalled call had no deadline")
	}
	if got.Before(start.Add(d)) || got.After(start.Add(2*d)) {
		tb.Fatalf("the stalled call had a deadline %v after the start, want %v", got.Sub(start), d)
	}
}

// Within runs f with a context that has no deadline, so that only the code
// under test can cut a stalled call short, and fails tb if f has not
// returned within hang.
func Within[T any](tb testing.TB, hang time.Duration, f func(context.Context) (T, error)) (T, error) {
	tb.Helper()
	type answer struct {
		v   T
		err error
	}
	done := make(chan answer, 1)
	go func() {
		v, err := f(context.Background())
		done <- answer{v, err}
	}()
	select {
	case a := <-done:
		return a.v, a.err
	case <-time.After(hang):
		tb.Fatalf("no answer within %v of a stalled call", hang)
		var zero T
		return zero, nil
	}
}
