package fleetclaimtest_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
	"github.com/fleetclaim/fleetclaim/shared/storetest"
)

// The key checks of other packages hold only if every key carries the
// marker once, nothing else carries it, and Keys lists what was handed out.
func TestMinterKeys(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	m := &fleetclaimtest.Minter{Now: func() time.Time { return now }}
	var handed []string
	ids := map[string]bool{}
	for range 3 {
		mc, err := m.CreateProvisioningClaim(t.Context(), "tpl")
		if err != nil {
			t.Fatal(err)
		}
		key := mc.PrivateKey.Reveal()
		if n := strings.Count(key, fleetclaimtest.KeyMarker); n != 1 {
			t.Errorf("got the marker %d times in key %q, want once", n, key)
		}
		if strings.Contains(mc.CertificatePEM+mc.CertificateID, fleetclaimtest.KeyMarker) {
			t.Errorf("got the marker outside the key: %+v", mc)
		}
		if got, want := mc.Expiration, now.Add(5*time.Minute); !got.Equal(want) {
			t.Errorf("got expiration %v, want %v", got, want)
		}
		handed = append(handed, key)
		ids[mc.CertificateID] = true
	}
	m.Fail(fleetclaim.ErrThrottled)
	if _, err := m.CreateProvisioningClaim(t.Context(), "tpl"); !errors.Is(err, fleetclaim.ErrThrottled) {
		t.Errorf("got %v, want the error given to Fail", err)
	}
	if got := m.Keys(); !slices.Equal(got, handed) {
		t.Errorf("got keys %q, want %q", got, handed)
	}
	if got := len(slices.Compact(slices.Sorted(slices.Values(handed)))); got != 3 || len(ids) != 3 {
		t.Errorf("got %d distinct keys and %d distinct IDs, want 3 of each", got, len(ids))
	}
	if got := m.Calls(); got != 4 {
		t.Errorf("got %d calls, want 4 (the failed one included)", got)
	}
}

func TestGroupsCalls(t *testing.T) {
	g := &fleetclaimtest.Groups{}
	ctx := context.Background()
	if exists, err := g.UserExists(ctx, "ana"); err != nil || !exists {
		t.Errorf("UserExists: got %v, %v, want true, nil", exists, err)
	}
	g.Delete("ana")
	if exists, err := g.UserExists(ctx, "ana"); err != nil || exists {
		t.Errorf("UserExists after Delete: got %v, %v, want false, nil", exists, err)
	}
	if err := g.SignOutEverywhere(ctx, "ana"); !errors.Is(err, fleetclaim.ErrNotFound) {
		t.Errorf("SignOutEverywhere after Delete: got %v, want ErrNotFound", err)
	}
	g.Fail(errors.New("TooManyRequestsException"))
	if err := g.SignOutEverywhere(ctx, "bo"); err == nil {
		t.Error("got no error, want the one given to Fail")
	}
	want := []string{"exists ana", "exists ana", "signout ana", "signout bo"}
	if got := g.Calls(); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// The benchmarks rely on MemStore's conditional updates being those of the
// real stores.
func TestMemStoreUpdateClaim(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	c := storetest.NewClaim("acme", storetest.NewInstallerID(), "SN-1", t0)
	tests := []struct {
		name string
		u    fleetclaim.ClaimUpdate
		want error
	}{
		{name: "unknown claim", u: fleetclaim.ClaimUpdate{ID: storetest.NewClaimID(), At: t0}, want: fleetclaim.ErrNotFound},
		{name: "status holds", u: fleetclaim.ClaimUpdate{ID: c.ID, IfStatus: fleetclaim.ClaimIssued, Status: fleetclaim.ClaimRevoked, At: t0}},
		{name: "status does not hold", u: fleetclaim.ClaimUpdate{ID: c.ID, IfStatus: fleetclaim.ClaimConsumed, Status: fleetclaim.ClaimRevoked, At: t0},
			want: fleetclaim.ErrConflict},
		{name: "expired", u: fleetclaim.ClaimUpdate{ID: c.ID, IfUnexpiredAt: c.ExpiresAt, Status: fleetclaim.ClaimRevoked, At: t0},
			want: fleetclaim.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fleetclaimtest.NewMemStore()
			if err := s.CreateClaim(t.Context(), c, ""); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateClaim(t.Context(), c, ""); !errors.Is(err, fleetclaim.ErrConflict) {
				t.Errorf("got %v creating the claim twice, want ErrConflict", err)
			}
			got, err := s.UpdateClaim(t.Context(), tt.u)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			stored, _ := s.GetClaim(t.Context(), c.ID)
			if tt.want == nil && (got.Status != tt.u.Status || stored != got) {
				t.Errorf("got %+v stored as %+v, want status %s", got, stored, tt.u.Status)
			}
			if tt.want != nil && stored != c {
				t.Errorf("got %+v stored, want the claim untouched", stored)
			}
		})
	}
}

