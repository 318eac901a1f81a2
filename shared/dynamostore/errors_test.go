package dynamostore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/fleetclaim/fleetclaim/shared/dynamostore"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/storetest"
)

// fakeAPI is a dynamostore.API whose methods are the functions it holds; a
// call to one left nil fails the test through the error it returns.
type fakeAPI struct {
	getItem    func(*dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error)
	putItem    func(*dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error)
	updateItem func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error)
	query      func(*dynamodb.QueryInput) (*dynamodb.QueryOutput, error)
	deleteItem func(*dynamodb.DeleteItemInput) (*dynamodb.DeleteItemOutput, error)
	batchGet   func(*dynamodb.BatchGetItemInput) (*dynamodb.BatchGetItemOutput, error)
}

var errUnexpectedCall = errors.New("unexpected call")

func (f fakeAPI) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if f.getItem == nil {
		return nil, errUnexpectedCall
	}
	return f.getItem(in)
}

func (f fakeAPI) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if f.putItem == nil {
		return nil, errUnexpectedCall
	}
	return f.putItem(in)
}

func (f fakeAPI) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if f.updateItem == nil {
		return nil, errUnexpectedCall
	}
	return f.updateItem(in)
}

func (f fakeAPI) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	if f.query == nil {
		return nil, errUnexpectedCall
	}
	return f.query(in)
}

func (f fakeAPI) DeleteItem(_ context.Context, in *dynamodb.DeleteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	if f.deleteItem == nil {
		return nil, errUnexpectedCall
	}
	return f.deleteItem(in)
}

func (f fakeAPI) BatchGetItem(_ context.Context, in *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	if f.batchGet == nil {
		return nil, errUnexpectedCall
	}
	return f.batchGet(in)
}

// Faults as the SDK reports them once its retries are spent.
var (
	errCCF         = &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
	errThroughput  = &types.ProvisionedThroughputExceededException{Message: aws.String("Rate exceeded")}
	errThrottling  = &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate of requests exceeds the allowed throughput."}
	errLimit       = &types.RequestLimitExceeded{Message: aws.String("Throughput exceeds the account limit")}
	errInternal    = &types.InternalServerError{Message: aws.String("Internal server error")}
	errUnreachable = errors.New("dial tcp 127.0.0.1:8000: connect: connection refused")
)

var faults = []struct {
	name string
	err  error
}{
	{"provisioned throughput exceeded", errThroughput},
	{"throttling", errThrottling},
	{"request limit exceeded", errLimit},
	{"internal server error", errInternal},
	{"unreachable", errUnreachable},
}

// call is one store method, run against a fake.
type call struct {
	name string
	run  func(s *dynamostore.Store) error
}

var (
	claimID   = storetest.NewClaimID()
	installer = storetest.NewInstallerID()
	tenant    = storetest.NewTenantID()
	when      = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
)

func consumeUpdate() fleetclaim.ClaimUpdate {
	c := storetest.NewClaim(tenant, installer, "SN-1", when)
	c.ID = claimID
	d := storetest.NewDevice(c, when)
	return fleetclaim.ClaimUpdate{ID: claimID, IfStatus: fleetclaim.ClaimIssued, IfUnexpiredAt: when,
		Status: fleetclaim.ClaimConsumed, At: when, Device: &d}
}

