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

// Claims and serials (see schema.go). A claim lives in two items: its claim
// item holds what never changes (the binding) and is how a claim ID is
// found; its serial record holds its changing state for as long as it is
// the serial's current claim, next to the serial's live device. So every
// rule of invariant 9 is about one item, and the consuming write is one
// conditional UpdateItem. When a claim stops being current, its last state
// is archived on its claim item first; readers prefer the serial record
// while it names the claim, so an archive written too early is harmless.

// claimAttrs is a claim as stored, without its device.
type claimAttrs struct {
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
	ExpiresAtNs int64  `dynamodbav:"expiresAtNs"`
	UpdatedAt   string `dynamodbav:"updatedAt"`
	RetainUntil string `dynamodbav:"retainUntil"`
}

func fromClaim(c fleetclaim.Claim) claimAttrs {
	return claimAttrs{ID: string(c.ID), TenantID: string(c.TenantID), InstallerID: string(c.InstallerID),
		Template: c.Template, Serial: c.Serial, Site: c.Site, Status: string(c.Status), Reason: string(c.Reason),
		IssuedAt: ts(c.IssuedAt), ExpiresAt: ts(c.ExpiresAt), ExpiresAtNs: unixNano(c.ExpiresAt),
		UpdatedAt: ts(c.UpdatedAt), RetainUntil: ts(c.RetainUntil)}
}

func (a claimAttrs) claim(d *deviceAttrs) fleetclaim.Claim {
	c := fleetclaim.Claim{ID: fleetclaim.ClaimID(a.ID), TenantID: fleetclaim.TenantID(a.TenantID),
		InstallerID: fleetclaim.InstallerID(a.InstallerID), Template: a.Template, Serial: a.Serial, Site: a.Site,
		Status: fleetclaim.ClaimStatus(a.Status), Reason: fleetclaim.Reason(a.Reason), IssuedAt: parseTS(a.IssuedAt),
		ExpiresAt: parseTS(a.ExpiresAt), UpdatedAt: parseTS(a.UpdatedAt), RetainUntil: parseTS(a.RetainUntil)}
	if d != nil {
		dev := toDevice(*d)
		c.Device = &dev
	}
	return c
}

// claimItem is a claim's own item: the binding, as created, and, once the
// claim is no longer current (Archived), its last state.
type claimItem struct {
	PK     string `dynamodbav:"pk"`
	SK     string `dynamodbav:"sk"`
	GSI1PK string `dynamodbav:"gsi1pk"`
	GSI1SK string `dynamodbav:"gsi1sk"`
	TTL    int64  `dynamodbav:"ttl,omitempty"`
	claimAttrs
	Archived bool         `dynamodbav:"archived,omitempty"`
	Device   *deviceAttrs `dynamodbav:"device,omitempty"`
}

// serialItem is a serial record: the current claim, the live device (in
// the device index while there is one) and the device decommissioned last.
type serialItem struct {
	PK     string `dynamodbav:"pk"`
	SK     string `dynamodbav:"sk"`
	GSI2PK string `dynamodbav:"gsi2pk,omitempty"`
	GSI2SK string `dynamodbav:"gsi2sk,omitempty"`
	// Ver counts the record's writes; a write computed from a read holds
	// only if Ver is still what was read.
	Ver int64 `dynamodbav:"ver"`
	claimAttrs
	Live    *deviceAttrs `dynamodbav:"device,omitempty"`
	Retired *deviceAttrs `dynamodbav:"retired,omitempty"`
}

// claimDevice is the device of the current claim: the live device it
// provisioned, or the one it provisioned and that was since decommissioned.
func (it serialItem) claimDevice() *deviceAttrs {
	switch {
	case it.Live != nil && it.Live.ClaimID == it.ID:
		return it.Live
	case it.Retired != nil && it.Retired.ClaimID == it.ID:
		return it.Retired
	}
	return nil
}

func (it serialItem) claim() fleetclaim.Claim { return it.claimAttrs.claim(it.claimDevice()) }

// open says whether the current claim can still be used at t.
func (it serialItem) open(t time.Time) bool {
	return it.Status == string(fleetclaim.ClaimIssued) && parseTS(it.ExpiresAt).After(t)
}

// getSerial reads a serial record with strong consistency; found is false
// if there is none.
func (st *Store) getSerial(ctx context.Context, tenant fleetclaim.TenantID, serial string) (it serialItem, found bool, err error) {
	err = st.get(ctx, key(serialPK(tenant, serial), "SERIAL"), &it, "read serial")
	if errors.Is(err, fleetclaim.ErrNotFound) {
		return serialItem{}, false, nil
	}
	return it, err == nil, err
}

