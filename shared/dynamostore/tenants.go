package dynamostore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// tenantsPK is the index partition that lists every tenant (gsi2). Tenants
// are few and listed only by platform admins, so one partition serves.
const tenantsPK = "TENANTS"

// SeedCondition is the condition on which the deploy-time seed writes a
// tenant, here (PutTenant) and in the CDK app's PutItem (infra/data.go): no
// record yet, or one that no API call has changed (revision 0, or no
// revision at all in records seeded before tenants had one).
// SeedConditionValues are its values.
const SeedCondition = "attribute_not_exists(pk) OR attribute_not_exists(revision) OR revision = :zero"

// SeedConditionValues are the expression values SeedCondition names.
func SeedConditionValues() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{":zero": n(0)}
}

// tenantItem is a tenant record; infra/ seeds the same shape (TenantItem).
type tenantItem struct {
	PK                        string   `dynamodbav:"pk"`
	SK                        string   `dynamodbav:"sk"`
	GSI2PK                    string   `dynamodbav:"gsi2pk"`
	GSI2SK                    string   `dynamodbav:"gsi2sk"`
	ID                        string   `dynamodbav:"id"`
	Name                      string   `dynamodbav:"name"`
	Status                    string   `dynamodbav:"status"`
	Revision                  int      `dynamodbav:"revision"`
	AutoApproveDomains        []string `dynamodbav:"autoApproveDomains"`
	ClaimsPerHour             int      `dynamodbav:"claimsPerHour"`
	AllowedTemplates          []string `dynamodbav:"allowedTemplates"`
	InstallersMayDecommission bool     `dynamodbav:"installersMayDecommission"`
	CreatedAt                 string   `dynamodbav:"createdAt,omitempty"`
	UpdatedAt                 string   `dynamodbav:"updatedAt,omitempty"`
	UpdatedBy                 string   `dynamodbav:"updatedBy,omitempty"`
}

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func tsOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return ts(t)
}

func newTenantItem(t fleetclaim.Tenant) tenantItem {
	return tenantItem{PK: tenantPK(t.ID), SK: "TENANT", GSI2PK: tenantsPK, GSI2SK: string(t.ID), ID: string(t.ID),
		Name: t.Name, Status: string(t.Status), Revision: t.Revision, AutoApproveDomains: orEmpty(t.AutoApproveDomains),
		ClaimsPerHour: t.ClaimsPerHour, AllowedTemplates: orEmpty(t.AllowedTemplates),
		InstallersMayDecommission: t.InstallersMayDecommission,
		CreatedAt:                 tsOrEmpty(t.CreatedAt), UpdatedAt: tsOrEmpty(t.UpdatedAt), UpdatedBy: string(t.UpdatedBy)}
}

func (it tenantItem) tenant() fleetclaim.Tenant {
	t := fleetclaim.Tenant{ID: fleetclaim.TenantID(it.ID), Name: it.Name, Status: fleetclaim.TenantStatus(it.Status),
		Revision: it.Revision, AutoApproveDomains: it.AutoApproveDomains, ClaimsPerHour: it.ClaimsPerHour,
		AllowedTemplates: it.AllowedTemplates, InstallersMayDecommission: it.InstallersMayDecommission,
		CreatedAt: parseTS(it.CreatedAt), UpdatedAt: parseTS(it.UpdatedAt), UpdatedBy: fleetclaim.InstallerID(it.UpdatedBy)}
	if len(t.AutoApproveDomains) == 0 {
		t.AutoApproveDomains = nil
	}
	if len(t.AllowedTemplates) == 0 {
		t.AllowedTemplates = nil
	}
	return t
}

// TenantItem is a tenant record as this adapter stores it, in DynamoDB's
// attribute-value JSON ({"S": ...}), for infra/'s deploy-time PutItem: the
// seed and the store cannot disagree on the shape.
func TenantItem(t fleetclaim.Tenant) (map[string]any, error) {
	av, err := attributevalue.MarshalMap(newTenantItem(t))
	if err != nil {
		return nil, fmt.Errorf("tenant item %s: %w", t.ID, err)
	}
	return AttributeJSON(av)
}

