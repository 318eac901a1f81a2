package dynamostore_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/fleetclaim/fleetclaim/shared/awsenv"
	"github.com/fleetclaim/fleetclaim/shared/dynamostore"
	"github.com/fleetclaim/fleetclaim/shared/dynamostore/dynamotest"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/storetest"
)

// These tests read and write raw items on dynalite: the parts of the stored
// shape that something other than this adapter relies on, which the port
// cannot show. infra/ seeds tenant items; DynamoDB's TTL deletes by the ttl
// attribute; the device index holds what has gsi2pk.

// rawTable returns a client, a new table of its own and a store on it.
func rawTable(t *testing.T) (*dynamodb.Client, string, *dynamostore.Store) {
	t.Helper()
	api := awsenv.DynamoDB(awsenv.Local("us-east-1"), dynamotest.Endpoint(t))
	b := make([]byte, 6)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	table := "items-" + hex.EncodeToString(b)
	if err := dynamostore.CreateTable(t.Context(), api, table); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	return api, table, dynamostore.New(api, table)
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func rawItem(t *testing.T, api *dynamodb.Client, table, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	res, err := api.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{dynamostore.AttrPK: str(pk), dynamostore.AttrSK: str(sk)}})
	if err != nil {
		t.Fatalf("GetItem %s %s: %v", pk, sk, err)
	}
	if res.Item == nil {
		t.Fatalf("GetItem %s %s: no item", pk, sk)
	}
	return res.Item
}

// legacySeededTenant is a tenant item as infra/ seeded it before tenants
// had a revision and a place in the tenant listing.
func legacySeededTenant(id string, domains []string, claimsPerHour int) map[string]types.AttributeValue {
	list := []types.AttributeValue{}
	for _, d := range domains {
		list = append(list, str(d))
	}
	item := map[string]types.AttributeValue{
		dynamostore.AttrPK: str("TENANT#" + id), dynamostore.AttrSK: str("TENANT"),
		"id": str(id), "name": str("Acme"), "status": str("active"),
		"autoApproveDomains": &types.AttributeValueMemberL{Value: list},
		"claimsPerHour":      num(int64(claimsPerHour)),
	}
	return item
}

// toAttributes reads DynamoDB's attribute-value JSON back into values, as
// the SDK in the CDK app's custom resource does.
func toAttributes(t *testing.T, item map[string]any) map[string]types.AttributeValue {
	t.Helper()
	var conv func(v any) types.AttributeValue
	conv = func(v any) types.AttributeValue {
		m := v.(map[string]any)
		for k, e := range m {
			switch k {
			case "S":
				return str(e.(string))
			case "N":
				return &types.AttributeValueMemberN{Value: e.(string)}
			case "BOOL":
				return &types.AttributeValueMemberBOOL{Value: e.(bool)}
			case "L":
				l := []types.AttributeValue{}
				for _, x := range e.([]any) {
					l = append(l, conv(x))
				}
				return &types.AttributeValueMemberL{Value: l}
			}
			t.Fatalf("attribute type %s in %v", k, m)
		}
		t.Fatalf("empty attribute value")
		return nil
	}
	out := map[string]types.AttributeValue{}
	for k, v := range item {
		out[k] = conv(v)
	}
	return out
}

