package cognitotrigger_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/shared/boltstore"
	"github.com/fleetclaim/fleetclaim/shared/cognitotrigger"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

const (
	sub = "0b6f3a52-9d4e-4c1a-8f27-5e0d2c9b7a61"
	// deadline is the handlers' own. The stalled calls below never answer
	// on their own, so these tests end only because it cuts them short.
	deadline = 300 * time.Millisecond
	// hang is how long a test waits before calling a handler stuck.
	hang = 10 * time.Second
)

// stalled blocks until its context is done, as a dependency that accepted
// the call and never answered would, and records each call's deadline.
type stalled struct {
	mu        sync.Mutex
	deadlines []time.Time
}

func (s *stalled) wait(ctx context.Context) error {
	d, ok := ctx.Deadline()
	s.mu.Lock()
	s.deadlines = append(s.deadlines, d) // the zero time when there is none
	s.mu.Unlock()
	if !ok {
		return context.DeadlineExceeded // fail check below rather than hang here
	}
	<-ctx.Done()
	return ctx.Err()
}

// check fails t unless exactly one call stalled, with the handler's own
// deadline: set a moment after start, so a second deadline of slack covers
// that moment and tells it from any longer one.
func (s *stalled) check(t *testing.T, start time.Time) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.deadlines) != 1 {
		t.Fatalf("the stalled call ran %d times, want once (no retries inside)", len(s.deadlines))
	}
	d := s.deadlines[0]
	if d.IsZero() {
		t.Fatal("the stalled call had no deadline")
	}
	if d.Before(start.Add(deadline)) || d.After(start.Add(2*deadline)) {
		t.Fatalf("the stalled call had a deadline %v after the start, want the handler's %v", d.Sub(start), deadline)
	}
}

// groups is the Cognito admin API: stalled, or answering and recording.
type groups struct {
	stall *stalled
	mu    sync.Mutex
	added []string
}

func (g *groups) AddUserToGroup(ctx context.Context, username, group string) error {
	if g.stall != nil {
		return g.stall.wait(ctx)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.added = append(g.added, username+" "+group)
	return nil
}
func (g *groups) RemoveUserFromGroup(context.Context, string, string) error { return nil }
func (g *groups) SignOutEverywhere(context.Context, string) error           { return nil }

// stalledInstallers is a store whose installer reads never answer.
type stalledInstallers struct {
	*boltstore.Store
	stall *stalled
}

func (s stalledInstallers) GetInstaller(ctx context.Context, _ fleetclaim.InstallerID) (fleetclaim.Installer, error) {
	return fleetclaim.Installer{}, s.stall.wait(ctx)
}

func openStore(t *testing.T) *boltstore.Store {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "fleetclaim.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.PutTenant(context.Background(), fleetclaim.Tenant{ID: "acme", Name: "Acme", Status: fleetclaim.TenantActive,
		AutoApproveDomains: []string{"acme.example"}}); err != nil {
		t.Fatal(err)
	}
	return st
}