// Stall answers only when the call's context is done, and records the
// deadline it was given; a call without one returns at once.
func TestStall(t *testing.T) {
	var s fleetclaimtest.Stall
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the context's deadline", err)
	}
	if time.Since(start) < 20*time.Millisecond {
		t.Error("Wait returned before the deadline")
	}
	s.CheckDeadline(t, start, 20*time.Millisecond)

	var none fleetclaimtest.Stall
	got, err := fleetclaimtest.Within(t, time.Minute, func(ctx context.Context) (int, error) { return 7, none.Wait(ctx) })
	if got != 7 || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %d, %v; want Wait to return at once without a deadline", got, err)
	}
}

// The benchmarks rely on MemStore's one current claim and one live device
// per serial being those of the real stores.
func TestMemStoreSerials(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	installer := storetest.NewInstallerID()
	first := storetest.NewClaim("acme", installer, "SN-1", t0)
	consume := func(c fleetclaim.Claim) fleetclaim.ClaimUpdate {
		d := storetest.NewDevice(c, c.IssuedAt)
		return fleetclaim.ClaimUpdate{ID: c.ID, IfStatus: fleetclaim.ClaimIssued, IfUnexpiredAt: c.IssuedAt,
			Status: fleetclaim.ClaimConsumed, At: c.IssuedAt, Device: &d}
	}
	tests := []struct {
		name     string
		consumed bool // the first claim is consumed before the second is created
		issuedAt time.Time
		replaces fleetclaim.ClaimID
		want     error
	}{
		{name: "replacing an expired claim", issuedAt: first.ExpiresAt, replaces: first.ID},
		{name: "replacing an open claim", issuedAt: t0.Add(time.Minute), replaces: first.ID, want: fleetclaim.ErrConflict},
		{name: "naming no claim to replace", issuedAt: first.ExpiresAt, want: fleetclaim.ErrConflict},
		{name: "replacing a claim whose device is live", consumed: true, issuedAt: first.ExpiresAt, replaces: first.ID,
			want: fleetclaim.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fleetclaimtest.NewMemStore()
			if err := s.CreateClaim(t.Context(), first, ""); err != nil {
				t.Fatal(err)
			}
			if tt.consumed {
				if _, err := s.UpdateClaim(t.Context(), consume(first)); err != nil {
					t.Fatal(err)
				}
			}
			second := storetest.NewClaim("acme", installer, "SN-1", tt.issuedAt)
			if err := s.CreateClaim(t.Context(), second, tt.replaces); !errors.Is(err, tt.want) {
				t.Fatalf("CreateClaim: got %v, want %v", err, tt.want)
			}
			current := first.ID
			if tt.want == nil {
				current = second.ID
				// The replaced claim no longer changes.
				if _, err := s.UpdateClaim(t.Context(), consume(first)); !errors.Is(err, fleetclaim.ErrConflict) {
					t.Errorf("consuming the replaced claim: got %v, want ErrConflict", err)
				}
			}
			state, err := s.GetSerial(t.Context(), "acme", "SN-1")
			if err != nil || state.Claim == nil || state.Claim.ID != current || (state.Device != nil) != tt.consumed {
				t.Errorf("GetSerial: got %+v, %v; want current claim %s, live device %v", state, err, current, tt.consumed)
			}
		})
	}
}
