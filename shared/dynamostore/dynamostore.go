// Package dynamostore is the DynamoDB adapter of the fleetclaim store: the
// single-table design of schema.go, with every invariant held by single-item
// conditional writes (no transactions), so that it behaves the same on
// DynamoDB and on DynamoDB-compatible servers without them.
package dynamostore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// API is the part of the DynamoDB client the store calls.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// Store is the DynamoDB fleetclaim.Store.
type Store struct {
	api   API
	table *string
}

var _ fleetclaim.Store = (*Store)(nil)

// New returns a Store on table.
func New(api API, table string) *Store { return &Store{api: api, table: aws.String(table)} }

// auditRetention bounds how long audit events are kept: a little over a
// year, so a yearly review always finds the whole previous year.
const auditRetention = 400 * 24 * time.Hour

var errBadRequest = errors.New("invalid store call")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadRequest, fmt.Sprintf(format, args...))
}

// stamp renders a time at fixed width, so that sort keys order by time.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Outside these instants a time has no int64 count of nanoseconds since
// 1970, and time.UnixNano's result is undefined (it wraps around).
var (
	minNano = time.Unix(0, math.MinInt64)
	maxNano = time.Unix(0, math.MaxInt64)
)

// unixNano is t in nanoseconds since 1970, clamped to the int64 range. The
// clamp keeps order (a before b implies unixNano(a) <= unixNano(b)), so a
// condition "expires > now" on clamped values can only fail closed: it
// never holds unless the claim truly expires after now.
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(minNano):
		return math.MinInt64
	case t.After(maxNano):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func parseTS(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t.UTC()
}

// Keys and index values (see schema.go).
func claimPK(id fleetclaim.ClaimID) string         { return "CLAIM#" + string(id) }
func installerPK(id fleetclaim.InstallerID) string { return "INSTALLER#" + string(id) }
func tenantPK(id fleetclaim.TenantID) string       { return "TENANT#" + string(id) }
func devicesPK(t fleetclaim.TenantID) string       { return "TENANT#" + string(t) + "#DEVICE" }
func installersPK(t fleetclaim.TenantID) string    { return "TENANT#" + string(t) + "#INSTALLER" }
func auditPK(t fleetclaim.TenantID) string         { return "TENANT#" + string(t) + "#AUDIT" }
func s(v string) types.AttributeValue              { return &types.AttributeValueMemberS{Value: v} }
func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: s(pk), AttrSK: s(sk)}
}

// The stored shapes.

type deviceAttrs struct {
	TenantID      string `dynamodbav:"tenantId"`
	Serial        string `dynamodbav:"serial"`
	ThingName     string `dynamodbav:"thingName"`
	CertificateID string `dynamodbav:"certificateId"`
	InstallerID   string `dynamodbav:"installerId"`
	ClaimID       string `dynamodbav:"claimId"`
	Template      string `dynamodbav:"template"`
	Site          string `dynamodbav:"site"`
	ProvisionedAt string `dynamodbav:"provisionedAt"`
}

type claimItem struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	GSI1PK      string `dynamodbav:"gsi1pk"`
	GSI1SK      string `dynamodbav:"gsi1sk"`
	GSI2PK      string `dynamodbav:"gsi2pk,omitempty"`
	GSI2SK      string `dynamodbav:"gsi2sk,omitempty"`
	TTL         int64  `dynamodbav:"ttl,omitempty"`
	ID          string `dynamodbav:"id"`
	TenantID    string `dynamodbav:"tenantId"`
	InstallerID string `dynamodbav:"installerId"`
	Template    string `dynamodbav:"template"`
	Serial      string `dynamodbav:"serial"`
	Site        string `dynamodbav:"site"`
	Status      string `dynamodbav:"status"`
	Reason      string `dynamodbav:"reason"`
	IssuedAt    string `dynamodbav:"issuedAt"`
	ExpiresAt   string `dynamodbav:"expiresAt"`
	// ExpiresAtNs is ExpiresAt as a number for the "unexpired" condition:
	// RFC 3339 strings trim trailing zeros of the fraction, so they do not
	// compare in time order.
	ExpiresAtNs int64        `dynamodbav:"expiresAtNs"`
	UpdatedAt   string       `dynamodbav:"updatedAt"`
	RetainUntil string       `dynamodbav:"retainUntil"`
	Device      *deviceAttrs `dynamodbav:"device,omitempty"`
}

