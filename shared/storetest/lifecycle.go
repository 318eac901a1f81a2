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

// The rules of one identity per serial (invariant 9): each serial's current
// claim, its live device and its history.

// mustConsume consumes c at when and returns the device it recorded.
func mustConsume(t *testing.T, s fleetclaim.Store, c fleetclaim.Claim, when time.Time) fleetclaim.Device {
	t.Helper()
	u, d := consume(c, when)
	_, err := s.UpdateClaim(t.Context(), u)
	checkErr(t, "UpdateClaim consuming "+string(c.ID), err, nil)
	return deviceInUTC(d)
}

// decommissioned is d as DecommissionDevice records it.
func decommissioned(d fleetclaim.Device, when time.Time, by fleetclaim.InstallerID, reason string) fleetclaim.Device {
	d.State, d.DecommissionedAt, d.DecommissionedBy, d.DecommissionReason = fleetclaim.DeviceDecommissioned, when.UTC(), by, reason
	return d
}

// checkSerial fails t unless the serial's current claim is want (nil: none)
// and its live device is live (nil: free).
func checkSerial(t *testing.T, s fleetclaim.Store, tenant fleetclaim.TenantID, serial string, want *fleetclaim.Claim, live *fleetclaim.Device) {
	t.Helper()
	got, err := s.GetSerial(t.Context(), tenant, serial)
	checkErr(t, "GetSerial", err, nil)
	wantState := fleetclaim.SerialState{}
	if want != nil {
		c := claimInUTC(*want)
		wantState = fleetclaim.SerialState{TenantID: tenant, Serial: serial, Claim: &c, Device: live}
	}
	checkEqual(t, "GetSerial", got, wantState)
	dev, err := s.GetDevice(t.Context(), tenant, serial)
	if live == nil {
		checkErr(t, "GetDevice of a free serial", err, fleetclaim.ErrNotFound)
		return
	}
	checkErr(t, "GetDevice", err, nil)
	checkEqual(t, "GetDevice", dev, *live)
}

func testCreateClaimCurrent(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	// Each case starts from a serial whose current claim, if any, was
	// issued at at(0) and expires at at(300).
	tests := []struct {
		name     string
		setup    func(t *testing.T, prev fleetclaim.Claim) // nil: the serial has no claim
		issuedAt int
		replaces func(prev fleetclaim.Claim) fleetclaim.ClaimID
		want     error
	}{
		{name: "first claim of a serial", issuedAt: 10, replaces: none},
		{name: "first claim naming one to replace", issuedAt: 10, replaces: func(fleetclaim.Claim) fleetclaim.ClaimID { return NewClaimID() },
			want: fleetclaim.ErrConflict},
		{name: "second claim naming none", setup: func(*testing.T, fleetclaim.Claim) {}, issuedAt: 400, replaces: none,
			want: fleetclaim.ErrConflict},
		{name: "replacing a claim that is not current", setup: func(*testing.T, fleetclaim.Claim) {}, issuedAt: 400,
			replaces: func(fleetclaim.Claim) fleetclaim.ClaimID { return NewClaimID() }, want: fleetclaim.ErrConflict},
		{name: "replacing an open claim", setup: func(*testing.T, fleetclaim.Claim) {}, issuedAt: 299, replaces: prevID,
			want: fleetclaim.ErrConflict},
		{name: "replacing a claim that expires as the new one is issued", setup: func(*testing.T, fleetclaim.Claim) {},
			issuedAt: 300, replaces: prevID},
		{name: "replacing a revoked claim", setup: func(t *testing.T, prev fleetclaim.Claim) {
			_, err := s.UpdateClaim(ctx, fleetclaim.ClaimUpdate{ID: prev.ID, Status: fleetclaim.ClaimRevoked,
				Reason: fleetclaim.ReasonClaimSuperseded, At: at(5)})
			checkErr(t, "UpdateClaim revoking", err, nil)
		}, issuedAt: 10, replaces: prevID},
		{name: "replacing a claim whose device is live", setup: func(t *testing.T, prev fleetclaim.Claim) {
			mustConsume(t, s, prev, at(5))
		}, issuedAt: 400, replaces: prevID, want: fleetclaim.ErrConflict},
		{name: "replacing a claim whose device was decommissioned", setup: func(t *testing.T, prev fleetclaim.Claim) {
			d := mustConsume(t, s, prev, at(5))
			_, err := s.DecommissionDevice(ctx, prev.TenantID, prev.Serial, d.CertificateID, at(6), prev.InstallerID, "broken")
			checkErr(t, "DecommissionDevice", err, nil)
		}, issuedAt: 10, replaces: prevID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tenant, installer := NewTenantID(), NewInstallerID()
			prev := NewClaim(tenant, installer, "SN-1", at(0))
			var current *fleetclaim.Claim
			var live *fleetclaim.Device
			if tt.setup != nil {
				checkErr(t, "CreateClaim of the first claim", s.CreateClaim(ctx, prev, ""), nil)
				tt.setup(t, prev)
				state, err := s.GetSerial(ctx, tenant, prev.Serial)
				checkErr(t, "GetSerial", err, nil)
				current, live = state.Claim, state.Device
			}
			c := NewClaim(tenant, installer, "SN-1", at(tt.issuedAt))
			checkErr(t, "CreateClaim", s.CreateClaim(ctx, c, tt.replaces(prev)), tt.want)
			if tt.want != nil {
				_, err := s.GetClaim(ctx, c.ID)
				checkErr(t, "GetClaim of the refused claim", err, fleetclaim.ErrNotFound)
				checkSerial(t, s, tenant, c.Serial, current, live)
				return
			}
			checkSerial(t, s, tenant, c.Serial, &c, nil)
			got, err := s.GetClaim(ctx, c.ID)
			checkErr(t, "GetClaim", err, nil)
			checkEqual(t, "GetClaim", got, claimInUTC(c))
			if current != nil {
				got, err := s.GetClaim(ctx, prev.ID)
				checkErr(t, "GetClaim of the replaced claim", err, nil)
				checkEqual(t, "GetClaim of the replaced claim", got, *current)
			}
		})
	}
}

