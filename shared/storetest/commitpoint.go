package storetest

import (
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// testConsumeOnlyIssuedUnexpired: the consuming write itself holds the
// claim to issued and unexpired (at the update's At), even when the update
// states no condition of its own: invariant 9's commit point must not rest
// on every caller remembering IfStatus and IfUnexpiredAt. Above all, a
// claim whose device was decommissioned stays its serial's current claim,
// and must not register a second device through the freed serial.
func testConsumeOnlyIssuedUnexpired(t *testing.T, s fleetclaim.Store) {
	tests := []struct {
		name string
		// prepare records a claim, brings it to the state under test, and
		// returns it as stored and when the consuming write is attempted.
		prepare func(t *testing.T, s fleetclaim.Store) (fleetclaim.Claim, time.Time)
	}{
		{"consumed, its device decommissioned", func(t *testing.T, s fleetclaim.Store) (fleetclaim.Claim, time.Time) {
			c := NewClaim(NewTenantID(), NewInstallerID(), "SN-1", at(0))
			checkErr(t, "CreateClaim", s.CreateClaim(t.Context(), c, ""), nil)
			d := mustConsume(t, s, c, at(10))
			_, err := s.DecommissionDevice(t.Context(), c.TenantID, c.Serial, d.CertificateID, at(20), NewInstallerID(), "broken")
			checkErr(t, "DecommissionDevice", err, nil)
			return *claimWith(t, s, c.ID), at(30)
		}},
		{"revoked", func(t *testing.T, s fleetclaim.Store) (fleetclaim.Claim, time.Time) {
			c := NewClaim(NewTenantID(), NewInstallerID(), "SN-1", at(0))
			checkErr(t, "CreateClaim", s.CreateClaim(t.Context(), c, ""), nil)
			revoked, err := s.UpdateClaim(t.Context(), fleetclaim.ClaimUpdate{ID: c.ID, IfStatus: fleetclaim.ClaimIssued,
				Status: fleetclaim.ClaimRevoked, Reason: fleetclaim.ReasonRevokedByAdmin, At: at(10)})
			checkErr(t, "UpdateClaim revoking", err, nil)
			return revoked, at(20)
		}},
		{"rejected", func(t *testing.T, s fleetclaim.Store) (fleetclaim.Claim, time.Time) {
			c := NewClaim(NewTenantID(), NewInstallerID(), "SN-1", at(0))
			checkErr(t, "CreateClaim", s.CreateClaim(t.Context(), c, ""), nil)
			rejected, err := s.UpdateClaim(t.Context(), fleetclaim.ClaimUpdate{ID: c.ID, IfStatus: fleetclaim.ClaimIssued,
				Status: fleetclaim.ClaimRejected, Reason: fleetclaim.ReasonSerialMismatch, At: at(10)})
			checkErr(t, "UpdateClaim rejecting", err, nil)
			return rejected, at(20)
		}},
		{"issued but expired", func(t *testing.T, s fleetclaim.Store) (fleetclaim.Claim, time.Time) {
			c := NewClaim(NewTenantID(), NewInstallerID(), "SN-1", at(0))
			checkErr(t, "CreateClaim", s.CreateClaim(t.Context(), c, ""), nil)
			return *claimWith(t, s, c.ID), c.ExpiresAt.Add(time.Second)
		}},
		{"issued, at its expiry", func(t *testing.T, s fleetclaim.Store) (fleetclaim.Claim, time.Time) {
			c := NewClaim(NewTenantID(), NewInstallerID(), "SN-1", at(0))
			checkErr(t, "CreateClaim", s.CreateClaim(t.Context(), c, ""), nil)
			return *claimWith(t, s, c.ID), c.ExpiresAt
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored, when := tt.prepare(t, s)
			d := NewDevice(stored, when)
			_, err := s.UpdateClaim(t.Context(), fleetclaim.ClaimUpdate{ID: stored.ID, Status: fleetclaim.ClaimConsumed, At: when, Device: &d})
			checkErr(t, "UpdateClaim consuming with no condition of its own", err, fleetclaim.ErrConflict)
			got, err := s.GetClaim(t.Context(), stored.ID)
			checkErr(t, "GetClaim", err, nil)
			checkEqual(t, "claim after the refused consume", got, stored)
			checkSerial(t, s, stored.TenantID, stored.Serial, &stored, nil)
		})
	}
}