func toDevice(d deviceAttrs) fleetclaim.Device {
	return fleetclaim.Device{TenantID: fleetclaim.TenantID(d.TenantID), Serial: d.Serial, ThingName: d.ThingName,
		CertificateID: d.CertificateID, InstallerID: fleetclaim.InstallerID(d.InstallerID), ClaimID: fleetclaim.ClaimID(d.ClaimID),
		Template: d.Template, Site: d.Site, ProvisionedAt: parseTS(d.ProvisionedAt)}
}

func fromDevice(d fleetclaim.Device) deviceAttrs {
	return deviceAttrs{TenantID: string(d.TenantID), Serial: d.Serial, ThingName: d.ThingName, CertificateID: d.CertificateID,
		InstallerID: string(d.InstallerID), ClaimID: string(d.ClaimID), Template: d.Template, Site: d.Site,
		ProvisionedAt: ts(d.ProvisionedAt)}
}

func (it claimItem) claim() fleetclaim.Claim {
	c := fleetclaim.Claim{ID: fleetclaim.ClaimID(it.ID), TenantID: fleetclaim.TenantID(it.TenantID),
		InstallerID: fleetclaim.InstallerID(it.InstallerID), Template: it.Template, Serial: it.Serial, Site: it.Site,
		Status: fleetclaim.ClaimStatus(it.Status), Reason: fleetclaim.Reason(it.Reason), IssuedAt: parseTS(it.IssuedAt),
		ExpiresAt: parseTS(it.ExpiresAt), UpdatedAt: parseTS(it.UpdatedAt), RetainUntil: parseTS(it.RetainUntil)}
	if it.Device != nil {
		d := toDevice(*it.Device)
		c.Device = &d
	}
	return c
}

type installerItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	GSI2PK    string `dynamodbav:"gsi2pk"`
	GSI2SK    string `dynamodbav:"gsi2sk"`
	ID        string `dynamodbav:"id"`
	Username  string `dynamodbav:"username"`
	Email     string `dynamodbav:"email"`
	TenantID  string `dynamodbav:"tenantId"`
	Status    string `dynamodbav:"status"`
	CreatedAt string `dynamodbav:"createdAt"`
	UpdatedAt string `dynamodbav:"updatedAt"`
	UpdatedBy string `dynamodbav:"updatedBy"`
}

func (it installerItem) installer() fleetclaim.Installer {
	return fleetclaim.Installer{ID: fleetclaim.InstallerID(it.ID), Username: it.Username, Email: it.Email,
		TenantID: fleetclaim.TenantID(it.TenantID), Status: fleetclaim.InstallerStatus(it.Status),
		CreatedAt: parseTS(it.CreatedAt), UpdatedAt: parseTS(it.UpdatedAt), UpdatedBy: fleetclaim.InstallerID(it.UpdatedBy)}
}

type auditItem struct {
	PK       string `dynamodbav:"pk"`
	SK       string `dynamodbav:"sk"`
	TTL      int64  `dynamodbav:"ttl"`
	TenantID string `dynamodbav:"tenantId"`
	ID       string `dynamodbav:"id"`
	At       string `dynamodbav:"at"`
	Actor    string `dynamodbav:"actor"`
	Action   string `dynamodbav:"action"`
	Subject  string `dynamodbav:"subject"`
	Reason   string `dynamodbav:"reason"`
	Detail   string `dynamodbav:"detail"`
}

func (it auditItem) event() fleetclaim.AuditEvent {
	return fleetclaim.AuditEvent{TenantID: fleetclaim.TenantID(it.TenantID), ID: it.ID, At: parseTS(it.At),
		Actor: fleetclaim.InstallerID(it.Actor), Action: it.Action, Subject: it.Subject,
		Reason: fleetclaim.Reason(it.Reason), Detail: it.Detail}
}

// conditionFailed tells a failed condition from other errors; old is the
// item as it was (ReturnValuesOnConditionCheckFailure ALL_OLD), nil if none.
func conditionFailed(err error) (old map[string]types.AttributeValue, ok bool) {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return ccf.Item, true
	}
	return nil, false
}

