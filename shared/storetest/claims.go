package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

func testClaimRoundTrip(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	tests := []struct {
		name  string
		claim fleetclaim.Claim
	}{
		{"every field", func() fleetclaim.Claim {
			c := NewClaim(NewTenantID(), NewInstallerID(), "SN-0001", at(0))
			c.Reason = fleetclaim.ReasonSerialMismatch
			return c
		}()},
		{"optional fields empty", func() fleetclaim.Claim {
			c := NewClaim(NewTenantID(), NewInstallerID(), "SN-0002", at(0))
			c.Site, c.UpdatedAt, c.RetainUntil = "", time.Time{}, time.Time{}
			return c
		}()},
		{"times in UTC already", NewClaim(NewTenantID(), NewInstallerID(), "SN-0003", at(0).UTC())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, "CreateClaim", s.CreateClaim(ctx, tt.claim, ""), nil)
			got, err := s.GetClaim(ctx, tt.claim.ID)
			checkErr(t, "GetClaim", err, nil)
			checkEqual(t, "GetClaim", got, claimInUTC(tt.claim))
		})
	}
}

func testCreateClaimConflict(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	c := NewClaim(NewTenantID(), NewInstallerID(), "SN-1", at(0))
	checkErr(t, "first CreateClaim", s.CreateClaim(ctx, c, ""), nil)

	again := NewClaim(NewTenantID(), NewInstallerID(), "SN-2", at(60))
	again.ID = c.ID
	checkErr(t, "CreateClaim with an existing ID", s.CreateClaim(ctx, again, ""), fleetclaim.ErrConflict)

	got, err := s.GetClaim(ctx, c.ID)
	checkErr(t, "GetClaim", err, nil)
	checkEqual(t, "claim after the refused create", got, claimInUTC(c))
}

func testCreateClaimRejectsBadInput(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	tests := []struct {
		name   string
		change func(c *fleetclaim.Claim)
	}{
		{"no ID", func(c *fleetclaim.Claim) { c.ID = "" }},
		{"no tenant", func(c *fleetclaim.Claim) { c.TenantID = "" }},
		{"no installer", func(c *fleetclaim.Claim) { c.InstallerID = "" }},
		{"with a device", func(c *fleetclaim.Claim) {
			d := NewDevice(*c, at(1))
			c.Status, c.Device = fleetclaim.ClaimConsumed, &d
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClaim(NewTenantID(), NewInstallerID(), "SN-1", at(0))
			tt.change(&c)
			checkErr(t, "CreateClaim", s.CreateClaim(ctx, c, ""), errInvalidCall)
			if c.ID == "" {
				return
			}
			_, err := s.GetClaim(ctx, c.ID)
			checkErr(t, "GetClaim after the refused create", err, fleetclaim.ErrNotFound)
			if c.Device != nil {
				_, err := s.GetDevice(ctx, c.TenantID, c.Serial)
				checkErr(t, "GetDevice after the refused create", err, fleetclaim.ErrNotFound)
			}
		})
	}
}

func testGetClaimNotFound(t *testing.T, s fleetclaim.Store) {
	_, err := s.GetClaim(t.Context(), NewClaimID())
	checkErr(t, "GetClaim of a missing claim", err, fleetclaim.ErrNotFound)
}