// CreateClaim implements fleetclaim.ClaimStore: the claim item first, then
// (after archiving the claim it replaces) the serial record, written only
// if it is unchanged since it was read and the rules held on that read.
func (st *Store) CreateClaim(ctx context.Context, c fleetclaim.Claim, replaces fleetclaim.ClaimID) error {
	what := "create claim " + string(c.ID)
	switch {
	case c.ID == "" || c.TenantID == "" || c.InstallerID == "":
		return invalid("create claim: ID, tenant and installer are required")
	case c.Device != nil:
		return invalid("%s: a device is recorded only by consuming the claim", what)
	}
	sr, found, err := st.getSerial(ctx, c.TenantID, c.Serial)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if fleetclaim.ClaimID(sr.ID) != replaces || sr.Live != nil || (found && sr.open(c.IssuedAt)) {
		return fmt.Errorf("%s: serial %s: %w", what, c.Serial, fleetclaim.ErrConflict)
	}
	it := claimItem{PK: claimPK(c.ID), SK: "CLAIM", GSI1PK: installerPK(c.InstallerID),
		GSI1SK: stamp(c.IssuedAt) + "#" + string(c.ID), claimAttrs: fromClaim(c)}
	if !c.RetainUntil.IsZero() {
		it.TTL = c.RetainUntil.Unix()
	}
	if err := st.putNew(ctx, it, what); err != nil {
		return err
	}
	if found {
		if err := st.archive(ctx, sr); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	next := serialItem{PK: serialPK(c.TenantID, c.Serial), SK: "SERIAL", Ver: sr.Ver + 1, claimAttrs: fromClaim(c),
		Retired: sr.Retired}
	av, err := attributevalue.MarshalMap(next)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	in := &dynamodb.PutItemInput{TableName: st.table, Item: av, ConditionExpression: aws.String("attribute_not_exists(pk)")}
	if found {
		in.ConditionExpression = aws.String("#ver = :ver")
		in.ExpressionAttributeNames = map[string]string{"#ver": "ver"}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":ver": n(sr.Ver)}
	}
	_, err = st.api.PutItem(ctx, in)
	if _, ok := conditionFailed(err); ok {
		// Never current: the claim item goes (a left-over one is read as
		// missing, and its TTL deletes it in time).
		_, _ = st.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: st.table, Key: key(claimPK(c.ID), "CLAIM")})
		return fmt.Errorf("%s: serial %s changed meanwhile: %w", what, c.Serial, fleetclaim.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// archive writes the state of the serial's current claim, as read, on its
// claim item, which keeps it once the claim is replaced; a claim that was
// never consumed goes when its retention ends (TTL). A claim item that TTL
// deleted already has nothing to keep.
func (st *Store) archive(ctx context.Context, sr serialItem) error {
	c := sr.claim()
	values := map[string]types.AttributeValue{":true": &types.AttributeValueMemberBOOL{Value: true},
		":st": s(sr.Status), ":reason": s(sr.Reason), ":at": s(sr.UpdatedAt), ":retain": s(sr.RetainUntil)}
	names := map[string]string{"#archived": "archived", "#st": "status", "#reason": "reason", "#at": "updatedAt",
		"#retain": "retainUntil", "#ttl": AttrTTL}
	set := "SET #archived = :true, #st = :st, #reason = :reason, #at = :at, #retain = :retain"
	if d := sr.claimDevice(); d != nil {
		dev, err := attributevalue.Marshal(d)
		if err != nil {
			return fmt.Errorf("archive claim %s: %w", sr.ID, err)
		}
		set += ", #device = :device"
		names["#device"], values[":device"] = "device", dev
	}
	expr := set + " REMOVE #ttl"
	if c.Status != fleetclaim.ClaimConsumed && !c.RetainUntil.IsZero() {
		expr = set + ", #ttl = :ttl"
		values[":ttl"] = n(c.RetainUntil.Unix())
	}
	_, err := st.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: st.table, Key: key(claimPK(c.ID), "CLAIM"),
		ConditionExpression: aws.String("attribute_exists(pk)"), UpdateExpression: aws.String(expr),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values})
	if _, ok := conditionFailed(err); ok {
		return nil
	}
	if err != nil {
		return fmt.Errorf("archive claim %s: %w", sr.ID, err)
	}
	return nil
}