func enrollment(installers fleetclaim.InstallerStore, st *boltstore.Store, g fleetclaim.GroupManager) *fleetclaim.Enrollment {
	return &fleetclaim.Enrollment{Installers: installers, Tenants: st, Audit: st,
		GroupsFor: func(string) fleetclaim.GroupManager { return g },
		Now:       time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// within runs f from a context with no deadline of its own and fails the
// test if it has not returned before hang.
func within[T any](t *testing.T, f func(context.Context) (T, error)) (T, error) {
	t.Helper()
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
		t.Fatalf("the trigger did not answer within %v of a stalled call; its own deadline is %v", hang, deadline)
		var zero T
		return zero, nil
	}
}

// Invariant 8: a trigger finishes within Cognito's 5 s. A Cognito call that
// stalls during post confirmation is cut off by the handler's own deadline
// and reported as an error (Cognito retries); the record it made stands, and
// the retry, with Cognito answering, finishes the job without a second one.
func TestPostConfirmationDeadline(t *testing.T) {
	st := openStore(t)
	stall := &stalled{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ev := events.CognitoEventUserPoolsPostConfirmation{
		CognitoEventUserPoolsHeader: events.CognitoEventUserPoolsHeader{TriggerSource: cognitotrigger.SourceConfirmSignUp,
			UserPoolID: "eu-west-1_AbC123", UserName: sub},
		Request: events.CognitoEventUserPoolsPostConfirmationRequest{UserAttributes: map[string]string{
			"sub": sub, "email": "ana@acme.example", "email_verified": "true", cognitotrigger.AttrTenantID: "acme"}},
	}

	h := &cognitotrigger.PostConfirmation{Enrollment: enrollment(st, st, &groups{stall: stall}), Deadline: deadline, Log: log}
	start := time.Now()
	if _, err := within(t, func(ctx context.Context) (events.CognitoEventUserPoolsPostConfirmation, error) {
		return h.Handle(ctx, ev)
	}); err == nil {
		t.Fatal("a stalled group call gave no error; Cognito would not retry")
	}
	stall.check(t, start)

	g := &groups{}
	h = &cognitotrigger.PostConfirmation{Enrollment: enrollment(st, st, g), Deadline: deadline, Log: log}
	if _, err := within(t, func(ctx context.Context) (events.CognitoEventUserPoolsPostConfirmation, error) {
		return h.Handle(ctx, ev)
	}); err != nil {
		t.Fatalf("retry: %v", err)
	}
	in, err := st.GetInstaller(context.Background(), sub)
	if err != nil || in.Status != fleetclaim.InstallerApproved {
		t.Fatalf("got %+v, %v; want the approved record", in, err)
	}
	all, _, err := st.ListInstallers(context.Background(), "acme", fleetclaim.Page{Limit: 10})
	if err != nil || len(all) != 1 {
		t.Fatalf("got %d installers, %v; want exactly one", len(all), err)
	}
	if !slices.Equal(g.added, []string{sub + " " + fleetclaim.GroupInstallers}) {
		t.Fatalf("retry added groups %v", g.added)
	}
}

// A store that stalls during pre token generation is cut off by the
// handler's deadline, and the user signs in with a token that opens
// nothing: no API scope, no privileged group.
func TestPreTokenGenerationDeadline(t *testing.T) {
	st := openStore(t)
	stall := &stalled{}
	h := &cognitotrigger.PreTokenGeneration{Enrollment: enrollment(stalledInstallers{st, stall}, st, &groups{}),
		Deadline: deadline, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ev := events.CognitoEventUserPoolsPreTokenGenV2_0{
		CognitoEventUserPoolsHeader: events.CognitoEventUserPoolsHeader{TriggerSource: "TokenGeneration_Authentication",
			UserPoolID: "eu-west-1_AbC123", UserName: sub},
		Request: events.CognitoEventUserPoolsPreTokenGenRequestV2_0{
			UserAttributes:     map[string]string{"sub": sub, cognitotrigger.AttrTenantID: "acme"},
			GroupConfiguration: events.GroupConfigurationV2_0{GroupsToOverride: []string{fleetclaim.GroupInstallers, fleetclaim.GroupPlatformAdmins}},
		},
	}
	start := time.Now()
	out, err := within(t, func(ctx context.Context) (events.CognitoEventUserPoolsPreTokenGenV2_0, error) {
		return h.Handle(ctx, ev)
	})
	if err != nil {
		t.Fatalf("sign-in failed: %v; want a token that opens nothing", err)
	}
	stall.check(t, start)
	d := out.Response.ClaimsAndScopeOverrideDetails
	if len(d.AccessTokenGeneration.ScopesToAdd) != 0 ||
		!slices.Contains(d.AccessTokenGeneration.ScopesToSuppress, fleetclaim.ScopeClaims) ||
		!slices.Contains(d.AccessTokenGeneration.ScopesToSuppress, fleetclaim.ScopeAdmin) {
		t.Errorf("scopes added %v, suppressed %v; want none added, both API scopes suppressed",
			d.AccessTokenGeneration.ScopesToAdd, d.AccessTokenGeneration.ScopesToSuppress)
	}
	for _, g := range d.GroupOverrideDetails.GroupsToOverride {
		if slices.Contains(fleetclaim.PrivilegedGroups, g) {
			t.Errorf("token keeps privileged group %q", g)
		}
	}
	if got := d.AccessTokenGeneration.ClaimsToAddOrOverride[cognitotrigger.ClaimInstallerStatus]; got != string(fleetclaim.StatusUnknown) {
		t.Errorf("installer_status = %v, want %q", got, fleetclaim.StatusUnknown)
	}
}
