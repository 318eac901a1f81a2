package fleetclaim_test

import (
	"context"
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// suspendingStore runs suspend once, just before the first claim is
// recorded: the moment an issuance that resolved its installer as approved
// races that installer's suspension.
type suspendingStore struct {
	fleetclaim.Store
	suspend func()
}

func (s *suspendingStore) CreateClaim(ctx context.Context, c fleetclaim.Claim, replaces fleetclaim.ClaimID) error {
	if f := s.suspend; f != nil {
		s.suspend = nil
		f()
	}
	return s.Store.CreateClaim(ctx, c, replaces)
}

// An installer suspended while their claim is being issued: the suspension
// lists their claims before the new one is recorded, so it cannot revoke
// it. The issuance must then refuse, and the claim it recorded must end
// revoked and its certificate deactivated in AWS IoT (invariants 5 and 10),
// not stay an open claim of a suspended installer whose certificate still
// connects to AWS IoT.
func TestIssueClaimRacingSuspension(t *testing.T) {
	for name, open := range storesUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			store := &suspendingStore{Store: open(t)}
			w := newWorldWith(t, store)
			ctx := context.Background()
			store.suspend = func() {
				if _, err := w.svc.SuspendInstaller(ctx, w.adminP(), w.installer.ID); err != nil {
					t.Errorf("SuspendInstaller: %v", err)
				}
			}

			_, err := w.svc.IssueClaim(ctx, w.installerP(), fleetclaim.IssueRequest{Serial: "SN-0001"})
			if err == nil {
				t.Fatal("IssueClaim: got a claim for an installer suspended meanwhile, want a refusal")
			}
			if e := errorOf(t, err); e.Kind != fleetclaim.KindForbidden || e.Code != fleetclaim.CodeInstallerNotApproved {
				t.Errorf("IssueClaim: got %s/%s, want %s/%s", e.Kind, e.Code, fleetclaim.KindForbidden, fleetclaim.CodeInstallerNotApproved)
			}
			st, err := w.store.GetSerial(ctx, w.tenant.ID, "SN-0001")
			if err != nil || st.Claim == nil {
				t.Fatalf("GetSerial: got %+v, %v; want the claim the issuance recorded", st, err)
			}
			c := st.Claim
			if c.Status != fleetclaim.ClaimRevoked || c.Reason != fleetclaim.ReasonInstallerSuspended {
				t.Errorf("claim: got %s/%s, want %s/%s", c.Status, c.Reason, fleetclaim.ClaimRevoked, fleetclaim.ReasonInstallerSuspended)
			}
			if !w.revoker.Inactive(string(c.ID)) {
				t.Errorf("claim certificate %s: still active in AWS IoT; calls %v", c.ID, w.revoker.Calls())
			}
		})
	}
}

// The same race with the tenant's suspension: the suspension lists the
// tenant's claims before the new one is recorded, so the issuance must
// refuse and leave its claim revoked (tenant_suspended) and its certificate
// deactivated in AWS IoT.
func TestIssueClaimRacingTenantSuspension(t *testing.T) {
	for name, open := range storesUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			store := &suspendingStore{Store: open(t)}
			w := newTenantWorld(t, store)
			ctx := context.Background()
			store.suspend = func() {
				if _, err := w.svc.SuspendTenant(ctx, w.operatorP(), "globex"); err != nil {
					t.Errorf("SuspendTenant: %v", err)
				}
			}

			_, err := w.svc.IssueClaim(ctx, w.globexP(), fleetclaim.IssueRequest{Serial: "SN-0001"})
			if e := errorOf(t, err); e.Kind != fleetclaim.KindForbidden || e.Code != fleetclaim.CodeTenantInactive {
				t.Fatalf("IssueClaim: got %v, want %s/%s", err, fleetclaim.KindForbidden, fleetclaim.CodeTenantInactive)
			}
			st, err := w.store.GetSerial(ctx, "globex", "SN-0001")
			if err != nil || st.Claim == nil {
				t.Fatalf("GetSerial: got %+v, %v; want the claim the issuance recorded", st, err)
			}
			if c := st.Claim; c.Status != fleetclaim.ClaimRevoked || c.Reason != fleetclaim.ReasonTenantSuspended {
				t.Errorf("claim: got %s/%s, want %s/%s", c.Status, c.Reason, fleetclaim.ClaimRevoked, fleetclaim.ReasonTenantSuspended)
			}
			if !w.revoker.Inactive(string(st.Claim.ID)) {
				t.Errorf("claim certificate %s: still active in AWS IoT; calls %v", st.Claim.ID, w.revoker.Calls())
			}
		})
	}
}