var calls = []call{
	{"CreateClaim", func(s *dynamostore.Store) error {
		return s.CreateClaim(context.Background(), storetest.NewClaim(tenant, installer, "SN-1", when), "")
	}},
	{"GetClaim", func(s *dynamostore.Store) error { _, err := s.GetClaim(context.Background(), claimID); return err }},
	{"UpdateClaim", func(s *dynamostore.Store) error {
		_, err := s.UpdateClaim(context.Background(), consumeUpdate())
		return err
	}},
	{"ListClaims", func(s *dynamostore.Store) error {
		_, _, err := s.ListClaims(context.Background(), installer, fleetclaim.Page{})
		return err
	}},
	{"GetDevice", func(s *dynamostore.Store) error {
		_, err := s.GetDevice(context.Background(), tenant, "SN-1")
		return err
	}},
	{"ListDevices", func(s *dynamostore.Store) error {
		_, _, err := s.ListDevices(context.Background(), tenant, fleetclaim.Page{})
		return err
	}},
	{"GetSerial", func(s *dynamostore.Store) error {
		_, err := s.GetSerial(context.Background(), tenant, "SN-1")
		return err
	}},
	{"MarkDeviceOnline", func(s *dynamostore.Store) error {
		_, err := s.MarkDeviceOnline(context.Background(), tenant, "SN-1", "cert", when)
		return err
	}},
	{"DecommissionDevice", func(s *dynamostore.Store) error {
		_, err := s.DecommissionDevice(context.Background(), tenant, "SN-1", "cert", when, installer, "broken")
		return err
	}},
	{"ListDeviceHistory", func(s *dynamostore.Store) error {
		_, _, err := s.ListDeviceHistory(context.Background(), tenant, "SN-1", fleetclaim.Page{})
		return err
	}},
	{"CreateInstaller", func(s *dynamostore.Store) error {
		return s.CreateInstaller(context.Background(), storetest.NewInstaller(tenant, "ana@example.com", when))
	}},
	{"GetInstaller", func(s *dynamostore.Store) error {
		_, err := s.GetInstaller(context.Background(), installer)
		return err
	}},
	{"SetInstallerStatus", func(s *dynamostore.Store) error {
		_, err := s.SetInstallerStatus(context.Background(), installer, []fleetclaim.InstallerStatus{fleetclaim.InstallerPending},
			fleetclaim.InstallerApproved, when, "")
		return err
	}},
	{"ListInstallers", func(s *dynamostore.Store) error {
		_, _, err := s.ListInstallers(context.Background(), tenant, fleetclaim.Page{})
		return err
	}},
	{"GetTenant", func(s *dynamostore.Store) error { _, err := s.GetTenant(context.Background(), tenant); return err }},
	{"PutTenant", func(s *dynamostore.Store) error {
		return s.PutTenant(context.Background(), fleetclaim.Tenant{ID: tenant, Name: "Acme", Status: fleetclaim.TenantActive})
	}},
	{"TakeQuota", func(s *dynamostore.Store) error { return s.TakeQuota(context.Background(), "claims:x", when, 5) }},
	{"AppendAudit", func(s *dynamostore.Store) error {
		return s.AppendAudit(context.Background(), fleetclaim.AuditEvent{TenantID: tenant, ID: "evt-1", At: when, Action: fleetclaim.ActionClaimIssued})
	}},
	{"ListAudit", func(s *dynamostore.Store) error {
		_, _, err := s.ListAudit(context.Background(), tenant, fleetclaim.AuditFilter{}, fleetclaim.Page{})
		return err
	}},
}

// failing returns an API on which every call fails with err.
func failing(err error) fakeAPI {
	return fakeAPI{
		getItem:    func(*dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error) { return nil, err },
		putItem:    func(*dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error) { return nil, err },
		updateItem: func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) { return nil, err },
		query:      func(*dynamodb.QueryInput) (*dynamodb.QueryOutput, error) { return nil, err },
		deleteItem: func(*dynamodb.DeleteItemInput) (*dynamodb.DeleteItemOutput, error) { return nil, err },
		batchGet:   func(*dynamodb.BatchGetItemInput) (*dynamodb.BatchGetItemOutput, error) { return nil, err },
	}
}

// A fault must reach the caller as a fault: wrapped, with its cause, and
// never as a decision such as "not found" or "already used", which callers
// would act on instead of failing closed.
func TestFaultsAreNotDecisions(t *testing.T) {
	decisions := []error{fleetclaim.ErrNotFound, fleetclaim.ErrConflict, fleetclaim.ErrQuotaExhausted, fleetclaim.ErrInvalidCursor}
	for _, f := range faults {
		for _, c := range calls {
			t.Run(f.name+"/"+c.name, func(t *testing.T) {
				err := c.run(dynamostore.New(failing(f.err), "table"))
				if !errors.Is(err, f.err) {
					t.Fatalf("got %v, want an error wrapping %v", err, f.err)
				}
				for _, d := range decisions {
					if errors.Is(err, d) {
						t.Fatalf("got %v, which is %v; want a fault", err, d)
					}
				}
			})
		}
	}
}