// missingOrConflict says why a conditional update failed: ErrNotFound when
// the item does not exist, ErrConflict when a condition on it did not hold.
// DynamoDB returns the old item with the failure; servers that do not are
// asked once more, with a consistent read, on this failure path only.
func (st *Store) missingOrConflict(ctx context.Context, old, k map[string]types.AttributeValue) error {
	if old != nil {
		return fleetclaim.ErrConflict
	}
	res, err := st.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: st.table, Key: k, ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String(AttrPK)})
	switch {
	case err != nil:
		return fmt.Errorf("condition failed, and the item could not be read: %w", err)
	case res.Item == nil:
		return fleetclaim.ErrNotFound
	}
	return fleetclaim.ErrConflict
}

func nonEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// CreateClaim implements fleetclaim.ClaimStore.
func (st *Store) CreateClaim(ctx context.Context, c fleetclaim.Claim) error {
	switch {
	case c.ID == "" || c.TenantID == "" || c.InstallerID == "":
		return invalid("create claim: ID, tenant and installer are required")
	case c.Device != nil:
		return invalid("create claim %s: a device is recorded only by consuming the claim", c.ID)
	}
	it := claimItem{PK: claimPK(c.ID), SK: "CLAIM", GSI1PK: installerPK(c.InstallerID),
		GSI1SK: stamp(c.IssuedAt) + "#" + string(c.ID), ID: string(c.ID), TenantID: string(c.TenantID),
		InstallerID: string(c.InstallerID), Template: c.Template, Serial: c.Serial, Site: c.Site, Status: string(c.Status),
		Reason: string(c.Reason), IssuedAt: ts(c.IssuedAt), ExpiresAt: ts(c.ExpiresAt), ExpiresAtNs: unixNano(c.ExpiresAt),
		UpdatedAt: ts(c.UpdatedAt), RetainUntil: ts(c.RetainUntil)}
	if !c.RetainUntil.IsZero() {
		it.TTL = c.RetainUntil.Unix()
	}
	return st.putNew(ctx, it, "create claim "+string(c.ID))
}