func testUpdateClaim(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	// The claims below are issued at at(0) and expire at at(300).
	elsewhere := time.FixedZone("UTC-7", -7*3600)
	tests := []struct {
		name    string
		missing bool                    // the claim is never created
		prepare func(*fleetclaim.Claim) // changes the claim before it is created
		update  func(c fleetclaim.Claim) fleetclaim.ClaimUpdate
		want    func(c fleetclaim.Claim) fleetclaim.Claim // the claim after a successful update
		wantErr error
	}{
		{
			name: "unconditional status and reason",
			update: func(c fleetclaim.Claim) fleetclaim.ClaimUpdate {
				return fleetclaim.ClaimUpdate{ID: c.ID, Status: fleetclaim.ClaimRevoked, Reason: fleetclaim.ReasonRevokedByAdmin, At: at(10)}
			},
			want: func(c fleetclaim.Claim) fleetclaim.Claim {
				c.Status, c.Reason, c.UpdatedAt = fleetclaim.ClaimRevoked, fleetclaim.ReasonRevokedByAdmin, at(10)
				return c
			},
		},
		{
			name: "reason only keeps the status",
			update: func(c fleetclaim.Claim) fleetclaim.ClaimUpdate {
				return fleetclaim.ClaimUpdate{ID: c.ID, Reason: fleetclaim.ReasonSerialMismatch, At: at(10)}
			},
			want: func(c fleetclaim.Claim) fleetclaim.Claim {
				c.Reason, c.UpdatedAt = fleetclaim.ReasonSerialMismatch, at(10)
				return c
			},
		},
		{
			name: "status holds",
			update: func(c fleetclaim.Claim) fleetclaim.ClaimUpdate {
				return fleetclaim.ClaimUpdate{ID: c.ID, IfStatus: fleetclaim.ClaimIssued, Status: fleetclaim.ClaimRejected, Reason: fleetclaim.ReasonTemplateMismatch, At: at(10)}
			},
			want: func(c fleetclaim.Claim) fleetclaim.Claim {
				c.Status, c.Reason, c.UpdatedAt = fleetclaim.ClaimRejected, fleetclaim.ReasonTemplateMismatch, at(10)
				return c
			},
		},
		{
			name: "status does not hold",
			update: func(c fleetclaim.Claim) fleetclaim.ClaimUpdate {
				return fleetclaim.ClaimUpdate{ID: c.ID, IfStatus: fleetclaim.ClaimConsumed, Status: fleetclaim.ClaimRevoked, At: at(10)}
			},
			wantErr: fleetclaim.ErrConflict,
		},
		{
			name: "unexpired a nanosecond before expiry, in another zone",
			update: func(c fleetclaim.Claim) fleetclaim.ClaimUpdate {
				return fleetclaim.ClaimUpdate{ID: c.ID, IfUnexpiredAt: c.ExpiresAt.Add(-time.Nanosecond).In(elsewhere), Status: fleetclaim.ClaimRevoked, At: at(299)}
			},
			want: func(c fleetclaim.Claim) fleetclaim.Claim {
				c.Status, c.UpdatedAt = fleetclaim.ClaimRevoked, at(299)
				return c
			},
		},
		{
			name: "expired at the expiry instant",
			update: func(c fleetclaim.Claim) fleetclaim.ClaimUpdate {
				return fleetclaim.ClaimUpdate{ID: c.ID, IfUnexpiredAt: c.ExpiresAt.In(elsewhere), Status: fleetclaim.ClaimRevoked, At: at(300)}
			},
			wantErr: fleetclaim.ErrConflict,
		},
		{
			name: "expired after expiry",
			update: func(c fleetclaim.Claim) fleetclaim.ClaimUpdate {
				return fleetclaim.ClaimUpdate{ID: c.ID, IfUnexpiredAt: at(3600), Status: fleetclaim.ClaimRevoked, At: at(3600)}
			},
			wantErr: fleetclaim.ErrConflict,
		},
		{
			// Before 1678 and after 2262 a time has no int64 count of
			// nanoseconds since 1970; a store that compares such counts
			// must not let a long-expired claim pass as unexpired.
			name:    "expired centuries ago",
			prepare: func(c *fleetclaim.Claim) { c.ExpiresAt = time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC) },
			update: func(c fleetclaim.Claim) fleetclaim.ClaimUpdate {
				return fleetclaim.ClaimUpdate{ID: c.ID, IfUnexpiredAt: at(10), Status: fleetclaim.ClaimRevoked, At: at(10)}
			},
			wantErr: fleetclaim.ErrConflict,
		},
		{
			name:    "expires centuries ahead",
			prepare: func(c *fleetclaim.Claim) { c.ExpiresAt = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) },
			update: func(c fleetclaim.Claim) fleetclaim.ClaimUpdate {
				return fleetclaim.ClaimUpdate{ID: c.ID, IfUnexpiredAt: at(10), Status: fleetclaim.ClaimRevoked, At: at(10)}
			},
			want: func(c fleetclaim.Claim) fleetclaim.Claim {
				c.Status, c.UpdatedAt = fleetclaim.ClaimRevoked, at(10)
				return c
			},
		},
		{
			name: "status holds but expired",
			update: func(c fleetclaim.Claim) fleetclaim.ClaimUpdate {
				return fleetclaim.ClaimUpdate{ID: c.ID, IfStatus: fleetclaim.ClaimIssued, IfUnexpiredAt: at(301), Status: fleetclaim.ClaimConsumed, At: at(301)}
			},
			wantErr: fleetclaim.ErrConflict,
		},
		{
			name: "consume records the device and ends retention",
			update: func(c fleetclaim.Claim) fleetclaim.ClaimUpdate {
				d := NewDevice(c, at(20))
				d.CertificateID = "device-certificate"
				return fleetclaim.ClaimUpdate{ID: c.ID, IfStatus: fleetclaim.ClaimIssued, IfUnexpiredAt: at(20), Status: fleetclaim.ClaimConsumed, At: at(20), Device: &d}
			},
			want: func(c fleetclaim.Claim) fleetclaim.Claim {
				d := NewDevice(c, at(20))
				d.CertificateID = "device-certificate"
				c.Status, c.UpdatedAt, c.RetainUntil, c.Device = fleetclaim.ClaimConsumed, at(20), time.Time{}, &d
				return c
			},
		},
		{
			name: "device of another serial",
			update: func(c fleetclaim.Claim) fleetclaim.ClaimUpdate {
				d := NewDevice(c, at(20))
				d.Serial = "SN-OTHER"
				return fleetclaim.ClaimUpdate{ID: c.ID, Status: fleetclaim.ClaimConsumed, At: at(20), Device: &d}
			},
			wantErr: fleetclaim.ErrConflict,
		},
		{
			name: "device of another tenant",
			update: func(c fleetclaim.Claim) fleetclaim.ClaimUpdate {
				d := NewDevice(c, at(20))
				d.TenantID = NewTenantID()
				return fleetclaim.ClaimUpdate{ID: c.ID, Status: fleetclaim.ClaimConsumed, At: at(20), Device: &d}
			},
			wantErr: fleetclaim.ErrConflict,
		},
		{
			name:    "missing claim",
			missing: true,
			update: func(c fleetclaim.Claim) fleetclaim.ClaimUpdate {
				return fleetclaim.ClaimUpdate{ID: c.ID, Status: fleetclaim.ClaimRevoked, At: at(10)}
			},
			wantErr: fleetclaim.ErrNotFound,
		},
		{
			name:    "missing claim with conditions",
			missing: true,
			update: func(c fleetclaim.Claim) fleetclaim.ClaimUpdate {
				d := NewDevice(c, at(10))
				return fleetclaim.ClaimUpdate{ID: c.ID, IfStatus: fleetclaim.ClaimIssued, IfUnexpiredAt: at(10), Status: fleetclaim.ClaimConsumed, At: at(10), Device: &d}
			},
			wantErr: fleetclaim.ErrNotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClaim(NewTenantID(), NewInstallerID(), "SN-42", at(0))
			if tt.prepare != nil {
				tt.prepare(&c)
			}
			if !tt.missing {
				checkErr(t, "CreateClaim", s.CreateClaim(ctx, c, ""), nil)
			}
			got, err := s.UpdateClaim(ctx, tt.update(c))
			checkErr(t, "UpdateClaim", err, tt.wantErr)

			want := claimInUTC(c)
			if tt.wantErr == nil {
				want = claimInUTC(tt.want(c))
				checkEqual(t, "UpdateClaim result", got, want)
			}
			stored, err := s.GetClaim(ctx, c.ID)
			if tt.missing {
				checkErr(t, "GetClaim after updating a missing claim", err, fleetclaim.ErrNotFound)
				return
			}
			checkErr(t, "GetClaim", err, nil)
			checkEqual(t, "stored claim", stored, want)

			dev, err := s.GetDevice(ctx, c.TenantID, c.Serial)
			if want.Device == nil {
				checkErr(t, "GetDevice of a claim with no device", err, fleetclaim.ErrNotFound)
			} else {
				checkErr(t, "GetDevice", err, nil)
				checkEqual(t, "GetDevice", dev, *want.Device)
			}
		})
	}
}