func TestConditionFailures(t *testing.T) {
	stored := map[string]types.AttributeValue{dynamostore.AttrPK: &types.AttributeValueMemberS{Value: "CLAIM#x"}}
	tests := []struct {
		name    string
		call    string
		api     fakeAPI
		wantErr error // a sentinel, or a fault the error must wrap
	}{
		{"duplicate claim", "CreateClaim", fakeAPI{getItem: consistentGet(t, nil, nil),
			putItem: func(*dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error) { return nil, errCCF }}, fleetclaim.ErrConflict},
		{"duplicate installer", "CreateInstaller", failing(errCCF), fleetclaim.ErrConflict},
		{"duplicate audit event", "AppendAudit", failing(errCCF), fleetclaim.ErrConflict},
		{"quota used up", "TakeQuota", failing(errCCF), fleetclaim.ErrQuotaExhausted},
		{"claim condition, old item returned", "UpdateClaim", fakeAPI{updateItem: failWithOldItem(stored)}, fleetclaim.ErrConflict},
		{"installer condition, old item returned", "SetInstallerStatus", fakeAPI{updateItem: failWithOldItem(stored)}, fleetclaim.ErrConflict},
		{
			name: "claim condition, claim read back", call: "UpdateClaim",
			api: fakeAPI{
				updateItem: func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) { return nil, errCCF },
				getItem:    consistentGet(t, stored, nil),
			},
			wantErr: fleetclaim.ErrConflict,
		},
		{
			name: "claim missing", call: "UpdateClaim",
			api: fakeAPI{
				updateItem: func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) { return nil, errCCF },
				getItem:    consistentGet(t, nil, nil),
			},
			wantErr: fleetclaim.ErrNotFound,
		},
		{
			name: "claim condition, read back throttled", call: "UpdateClaim",
			api: fakeAPI{
				updateItem: func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) { return nil, errCCF },
				getItem:    consistentGet(t, nil, errThroughput),
			},
			wantErr: errThroughput,
		},
		{
			name: "installer missing", call: "SetInstallerStatus",
			api: fakeAPI{
				updateItem: func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) { return nil, errCCF },
				getItem:    consistentGet(t, nil, nil),
			},
			wantErr: fleetclaim.ErrNotFound,
		},
		{
			name: "installer status differs", call: "SetInstallerStatus",
			api: fakeAPI{
				updateItem: func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) { return nil, errCCF },
				getItem:    consistentGet(t, stored, nil),
			},
			wantErr: fleetclaim.ErrConflict,
		},
		{"claim not stored", "GetClaim", fakeAPI{getItem: consistentGet(t, nil, nil)}, fleetclaim.ErrNotFound},
		{"installer not stored", "GetInstaller", fakeAPI{getItem: consistentGet(t, nil, nil)}, fleetclaim.ErrNotFound},
		{"tenant not stored", "GetTenant", fakeAPI{getItem: consistentGet(t, nil, nil)}, fleetclaim.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := callNamed(t, tt.call).run(dynamostore.New(tt.api, "table"))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("%s: got %v, want %v", tt.call, err, tt.wantErr)
			}
			if errors.Is(tt.wantErr, errThroughput) && (errors.Is(err, fleetclaim.ErrNotFound) || errors.Is(err, fleetclaim.ErrConflict)) {
				t.Fatalf("%s: got %v, want a fault, not a decision", tt.call, err)
			}
		})
	}
}

// failWithOldItem fails a conditional update as DynamoDB does: the old item
// comes with the failure only if the request asked for ALL_OLD. With no
// GetItem in the fake, a store that did not ask fails on the read back.
func failWithOldItem(item map[string]types.AttributeValue) func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
	return func(in *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
		if in.ReturnValuesOnConditionCheckFailure != types.ReturnValuesOnConditionCheckFailureAllOld {
			return nil, errCCF
		}
		return nil, &types.ConditionalCheckFailedException{Item: item}
	}
}

// consistentGet answers GetItem with item (nil: no such item) or err, and
// fails the test if the read is not strongly consistent.
func consistentGet(t *testing.T, item map[string]types.AttributeValue, err error) func(*dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error) {
	return func(in *dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error) {
		if !aws.ToBool(in.ConsistentRead) {
			t.Errorf("GetItem with ConsistentRead %v, want true", aws.ToBool(in.ConsistentRead))
		}
		if err != nil {
			return nil, err
		}
		return &dynamodb.GetItemOutput{Item: item}, nil
	}
}

func callNamed(t *testing.T, name string) call {
	for _, c := range calls {
		if c.name == name {
			return c
		}
	}
	t.Fatalf("no call named %s", name)
	return call{}
}