func none(fleetclaim.Claim) fleetclaim.ClaimID     { return "" }
func prevID(c fleetclaim.Claim) fleetclaim.ClaimID { return c.ID }

// testUpdateClaimOnlyCurrent: a replaced claim keeps its last state; no
// update, conditional or not, changes it.
func testUpdateClaimOnlyCurrent(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	tenant, installer := NewTenantID(), NewInstallerID()
	old := NewClaim(tenant, installer, "SN-1", at(0))
	checkErr(t, "CreateClaim", s.CreateClaim(ctx, old, ""), nil)
	revoked, err := s.UpdateClaim(ctx, fleetclaim.ClaimUpdate{ID: old.ID, IfStatus: fleetclaim.ClaimIssued,
		Status: fleetclaim.ClaimRevoked, Reason: fleetclaim.ReasonClaimSuperseded, At: at(5)})
	checkErr(t, "UpdateClaim revoking", err, nil)
	current := NewClaim(tenant, installer, "SN-1", at(10))
	checkErr(t, "CreateClaim replacing", s.CreateClaim(ctx, current, old.ID), nil)

	updates := []struct {
		name string
		u    fleetclaim.ClaimUpdate
	}{
		{"reason only", fleetclaim.ClaimUpdate{ID: old.ID, Reason: fleetclaim.ReasonRevokedByAdmin, At: at(20)}},
		{"status, unconditional", fleetclaim.ClaimUpdate{ID: old.ID, Status: fleetclaim.ClaimIssued, At: at(20)}},
		{"consume", func() fleetclaim.ClaimUpdate {
			d := NewDevice(old, at(20))
			return fleetclaim.ClaimUpdate{ID: old.ID, Status: fleetclaim.ClaimConsumed, At: at(20), Device: &d}
		}()},
	}
	for _, tt := range updates {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.UpdateClaim(ctx, tt.u)
			checkErr(t, "UpdateClaim of the replaced claim", err, fleetclaim.ErrConflict)
			got, err := s.GetClaim(ctx, old.ID)
			checkErr(t, "GetClaim", err, nil)
			checkEqual(t, "replaced claim", got, revoked)
			checkSerial(t, s, tenant, "SN-1", &current, nil)
		})
	}
}