// The deploy-time seed (infra/data.go) writes dynamostore.TenantItem on
// dynamostore.SeedCondition: what PutTenant writes, on the same condition.
// Records seeded before tenants had a revision still read, and the seed
// still replaces them.
func TestTenantItemShape(t *testing.T) {
	api, table, st := rawTable(t)
	tests := []struct {
		name   string
		tenant fleetclaim.Tenant
	}{
		{"with domains and a quota", fleetclaim.Tenant{Name: "Acme", Status: fleetclaim.TenantActive,
			AutoApproveDomains: []string{"acme.example", "acme.test"}, ClaimsPerHour: 12}},
		{"no domains, deployment quota", fleetclaim.Tenant{Name: "Acme", Status: fleetclaim.TenantActive}},
		{"installers may decommission", fleetclaim.Tenant{Name: "Acme", Status: fleetclaim.TenantActive, InstallersMayDecommission: true}},
	}
	seed := func(t *testing.T, tn fleetclaim.Tenant) error {
		t.Helper()
		item, err := dynamostore.TenantItem(tn)
		if err != nil {
			t.Fatalf("TenantItem: %v", err)
		}
		_, err = api.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: toAttributes(t, item),
			ConditionExpression: aws.String(dynamostore.SeedCondition), ExpressionAttributeValues: dynamostore.SeedConditionValues()})
		return err
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.tenant
			want.ID = storetest.NewTenantID()
			legacy := legacySeededTenant(string(want.ID), want.AutoApproveDomains, want.ClaimsPerHour)
			if _, err := api.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: legacy}); err != nil {
				t.Fatalf("PutItem: %v", err)
			}
			got, err := st.GetTenant(t.Context(), want.ID)
			if err != nil {
				t.Fatalf("GetTenant of the legacy item: %v", err)
			}
			// Legacy items predate installersMayDecommission: it reads as false.
			legacyWant := want
			legacyWant.InstallersMayDecommission = false
			if !reflect.DeepEqual(got, legacyWant) {
				t.Fatalf("GetTenant of the legacy item:\n got %+v\nwant %+v", got, legacyWant)
			}

			// The seed replaces the legacy item, and writes what PutTenant writes.
			if err := seed(t, want); err != nil {
				t.Fatalf("seed over the legacy item: %v", err)
			}
			seeded := rawItem(t, api, table, "TENANT#"+string(want.ID), "TENANT")
			if err := st.PutTenant(t.Context(), want); err != nil {
				t.Fatalf("PutTenant: %v", err)
			}
			if raw := rawItem(t, api, table, "TENANT#"+string(want.ID), "TENANT"); !reflect.DeepEqual(raw, seeded) {
				t.Fatalf("item PutTenant wrote:\n got %#v\nwant %#v", raw, seeded)
			}

			// Once the API changed it, the seed's condition fails.
			changed := want
			changed.Name = "Renamed"
			if _, err := st.UpdateTenant(t.Context(), changed, 0); err != nil {
				t.Fatalf("UpdateTenant: %v", err)
			}
			var ccf *types.ConditionalCheckFailedException
			if err := seed(t, want); !errors.As(err, &ccf) {
				t.Fatalf("seed after an API change: got %v, want ConditionalCheckFailedException", err)
			}
			if got, err := st.GetTenant(t.Context(), want.ID); err != nil || got.Name != "Renamed" {
				t.Fatalf("tenant after the refused seed: got %+v, %v; want the API's name", got, err)
			}
		})
	}
}