// GetClaim implements fleetclaim.ClaimStore.
func (st *Store) GetClaim(ctx context.Context, id fleetclaim.ClaimID) (fleetclaim.Claim, error) {
	what := "get claim " + string(id)
	var it claimItem
	if err := st.get(ctx, key(claimPK(id), "CLAIM"), &it, what); err != nil {
		return fleetclaim.Claim{}, err
	}
	c, ok, err := st.latest(ctx, it, nil)
	switch {
	case err != nil:
		return fleetclaim.Claim{}, fmt.Errorf("%s: %w", what, err)
	case !ok:
		return fleetclaim.Claim{}, fmt.Errorf("%s: %w", what, fleetclaim.ErrNotFound)
	}
	return c, nil
}

// latest returns the latest state of the claim of item it: from its serial
// record (sr, or read if nil) while it is current, else as archived. ok is
// false for a claim that never became current. The archive is written
// before the claim is replaced, so a claim item read without one is read
// again before concluding that.
func (st *Store) latest(ctx context.Context, it claimItem, sr *serialItem) (fleetclaim.Claim, bool, error) {
	if sr == nil {
		rec, _, err := st.getSerial(ctx, fleetclaim.TenantID(it.TenantID), it.Serial)
		if err != nil {
			return fleetclaim.Claim{}, false, err
		}
		sr = &rec
	}
	if sr.ID == it.ID {
		return sr.claim(), true, nil
	}
	if !it.Archived {
		err := st.get(ctx, key(it.PK, it.SK), &it, "read claim "+it.ID+" again")
		switch {
		case errors.Is(err, fleetclaim.ErrNotFound):
			return fleetclaim.Claim{}, false, nil
		case err != nil:
			return fleetclaim.Claim{}, false, err
		}
	}
	if !it.Archived {
		return fleetclaim.Claim{}, false, nil
	}
	return it.claim(it.Device), true, nil
}

// UpdateClaim implements fleetclaim.ClaimStore. The change is one
// UpdateItem of the serial record whose condition carries every rule: the
// claim is current, the update's own conditions hold, and, to consume it,
// the serial has no live device (invariant 9).
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
	it, err := st.binding(ctx, u)
	if err != nil {
		return fleetclaim.Claim{}, fmt.Errorf("%s: %w", what, err)
	}
	if d := u.Device; d != nil && (string(d.TenantID) != it.TenantID || d.Serial != it.Serial) {
		return fleetclaim.Claim{}, fmt.Errorf("%s: device of another serial: %w", what, fleetclaim.ErrConflict)
	}
	names := map[string]string{"#id": "id", "#at": "updatedAt", "#ver": "ver"}
	values := map[string]types.AttributeValue{":id": s(string(u.ID)), ":at": s(ts(u.At)), ":one": n(1)}
	cond := "#id = :id"
	set := "#at = :at"
	remove := ""
	if u.IfStatus != "" || u.Status != "" {
		names["#st"] = "status"
	}
	if u.IfStatus != "" {
		cond += " AND #st = :ifStatus"
		values[":ifStatus"] = s(string(u.IfStatus))
	}
	if !u.IfUnexpiredAt.IsZero() {
		cond += " AND #exp > :now"
		names["#exp"], values[":now"] = "expiresAtNs", n(unixNano(u.IfUnexpiredAt))
	}
	if u.Status != "" {
		set += ", #st = :status"
		values[":status"] = s(string(u.Status))
	}
	if u.Reason != "" {
		set += ", #reason = :reason"
		names["#reason"], values[":reason"] = "reason", s(string(u.Reason))
	}
	if d := u.Device; d != nil {
		dev, err := attributevalue.Marshal(fromDevice(registered(*d)))
		if err != nil {
			return fleetclaim.Claim{}, fmt.Errorf("%s: %w", what, err)
		}
		// The device becomes the serial's live device, in the device
		// index, in this same write; and the claim is kept for good. Only
		// an issued claim, unexpired at the write's time, is consumed,
		// whatever conditions the caller states: a consumed claim stays
		// its serial's current claim once its device is decommissioned,
		// and must not register another device (invariant 9).
		cond += " AND attribute_not_exists(#device) AND #st = :issued AND #exp > :consumedAt"
		names["#exp"] = "expiresAtNs"
		values[":issued"], values[":consumedAt"] = s(string(fleetclaim.ClaimIssued)), n(unixNano(u.At))
		set += ", #device = :device, #g2pk = :g2pk, #g2sk = :g2sk"
		names["#device"], names["#g2pk"], names["#g2sk"] = "device", AttrGSI2PK, AttrGSI2SK
		values[":device"], values[":g2pk"], values[":g2sk"] = dev, s(devicesPK(d.TenantID)), s(d.Serial)
		remove = " REMOVE #retain"
		names["#retain"] = "retainUntil"
	}
	res, err := st.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: st.table, Key: key(serialPK(fleetclaim.TenantID(it.TenantID), it.Serial), "SERIAL"),
		ConditionExpression: aws.String(cond), UpdateExpression: aws.String("SET " + set + " ADD #ver :one" + remove),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values, ReturnValues: types.ReturnValueAllNew,
	})
	if _, ok := conditionFailed(err); ok {
		return fleetclaim.Claim{}, fmt.Errorf("%s: %w", what, fleetclaim.ErrConflict)
	}
	if err != nil {
		return fleetclaim.Claim{}, fmt.Errorf("%s: %w", what, err)
	}
	var sr serialItem
	if err := attributevalue.UnmarshalMap(res.Attributes, &sr); err != nil {
		return fleetclaim.Claim{}, fmt.Errorf("%s: decode: %w", what, err)
	}
	return sr.claim(), nil
}