// AttributeJSON renders attribute values in DynamoDB's JSON form, as the
// AWS SDKs' low-level clients send them.
func AttributeJSON(av map[string]types.AttributeValue) (map[string]any, error) {
	out := make(map[string]any, len(av))
	for k, v := range av {
		j, err := attributeJSON(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		out[k] = j
	}
	return out, nil
}

func attributeJSON(v types.AttributeValue) (any, error) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": v.Value}, nil
	case *types.AttributeValueMemberN:
		return map[string]any{"N": v.Value}, nil
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": v.Value}, nil
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": v.Value}, nil
	case *types.AttributeValueMemberL:
		l := make([]any, 0, len(v.Value))
		for _, e := range v.Value {
			j, err := attributeJSON(e)
			if err != nil {
				return nil, err
			}
			l = append(l, j)
		}
		return map[string]any{"L": l}, nil
	case *types.AttributeValueMemberM:
		m, err := AttributeJSON(v.Value)
		if err != nil {
			return nil, err
		}
		return map[string]any{"M": m}, nil
	}
	return nil, fmt.Errorf("unsupported attribute value %T", v)
}

// GetTenant implements fleetclaim.TenantStore.
func (st *Store) GetTenant(ctx context.Context, id fleetclaim.TenantID) (fleetclaim.Tenant, error) {
	var it tenantItem
	if err := st.get(ctx, key(tenantPK(id), "TENANT"), &it, "get tenant "+string(id)); err != nil {
		return fleetclaim.Tenant{}, err
	}
	return it.tenant(), nil
}

// PutTenant implements fleetclaim.TenantStore, on SeedCondition.
func (st *Store) PutTenant(ctx context.Context, t fleetclaim.Tenant) error {
	what := "put tenant " + string(t.ID)
	switch {
	case t.ID == "":
		return invalid("put tenant: ID is required")
	case t.Revision != 0:
		return invalid("%s: a seeded tenant has revision 0, not %d", what, t.Revision)
	}
	return st.putTenant(ctx, t, SeedCondition, SeedConditionValues(), what)
}

// CreateTenant implements fleetclaim.TenantStore.
func (st *Store) CreateTenant(ctx context.Context, t fleetclaim.Tenant) error {
	what := "create tenant " + string(t.ID)
	switch {
	case t.ID == "":
		return invalid("create tenant: ID is required")
	case t.Revision < 1:
		return invalid("%s: revision must be at least 1", what)
	}
	return st.putTenant(ctx, t, "attribute_not_exists(pk)", nil, what)
}