// testConsumeRefusedWhileLive: the consuming write itself refuses a serial
// that has a live device, even with no condition of its own.
func testConsumeRefusedWhileLive(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	c := NewClaim(NewTenantID(), NewInstallerID(), "SN-1", at(0))
	checkErr(t, "CreateClaim", s.CreateClaim(ctx, c, ""), nil)
	d := mustConsume(t, s, c, at(10))
	stored, err := s.GetClaim(ctx, c.ID)
	checkErr(t, "GetClaim", err, nil)

	again := NewDevice(c, at(20))
	_, err = s.UpdateClaim(ctx, fleetclaim.ClaimUpdate{ID: c.ID, Status: fleetclaim.ClaimConsumed, At: at(20), Device: &again})
	checkErr(t, "UpdateClaim consuming again, unconditionally", err, fleetclaim.ErrConflict)
	got, err := s.GetClaim(ctx, c.ID)
	checkErr(t, "GetClaim", err, nil)
	checkEqual(t, "claim after the refused consume", got, stored)
	checkSerial(t, s, c.TenantID, c.Serial, &stored, &d)
}

func testDeviceBecomesLive(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	c := NewClaim(NewTenantID(), NewInstallerID(), "SN-1", at(0))
	checkErr(t, "CreateClaim", s.CreateClaim(ctx, c, ""), nil)
	checkSerial(t, s, c.TenantID, c.Serial, &c, nil)

	// What the caller says of the device's later life is not recorded.
	u, d := consume(c, at(10))
	u.Device.State, u.Device.OnlineAt, u.Device.DecommissionReason = fleetclaim.DeviceOnline, at(11), "ignored"
	got, err := s.UpdateClaim(ctx, u)
	checkErr(t, "UpdateClaim", err, nil)
	d = deviceInUTC(d)
	want := claimInUTC(c)
	want.Status, want.UpdatedAt, want.RetainUntil, want.Device = fleetclaim.ClaimConsumed, at(10).UTC(), time.Time{}, &d
	checkEqual(t, "UpdateClaim result", got, want)
	checkSerial(t, s, c.TenantID, c.Serial, &want, &d)
	list, _, err := s.ListDevices(ctx, c.TenantID, fleetclaim.Page{})
	checkErr(t, "ListDevices", err, nil)
	checkEqual(t, "ListDevices", list, []fleetclaim.Device{d})
}

func testMarkDeviceOnline(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	c := NewClaim(NewTenantID(), NewInstallerID(), "SN-1", at(0))
	checkErr(t, "CreateClaim", s.CreateClaim(ctx, c, ""), nil)
	_, err := s.MarkDeviceOnline(ctx, c.TenantID, c.Serial, "certificate", at(5))
	checkErr(t, "MarkDeviceOnline before any device", err, fleetclaim.ErrNotFound)
	d := mustConsume(t, s, c, at(10))

	online := d
	online.State, online.OnlineAt, online.LastConnectedAt = fleetclaim.DeviceOnline, at(20).UTC(), at(20).UTC()
	later := online
	later.LastConnectedAt = at(40).UTC()
	// Applied in order, each on the state the previous left.
	steps := []struct {
		name    string
		tenant  fleetclaim.TenantID
		serial  string
		cert    string
		when    time.Time
		want    fleetclaim.Device
		wantErr error
	}{
		{name: "another certificate", cert: "another-certificate", when: at(15), want: d, wantErr: fleetclaim.ErrConflict},
		{name: "another tenant", tenant: NewTenantID(), when: at(15), want: d, wantErr: fleetclaim.ErrNotFound},
		{name: "another serial", serial: "SN-2", when: at(15), want: d, wantErr: fleetclaim.ErrNotFound},
		{name: "first connection", when: at(20), want: online},
		{name: "the same connection again", when: at(20), want: online},
		{name: "a later connection", when: at(40), want: later},
		{name: "an earlier connection, delivered late", when: at(30), want: later},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			tenant, serial, cert := cmp.Or(st.tenant, c.TenantID), cmp.Or(st.serial, c.Serial), cmp.Or(st.cert, d.CertificateID)
			got, err := s.MarkDeviceOnline(ctx, tenant, serial, cert, st.when.In(time.FixedZone("UTC-3", -3*3600)))
			checkErr(t, "MarkDeviceOnline", err, st.wantErr)
			if st.wantErr == nil {
				checkEqual(t, "MarkDeviceOnline", got, st.want)
			}
			stored, err := s.GetClaim(ctx, c.ID)
			checkErr(t, "GetClaim", err, nil)
			checkSerial(t, s, c.TenantID, c.Serial, &stored, &st.want)
			checkEqual(t, "the claim's device", *stored.Device, st.want)
		})
	}
}

