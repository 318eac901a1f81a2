package fleetclaimtest

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// Groups stands in for Cognito's user administration (fleetclaim.GroupManager).
// It records each call as "signout USER" or "exists USER". Every user exists
// until Delete. Its zero value is ready to use.
type Groups struct {
	mu      sync.Mutex
	err     error
	deleted map[string]bool
	calls   []string
}

// Fail makes the calls that follow fail with err (they are still recorded);
// Fail(nil) makes them succeed again.
func (g *Groups) Fail(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.err = err
}

// Delete removes user from the pool, as an operator deleting the account does.
func (g *Groups) Delete(user string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.deleted == nil {
		g.deleted = map[string]bool{}
	}
	g.deleted[user] = true
}

// Calls returns the calls recorded so far, in order.
func (g *Groups) Calls() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.calls)
}

// SignOutEverywhere records "signout USER"; fleetclaim.ErrNotFound for a
// deleted user.
func (g *Groups) SignOutEverywhere(_ context.Context, user string) error {
	deleted, err := g.record("signout", user)
	if err == nil && deleted {
		return fmt.Errorf("sign out %s: %w", user, fleetclaim.ErrNotFound)
	}
	return err
}

// UserExists records "exists USER" and reports whether user was not deleted.
func (g *Groups) UserExists(_ context.Context, user string) (bool, error) {
	deleted, err := g.record("exists", user)
	return !deleted, err
}

func (g *Groups) record(op, user string) (deleted bool, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls = append(g.calls, op+" "+user)
	return g.deleted[user], g.err
}
