package awsenv

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
)

// CountFaults is a DynamoDB client option that calls fault once for every
// operation that fails for a reason other than a failed condition: after
// the SDK's retries, so a call that succeeded on a retry is not a fault,
// and including the caller's deadline running out. A failed condition is
// how the store learns that a claim was used or a quota spent, not a fault.
//
// Counting here, at the one client every function's store uses, catches
// each store fault exactly once, whichever domain rule met it and however
// the domain then reported it (a 503, a store_unavailable denial, a
// trigger's error).
func CountFaults(fault func(ctx context.Context)) func(*dynamodb.Options) {
	mw := middleware.InitializeMiddlewareFunc("fleetclaimCountFaults", func(ctx context.Context, in middleware.InitializeInput,
		next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		out, md, err := next.HandleInitialize(ctx, in)
		var ccf *types.ConditionalCheckFailedException
		if err != nil && !errors.As(err, &ccf) {
			fault(ctx)
		}
		return out, md, err
	})
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(mw, middleware.Before)
		})
	}
}
