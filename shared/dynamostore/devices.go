package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// deviceAttrs is a device as stored (in a serial record, a claim's archive
// and a history item).
type deviceAttrs struct {
	TenantID           string `dynamodbav:"tenantId"`
	Serial             string `dynamodbav:"serial"`
	ThingName          string `dynamodbav:"thingName"`
	CertificateID      string `dynamodbav:"certificateId"`
	InstallerID        string `dynamodbav:"installerId"`
	ClaimID            string `dynamodbav:"claimId"`
	Template           string `dynamodbav:"template"`
	Site               string `dynamodbav:"site"`
	ProvisionedAt      string `dynamodbav:"provisionedAt"`
	State              string `dynamodbav:"state"`
	OnlineAt           string `dynamodbav:"onlineAt"`
	LastConnectedAt    string `dynamodbav:"lastConnectedAt"`
	DecommissionedAt   string `dynamodbav:"decommissionedAt"`
	DecommissionedBy   string `dynamodbav:"decommissionedBy"`
	DecommissionReason string `dynamodbav:"decommissionReason"`
}

func toDevice(d deviceAttrs) fleetclaim.Device {
	return fleetclaim.Device{TenantID: fleetclaim.TenantID(d.TenantID), Serial: d.Serial, ThingName: d.ThingName,
		CertificateID: d.CertificateID, InstallerID: fleetclaim.InstallerID(d.InstallerID), ClaimID: fleetclaim.ClaimID(d.ClaimID),
		Template: d.Template, Site: d.Site, ProvisionedAt: parseTS(d.ProvisionedAt), State: fleetclaim.DeviceState(d.State),
		OnlineAt: parseTS(d.OnlineAt), LastConnectedAt: parseTS(d.LastConnectedAt),
		DecommissionedAt: parseTS(d.DecommissionedAt), DecommissionedBy: fleetclaim.InstallerID(d.DecommissionedBy),
		DecommissionReason: d.DecommissionReason}
}

func fromDevice(d fleetclaim.Device) deviceAttrs {
	return deviceAttrs{TenantID: string(d.TenantID), Serial: d.Serial, ThingName: d.ThingName, CertificateID: d.CertificateID,
		InstallerID: string(d.InstallerID), ClaimID: string(d.ClaimID), Template: d.Template, Site: d.Site,
		ProvisionedAt: ts(d.ProvisionedAt), State: string(d.State), OnlineAt: ts(d.OnlineAt),
		LastConnectedAt: ts(d.LastConnectedAt), DecommissionedAt: ts(d.DecommissionedAt),
		DecommissionedBy: string(d.DecommissionedBy), DecommissionReason: d.DecommissionReason}
}

// registered is d as a new live device: registered, never online.
func registered(d fleetclaim.Device) fleetclaim.Device {
	d.State, d.OnlineAt, d.LastConnectedAt = fleetclaim.DeviceRegistered, time.Time{}, time.Time{}
	d.DecommissionedAt, d.DecommissionedBy, d.DecommissionReason = time.Time{}, "", ""
	return d
}

// historyItem is a decommissioned device. Its sort key is fixed by the
// device (not by when it was decommissioned), so that writing it again, as
// a retried or repaired decommission does, replaces it.
type historyItem struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
	deviceAttrs
}

func newHistoryItem(d fleetclaim.Device) historyItem {
	return historyItem{PK: serialPK(d.TenantID, d.Serial), SK: "HISTORY#" + stamp(d.ProvisionedAt) + "#" + d.CertificateID,
		deviceAttrs: fromDevice(d)}
}

// GetSerial implements fleetclaim.DeviceStore.
func (st *Store) GetSerial(ctx context.Context, tenant fleetclaim.TenantID, serial string) (fleetclaim.SerialState, error) {
	sr, found, err := st.getSerial(ctx, tenant, serial)
	if err != nil {
		return fleetclaim.SerialState{}, fmt.Errorf("get serial %s/%s: %w", tenant, serial, err)
	}
	if !found {
		return fleetclaim.SerialState{}, nil
	}
	c := sr.claim()
	out := fleetclaim.SerialState{TenantID: tenant, Serial: serial, Claim: &c}
	if sr.Live != nil {
		d := toDevice(*sr.Live)
		out.Device = &d
	}
	return out, nil
}

