package dynamostore_test

import (
	"context"
	"errors"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/fleetclaim/fleetclaim/shared/dynamostore"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/storetest"
)

// faultOnce passes every call to a real client, except that the UpdateItem
// calls failing picks fail with errInternal instead.
type faultOnce struct {
	dynamostore.API
	failing func(in *dynamodb.UpdateItemInput) bool
	failed  atomic.Int32
}

func (f *faultOnce) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if f.failing != nil && f.failing(in) && f.failed.Add(1) == 1 {
		return nil, errInternal
	}
	return f.API.UpdateItem(ctx, in, opts...)
}

// A decommission writes the history item before it frees the serial. When
// freeing the serial fails, the history item must not show while the
// device is live, and the retried decommission must leave one entry, as
// the retry recorded it.
func TestDecommissionInterrupted(t *testing.T) {
	api, table, st := rawTable(t)
	ctx := t.Context()
	when := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	c := storetest.NewClaim(storetest.NewTenantID(), storetest.NewInstallerID(), "SN-1", when)
	if err := st.CreateClaim(ctx, c, ""); err != nil {
		t.Fatalf("CreateClaim: %v", err)
	}
	d := storetest.NewDevice(c, when.Add(time.Minute))
	if _, err := st.UpdateClaim(ctx, fleetclaim.ClaimUpdate{ID: c.ID, IfStatus: fleetclaim.ClaimIssued, IfUnexpiredAt: d.ProvisionedAt,
		Status: fleetclaim.ClaimConsumed, At: d.ProvisionedAt, Device: &d}); err != nil {
		t.Fatalf("UpdateClaim: %v", err)
	}

	// The serial update is the only UpdateItem a decommission makes.
	faulty := dynamostore.New(&faultOnce{API: api, failing: func(*dynamodb.UpdateItemInput) bool { return true }}, table)
	_, err := faulty.DecommissionDevice(ctx, c.TenantID, c.Serial, d.CertificateID, when.Add(time.Hour), "", "first try")
	if !errors.Is(err, errInternal) {
		t.Fatalf("DecommissionDevice with the serial update failing: got %v, want %v", err, errInternal)
	}
	if _, err := st.GetDevice(ctx, c.TenantID, c.Serial); err != nil {
		t.Fatalf("GetDevice after the failed decommission: got %v, want the device still live", err)
	}
	history, _, err := st.ListDeviceHistory(ctx, c.TenantID, c.Serial, fleetclaim.Page{})
	if err != nil || len(history) != 0 {
		t.Fatalf("ListDeviceHistory while the device is live: got %+v, %v; want none", history, err)
	}

	got, err := st.DecommissionDevice(ctx, c.TenantID, c.Serial, d.CertificateID, when.Add(2*time.Hour), "", "second try")
	if err != nil {
		t.Fatalf("DecommissionDevice again: %v", err)
	}
	history, _, err = st.ListDeviceHistory(ctx, c.TenantID, c.Serial, fleetclaim.Page{})
	if err != nil || !reflect.DeepEqual(history, []fleetclaim.Device{got}) {
		t.Fatalf("ListDeviceHistory after the retry:\n got %+v, %v\nwant %+v", history, err, []fleetclaim.Device{got})
	}
	if got.DecommissionReason != "second try" {
		t.Errorf("decommission reason %q, want the retry's", got.DecommissionReason)
	}
}