// binding reads the claim item of u's claim, which names its serial. To
// consume the claim it also takes the item out of TTL's reach, in the same
// call: a consumed claim is kept for good, and if the consuming write then
// fails, the item is only kept longer (until its archive sets the TTL
// again). An archived claim is no longer current: ErrConflict, and its TTL
// stays.
func (st *Store) binding(ctx context.Context, u fleetclaim.ClaimUpdate) (claimItem, error) {
	var it claimItem
	k := key(claimPK(u.ID), "CLAIM")
	if u.Device == nil {
		return it, st.get(ctx, k, &it, "read claim")
	}
	if err := ctx.Err(); err != nil {
		return it, err
	}
	res, err := st.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: st.table, Key: k,
		ConditionExpression:                 aws.String("attribute_exists(pk) AND attribute_not_exists(#archived)"),
		UpdateExpression:                    aws.String("REMOVE #ttl"),
		ExpressionAttributeNames:            map[string]string{"#ttl": AttrTTL, "#archived": "archived"},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	if old, ok := conditionFailed(err); ok {
		return it, st.missingOrConflict(ctx, old, k)
	}
	if err != nil {
		return it, err
	}
	if err := attributevalue.UnmarshalMap(res.Attributes, &it); err != nil {
		return it, fmt.Errorf("decode: %w", err)
	}
	return it, nil
}

// ListClaims implements fleetclaim.ClaimStore: a page of claim items, and
// the serial records of their serials in one BatchGetItem, for the latest
// state of the claims that are current.
func (st *Store) ListClaims(ctx context.Context, installer fleetclaim.InstallerID, p fleetclaim.Page) ([]fleetclaim.Claim, string, error) {
	what := "list claims of " + string(installer)
	items, next, err := query[claimItem](ctx, st, listing{kind: "claims", scope: string(installer), index: IndexByInstaller,
		pkAttr: AttrGSI1PK, pk: installerPK(installer), newestFirst: true, keyAttrs: []string{AttrPK, AttrSK, AttrGSI1PK, AttrGSI1SK}}, p)
	if err != nil {
		return nil, "", err
	}
	serials, err := st.serials(ctx, items)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	out := make([]fleetclaim.Claim, 0, len(items))
	for _, it := range items {
		sr := serials[serialPK(fleetclaim.TenantID(it.TenantID), it.Serial)]
		c, ok, err := st.latest(ctx, it, &sr)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", what, err)
		}
		if ok { // a claim item being created, or left by a failed create, is no claim
			out = append(out, c)
		}
	}
	return out, next, nil
}

// serials reads the serial records of items' serials, consistently, by pk.
func (st *Store) serials(ctx context.Context, items []claimItem) (map[string]serialItem, error) {
	out := map[string]serialItem{}
	var keys []map[string]types.AttributeValue
	for _, it := range items {
		pk := serialPK(fleetclaim.TenantID(it.TenantID), it.Serial)
		if _, ok := out[pk]; !ok {
			out[pk] = serialItem{}
			keys = append(keys, key(pk, "SERIAL"))
		}
	}
	// A page holds at most MaxPageSize (100) claims: one request's worth
	// of keys. Keys DynamoDB leaves unprocessed are asked for again.
	for len(keys) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res, err := st.api.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
			*st.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}})
		if err != nil {
			return nil, fmt.Errorf("read serials: %w", err)
		}
		for _, raw := range res.Responses[*st.table] {
			var sr serialItem
			if err := attributevalue.UnmarshalMap(raw, &sr); err != nil {
				return nil, fmt.Errorf("read serials: decode: %w", err)
			}
			out[sr.PK] = sr
		}
		keys = res.UnprocessedKeys[*st.table].Keys
	}
	return out, nil
}