// GetDevice implements fleetclaim.DeviceStore.
func (st *Store) GetDevice(ctx context.Context, tenant fleetclaim.TenantID, serial string) (fleetclaim.Device, error) {
	sr, _, err := st.getSerial(ctx, tenant, serial)
	switch {
	case err != nil:
		return fleetclaim.Device{}, fmt.Errorf("get device %s/%s: %w", tenant, serial, err)
	case sr.Live == nil:
		return fleetclaim.Device{}, fmt.Errorf("get device %s/%s: %w", tenant, serial, fleetclaim.ErrNotFound)
	}
	return toDevice(*sr.Live), nil
}

// ListDevices implements fleetclaim.DeviceStore: the serial records in the
// device index, which holds a serial record while it has a live device.
// Index reads are eventually consistent: a change of a moment ago may not
// show yet.
func (st *Store) ListDevices(ctx context.Context, tenant fleetclaim.TenantID, p fleetclaim.Page) ([]fleetclaim.Device, string, error) {
	items, next, err := query[serialItem](ctx, st, listing{kind: "devices", scope: string(tenant), index: IndexByTenant,
		pkAttr: AttrGSI2PK, pk: devicesPK(tenant), keyAttrs: []string{AttrPK, AttrSK, AttrGSI2PK, AttrGSI2SK}}, p)
	out := make([]fleetclaim.Device, 0, len(items))
	for _, it := range items {
		if it.Live == nil {
			return nil, "", fmt.Errorf("list devices of %s: %s is in the device index without a device", tenant, it.PK)
		}
		out = append(out, toDevice(*it.Live))
	}
	return out, next, err
}

// writeAttempts bounds the read-then-conditional-write loops below; only
// writes racing on one serial make them go round again.
const writeAttempts = 8

// errContended: a serial changed under every attempt. A fault, not a
// decision: the caller may try again.
var errContended = errors.New("the serial record kept changing; try again")

// MarkDeviceOnline implements fleetclaim.DeviceStore with a write that holds
// only if the serial record is unchanged since it was read.
func (st *Store) MarkDeviceOnline(ctx context.Context, tenant fleetclaim.TenantID, serial, certificateID string, at time.Time) (fleetclaim.Device, error) {
	what := "mark device " + string(tenant) + "/" + serial + " online"
	if tenant == "" || serial == "" || certificateID == "" || at.IsZero() {
		return fleetclaim.Device{}, invalid("mark device online: tenant, serial, certificate and time are required")
	}
	for range writeAttempts {
		sr, err := st.liveWith(ctx, tenant, serial, certificateID)
		if err != nil {
			return fleetclaim.Device{}, fmt.Errorf("%s: %w", what, err)
		}
		d := toDevice(*sr.Live)
		changed := false
		if d.State == fleetclaim.DeviceRegistered {
			d.State, d.OnlineAt, changed = fleetclaim.DeviceOnline, at.UTC(), true
		}
		if at.After(d.LastConnectedAt) {
			d.LastConnectedAt, changed = at.UTC(), true
		}
		if !changed {
			return d, nil
		}
		dev, err := attributevalue.Marshal(fromDevice(d))
		if err != nil {
			return fleetclaim.Device{}, fmt.Errorf("%s: %w", what, err)
		}
		err = st.writeSerial(ctx, sr, "SET #device = :device ADD #ver :one",
			map[string]string{"#device": "device"}, map[string]types.AttributeValue{":device": dev})
		if _, ok := conditionFailed(err); ok {
			continue
		}
		if err != nil {
			return fleetclaim.Device{}, fmt.Errorf("%s: %w", what, err)
		}
		return d, nil
	}
	return fleetclaim.Device{}, fmt.Errorf("%s: %w", what, errContended)
}

