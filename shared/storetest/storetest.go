// Package storetest is the contract suite for fleetclaim.Store. Every store
// implementation runs it from its own tests, so that the embedded store of
// the local stack and the DynamoDB adapter behave the same way:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) fleetclaim.Store { return newEmptyStore(t) })
//	}
//
// It also builds valid fixtures (IDs shaped like the real ones) for other tests.
package storetest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// Run runs the contract suite against the stores that newStore returns.
//
// newStore must return a new, empty store. It is called once per subtest and
// the subtests run in parallel, so it must be safe to call concurrently.
//
// Beyond the port documentation, the suite holds every store to these rules:
//   - times are kept to the nanosecond and read back in UTC;
//   - an empty Tenant.AutoApproveDomains reads back as nil;
//   - CreateClaim refuses a claim that carries a Device: only UpdateClaim
//     records one, so the device index cannot disagree with the claim;
//   - UpdateClaim requires At, and a Device requires Status consumed and the
//     claim's ID; a Device whose tenant or serial differs from the stored
//     claim's fails with ErrConflict;
//   - SetInstallerStatus requires at least one `from` status;
//   - UpdateClaim with a Device records it in state DeviceRegistered, with
//     no online or decommission details, whatever the Device says;
//   - ListDevices lists live devices only, one per serial;
//   - MarkDeviceOnline and DecommissionDevice require the tenant, serial,
//     certificate and time;
//   - a decommissioned device is kept as it was when decommissioned (its
//     online times included), in its serial's history and on its claim;
//   - a list breaks ties in its order by ID, in the same direction;
//   - a page is short only when it is the last, and the last page has no
//     cursor; Limit 0 (or less) means DefaultPageSize and more than
//     MaxPageSize means MaxPageSize;
//   - a cursor is valid only for the listing (kind and tenant or installer,
//     and an audit listing's filter) that produced it; any other gives
//     ErrInvalidCursor;
//   - AppendAudit refuses an event whose tenant, time and ID exist already
//     with ErrConflict: the trail is append-only;
//   - TakeQuota with a limit of 0 or less is always exhausted;
//   - calls that are invalid whatever the stored state fail with an error
//     that is none of the sentinels, and change nothing;
//   - a context that is canceled or past its deadline fails every method
//     with an error that wraps the context's error, and changes nothing.
func Run(t *testing.T, newStore func(t *testing.T) fleetclaim.Store) {
	tests := []struct {
		name string
		test func(t *testing.T, s fleetclaim.Store)
	}{
		{"ClaimRoundTrip", testClaimRoundTrip},
		{"CreateClaimConflict", testCreateClaimConflict},
		{"CreateClaimRejectsBadInput", testCreateClaimRejectsBadInput},
		{"GetClaimNotFound", testGetClaimNotFound},
		{"UpdateClaim", testUpdateClaim},
		{"UpdateClaimRejectsBadInput", testUpdateClaimRejectsBadInput},
		{"ConsumeRecordsDevice", testConsumeRecordsDevice},
		{"ReprovisionedDevice", testReprovisionedDevice},
		{"ConsumeRace", testConsumeRace},
		{"CreateClaimCurrent", testCreateClaimCurrent},
		{"UpdateClaimOnlyCurrent", testUpdateClaimOnlyCurrent},
		{"ConsumeRefusedWhileLive", testConsumeRefusedWhileLive},
		{"ConsumeOnlyIssuedUnexpired", testConsumeOnlyIssuedUnexpired},
		{"DeviceBecomesLive", testDeviceBecomesLive},
		{"MarkDeviceOnline", testMarkDeviceOnline},
		{"DecommissionDevice", testDecommissionDevice},
		{"DeviceRejectsBadInput", testDeviceRejectsBadInput},
		{"ListDeviceHistory", testListDeviceHistory},
		{"ClaimsShowLatestState", testClaimsShowLatestState},
		{"SerialRace", testSerialRace},
		{"ConsumeRevokeRace", testConsumeRevokeRace},
		{"CreateClaimRace", testCreateClaimRace},
		{"ListClaims", testListClaims},
		{"ListDevices", testListDevices},
		{"InstallerRoundTrip", testInstallerRoundTrip},
		{"CreateInstallerConflict", testCreateInstallerConflict},
		{"SetInstallerStatus", testSetInstallerStatus},
		{"ListInstallers", testListInstallers},
		{"DirectoryRejectsBadInput", testDirectoryRejectsBadInput},
		{"Tenants", testTenants},
		{"TakeQuota", testTakeQuota},
		{"TakeQuotaRace", testTakeQuotaRace},
		{"Audit", testAudit},
		{"AuditFilters", testAuditFilters},
		{"AuditSparseMatches", testAuditSparseMatches},
		{"PageSizeBounds", testPageSizeBounds},
		{"InvalidCursors", testInvalidCursors},
		{"ContextDone", testContextDone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.test(t, newStore(t))
		})
	}
}

// NewClaimID returns a random claim ID shaped like an AWS IoT certificate ID
// (64 lowercase hex characters).
func NewClaimID() fleetclaim.ClaimID {
	return fleetclaim.ClaimID(randomHex(32))
}

// NewInstallerID returns a random installer ID shaped like a Cognito user
// sub (a version 4 UUID).
func NewInstallerID() fleetclaim.InstallerID {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return fleetclaim.InstallerID(h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:])
}

// NewTenantID returns a random valid tenant ID.
func NewTenantID() fleetclaim.TenantID {
	return fleetclaim.TenantID("t-" + randomHex(8))
}

// Claim lifetimes used by NewClaim: AWS IoT claim certificates live five
// minutes; the record is kept a week past that so installers can see why a
// claim failed.
const (
	claimLifetime  = 5 * time.Minute
	claimRetention = 7 * 24 * time.Hour
)