func testUpdateClaimRejectsBadInput(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	tests := []struct {
		name   string
		update func(c fleetclaim.Claim) fleetclaim.ClaimUpdate
	}{
		{"no ID", func(c fleetclaim.Claim) fleetclaim.ClaimUpdate {
			return fleetclaim.ClaimUpdate{Status: fleetclaim.ClaimRevoked, At: at(10)}
		}},
		{"no time", func(c fleetclaim.Claim) fleetclaim.ClaimUpdate {
			return fleetclaim.ClaimUpdate{ID: c.ID, Status: fleetclaim.ClaimRevoked}
		}},
		{"device without consumed status", func(c fleetclaim.Claim) fleetclaim.ClaimUpdate {
			d := NewDevice(c, at(10))
			return fleetclaim.ClaimUpdate{ID: c.ID, Status: fleetclaim.ClaimRevoked, At: at(10), Device: &d}
		}},
		{"device of another claim", func(c fleetclaim.Claim) fleetclaim.ClaimUpdate {
			d := NewDevice(c, at(10))
			d.ClaimID = NewClaimID()
			return fleetclaim.ClaimUpdate{ID: c.ID, Status: fleetclaim.ClaimConsumed, At: at(10), Device: &d}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClaim(NewTenantID(), NewInstallerID(), "SN-1", at(0))
			checkErr(t, "CreateClaim", s.CreateClaim(ctx, c, ""), nil)
			_, err := s.UpdateClaim(ctx, tt.update(c))
			checkErr(t, "UpdateClaim", err, errInvalidCall)

			got, err := s.GetClaim(ctx, c.ID)
			checkErr(t, "GetClaim", err, nil)
			checkEqual(t, "claim after the refused update", got, claimInUTC(c))
			_, err = s.GetDevice(ctx, c.TenantID, c.Serial)
			checkErr(t, "GetDevice after the refused update", err, fleetclaim.ErrNotFound)
		})
	}
}