func TestTTLAndDeviceIndex(t *testing.T) {
	api, table, st := rawTable(t)
	ctx := t.Context()
	when := time.Date(2026, 11, 22, 10, 0, 0, 500, time.UTC)

	t.Run("issued claim expires by RetainUntil, outside the device index", func(t *testing.T) {
		c := storetest.NewClaim(storetest.NewTenantID(), storetest.NewInstallerID(), "SN-1", when)
		if err := st.CreateClaim(ctx, c, ""); err != nil {
			t.Fatalf("CreateClaim: %v", err)
		}
		raw := rawItem(t, api, table, "CLAIM#"+string(c.ID), "CLAIM")
		checkAttr(t, raw, dynamostore.AttrTTL, num(c.RetainUntil.Unix()))
		checkAttr(t, raw, dynamostore.AttrGSI1PK, str("INSTALLER#"+string(c.InstallerID)))
		checkAttr(t, raw, dynamostore.AttrGSI2PK, nil)
		checkAttr(t, raw, dynamostore.AttrGSI2SK, nil)
	})
	t.Run("claim with no retention has no ttl", func(t *testing.T) {
		c := storetest.NewClaim(storetest.NewTenantID(), storetest.NewInstallerID(), "SN-1", when)
		c.RetainUntil = time.Time{}
		if err := st.CreateClaim(ctx, c, ""); err != nil {
			t.Fatalf("CreateClaim: %v", err)
		}
		checkAttr(t, rawItem(t, api, table, "CLAIM#"+string(c.ID), "CLAIM"), dynamostore.AttrTTL, nil)
	})
	t.Run("consumed claim is kept for good, its serial in the device index while live", func(t *testing.T) {
		c := storetest.NewClaim(storetest.NewTenantID(), storetest.NewInstallerID(), "SN-1", when)
		if err := st.CreateClaim(ctx, c, ""); err != nil {
			t.Fatalf("CreateClaim: %v", err)
		}
		d := storetest.NewDevice(c, when.Add(time.Minute))
		_, err := st.UpdateClaim(ctx, fleetclaim.ClaimUpdate{ID: c.ID, IfStatus: fleetclaim.ClaimIssued,
			IfUnexpiredAt: d.ProvisionedAt, Status: fleetclaim.ClaimConsumed, At: d.ProvisionedAt, Device: &d})
		if err != nil {
			t.Fatalf("UpdateClaim: %v", err)
		}
		raw := rawItem(t, api, table, "CLAIM#"+string(c.ID), "CLAIM")
		checkAttr(t, raw, dynamostore.AttrTTL, nil)
		checkAttr(t, raw, dynamostore.AttrGSI2PK, nil)
		serialPK := "TENANT#" + string(c.TenantID) + "#SERIAL#" + c.Serial
		raw = rawItem(t, api, table, serialPK, "SERIAL")
		checkAttr(t, raw, dynamostore.AttrTTL, nil)
		checkAttr(t, raw, dynamostore.AttrGSI2PK, str("TENANT#"+string(c.TenantID)+"#DEVICE"))
		checkAttr(t, raw, dynamostore.AttrGSI2SK, str(c.Serial))

		// Decommissioned: out of the device index, into the history.
		if _, err := st.DecommissionDevice(ctx, c.TenantID, c.Serial, d.CertificateID, when.Add(time.Hour), "", "broken"); err != nil {
			t.Fatalf("DecommissionDevice: %v", err)
		}
		raw = rawItem(t, api, table, serialPK, "SERIAL")
		checkAttr(t, raw, dynamostore.AttrGSI2PK, nil)
		checkAttr(t, raw, dynamostore.AttrGSI2SK, nil)
		raw = rawItem(t, api, table, serialPK, "HISTORY#2026-11-22T10:01:00.000000500Z#"+d.CertificateID)
		checkAttr(t, raw, dynamostore.AttrTTL, nil)
		checkAttr(t, raw, "decommissionReason", str("broken"))

		// Replaced: the consumed claim stays for good.
		next := storetest.NewClaim(c.TenantID, c.InstallerID, c.Serial, when.Add(2*time.Hour))
		if err := st.CreateClaim(ctx, next, c.ID); err != nil {
			t.Fatalf("CreateClaim replacing: %v", err)
		}
		raw = rawItem(t, api, table, "CLAIM#"+string(c.ID), "CLAIM")
		checkAttr(t, raw, dynamostore.AttrTTL, nil)
		checkAttr(t, raw, "archived", &types.AttributeValueMemberBOOL{Value: true})
	})
	t.Run("replaced claim never used expires by RetainUntil", func(t *testing.T) {
		c := storetest.NewClaim(storetest.NewTenantID(), storetest.NewInstallerID(), "SN-1", when)
		if err := st.CreateClaim(ctx, c, ""); err != nil {
			t.Fatalf("CreateClaim: %v", err)
		}
		next := storetest.NewClaim(c.TenantID, c.InstallerID, c.Serial, c.ExpiresAt)
		if err := st.CreateClaim(ctx, next, c.ID); err != nil {
			t.Fatalf("CreateClaim replacing: %v", err)
		}
		raw := rawItem(t, api, table, "CLAIM#"+string(c.ID), "CLAIM")
		checkAttr(t, raw, dynamostore.AttrTTL, num(c.RetainUntil.Unix()))
		checkAttr(t, raw, "archived", &types.AttributeValueMemberBOOL{Value: true})

		// A registration attempt with the replaced claim keeps it expiring.
		d := storetest.NewDevice(c, c.IssuedAt.Add(time.Minute))
		_, err := st.UpdateClaim(ctx, fleetclaim.ClaimUpdate{ID: c.ID, IfStatus: fleetclaim.ClaimIssued,
			IfUnexpiredAt: d.ProvisionedAt, Status: fleetclaim.ClaimConsumed, At: d.ProvisionedAt, Device: &d})
		if !errors.Is(err, fleetclaim.ErrConflict) {
			t.Fatalf("UpdateClaim consuming the replaced claim: got %v, want ErrConflict", err)
		}
		raw = rawItem(t, api, table, "CLAIM#"+string(c.ID), "CLAIM")
		checkAttr(t, raw, dynamostore.AttrTTL, num(c.RetainUntil.Unix()))
	})
	t.Run("quota window expires an hour after its end", func(t *testing.T) {
		end := when.Add(time.Hour)
		if err := st.TakeQuota(ctx, "claims#x", end, 3); err != nil {
			t.Fatalf("TakeQuota: %v", err)
		}
		raw := rawItem(t, api, table, "QUOTA#claims#x#"+strconv.FormatInt(end.Unix(), 10), "QUOTA")
		checkAttr(t, raw, dynamostore.AttrTTL, num(end.Add(time.Hour).Unix()))
	})
	t.Run("audit event expires after 400 days", func(t *testing.T) {
		tenant := storetest.NewTenantID()
		e := fleetclaim.AuditEvent{TenantID: tenant, ID: "evt-1", At: when, Action: fleetclaim.ActionClaimIssued}
		if err := st.AppendAudit(ctx, e); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
		raw := rawItem(t, api, table, "TENANT#"+string(tenant)+"#AUDIT", "2026-11-22T10:00:00.000000500Z#evt-1")
		checkAttr(t, raw, dynamostore.AttrTTL, num(when.Add(400*24*time.Hour).Unix()))
	})
}

