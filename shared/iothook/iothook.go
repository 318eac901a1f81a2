// Package iothook adapts AWS IoT's fleet provisioning pre-provisioning hook
// to the fleetclaim Gatekeeper.
package iothook

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/metrics"
)

// Decider is the domain decision the hook delegates to.
type Decider interface {
	Decide(ctx context.Context, r fleetclaim.ProvisionRequest) fleetclaim.Decision
}

// Handler answers the pre-provisioning hook.
type Handler struct {
	Decider Decider
	// Deadline bounds every store call of one decision. AWS IoT waits 5 s in
	// all for the hook; a late answer is a denial anyway, so a decision that
	// cannot finish in time is made a denial here, promptly (invariant 3).
	Deadline time.Duration
	Log      *slog.Logger
	// Metrics records each decision (see record); nil records none.
	Metrics metrics.Recorder
	// Now is the clock decisions are timed by; time.Now when nil.
	Now func() time.Time
}

// Handle returns allowProvisioning and the parameter overrides. It never
// returns an error: AWS IoT treats an error as a denial too, but an explicit
// denial is logged with its reason and answered at once.
func (h *Handler) Handle(ctx context.Context, ev events.IoTPreProvisionHookRequest) (events.IoTPreProvisionHookResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, h.Deadline)
	defer cancel()
	start := h.now()
	d := h.Decider.Decide(ctx, fleetclaim.ProvisionRequest{
		ClaimID:             fleetclaim.ClaimID(ev.ClaimCertificateID),
		DeviceCertificateID: ev.CertificateID,
		Template:            TemplateName(ev.TemplateARN),
		Serial:              ev.Parameters[fleetclaim.ParamSerialNumber],
		ClientID:            ev.ClientID,
	})
	h.record(ctx, d, start)
	if !d.Allow {
		return events.IoTPreProvisionHookResponse{AllowProvisioning: false, ParameterOverrides: map[string]string{}}, nil
	}
	return events.IoTPreProvisionHookResponse{AllowProvisioning: true, ParameterOverrides: d.Overrides}, nil
}

// TemplateName extracts the template name from a provisioning template ARN,
// arn:aws:iot:<region>:<account>:provisioningtemplate/<name>; "" otherwise.
func TemplateName(arn string) string {
	const marker = ":provisioningtemplate/"
	i := strings.Index(arn, marker)
	if !strings.HasPrefix(arn, "arn:") || i < 0 {
		return ""
	}
	return arn[i+len(marker):]
}