// consume returns the update with which the hook consumes c at when.
func consume(c fleetclaim.Claim, when time.Time) (fleetclaim.ClaimUpdate, fleetclaim.Device) {
	d := NewDevice(c, when)
	return fleetclaim.ClaimUpdate{
		ID: c.ID, IfStatus: fleetclaim.ClaimIssued, IfUnexpiredAt: when,
		Status: fleetclaim.ClaimConsumed, At: when, Device: &d,
	}, d
}

func testConsumeRecordsDevice(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	tenant, other := NewTenantID(), NewTenantID()
	c := NewClaim(tenant, NewInstallerID(), "SN-100", at(0))
	pending := NewClaim(tenant, c.InstallerID, "SN-200", at(0))
	for _, c := range []fleetclaim.Claim{c, pending} {
		checkErr(t, "CreateClaim", s.CreateClaim(ctx, c, ""), nil)
	}
	u, d := consume(c, at(30))
	got, err := s.UpdateClaim(ctx, u)
	checkErr(t, "UpdateClaim", err, nil)
	if !got.RetainUntil.IsZero() {
		t.Errorf("RetainUntil of the consumed claim = %v, want zero (kept for good)", got.RetainUntil)
	}

	dev, err := s.GetDevice(ctx, tenant, c.Serial)
	checkErr(t, "GetDevice", err, nil)
	checkEqual(t, "GetDevice", dev, deviceInUTC(d))

	list := listAll(t, 10, func(p fleetclaim.Page) ([]fleetclaim.Device, string, error) {
		return s.ListDevices(ctx, tenant, p)
	})
	checkEqual(t, "ListDevices (the issued claim is no device)", list, []fleetclaim.Device{deviceInUTC(d)})

	_, err = s.GetDevice(ctx, tenant, pending.Serial)
	checkErr(t, "GetDevice of an issued claim's serial", err, fleetclaim.ErrNotFound)
	_, err = s.GetDevice(ctx, other, c.Serial)
	checkErr(t, "GetDevice in another tenant", err, fleetclaim.ErrNotFound)
	otherList, _, err := s.ListDevices(ctx, other, fleetclaim.Page{})
	checkErr(t, "ListDevices of another tenant", err, nil)
	checkEqual(t, "ListDevices of another tenant", len(otherList), 0)
}