func testDecommissionDevice(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	tenant, installer, admin := NewTenantID(), NewInstallerID(), NewInstallerID()
	first := NewClaim(tenant, installer, "SN-1", at(0))
	checkErr(t, "CreateClaim", s.CreateClaim(ctx, first, ""), nil)
	d := mustConsume(t, s, first, at(10))
	online, err := s.MarkDeviceOnline(ctx, tenant, "SN-1", d.CertificateID, at(20))
	checkErr(t, "MarkDeviceOnline", err, nil)

	_, err = s.DecommissionDevice(ctx, tenant, "SN-1", "another-certificate", at(30), admin, "broken")
	checkErr(t, "DecommissionDevice with another certificate", err, fleetclaim.ErrConflict)
	checkSerial(t, s, tenant, "SN-1", claimWith(t, s, first.ID), &online)

	got, err := s.DecommissionDevice(ctx, tenant, "SN-1", d.CertificateID, at(30).In(time.FixedZone("UTC+5", 5*3600)), admin, "broken")
	checkErr(t, "DecommissionDevice", err, nil)
	gone := decommissioned(online, at(30), admin, "broken")
	checkEqual(t, "DecommissionDevice", got, gone)

	// The serial is free; its claim stays current and shows the device as
	// decommissioned, and the device is its history.
	current := claimInUTC(first)
	current.Status, current.UpdatedAt, current.RetainUntil, current.Device = fleetclaim.ClaimConsumed, at(10).UTC(), time.Time{}, &gone
	checkSerial(t, s, tenant, "SN-1", &current, nil)
	stored, err := s.GetClaim(ctx, first.ID)
	checkErr(t, "GetClaim", err, nil)
	checkEqual(t, "GetClaim", stored, current)
	list, _, err := s.ListDevices(ctx, tenant, fleetclaim.Page{})
	checkErr(t, "ListDevices", err, nil)
	checkEqual(t, "ListDevices of a tenant whose one device was decommissioned", len(list), 0)
	history, _, err := s.ListDeviceHistory(ctx, tenant, "SN-1", fleetclaim.Page{})
	checkErr(t, "ListDeviceHistory", err, nil)
	checkEqual(t, "ListDeviceHistory", history, []fleetclaim.Device{gone})

	_, err = s.DecommissionDevice(ctx, tenant, "SN-1", d.CertificateID, at(31), admin, "again")
	checkErr(t, "DecommissionDevice again", err, fleetclaim.ErrNotFound)
	_, err = s.MarkDeviceOnline(ctx, tenant, "SN-1", d.CertificateID, at(32))
	checkErr(t, "MarkDeviceOnline of the decommissioned device", err, fleetclaim.ErrNotFound)
	_, err = s.DecommissionDevice(ctx, tenant, "SN-NONE", d.CertificateID, at(31), admin, "")
	checkErr(t, "DecommissionDevice of a serial never claimed", err, fleetclaim.ErrNotFound)

	// A new claim replaces the first and registers a new device.
	second := NewClaim(tenant, installer, "SN-1", at(40))
	checkErr(t, "CreateClaim replacing the first", s.CreateClaim(ctx, second, first.ID), nil)
	d2 := mustConsume(t, s, second, at(50))
	checkSerial(t, s, tenant, "SN-1", claimWith(t, s, second.ID), &d2)
	stored, err = s.GetClaim(ctx, first.ID)
	checkErr(t, "GetClaim of the replaced claim", err, nil)
	checkEqual(t, "GetClaim of the replaced claim", stored, current)
	history, _, err = s.ListDeviceHistory(ctx, tenant, "SN-1", fleetclaim.Page{})
	checkErr(t, "ListDeviceHistory", err, nil)
	checkEqual(t, "ListDeviceHistory with a new live device", history, []fleetclaim.Device{gone})
	list, _, err = s.ListDevices(ctx, tenant, fleetclaim.Page{})
	checkErr(t, "ListDevices", err, nil)
	checkEqual(t, "ListDevices", list, []fleetclaim.Device{d2})
}

// claimWith reads claim id, which must exist.
func claimWith(t *testing.T, s fleetclaim.Store, id fleetclaim.ClaimID) *fleetclaim.Claim {
	t.Helper()
	c, err := s.GetClaim(t.Context(), id)
	checkErr(t, "GetClaim", err, nil)
	return &c
}