func (st *Store) putTenant(ctx context.Context, t fleetclaim.Tenant, cond string, values map[string]types.AttributeValue, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	av, err := attributevalue.MarshalMap(newTenantItem(t))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	_, err = st.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: st.table, Item: av,
		ConditionExpression: aws.String(cond), ExpressionAttributeValues: values})
	if _, ok := conditionFailed(err); ok {
		return fmt.Errorf("%s: %w", what, fleetclaim.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// UpdateTenant implements fleetclaim.TenantStore: one conditional update on
// the revision, so of two admins editing the same revision one wins.
func (st *Store) UpdateTenant(ctx context.Context, t fleetclaim.Tenant, ifRevision int) (fleetclaim.Tenant, error) {
	switch {
	case t.ID == "":
		return fleetclaim.Tenant{}, invalid("update tenant: ID is required")
	case ifRevision < 0:
		return fleetclaim.Tenant{}, invalid("update tenant %s: revision must not be negative", t.ID)
	}
	it := newTenantItem(t)
	domains, err := attributevalue.Marshal(it.AutoApproveDomains)
	if err != nil {
		return fleetclaim.Tenant{}, fmt.Errorf("update tenant %s: %w", t.ID, err)
	}
	templates, err := attributevalue.Marshal(it.AllowedTemplates)
	if err != nil {
		return fleetclaim.Tenant{}, fmt.Errorf("update tenant %s: %w", t.ID, err)
	}
	cond := "attribute_exists(pk) AND revision = :if"
	if ifRevision == 0 {
		cond = "attribute_exists(pk) AND (attribute_not_exists(revision) OR revision = :if)"
	}
	return st.updateTenant(ctx, "update tenant "+string(t.ID), t.ID, &dynamodb.UpdateItemInput{
		ConditionExpression: aws.String(cond),
		// The index keys are set again for records seeded before tenants
		// were listed (see SetTenantStatus).
		UpdateExpression: aws.String("SET #name = :name, autoApproveDomains = :domains, claimsPerHour = :cph, " +
			"allowedTemplates = :templates, installersMayDecommission = :imd, updatedAt = :at, updatedBy = :by, " +
			"revision = :next, gsi2pk = :gpk, gsi2sk = :gsk"),
		ExpressionAttributeNames: map[string]string{"#name": "name"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":name": s(t.Name), ":domains": domains, ":cph": n(int64(t.ClaimsPerHour)), ":templates": templates,
			":imd": &types.AttributeValueMemberBOOL{Value: t.InstallersMayDecommission}, ":at": s(it.UpdatedAt),
			":by": s(it.UpdatedBy), ":if": n(int64(ifRevision)), ":next": n(int64(ifRevision) + 1),
			":gpk": s(tenantsPK), ":gsk": s(string(t.ID)),
		},
	})
}

// SetTenantStatus implements fleetclaim.TenantStore.
func (st *Store) SetTenantStatus(ctx context.Context, id fleetclaim.TenantID, from, to fleetclaim.TenantStatus, at time.Time, by fleetclaim.InstallerID) (fleetclaim.Tenant, error) {
	if id == "" || from == "" || to == "" {
		return fleetclaim.Tenant{}, invalid("set tenant status: ID and both statuses are required")
	}
	return st.updateTenant(ctx, "set tenant "+string(id)+" "+string(to), id, &dynamodb.UpdateItemInput{
		ConditionExpression: aws.String("attribute_exists(pk) AND #st = :from"),
		// The index keys are set again for records seeded before tenants
		// were listed, so that every tenant the API touched is listed.
		UpdateExpression:         aws.String("SET #st = :to, updatedAt = :at, updatedBy = :by, gsi2pk = :gpk, gsi2sk = :gsk ADD revision :one"),
		ExpressionAttributeNames: map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":from": s(string(from)), ":to": s(string(to)),
			":at": s(ts(at)), ":by": s(string(by)), ":one": n(1), ":gpk": s(tenantsPK), ":gsk": s(string(id))},
	})
}

func (st *Store) updateTenant(ctx context.Context, what string, id fleetclaim.TenantID, in *dynamodb.UpdateItemInput) (fleetclaim.Tenant, error) {
	if err := ctx.Err(); err != nil {
		return fleetclaim.Tenant{}, fmt.Errorf("%s: %w", what, err)
	}
	in.TableName, in.Key = st.table, key(tenantPK(id), "TENANT")
	in.ReturnValues = types.ReturnValueAllNew
	in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	res, err := st.api.UpdateItem(ctx, in)
	if old, ok := conditionFailed(err); ok {
		return fleetclaim.Tenant{}, fmt.Errorf("%s: %w", what, st.missingOrConflict(ctx, old, in.Key))
	}
	if err != nil {
		return fleetclaim.Tenant{}, fmt.Errorf("%s: %w", what, err)
	}
	var it tenantItem
	if err := attributevalue.UnmarshalMap(res.Attributes, &it); err != nil {
		return fleetclaim.Tenant{}, fmt.Errorf("%s: decode: %w", what, err)
	}
	return it.tenant(), nil
}

// ListTenants implements fleetclaim.TenantStore.
func (st *Store) ListTenants(ctx context.Context, p fleetclaim.Page) ([]fleetclaim.Tenant, string, error) {
	items, next, err := query[tenantItem](ctx, st, listing{kind: "tenants", scope: "", index: IndexByTenant,
		pkAttr: AttrGSI2PK, pk: tenantsPK, keyAttrs: []string{AttrPK, AttrSK, AttrGSI2PK, AttrGSI2SK}}, p)
	out := make([]fleetclaim.Tenant, 0, len(items))
	for _, it := range items {
		out = append(out, it.tenant())
	}
	return out, next, err
}