// putNew writes an item that must not exist yet.
func (st *Store) putNew(ctx context.Context, item any, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	av, err := attributevalue.MarshalMap(item)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	_, err = st.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: st.table, Item: av,
		ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if _, ok := conditionFailed(err); ok {
		return fmt.Errorf("%s: %w", what, fleetclaim.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// get reads one item with strong consistency into out.
func (st *Store) get(ctx context.Context, k map[string]types.AttributeValue, out any, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	res, err := st.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: st.table, Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if res.Item == nil {
		return fmt.Errorf("%s: %w", what, fleetclaim.ErrNotFound)
	}
	if err := attributevalue.UnmarshalMap(res.Item, out); err != nil {
		return fmt.Errorf("%s: decode: %w", what, err)
	}
	return nil
}

// GetClaim implements fleetclaim.ClaimStore.
func (st *Store) GetClaim(ctx context.Context, id fleetclaim.ClaimID) (fleetclaim.Claim, error) {
	var it claimItem
	if err := st.get(ctx, key(claimPK(id), "CLAIM"), &it, "get claim "+string(id)); err != nil {
		return fleetclaim.Claim{}, err
	}
	return it.claim(), nil
}

// UpdateClaim implements fleetclaim.ClaimStore. The whole change, device
// record included, is one UpdateItem whose condition carries every rule.
func (st *Store) UpdateClaim(ctx context.Context, u fleetclaim.ClaimUpdate) (fleetclaim.Claim, error) {
	what := "update claim " + string(u.ID)
	switch {
	case u.ID == "":
		return fleetclaim.Claim{}, invalid("update claim: ID is required")
	case u.At.IsZero():
		return fleetclaim.Claim{}, invalid("%s: At is required", what)
	case u.Device != nil && (u.Status != fleetclaim.ClaimConsumed || u.Device.ClaimID != u.ID):
		return fleetclaim.Claim{}, invalid("%s: a device goes with status consumed and its own claim", what)
	}
	if err := ctx.Err(); err != nil {
		return fleetclaim.Claim{}, fmt.Errorf("%s: %w", what, err)
	}
	names := map[string]string{}
	values := map[string]types.AttributeValue{":at": s(ts(u.At))}
	cond := "attribute_exists(pk)"
	set := "updatedAt = :at"
	remove := ""
	if u.IfStatus != "" || u.Status != "" {
		names["#st"] = "status"
	}
	if u.IfStatus != "" {
		cond += " AND #st = :ifStatus"
		values[":ifStatus"] = s(string(u.IfStatus))
	}
	if !u.IfUnexpiredAt.IsZero() {
		cond += " AND expiresAtNs > :now"
		values[":now"] = n(unixNano(u.IfUnexpiredAt))
	}
	if u.Status != "" {
		set += ", #st = :status"
		values[":status"] = s(string(u.Status))
	}
	if u.Reason != "" {
		set += ", reason = :reason"
		values[":reason"] = s(string(u.Reason))
	}
	if d := u.Device; d != nil {
		dev, err := attributevalue.Marshal(fromDevice(*d))
		if err != nil {
			return fleetclaim.Claim{}, fmt.Errorf("%s: %w", what, err)
		}
		cond += " AND tenantId = :dTenant AND serial = :dSerial"
		values[":dTenant"], values[":dSerial"] = s(string(d.TenantID)), s(d.Serial)
		// The consumed claim is the device's record: into the sparse
		// device index, and out of TTL's reach.
		set += ", device = :device, gsi2pk = :g2pk, gsi2sk = :g2sk"
		values[":device"], values[":g2pk"], values[":g2sk"] = dev, s(devicesPK(d.TenantID)), s(d.Serial)
		remove = " REMOVE #ttl, retainUntil"
		names["#ttl"] = AttrTTL
	}
	res, err := st.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: st.table, Key: key(claimPK(u.ID), "CLAIM"),
		ConditionExpression: aws.String(cond), UpdateExpression: aws.String("SET " + set + remove),
		ExpressionAttributeNames: nonEmpty(names), ExpressionAttributeValues: values,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if old, ok := conditionFailed(err); ok {
		return fleetclaim.Claim{}, fmt.Errorf("%s: %w", what, st.missingOrConflict(ctx, old, key(claimPK(u.ID), "CLAIM")))
	}
	if err != nil {
		return fleetclaim.Claim{}, fmt.Errorf("%s: %w", what, err)
	}
	var it claimItem
	if err := attributevalue.UnmarshalMap(res.Attributes, &it); err != nil {
		return fleetclaim.Claim{}, fmt.Errorf("%s: decode: %w", what, err)
	}
	return it.claim(), nil
}

// ListClaims implements fleetclaim.ClaimStore.
func (st *Store) ListClaims(ctx context.Context, installer fleetclaim.InstallerID, p fleetclaim.Page) ([]fleetclaim.Claim, string, error) {
	items, next, err := query[claimItem](ctx, st, listing{kind: "claims", scope: string(installer), index: IndexByInstaller,
		pkAttr: AttrGSI1PK, pk: installerPK(installer), newestFirst: true, keyAttrs: []string{AttrPK, AttrSK, AttrGSI1PK, AttrGSI1SK}}, p)
	out := make([]fleetclaim.Claim, 0, len(items))
	for _, it := range items {
		out = append(out, it.claim())
	}
	return out, next, err
}

// GetDevice implements fleetclaim.DeviceStore. A serial provisioned more
// than once has one index entry per consumed claim; the most recent wins.
// Index reads are eventually consistent: a device provisioned a moment ago
// may not show yet.
func (st *Store) GetDevice(ctx context.Context, tenant fleetclaim.TenantID, serial string) (fleetclaim.Device, error) {
	what := "get device " + string(tenant) + "/" + serial
	if err := ctx.Err(); err != nil {
		return fleetclaim.Device{}, fmt.Errorf("%s: %w", what, err)
	}
	in := &dynamodb.QueryInput{
		TableName: st.table, IndexName: aws.String(IndexByTenant),
		KeyConditionExpression:    aws.String("gsi2pk = :pk AND gsi2sk = :serial"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s(devicesPK(tenant)), ":serial": s(serial)},
	}
	var latest *fleetclaim.Device
	for {
		res, err := st.api.Query(ctx, in)
		if err != nil {
			return fleetclaim.Device{}, fmt.Errorf("%s: %w", what, err)
		}
		for _, raw := range res.Items {
			d, err := decodeDevice(raw)
			if err != nil {
				return fleetclaim.Device{}, fmt.Errorf("%s: %w", what, err)
			}
			if latest == nil || newer(d, *latest) {
				latest = &d
			}
		}
		if res.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
	if latest == nil {
		return fleetclaim.Device{}, fmt.Errorf("%s: %w", what, fleetclaim.ErrNotFound)
	}
	return *latest, nil
}

// newer orders two provisionings of one serial; the claim ID breaks a tie
// so that every reader picks the same one.
func newer(a, b fleetclaim.Device) bool {
	if c := a.ProvisionedAt.Compare(b.ProvisionedAt); c != 0 {
		return c > 0
	}
	return a.ClaimID > b.ClaimID
}

// decodeDevice reads the device of a consumed claim from a device index entry.
func decodeDevice(raw map[string]types.AttributeValue) (fleetclaim.Device, error) {
	var it claimItem
	if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
		return fleetclaim.Device{}, fmt.Errorf("decode: %w", err)
	}
	if it.Device == nil {
		return fleetclaim.Device{}, fmt.Errorf("decode: claim %s is in the device index without a device", it.ID)
	}
	return toDevice(*it.Device), nil
}

// ListDevices implements fleetclaim.DeviceStore. The index holds one entry
// per provisioning, ordered by serial; the listing keeps each serial's most
// recent, and its cursor resumes after the last serial listed. It reads one
// serial past the page, so that the page's last serial is complete and a
// short page is the last.
func (st *Store) ListDevices(ctx context.Context, tenant fleetclaim.TenantID, p fleetclaim.Page) ([]fleetclaim.Device, string, error) {
	what := "list devices of " + string(tenant)
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	limit := pageLimit(p)
	in := &dynamodb.QueryInput{TableName: st.table, IndexName: aws.String(IndexByTenant),
		KeyConditionExpression:    aws.String("gsi2pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s(devicesPK(tenant))},
		Limit:                     aws.Int32(int32(limit + 1))} // #nosec G115 -- pageLimit bounds limit to MaxPageSize (100)
	if p.Cursor != "" {
		c, err := decodeCursor(p.Cursor, "devices", string(tenant))
		if err != nil || c.Key["serial"] == "" {
			return nil, "", fmt.Errorf("%s: %w", what, fleetclaim.ErrInvalidCursor)
		}
		in.KeyConditionExpression = aws.String("gsi2pk = :pk AND gsi2sk > :after")
		in.ExpressionAttributeValues[":after"] = s(c.Key["serial"])
	}
	var out []fleetclaim.Device
	for {
		res, err := st.api.Query(ctx, in)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", what, err)
		}
		for _, raw := range res.Items {
			d, err := decodeDevice(raw)
			if err != nil {
				return nil, "", fmt.Errorf("%s: %w", what, err)
			}
			switch last := len(out) - 1; {
			case last >= 0 && out[last].Serial == d.Serial:
				if newer(d, out[last]) {
					out[last] = d
				}
			case len(out) == limit:
				return out, encodeCursor("devices", string(tenant), map[string]string{"serial": out[last].Serial}), nil
			default:
				out = append(out, d)
			}
		}
		if res.LastEvaluatedKey == nil {
			return out, "", nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}

// CreateInstaller implements fleetclaim.InstallerStore.
func (st *Store) CreateInstaller(ctx context.Context, in fleetclaim.Installer) error {
	if in.ID == "" || in.TenantID == "" {
		return invalid("create installer: ID and tenant are required")
	}
	return st.putNew(ctx, installerItem{PK: installerPK(in.ID), SK: "INSTALLER", GSI2PK: installersPK(in.TenantID),
		GSI2SK: in.Email + "#" + string(in.ID), ID: string(in.ID), Username: in.Username, Email: in.Email,
		TenantID: string(in.TenantID), Status: string(in.Status), CreatedAt: ts(in.CreatedAt), UpdatedAt: ts(in.UpdatedAt),
		UpdatedBy: string(in.UpdatedBy)}, "create installer "+string(in.ID))
}

// GetInstaller implements fleetclaim.InstallerStore.
func (st *Store) GetInstaller(ctx context.Context, id fleetclaim.InstallerID) (fleetclaim.Installer, error) {
	var it installerItem
	if err := st.get(ctx, key(installerPK(id), "INSTALLER"), &it, "get installer "+string(id)); err != nil {
		return fleetclaim.Installer{}, err
	}
	return it.installer(), nil
}

// SetInstallerStatus implements fleetclaim.InstallerStore.
func (st *Store) SetInstallerStatus(ctx context.Context, id fleetclaim.InstallerID, from []fleetclaim.InstallerStatus, to fleetclaim.InstallerStatus, at time.Time, by fleetclaim.InstallerID) (fleetclaim.Installer, error) {
	what := "set installer " + string(id) + " " + string(to)
	if id == "" || len(from) == 0 || to == "" {
		return fleetclaim.Installer{}, invalid("set installer status: ID, from and to are required")
	}
	if err := ctx.Err(); err != nil {
		return fleetclaim.Installer{}, fmt.Errorf("%s: %w", what, err)
	}
	values := map[string]types.AttributeValue{":to": s(string(to)), ":at": s(ts(at)), ":by": s(string(by))}
	in := ""
	for i, f := range from {
		k := ":f" + strconv.Itoa(i)
		values[k] = s(string(f))
		if i > 0 {
			in += ", "
		}
		in += k
	}
	res, err := st.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: st.table, Key: key(installerPK(id), "INSTALLER"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND #st IN (" + in + ")"),
		UpdateExpression:          aws.String("SET #st = :to, updatedAt = :at, updatedBy = :by"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: values, ReturnValues: types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if old, ok := conditionFailed(err); ok {
		return fleetclaim.Installer{}, fmt.Errorf("%s: %w", what, st.missingOrConflict(ctx, old, key(installerPK(id), "INSTALLER")))
	}
	if err != nil {
		return fleetclaim.Installer{}, fmt.Errorf("%s: %w", what, err)
	}
	var it installerItem
	if err := attributevalue.UnmarshalMap(res.Attributes, &it); err != nil {
		return fleetclaim.Installer{}, fmt.Errorf("%s: decode: %w", what, err)
	}
	return it.installer(), nil
}

// ListInstallers implements fleetclaim.InstallerStore.
func (st *Store) ListInstallers(ctx context.Context, tenant fleetclaim.TenantID, p fleetclaim.Page) ([]fleetclaim.Installer, string, error) {
	items, next, err := query[installerItem](ctx, st, listing{kind: "installers", scope: string(tenant), index: IndexByTenant,
		pkAttr: AttrGSI2PK, pk: installersPK(tenant), keyAttrs: []string{AttrPK, AttrSK, AttrGSI2PK, AttrGSI2SK}}, p)
	out := make([]fleetclaim.Installer, 0, len(items))
	for _, it := range items {
		out = append(out, it.installer())
	}
	return out, next, err
}

// TakeQuota implements fleetclaim.QuotaStore with one conditional counter
// per window: concurrent takers never pass the limit.
func (st *Store) TakeQuota(ctx context.Context, k string, windowEnd time.Time, limit int) error {
	what := "take quota " + k
	if k == "" {
		return invalid("take quota: key is required")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if limit <= 0 {
		return fmt.Errorf("%s: %w", what, fleetclaim.ErrQuotaExhausted)
	}
	_, err := st.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: st.table, Key: key("QUOTA#"+k+"#"+strconv.FormatInt(windowEnd.Unix(), 10), "QUOTA"),
		ConditionExpression:       aws.String("attribute_not_exists(#count) OR #count < :limit"),
		UpdateExpression:          aws.String("ADD #count :one SET #ttl = :ttl"),
		ExpressionAttributeNames:  map[string]string{"#count": "count", "#ttl": AttrTTL},
		ExpressionAttributeValues: map[string]types.AttributeValue{":limit": n(int64(limit)), ":one": n(1), ":ttl": n(windowEnd.Add(time.Hour).Unix())},
	})
	if _, ok := conditionFailed(err); ok {
		return fmt.Errorf("%s: %w", what, fleetclaim.ErrQuotaExhausted)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// AppendAudit implements fleetclaim.AuditStore; the trail is append-only.
func (st *Store) AppendAudit(ctx context.Context, e fleetclaim.AuditEvent) error {
	if e.TenantID == "" || e.ID == "" || e.At.IsZero() {
		return invalid("append audit: tenant, ID and time are required")
	}
	return st.putNew(ctx, auditItem{PK: auditPK(e.TenantID), SK: stamp(e.At) + "#" + e.ID, TTL: e.At.Add(auditRetention).Unix(),
		TenantID: string(e.TenantID), ID: e.ID, At: ts(e.At), Actor: string(e.Actor), Action: e.Action, Subject: e.Subject,
		Reason: string(e.Reason), Detail: e.Detail}, "append audit "+e.ID)
}

// ListAudit implements fleetclaim.AuditStore.
func (st *Store) ListAudit(ctx context.Context, tenant fleetclaim.TenantID, p fleetclaim.Page) ([]fleetclaim.AuditEvent, string, error) {
	items, next, err := query[auditItem](ctx, st, listing{kind: "audit", scope: string(tenant), pkAttr: AttrPK,
		pk: auditPK(tenant), newestFirst: true, keyAttrs: []string{AttrPK, AttrSK}}, p)
	out := make([]fleetclaim.AuditEvent, 0, len(items))
	for _, it := range items {
		out = append(out, it.event())
	}
	return out, next, err
}

// listing describes one paged Query.
type listing struct {
	kind, scope string
	index       string // "" for the table
	pkAttr, pk  string
	newestFirst bool
	keyAttrs    []string // the attributes of a page's start key
}

func pageLimit(p fleetclaim.Page) int {
	if p.Limit <= 0 {
		return fleetclaim.DefaultPageSize
	}
	return min(p.Limit, fleetclaim.MaxPageSize)
}

// query reads one page. It asks for one item more than the page holds, so
// that a page is short only when it is the last, and the last has no cursor.
func query[T any](ctx context.Context, st *Store, l listing, p fleetclaim.Page) ([]T, string, error) {
	what := "list " + l.kind + " of " + l.scope
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	limit := pageLimit(p)
	in := &dynamodb.QueryInput{TableName: st.table, Limit: aws.Int32(int32(limit + 1)), // #nosec G115 -- pageLimit bounds limit to MaxPageSize (100)
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": l.pkAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s(l.pk)},
		ScanIndexForward:          aws.Bool(!l.newestFirst)}
	if l.index != "" {
		in.IndexName = aws.String(l.index)
	}
	if p.Cursor != "" {
		c, err := decodeCursor(p.Cursor, l.kind, l.scope)
		if err != nil || c.Key[l.pkAttr] != l.pk || len(c.Key) != len(l.keyAttrs) {
			return nil, "", fmt.Errorf("%s: %w", what, fleetclaim.ErrInvalidCursor)
		}
		in.ExclusiveStartKey = map[string]types.AttributeValue{}
		for _, a := range l.keyAttrs {
			v, ok := c.Key[a]
			if !ok {
				return nil, "", fmt.Errorf("%s: %w", what, fleetclaim.ErrInvalidCursor)
			}
			in.ExclusiveStartKey[a] = s(v)
		}
	}
	// A response stops at 1 MB, so it may hold fewer items than asked for
	// and still not be the end.
	var items []map[string]types.AttributeValue
	for {
		res, err := st.api.Query(ctx, in)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", what, err)
		}
		items = append(items, res.Items...)
		if len(items) > limit || res.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
		in.Limit = aws.Int32(int32(limit + 1 - len(items))) // #nosec G115 -- at most MaxPageSize + 1
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		last := map[string]string{}
		for _, a := range l.keyAttrs {
			if v, ok := items[limit-1][a].(*types.AttributeValueMemberS); ok {
				last[a] = v.Value
			}
		}
		next = encodeCursor(l.kind, l.scope, last)
	}
	out := make([]T, 0, len(items))
	for _, raw := range items {
		var it T
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return nil, "", fmt.Errorf("%s: decode: %w", what, err)
		}
		out = append(out, it)
	}
	return out, next, nil
}

// A cursor names its listing, so that one cannot be replayed against
// another listing (another tenant's, say).
type cursor struct {
	Kind  string            `json:"k"`
	Scope string            `json:"s"`
	Key   map[string]string `json:"a"`
}

func encodeCursor(kind, scope string, k map[string]string) string {
	raw, _ := json.Marshal(cursor{Kind: kind, Scope: scope, Key: k})
	return base64.RawURLEncoding.EncodeToString(raw)
}

func decodeCursor(str, kind, scope string) (cursor, error) {
	var c cursor
	raw, err := base64.RawURLEncoding.DecodeString(str)
	if err != nil || json.Unmarshal(raw, &c) != nil || c.Kind != kind || c.Scope != scope || len(c.Key) == 0 {
		return cursor{}, fleetclaim.ErrInvalidCursor
	}
	return c, nil
}