// DecommissionDevice implements fleetclaim.DeviceStore. The history item
// is written first, then the serial record frees the serial if it is
// unchanged since it was read. A history item whose serial update failed
// is not listed while its device is live, and is replaced when the device
// is decommissioned; the serial record keeps the device decommissioned last
// (retired), from which a racing decommission that lost restores the
// history item it may have overwritten.
func (st *Store) DecommissionDevice(ctx context.Context, tenant fleetclaim.TenantID, serial, certificateID string, at time.Time, by fleetclaim.InstallerID, reason string) (fleetclaim.Device, error) {
	what := "decommission device " + string(tenant) + "/" + serial
	if tenant == "" || serial == "" || certificateID == "" || at.IsZero() {
		return fleetclaim.Device{}, invalid("decommission device: tenant, serial, certificate and time are required")
	}
	for range writeAttempts {
		sr, err := st.liveWith(ctx, tenant, serial, certificateID)
		if err != nil {
			if rerr := st.restoreHistory(ctx, sr, certificateID); rerr != nil {
				err = rerr
			}
			return fleetclaim.Device{}, fmt.Errorf("%s: %w", what, err)
		}
		d := toDevice(*sr.Live)
		d.State, d.DecommissionedAt, d.DecommissionedBy, d.DecommissionReason = fleetclaim.DeviceDecommissioned, at.UTC(), by, reason
		if err := st.putHistory(ctx, d); err != nil {
			return fleetclaim.Device{}, fmt.Errorf("%s: %w", what, err)
		}
		dev, err := attributevalue.Marshal(fromDevice(d))
		if err != nil {
			return fleetclaim.Device{}, fmt.Errorf("%s: %w", what, err)
		}
		err = st.writeSerial(ctx, sr, "SET #retired = :retired ADD #ver :one REMOVE #device, #g2pk, #g2sk",
			map[string]string{"#retired": "retired", "#device": "device", "#g2pk": AttrGSI2PK, "#g2sk": AttrGSI2SK},
			map[string]types.AttributeValue{":retired": dev})
		if _, ok := conditionFailed(err); ok {
			continue
		}
		if err != nil {
			return fleetclaim.Device{}, fmt.Errorf("%s: %w", what, err)
		}
		return d, nil
	}
	return fleetclaim.Device{}, fmt.Errorf("%s: %w", what, errContended)
}

// liveWith reads the serial record and checks that its live device has
// certificateID: ErrNotFound if there is no live device, ErrConflict if it
// has another certificate. The record is returned in every case.
func (st *Store) liveWith(ctx context.Context, tenant fleetclaim.TenantID, serial, certificateID string) (serialItem, error) {
	sr, _, err := st.getSerial(ctx, tenant, serial)
	switch {
	case err != nil:
		return sr, err
	case sr.Live == nil:
		return sr, fleetclaim.ErrNotFound
	case sr.Live.CertificateID != certificateID:
		return sr, fleetclaim.ErrConflict
	}
	return sr, nil
}

// restoreHistory writes again the history item of the device with
// certificateID if it is the one the serial decommissioned last.
func (st *Store) restoreHistory(ctx context.Context, sr serialItem, certificateID string) error {
	if sr.Retired == nil || sr.Retired.CertificateID != certificateID {
		return nil
	}
	return st.putHistory(ctx, toDevice(*sr.Retired))
}

func (st *Store) putHistory(ctx context.Context, d fleetclaim.Device) error {
	av, err := attributevalue.MarshalMap(newHistoryItem(d))
	if err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	if _, err := st.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: st.table, Item: av}); err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	return nil
}

// writeSerial applies update to the serial record sr if its Ver is still
// sr's; the condition's failure is returned as it is.
func (st *Store) writeSerial(ctx context.Context, sr serialItem, update string, names map[string]string, values map[string]types.AttributeValue) error {
	names["#ver"] = "ver"
	values[":ver"], values[":one"] = n(sr.Ver), n(1)
	_, err := st.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: st.table, Key: key(sr.PK, sr.SK),
		ConditionExpression: aws.String("#ver = :ver"), UpdateExpression: aws.String(update),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values})
	return err
}

// ListDeviceHistory implements fleetclaim.DeviceStore. It reads the serial
// record first: a history item of the live device (written by a
// decommission whose serial update failed) is left out.
func (st *Store) ListDeviceHistory(ctx context.Context, tenant fleetclaim.TenantID, serial string, p fleetclaim.Page) ([]fleetclaim.Device, string, error) {
	what := "list history of " + string(tenant) + "/" + serial
	sr, _, err := st.getSerial(ctx, tenant, serial)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	l := listing{kind: "history", scope: string(tenant) + "\x00" + serial, pkAttr: AttrPK, pk: serialPK(tenant, serial),
		skPrefix: "HISTORY#", newestFirst: true, keyAttrs: []string{AttrPK, AttrSK}}
	if sr.Live != nil {
		live := sr.Live.CertificateID
		l.skip = func(item map[string]types.AttributeValue) bool {
			v, ok := item["certificateId"].(*types.AttributeValueMemberS)
			return ok && v.Value == live
		}
	}
	items, next, err := query[historyItem](ctx, st, l, p)
	out := make([]fleetclaim.Device, 0, len(items))
	for _, it := range items {
		out = append(out, toDevice(it.deviceAttrs))
	}
	return out, next, err
}
