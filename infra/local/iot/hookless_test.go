package iot

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
)

// A template without a pre-provisioning hook registers any device its claim
// reaches, unchecked, as in AWS IoT, however the hook would decide: which
// is why fleetclaim issues claims only for templates that TemplateHooked
// reports guarded.
func TestTemplateWithoutHookRunsUnchecked(t *testing.T) {
	e := &env{dataDir: t.TempDir(), clock: fleetclaimtest.NewClock(time.Now()), hook: &hookSpy{}, logs: &fleetclaimtest.LogBuffer{}}
	e.start(t, nil)
	e.hook.setDecision(func(context.Context, events.IoTPreProvisionHookRequest) (events.IoTPreProvisionHookResponse, error) {
		return events.IoTPreProvisionHookResponse{AllowProvisioning: false}, nil
	})
	for _, tt := range []struct {
		template string
		want     bool
		wantErr  error
	}{
		{"widget", true, nil},
		{"bare", false, nil},
		{"missing", false, ErrTemplateNotFound},
	} {
		got, err := e.core.TemplateHooked(tt.template)
		if got != tt.want || !errors.Is(err, tt.wantErr) {
			t.Errorf("TemplateHooked(%s): got %v, %v; want %v, %v", tt.template, got, err, tt.want, tt.wantErr)
		}
	}

	claimConn, _ := e.claimConn(t, "bare", "installer")
	var keys createKeysAndCertificateResponse
	claimConn.mustCall(t, topicCreateKeysAndCertificate, nil, &keys)
	accepted, reply := claimConn.call(t, registerThingTopic("bare"), mustJSON(t, registerThingRequest{
		CertificateOwnershipToken: keys.CertificateOwnershipToken,
		Parameters:                map[string]string{"SerialNumber": "SN-7"},
	}))
	if !accepted {
		t.Fatalf("RegisterThing on a template without a hook refused: %s", reply)
	}
	e.hook.mu.Lock()
	calls := len(e.hook.calls)
	e.hook.mu.Unlock()
	if calls != 0 {
		t.Errorf("the hook was called %d times for a template without one", calls)
	}
}