// testReprovisionedDevice: a serial is provisioned again only after its
// device is decommissioned, by a claim that replaces the one that
// provisioned it; the live device is then the new one.
func testReprovisionedDevice(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	tenant := NewTenantID()
	first := NewClaim(tenant, NewInstallerID(), "SN-7", at(0))
	checkErr(t, "CreateClaim", s.CreateClaim(ctx, first, ""), nil)
	u1, d1 := consume(first, at(50))
	_, err := s.UpdateClaim(ctx, u1)
	checkErr(t, "UpdateClaim", err, nil)
	_, err = s.DecommissionDevice(ctx, tenant, "SN-7", d1.CertificateID, at(60), first.InstallerID, "broken")
	checkErr(t, "DecommissionDevice", err, nil)

	second := NewClaim(tenant, NewInstallerID(), "SN-7", at(100))
	checkErr(t, "CreateClaim replacing the first", s.CreateClaim(ctx, second, first.ID), nil)
	u2, d2 := consume(second, at(150))
	_, err = s.UpdateClaim(ctx, u2)
	checkErr(t, "UpdateClaim", err, nil)

	got, err := s.GetDevice(ctx, tenant, "SN-7")
	checkErr(t, "GetDevice", err, nil)
	checkEqual(t, "GetDevice", got, deviceInUTC(d2))
	list, next, err := s.ListDevices(ctx, tenant, fleetclaim.Page{})
	checkErr(t, "ListDevices", err, nil)
	checkEqual(t, "ListDevices", list, []fleetclaim.Device{deviceInUTC(d2)})
	checkEqual(t, "ListDevices cursor", next, "")
}

func testConsumeRace(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	const racers = 16
	c := NewClaim(NewTenantID(), NewInstallerID(), "SN-RACE", at(0))
	checkErr(t, "CreateClaim", s.CreateClaim(ctx, c, ""), nil)

	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		errs    = make([]error, racers)
		results = make([]fleetclaim.Claim, racers)
	)
	for i := range racers {
		wg.Go(func() {
			u, _ := consume(c, at(10))
			<-start
			results[i], errs[i] = s.UpdateClaim(ctx, u)
		})
	}
	close(start)
	wg.Wait()

	winner, conflicts := -1, 0
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("racers %d and %d both consumed the claim; want exactly one", winner, i)
			}
			winner = i
		case errors.Is(err, fleetclaim.ErrConflict):
			conflicts++
		default:
			t.Fatalf("racer %d: got error %v, want success or ErrConflict", i, err)
		}
	}
	if winner < 0 || conflicts != racers-1 {
		t.Fatalf("got %d winners and %d conflicts, want 1 and %d", racers-conflicts, conflicts, racers-1)
	}

	got, err := s.GetClaim(ctx, c.ID)
	checkErr(t, "GetClaim", err, nil)
	checkEqual(t, "stored claim", got, results[winner])
	dev, err := s.GetDevice(ctx, c.TenantID, c.Serial)
	checkErr(t, "GetDevice", err, nil)
	checkEqual(t, "GetDevice", dev, *results[winner].Device)
}

