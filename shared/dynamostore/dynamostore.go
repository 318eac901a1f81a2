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
	"strings"
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
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
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
func serialPK(t fleetclaim.TenantID, serial string) string {
	return "TENANT#" + string(t) + "#SERIAL#" + serial
}
func installersPK(t fleetclaim.TenantID) string { return "TENANT#" + string(t) + "#INSTALLER" }
func auditPK(t fleetclaim.TenantID) string      { return "TENANT#" + string(t) + "#AUDIT" }
func s(v string) types.AttributeValue           { return &types.AttributeValueMemberS{Value: v} }
func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: s(pk), AttrSK: s(sk)}
}

// The stored shapes.

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
	Serial   string `dynamodbav:"serial"`
	Reason   string `dynamodbav:"reason"`
	Detail   string `dynamodbav:"detail"`
}

func (it auditItem) event() fleetclaim.AuditEvent {
	return fleetclaim.AuditEvent{TenantID: fleetclaim.TenantID(it.TenantID), ID: it.ID, At: parseTS(it.At),
		Actor: fleetclaim.InstallerID(it.Actor), Action: it.Action, Subject: it.Subject, Serial: it.Serial,
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
		Serial: e.Serial, Reason: string(e.Reason), Detail: e.Detail}, "append audit "+e.ID)
}

// ListAudit implements fleetclaim.AuditStore. Sort keys begin with the
// event's time at fixed width, so the time range is part of the key
// condition and only events within it are read; the other filters are a
// FilterExpression. DynamoDB applies Limit before the filter, so a
// response may hold fewer matches than asked for, or none, and still not
// be the end: query keeps reading until the page is full or the range is
// exhausted, so a short page is always the last.
func (st *Store) ListAudit(ctx context.Context, tenant fleetclaim.TenantID, f fleetclaim.AuditFilter, p fleetclaim.Page) ([]fleetclaim.AuditEvent, string, error) {
	if f.Empty() {
		return []fleetclaim.AuditEvent{}, "", nil
	}
	l := listing{kind: "audit" + f.Key(), scope: string(tenant), pkAttr: AttrPK,
		pk: auditPK(tenant), newestFirst: true, keyAttrs: []string{AttrPK, AttrSK}}
	if !f.Since.IsZero() {
		l.skFrom = stamp(f.Since)
	}
	if !f.Until.IsZero() {
		// Every sort key at Until is stamp(Until) + "#" + ID, which sorts
		// after stamp(Until): below it means before Until.
		l.skBelow = stamp(f.Until)
	}
	for _, c := range []struct{ attr, value string }{{"action", f.Action}, {"serial", f.Serial}, {"actor", string(f.Actor)}} {
		if c.value != "" {
			l.equal = append(l.equal, [2]string{c.attr, c.value})
		}
	}
	items, next, err := query[auditItem](ctx, st, l, p)
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
	// skPrefix, when set, limits the listing to sort keys that begin with it.
	skPrefix string
	// skFrom and skBelow, when set, limit the listing to sort keys at or
	// above skFrom and below skBelow (a key condition).
	skFrom, skBelow string
	// equal, when set, keeps only the items whose attribute (first) has
	// the value (second): a FilterExpression, applied after Limit.
	equal [][2]string
	// skip, when set, leaves out the items for which it is true.
	skip func(item map[string]types.AttributeValue) bool
}

// filteredReadAhead is how many items a Query of a filtered listing
// evaluates at a time. With a filter, Limit counts the items read, not
// those that match; reading limit+1 at a time would take a round trip per
// handful of matches.
const filteredReadAhead = 500

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
	if l.skPrefix != "" {
		in.KeyConditionExpression = aws.String("#pk = :pk AND begins_with(#sk, :skPrefix)")
		in.ExpressionAttributeNames["#sk"] = AttrSK
		in.ExpressionAttributeValues[":skPrefix"] = s(l.skPrefix)
	}
	switch {
	case l.skFrom != "" && l.skBelow != "":
		in.KeyConditionExpression = aws.String("#pk = :pk AND #sk BETWEEN :skFrom AND :skBelow")
	case l.skFrom != "":
		in.KeyConditionExpression = aws.String("#pk = :pk AND #sk >= :skFrom")
	case l.skBelow != "":
		in.KeyConditionExpression = aws.String("#pk = :pk AND #sk < :skBelow")
	}
	if l.skFrom != "" || l.skBelow != "" {
		// BETWEEN includes skBelow itself, which no key equals (see ListAudit).
		in.ExpressionAttributeNames["#sk"] = AttrSK
		if l.skFrom != "" {
			in.ExpressionAttributeValues[":skFrom"] = s(l.skFrom)
		}
		if l.skBelow != "" {
			in.ExpressionAttributeValues[":skBelow"] = s(l.skBelow)
		}
	}
	if len(l.equal) > 0 {
		var conds []string
		for i, e := range l.equal {
			name, value := "#f"+strconv.Itoa(i), ":f"+strconv.Itoa(i)
			in.ExpressionAttributeNames[name] = e[0]
			in.ExpressionAttributeValues[value] = s(e[1])
			conds = append(conds, name+" = "+value)
		}
		in.FilterExpression = aws.String(strings.Join(conds, " AND "))
		in.Limit = aws.Int32(int32(max(limit+1, filteredReadAhead))) // #nosec G115 -- a constant or at most MaxPageSize + 1
	}
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
		for _, it := range res.Items {
			if l.skip == nil || !l.skip(it) {
				items = append(items, it)
			}
		}
		if len(items) > limit || res.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
		if in.FilterExpression == nil {
			in.Limit = aws.Int32(int32(limit + 1 - len(items))) // #nosec G115 -- at most MaxPageSize + 1
		}
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
