package apigw

import (
	"context"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/metrics"
)

// record counts the outcomes of one operation that the API alone sees. It
// reads only what the handler already has (the view it answers with, the
// error's stable code), so every route that issues a claim counts, whatever
// its path. API Gateway publishes the API's 4xx and 5xx answers itself, and
// store faults are counted on the DynamoDB client.
func (h *Handler) record(ctx context.Context, body any, err error) {
	if err == nil {
		if _, issued := body.(issuedClaimView); issued {
			metrics.Add(ctx, h.Metrics, metrics.ClaimsIssued, "")
		}
		return
	}
	switch fleetclaim.ErrorOf(err).Code {
	case fleetclaim.CodeQuotaExceeded:
		metrics.Add(ctx, h.Metrics, metrics.QuotaRefusals, "")
	case fleetclaim.CodeThrottled:
		metrics.Add(ctx, h.Metrics, metrics.IoTThrottled, "")
	}
}