func testListClaims(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	tenant := NewTenantID()
	installer, colleague, stranger := NewInstallerID(), NewInstallerID(), NewInstallerID()

	// Written out of order; two share an issue time, ordered by ID then.
	var mine []fleetclaim.Claim
	for i, sec := range []int{40, 10, 70, 20, 70, 60, 30} {
		mine = append(mine, NewClaim(tenant, installer, fmt.Sprintf("SN-%d", i), at(sec)))
	}
	others := []fleetclaim.Claim{
		NewClaim(tenant, colleague, "SN-C", at(50)),
		NewClaim(NewTenantID(), stranger, "SN-S", at(50)),
	}
	for _, c := range append(slices.Clone(mine), others...) {
		checkErr(t, "CreateClaim", s.CreateClaim(ctx, c, ""), nil)
	}
	// One of them consumed: listings show claims as stored.
	u, _ := consume(mine[1], at(15))
	consumed, err := s.UpdateClaim(ctx, u)
	checkErr(t, "UpdateClaim", err, nil)
	mine[1] = consumed

	want := mapSlice(mine, claimInUTC)
	slices.SortFunc(want, func(a, b fleetclaim.Claim) int {
		if c := b.IssuedAt.Compare(a.IssuedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})

	for _, limit := range []int{1, 3, 7, 50} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			got := listAll(t, limit, func(p fleetclaim.Page) ([]fleetclaim.Claim, string, error) {
				return s.ListClaims(ctx, installer, p)
			})
			checkEqual(t, "ListClaims, newest first", got, want)
		})
	}
	t.Run("no claims", func(t *testing.T) {
		got, next, err := s.ListClaims(ctx, NewInstallerID(), fleetclaim.Page{})
		checkErr(t, "ListClaims", err, nil)
		checkEqual(t, "ListClaims of an installer with no claims", len(got), 0)
		checkEqual(t, "cursor", next, "")
	})
}

func testListDevices(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	tenant, other := NewTenantID(), NewTenantID()
	var want []fleetclaim.Device
	// Serials are written out of order; listings are ordered by serial.
	for i, serial := range []string{"SN-C", "SN-A", "SN-E", "SN-B", "SN-D"} {
		c := NewClaim(tenant, NewInstallerID(), serial, at(i))
		checkErr(t, "CreateClaim", s.CreateClaim(ctx, c, ""), nil)
		u, d := consume(c, at(i+10))
		_, err := s.UpdateClaim(ctx, u)
		checkErr(t, "UpdateClaim", err, nil)
		want = append(want, deviceInUTC(d))
	}
	// A second provisioning of SN-B, after its first device was
	// decommissioned, replaces it in the listing.
	_, err := s.DecommissionDevice(ctx, tenant, "SN-B", want[3].CertificateID, at(90), "", "replaced")
	checkErr(t, "DecommissionDevice", err, nil)
	again := NewClaim(tenant, NewInstallerID(), "SN-B", at(100))
	checkErr(t, "CreateClaim", s.CreateClaim(ctx, again, want[3].ClaimID), nil)
	u, d := consume(again, at(110))
	_, err = s.UpdateClaim(ctx, u)
	checkErr(t, "UpdateClaim", err, nil)
	want[3] = deviceInUTC(d)
	// A decommissioned device is no longer listed.
	_, err = s.DecommissionDevice(ctx, tenant, "SN-D", want[4].CertificateID, at(120), "", "removed")
	checkErr(t, "DecommissionDevice", err, nil)
	want = slices.Delete(want, 4, 5)
	// The other tenant has a device with a serial in the middle of ours.
	foreign := NewClaim(other, NewInstallerID(), "SN-BB", at(0))
	checkErr(t, "CreateClaim", s.CreateClaim(ctx, foreign, ""), nil)
	u, _ = consume(foreign, at(5))
	_, err = s.UpdateClaim(ctx, u)
	checkErr(t, "UpdateClaim", err, nil)

	slices.SortFunc(want, func(a, b fleetclaim.Device) int { return cmp.Compare(a.Serial, b.Serial) })
	for _, limit := range []int{1, 2, 5, 10} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			got := listAll(t, limit, func(p fleetclaim.Page) ([]fleetclaim.Device, string, error) {
				return s.ListDevices(ctx, tenant, p)
			})
			checkEqual(t, "ListDevices, by serial", got, want)
		})
	}
}
