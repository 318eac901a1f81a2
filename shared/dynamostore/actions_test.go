package dynamostore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/fleetclaim/fleetclaim/shared/awsenv"
	"github.com/fleetclaim/fleetclaim/shared/dynamostore"
	"github.com/fleetclaim/fleetclaim/shared/dynamostore/dynamotest"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/storetest"
)

// recorder is a dynamostore.API that passes every call to a real client and
// records it under the exported Store method on the call stack.
type recorder struct {
	api dynamostore.API
	mu  sync.Mutex
	got map[string]map[string]bool // store method → "dynamodb:<Action>"
}

func (r *recorder) record(action string) {
	pcs := make([]uintptr, 32)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	const prefix = "/shared/dynamostore.(*Store)."
	for {
		f, more := frames.Next()
		if i := strings.Index(f.Function, prefix); i >= 0 {
			if method := f.Function[i+len(prefix):]; method != "" && method[0] >= 'A' && method[0] <= 'Z' {
				r.mu.Lock()
				if r.got[method] == nil {
					r.got[method] = map[string]bool{}
				}
				r.got[method]["dynamodb:"+action] = true
				r.mu.Unlock()
				return
			}
		}
		if !more {
			panic("dynamodb:" + action + " called outside an exported Store method")
		}
	}
}

func (r *recorder) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	r.record("GetItem")
	return r.api.GetItem(ctx, in, opts...)
}

func (r *recorder) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	r.record("PutItem")
	return r.api.PutItem(ctx, in, opts...)
}

func (r *recorder) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	r.record("UpdateItem")
	return r.api.UpdateItem(ctx, in, opts...)
}

func (r *recorder) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	r.record("Query")
	return r.api.Query(ctx, in, opts...)
}

func (r *recorder) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	r.record("DeleteItem")
	return r.api.DeleteItem(ctx, in, opts...)
}

func (r *recorder) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	r.record("BatchGetItem")
	return r.api.BatchGetItem(ctx, in, opts...)
}

// TestActions runs the store contract through a recording client and checks
// that dynamostore.Actions names exactly what each method called: an action
// the code uses but the table lacks would be refused by IAM in AWS; one the
// table lists but nothing calls would be a grant without a use.
func TestActions(t *testing.T) {
	api := awsenv.DynamoDB(awsenv.Local("us-east-1"), dynamotest.Endpoint(t))
	rec := &recorder{api: api, got: map[string]map[string]bool{}}
	t.Run("contract", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) fleetclaim.Store {
			b := make([]byte, 6)
			_, _ = rand.Read(b)
			table := "actions-" + hex.EncodeToString(b)
			if err := dynamostore.CreateTable(t.Context(), api, table); err != nil {
				t.Fatalf("create table: %v", err)
			}
			return dynamostore.New(rec, table)
		})
	})
	got := map[string][]string{}
	for method, actions := range rec.got {
		got[method] = slices.Sorted(maps.Keys(actions))
	}
	for _, method := range slices.Sorted(maps.Keys(got)) {
		want := slices.Sorted(slices.Values(dynamostore.Actions[method]))
		if !slices.Equal(got[method], want) {
			t.Errorf("%s calls %v, Actions says %v", method, got[method], want)
		}
	}
	for method := range dynamostore.Actions {
		if _, ok := got[method]; !ok {
			t.Errorf("Actions lists %s, which the contract never saw call DynamoDB", method)
		}
	}
	if t.Failed() {
		var b strings.Builder
		for _, m := range slices.Sorted(maps.Keys(got)) {
			fmt.Fprintf(&b, "\t%q: {%s},\n", m, `"`+strings.Join(got[m], `", "`)+`"`)
		}
		t.Logf("observed:\n%s", b.String())
	}
}
