package fleetclaimtest

import (
	"context"
	"slices"
	"sync"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// Groups stands in for Cognito's group and sign-out administration. It
// records each call as "add USER GROUP", "remove USER GROUP" or
// "signout USER"; calls made through In(pool) are recorded with "POOL: "
// before them. Its zero value is ready to use.
type Groups struct {
	mu    sync.Mutex
	err   error
	calls []string
}

// In returns the group manager of user pool pool, whose calls are recorded
// with the pool's ID.
func (g *Groups) In(pool string) fleetclaim.GroupManager { return poolGroups{g, pool + ": "} }

// Fail makes the calls that follow fail with err (they are still recorded);
// Fail(nil) makes them succeed again.
func (g *Groups) Fail(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.err = err
}

// Calls returns the calls recorded so far, in order.
func (g *Groups) Calls() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.calls)
}

// AddUserToGroup records "add USER GROUP".
func (g *Groups) AddUserToGroup(ctx context.Context, user, group string) error {
	return poolGroups{g: g}.AddUserToGroup(ctx, user, group)
}

// RemoveUserFromGroup records "remove USER GROUP".
func (g *Groups) RemoveUserFromGroup(ctx context.Context, user, group string) error {
	return poolGroups{g: g}.RemoveUserFromGroup(ctx, user, group)
}

// SignOutEverywhere records "signout USER".
func (g *Groups) SignOutEverywhere(ctx context.Context, user string) error {
	return poolGroups{g: g}.SignOutEverywhere(ctx, user)
}

func (g *Groups) record(call string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls = append(g.calls, call)
	return g.err
}

// poolGroups records its calls in g, after prefix.
type poolGroups struct {
	g      *Groups
	prefix string
}

func (p poolGroups) AddUserToGroup(_ context.Context, user, group string) error {
	return p.g.record(p.prefix + "add " + user + " " + group)
}

func (p poolGroups) RemoveUserFromGroup(_ context.Context, user, group string) error {
	return p.g.record(p.prefix + "remove " + user + " " + group)
}

func (p poolGroups) SignOutEverywhere(_ context.Context, user string) error {
	return p.g.record(p.prefix + "signout " + user)
}