func testDeviceRejectsBadInput(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	c := NewClaim(NewTenantID(), NewInstallerID(), "SN-1", at(0))
	checkErr(t, "CreateClaim", s.CreateClaim(ctx, c, ""), nil)
	d := mustConsume(t, s, c, at(10))
	stored := claimWith(t, s, c.ID)
	tests := []struct {
		name         string
		tenant       fleetclaim.TenantID
		serial, cert string
		when         time.Time
	}{
		{"no tenant", "", c.Serial, d.CertificateID, at(20)},
		{"no serial", c.TenantID, "", d.CertificateID, at(20)},
		{"no certificate", c.TenantID, c.Serial, "", at(20)},
		{"no time", c.TenantID, c.Serial, d.CertificateID, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.MarkDeviceOnline(ctx, tt.tenant, tt.serial, tt.cert, tt.when)
			checkErr(t, "MarkDeviceOnline", err, errInvalidCall)
			_, err = s.DecommissionDevice(ctx, tt.tenant, tt.serial, tt.cert, tt.when, "", "broken")
			checkErr(t, "DecommissionDevice", err, errInvalidCall)
			checkSerial(t, s, c.TenantID, c.Serial, stored, &d)
		})
	}
}

func testListDeviceHistory(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	tenant, installer := NewTenantID(), NewInstallerID()
	// Five generations of SN-1, the last one live; one of SN-2.
	var want []fleetclaim.Device
	prev := fleetclaim.ClaimID("")
	for i := range 5 {
		c := NewClaim(tenant, installer, "SN-1", at(100*i))
		checkErr(t, "CreateClaim", s.CreateClaim(ctx, c, prev), nil)
		prev = c.ID
		d := mustConsume(t, s, c, at(100*i+10))
		if i == 4 {
			break
		}
		gone, err := s.DecommissionDevice(ctx, tenant, "SN-1", d.CertificateID, at(100*i+50), installer, fmt.Sprintf("generation %d", i))
		checkErr(t, "DecommissionDevice", err, nil)
		want = append(want, gone)
	}
	other := NewClaim(tenant, installer, "SN-2", at(0))
	checkErr(t, "CreateClaim", s.CreateClaim(ctx, other, ""), nil)
	d := mustConsume(t, s, other, at(10))
	_, err := s.DecommissionDevice(ctx, tenant, "SN-2", d.CertificateID, at(20), installer, "")
	checkErr(t, "DecommissionDevice", err, nil)

	slices.Reverse(want)
	for _, limit := range []int{1, 2, 4, 10} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			got := listAll(t, limit, func(p fleetclaim.Page) ([]fleetclaim.Device, string, error) {
				return s.ListDeviceHistory(ctx, tenant, "SN-1", p)
			})
			checkEqual(t, "ListDeviceHistory, newest first", got, want)
		})
	}
	for _, tt := range []struct {
		name   string
		tenant fleetclaim.TenantID
		serial string
	}{{"serial never claimed", tenant, "SN-3"}, {"serial of another tenant", NewTenantID(), "SN-1"}} {
		t.Run(tt.name, func(t *testing.T) {
			got, next, err := s.ListDeviceHistory(ctx, tt.tenant, tt.serial, fleetclaim.Page{})
			checkErr(t, "ListDeviceHistory", err, nil)
			checkEqual(t, "ListDeviceHistory", len(got), 0)
			checkEqual(t, "cursor", next, "")
		})
	}
}