// NewClaim returns an issued claim with a new ID for serial, bound to tenant
// and installer, issued at issuedAt, expiring five minutes later.
func NewClaim(tenant fleetclaim.TenantID, installer fleetclaim.InstallerID, serial string, issuedAt time.Time) fleetclaim.Claim {
	return fleetclaim.Claim{
		ID:          NewClaimID(),
		TenantID:    tenant,
		InstallerID: installer,
		Template:    "fleet-default",
		Serial:      serial,
		Site:        "Hall 3, bay 12",
		Status:      fleetclaim.ClaimIssued,
		IssuedAt:    issuedAt,
		ExpiresAt:   issuedAt.Add(claimLifetime),
		UpdatedAt:   issuedAt,
		RetainUntil: issuedAt.Add(claimLifetime + claimRetention),
	}
}

// NewDevice returns the device that consuming c at provisionedAt records.
func NewDevice(c fleetclaim.Claim, provisionedAt time.Time) fleetclaim.Device {
	return fleetclaim.Device{
		TenantID:      c.TenantID,
		Serial:        c.Serial,
		ThingName:     fleetclaim.ThingName(c.TenantID, c.Serial),
		CertificateID: randomHex(32),
		InstallerID:   c.InstallerID,
		ClaimID:       c.ID,
		Template:      c.Template,
		Site:          c.Site,
		ProvisionedAt: provisionedAt,
		State:         fleetclaim.DeviceRegistered,
	}
}

// NewInstaller returns a pending installer with a new ID in tenant.
func NewInstaller(tenant fleetclaim.TenantID, email string, createdAt time.Time) fleetclaim.Installer {
	id := NewInstallerID()
	return fleetclaim.Installer{
		ID:        id,
		Username:  string(id),
		Email:     email,
		TenantID:  tenant,
		Status:    fleetclaim.InstallerPending,
		CreatedAt: createdAt,
		UpdatedAt: createdAt,
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// base is a fixed instant with nanoseconds, in a zone other than UTC, so
// that round trips show any loss of precision or of the instant.
var base = time.Date(2026, 11, 22, 10, 30, 0, 123456789, time.FixedZone("UTC+1", 3600))

// at returns base plus n seconds.
func at(n int) time.Time { return base.Add(time.Duration(n) * time.Second) }

// sentinels are the errors that carry a meaning for callers; a fault or an
// invalid call must wrap none of them.
var sentinels = []error{
	fleetclaim.ErrNotFound, fleetclaim.ErrConflict, fleetclaim.ErrQuotaExhausted,
	fleetclaim.ErrThrottled, fleetclaim.ErrInvalidCursor,
}

// checkErr fails t unless err is want: nil for success, a sentinel to be
// wrapped, or errInvalidCall for an error that wraps no sentinel.
func checkErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: got error %v, want success", what, err)
	case want == errInvalidCall:
		if err == nil {
			t.Fatalf("%s: got success, want an error", what)
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				t.Fatalf("%s: got %v, want an error that is no sentinel (not %v)", what, err, s)
			}
		}
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// errInvalidCall stands, in test tables, for "fails without a sentinel".
var errInvalidCall = errors.New("invalid call")

// checkEqual fails t unless got and want are deeply equal.
func checkEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %s\nwant %s", what, show(got), show(want))
	}
}

// show renders v as JSON, which spells out times and follows pointers.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// listAll reads every page of a listing with limit and checks the paging
// rules: no page is longer than limit, every page with a cursor is full, and
// the last page has no cursor and is empty only if the listing is.
func listAll[T any](t *testing.T, limit int, list func(fleetclaim.Page) ([]T, string, error)) []T {
	t.Helper()
	var all []T
	cursor := ""
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatalf("more than 1000 pages of %d: the cursor does not advance", limit)
		}
		got, next, err := list(fleetclaim.Page{Limit: limit, Cursor: cursor})
		if err != nil {
			t.Fatalf("page %d (limit %d): %v", page, limit, err)
		}
		if len(got) > limit {
			t.Fatalf("page %d: got %d items, want at most %d", page, len(got), limit)
		}
		all = append(all, got...)
		if next == "" {
			if len(got) == 0 && page > 0 {
				t.Fatalf("page %d: got an empty last page, want the previous page to have no cursor", page)
			}
			return all
		}
		if len(got) != limit {
			t.Fatalf("page %d: got %d items and a cursor, want a full page of %d", page, len(got), limit)
		}
		cursor = next
	}
}

func claimInUTC(c fleetclaim.Claim) fleetclaim.Claim {
	c.IssuedAt = c.IssuedAt.UTC()
	c.ExpiresAt = c.ExpiresAt.UTC()
	c.UpdatedAt = c.UpdatedAt.UTC()
	c.RetainUntil = c.RetainUntil.UTC()
	if c.Device != nil {
		d := deviceInUTC(*c.Device)
		c.Device = &d
	}
	return c
}

func deviceInUTC(d fleetclaim.Device) fleetclaim.Device {
	d.ProvisionedAt, d.OnlineAt, d.LastConnectedAt = d.ProvisionedAt.UTC(), d.OnlineAt.UTC(), d.LastConnectedAt.UTC()
	d.DecommissionedAt = d.DecommissionedAt.UTC()
	return d
}

func installerInUTC(in fleetclaim.Installer) fleetclaim.Installer {
	in.CreatedAt = in.CreatedAt.UTC()
	in.UpdatedAt = in.UpdatedAt.UTC()
	return in
}

func auditInUTC(e fleetclaim.AuditEvent) fleetclaim.AuditEvent {
	e.At = e.At.UTC()
	return e
}

func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, 0, len(in))
	for _, v := range in {
		out = append(out, f(v))
	}
	return out
}