// checkAttr fails t unless item's attribute name is want (nil: absent).
func checkAttr(t *testing.T, item map[string]types.AttributeValue, name string, want types.AttributeValue) {
	t.Helper()
	got, ok := item[name]
	switch {
	case want == nil && ok:
		t.Errorf("attribute %s = %#v, want none", name, got)
	case want != nil && !reflect.DeepEqual(got, want):
		t.Errorf("attribute %s = %#v, want %#v", name, got, want)
	}
}

func TestCreateTable(t *testing.T) {
	api, table, _ := rawTable(t)
	err := dynamostore.CreateTable(t.Context(), api, table)
	if !errors.Is(err, dynamostore.ErrTableExists) {
		t.Fatalf("CreateTable of an existing table: got %v, want ErrTableExists", err)
	}
	res, err := api.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatalf("DescribeTable: %v", err)
	}
	if bm := res.Table.BillingModeSummary; bm == nil || bm.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing mode summary %+v, want PAY_PER_REQUEST", bm)
	}
	indexes := map[string]types.GlobalSecondaryIndexDescription{}
	for _, g := range res.Table.GlobalSecondaryIndexes {
		indexes[aws.ToString(g.IndexName)] = g
	}
	for name, keys := range map[string][2]string{
		dynamostore.IndexByInstaller: {dynamostore.AttrGSI1PK, dynamostore.AttrGSI1SK},
		dynamostore.IndexByTenant:    {dynamostore.AttrGSI2PK, dynamostore.AttrGSI2SK},
	} {
		g, ok := indexes[name]
		if !ok {
			t.Errorf("index %s missing", name)
			continue
		}
		if g.Projection == nil || g.Projection.ProjectionType != types.ProjectionTypeAll {
			t.Errorf("index %s projection %+v, want ALL", name, g.Projection)
		}
		if len(g.KeySchema) != 2 || aws.ToString(g.KeySchema[0].AttributeName) != keys[0] ||
			aws.ToString(g.KeySchema[1].AttributeName) != keys[1] {
			t.Errorf("index %s key schema %+v, want %s, %s", name, g.KeySchema, keys[0], keys[1])
		}
	}
}

// A tenant seeded before tenants were listed joins the listing when the
// API first changes it, whichever change that is.
func TestLegacyTenantListedOnceChanged(t *testing.T) {
	api, table, st := rawTable(t)
	changes := map[string]func(id fleetclaim.TenantID) error{
		"UpdateTenant": func(id fleetclaim.TenantID) error {
			_, err := st.UpdateTenant(t.Context(), fleetclaim.Tenant{ID: id, Name: "Renamed"}, 0)
			return err
		},
		"SetTenantStatus": func(id fleetclaim.TenantID) error {
			_, err := st.SetTenantStatus(t.Context(), id, fleetclaim.TenantActive, fleetclaim.TenantSuspended, time.Now(), "")
			return err
		},
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			id := storetest.NewTenantID()
			if _, err := api.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(table),
				Item: legacySeededTenant(string(id), nil, 0)}); err != nil {
				t.Fatal(err)
			}
			listed := func() bool {
				ts, _, err := st.ListTenants(t.Context(), fleetclaim.Page{Limit: fleetclaim.MaxPageSize})
				if err != nil {
					t.Fatal(err)
				}
				return slices.ContainsFunc(ts, func(tn fleetclaim.Tenant) bool { return tn.ID == id })
			}
			if listed() {
				t.Fatal("a legacy item is listed before any change; the test needs one that is not")
			}
			if err := change(id); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !listed() {
				t.Errorf("after %s: not listed", name)
			}
		})
	}
}