// testClaimsShowLatestState: GetClaim and ListClaims show each claim's
// latest state, whether it is its serial's current claim or was replaced.
func testClaimsShowLatestState(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	tenant, installer := NewTenantID(), NewInstallerID()
	a := NewClaim(tenant, installer, "SN-1", at(0))
	checkErr(t, "CreateClaim", s.CreateClaim(ctx, a, ""), nil)
	d := mustConsume(t, s, a, at(10))
	_, err := s.MarkDeviceOnline(ctx, tenant, "SN-1", d.CertificateID, at(20))
	checkErr(t, "MarkDeviceOnline", err, nil)
	_, err = s.DecommissionDevice(ctx, tenant, "SN-1", d.CertificateID, at(30), installer, "broken")
	checkErr(t, "DecommissionDevice", err, nil)
	b := NewClaim(tenant, installer, "SN-1", at(40))
	checkErr(t, "CreateClaim", s.CreateClaim(ctx, b, a.ID), nil)
	_, err = s.UpdateClaim(ctx, fleetclaim.ClaimUpdate{ID: b.ID, Status: fleetclaim.ClaimRevoked,
		Reason: fleetclaim.ReasonClaimSuperseded, At: at(50)})
	checkErr(t, "UpdateClaim revoking", err, nil)
	c := NewClaim(tenant, installer, "SN-1", at(60))
	checkErr(t, "CreateClaim", s.CreateClaim(ctx, c, b.ID), nil)
	e := NewClaim(tenant, installer, "SN-2", at(70))
	checkErr(t, "CreateClaim", s.CreateClaim(ctx, e, ""), nil)
	de := mustConsume(t, s, e, at(80))
	_, err = s.MarkDeviceOnline(ctx, tenant, "SN-2", de.CertificateID, at(90))
	checkErr(t, "MarkDeviceOnline", err, nil)

	online := d
	online.State, online.OnlineAt, online.LastConnectedAt = fleetclaim.DeviceOnline, at(20).UTC(), at(20).UTC()
	gone := decommissioned(online, at(30), installer, "broken")
	wantA := claimInUTC(a)
	wantA.Status, wantA.UpdatedAt, wantA.RetainUntil, wantA.Device = fleetclaim.ClaimConsumed, at(10).UTC(), time.Time{}, &gone
	wantB := claimInUTC(b)
	wantB.Status, wantB.Reason, wantB.UpdatedAt = fleetclaim.ClaimRevoked, fleetclaim.ReasonClaimSuperseded, at(50).UTC()
	onlineE := de
	onlineE.State, onlineE.OnlineAt, onlineE.LastConnectedAt = fleetclaim.DeviceOnline, at(90).UTC(), at(90).UTC()
	wantE := claimInUTC(e)
	wantE.Status, wantE.UpdatedAt, wantE.RetainUntil, wantE.Device = fleetclaim.ClaimConsumed, at(80).UTC(), time.Time{}, &onlineE
	want := []fleetclaim.Claim{wantE, claimInUTC(c), wantB, wantA} // newest first

	for _, w := range want {
		got, err := s.GetClaim(ctx, w.ID)
		checkErr(t, "GetClaim", err, nil)
		checkEqual(t, "GetClaim "+string(w.ID), got, w)
	}
	for _, limit := range []int{1, 3, 10} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			got := listAll(t, limit, func(p fleetclaim.Page) ([]fleetclaim.Claim, string, error) {
				return s.ListClaims(ctx, installer, p)
			})
			checkEqual(t, "ListClaims", got, want)
		})
	}
}

// testSerialRace: claims for one serial are created one after another,
// each replacing the last, and the consumers of each claim race the create
// that replaces it. Whatever the interleaving, exactly one device ever
// becomes live for the serial, and once one has, no claim replaces its claim.
func testSerialRace(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	const (
		claims    = 12
		consumers = 4 // per claim
	)
	tenant := NewTenantID()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created []fleetclaim.Claim
		wins    []fleetclaim.Claim
		release chan struct{} // lets the consumers of the newest claim go
	)
	race := func(i int, c fleetclaim.Claim, start <-chan struct{}) {
		for k := range consumers {
			wg.Go(func() {
				u, _ := consume(c, c.IssuedAt.Add(time.Second))
				<-start
				// Staggered starts, so that on a store whose create takes
				// several calls the create also wins sometimes.
				time.Sleep(time.Duration((i+1)%3*5+k) * time.Millisecond)
				got, err := s.UpdateClaim(ctx, u)
				switch {
				case err == nil:
					mu.Lock()
					wins = append(wins, got)
					mu.Unlock()
				case !errors.Is(err, fleetclaim.ErrConflict):
					t.Errorf("consuming %s: got error %v, want success or ErrConflict", c.ID, err)
				}
			})
		}
	}
	fire := func() {
		if release != nil {
			close(release)
			release = nil
		}
	}
	prev := fleetclaim.ClaimID("")
	for i := range claims {
		// Each claim is issued as the one before it expires, so only a
		// live device can stop it from replacing that one.
		c := NewClaim(tenant, NewInstallerID(), "SN-RACE", at(300*i))
		fire() // the previous claim's consumers race this create
		err := s.CreateClaim(ctx, c, prev)
		if errors.Is(err, fleetclaim.ErrConflict) {
			break // a device is live: checked below
		}
		checkErr(t, "CreateClaim", err, nil)
		created, prev = append(created, c), c.ID
		release = make(chan struct{})
		race(i, c, release)
	}
	fire()
	wg.Wait()

	t.Logf("%d claims created, %d consumers won", len(created), len(wins))
	if len(wins) != 1 {
		t.Fatalf("got %d consumers that won (%s); want exactly one", len(wins), show(wins))
	}
	last, w := created[len(created)-1], wins[0]
	checkEqual(t, "the claim whose consumer won", w.ID, last.ID)
	checkSerial(t, s, tenant, "SN-RACE", &w, w.Device)
	for _, c := range created[:len(created)-1] {
		got, err := s.GetClaim(ctx, c.ID)
		checkErr(t, "GetClaim", err, nil)
		checkEqual(t, "a replaced claim's status", got.Status, fleetclaim.ClaimIssued)
	}
}

