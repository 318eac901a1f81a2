package cognitotrigger_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/shared/boltstore"
	"github.com/fleetclaim/fleetclaim/shared/cognitotrigger"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
)

const (
	sub = "0b6f3a52-9d4e-4c1a-8f27-5e0d2c9b7a61"
	// deadline is the handlers' own. The stalled calls below never answer
	// on their own, so these tests end only because it cuts them short.
	deadline = 300 * time.Millisecond
	// hang is how long a test waits before calling a handler stuck.
	hang = 10 * time.Second
)

// stalledInstallers is a store whose installer reads never answer.
type stalledInstallers struct {
	*boltstore.Store
	stall *fleetclaimtest.Stall
}

func (s stalledInstallers) GetInstaller(ctx context.Context, _ fleetclaim.InstallerID) (fleetclaim.Installer, error) {
	return fleetclaim.Installer{}, s.stall.Wait(ctx)
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

func enrollment(installers fleetclaim.InstallerStore, st *boltstore.Store) *fleetclaim.Enrollment {
	return &fleetclaim.Enrollment{Installers: installers, Tenants: st, Quotas: st, Audit: st,
		Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// Invariant 8: a trigger finishes within Cognito's 5 s. A store call that
// stalls during post confirmation is cut off by the handler's own deadline
// and reported as an error (Cognito retries timeouts); the retry, with the
// store answering, makes exactly one record.
func TestPostConfirmationDeadline(t *testing.T) {
	st := openStore(t)
	stall := &fleetclaimtest.Stall{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ev := events.CognitoEventUserPoolsPostConfirmation{
		CognitoEventUserPoolsHeader: events.CognitoEventUserPoolsHeader{TriggerSource: cognitotrigger.SourceConfirmSignUp,
			UserPoolID: "eu-west-1_AbC123", UserName: sub},
		Request: events.CognitoEventUserPoolsPostConfirmationRequest{UserAttributes: map[string]string{
			"sub": sub, "email": "ana@acme.example", "email_verified": "true", cognitotrigger.AttrTenantID: "acme"}},
	}

	h := &cognitotrigger.PostConfirmation{Enrollment: enrollment(stalledInstallers{st, stall}, st), Deadline: deadline, Log: log}
	start := time.Now()
	if _, err := fleetclaimtest.Within(t, hang, func(ctx context.Context) (events.CognitoEventUserPoolsPostConfirmation, error) {
		return h.Handle(ctx, ev)
	}); err == nil {
		t.Fatal("a stalled store call gave no error; Cognito would not retry")
	}
	stall.CheckDeadline(t, start, deadline)

	h = &cognitotrigger.PostConfirmation{Enrollment: enrollment(st, st), Deadline: deadline, Log: log}
	for range 2 {
		if _, err := fleetclaimtest.Within(t, hang, func(ctx context.Context) (events.CognitoEventUserPoolsPostConfirmation, error) {
			return h.Handle(ctx, ev)
		}); err != nil {
			t.Fatalf("retry: %v", err)
		}
	}
	in, err := st.GetInstaller(context.Background(), sub)
	if err != nil || in.Status != fleetclaim.InstallerApproved {
		t.Fatalf("got %+v, %v; want the approved record", in, err)
	}
	all, _, err := st.ListInstallers(context.Background(), "acme", fleetclaim.Page{Limit: 10})
	if err != nil || len(all) != 1 {
		t.Fatalf("got %d installers, %v; want exactly one", len(all), err)
	}
}

// A store that stalls during pre token generation is cut off by the
// handler's deadline, and the user signs in with a token that opens
// nothing: no API scope, no privileged group.
func TestPreTokenGenerationDeadline(t *testing.T) {
	st := openStore(t)
	stall := &fleetclaimtest.Stall{}
	h := &cognitotrigger.PreTokenGeneration{Enrollment: enrollment(stalledInstallers{st, stall}, st),
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
	out, err := fleetclaimtest.Within(t, hang, func(ctx context.Context) (events.CognitoEventUserPoolsPreTokenGenV2_0, error) {
		return h.Handle(ctx, ev)
	})
	if err != nil {
		t.Fatalf("sign-in failed: %v; want a token that opens nothing", err)
	}
	stall.CheckDeadline(t, start, deadline)
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