// testConsumeRevokeRace: a consumer and a revoker of the same claim; one
// wins and the other's write changes nothing.
func testConsumeRevokeRace(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	for i := range 10 {
		c := NewClaim(NewTenantID(), NewInstallerID(), fmt.Sprintf("SN-%d", i), at(0))
		checkErr(t, "CreateClaim", s.CreateClaim(ctx, c, ""), nil)
		var (
			wg                    sync.WaitGroup
			start                 = make(chan struct{})
			consumeErr, revokeErr error
			consumed, revoked     fleetclaim.Claim
		)
		u, _ := consume(c, at(10))
		wg.Go(func() { <-start; consumed, consumeErr = s.UpdateClaim(ctx, u) })
		wg.Go(func() {
			<-start
			revoked, revokeErr = s.UpdateClaim(ctx, fleetclaim.ClaimUpdate{ID: c.ID, IfStatus: fleetclaim.ClaimIssued,
				Status: fleetclaim.ClaimRevoked, Reason: fleetclaim.ReasonRevokedByAdmin, At: at(10)})
		})
		close(start)
		wg.Wait()

		stored := claimWith(t, s, c.ID)
		switch {
		case consumeErr == nil && errors.Is(revokeErr, fleetclaim.ErrConflict):
			checkEqual(t, "stored claim", *stored, consumed)
			checkSerial(t, s, c.TenantID, c.Serial, stored, consumed.Device)
		case revokeErr == nil && errors.Is(consumeErr, fleetclaim.ErrConflict):
			checkEqual(t, "stored claim", *stored, revoked)
			checkSerial(t, s, c.TenantID, c.Serial, stored, nil)
		default:
			t.Fatalf("round %d: consume got %v, revoke got %v; want exactly one to win and the other ErrConflict", i, consumeErr, revokeErr)
		}
	}
}

// testCreateClaimRace: of concurrent creates for one serial, naming the
// same claim to replace (none, then the first winner), exactly one wins.
func testCreateClaimRace(t *testing.T, s fleetclaim.Store) {
	ctx := t.Context()
	const racers = 12
	tenant, installer := NewTenantID(), NewInstallerID()
	prev := fleetclaim.ClaimID("")
	for round, issuedAt := range []int{0, 300} {
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			cs    = make([]fleetclaim.Claim, racers)
			errs  = make([]error, racers)
		)
		for i := range racers {
			cs[i] = NewClaim(tenant, installer, "SN-1", at(issuedAt))
			wg.Go(func() { <-start; errs[i] = s.CreateClaim(ctx, cs[i], prev) })
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: racers %d and %d both created a current claim; want exactly one", round, winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, fleetclaim.ErrConflict):
				t.Fatalf("round %d: racer %d: got error %v, want success or ErrConflict", round, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no racer created its claim; want exactly one", round)
		}
		checkSerial(t, s, tenant, "SN-1", &cs[winner], nil)
		for i, c := range cs {
			if i != winner {
				_, err := s.GetClaim(ctx, c.ID)
				checkErr(t, "GetClaim of a claim that lost", err, fleetclaim.ErrNotFound)
			}
		}
		prev = cs[winner].ID
	}
	list, _, err := s.ListClaims(ctx, installer, fleetclaim.Page{})
	checkErr(t, "ListClaims", err, nil)
	checkEqual(t, "claims listed (the winners only)", len(list), 2)
}
