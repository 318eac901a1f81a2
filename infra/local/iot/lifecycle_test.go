package iot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	iotsdk "github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/fleetclaim/fleetclaim/shared/iotclaims"
	"github.com/fleetclaim/fleetclaim/shared/iotpresence"
)

// presenceFilter is the presence rule's topic filter.
const presenceFilter = iotpresence.TopicFilter

// presenceRule adds a topic rule on presenceFilter whose action hands each
// event to the returned channel.
func presenceRule(events chan<- presenceEvent) func(*Core) {
	return func(c *Core) {
		c.rules = append(c.rules, Rule{Name: "presence", TopicFilter: presenceFilter,
			Action: func(_ context.Context, event json.RawMessage) error {
				var e presenceEvent
				if err := json.Unmarshal(event, &e); err != nil {
					return err
				}
				events <- e
				return nil
			}})
	}
}

// awaitPresence returns the next presence event of clientID, skipping
// others' (the claim connection's, for one).
func awaitPresence(t *testing.T, events <-chan presenceEvent, clientID string) presenceEvent {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case e := <-events:
			if e.ClientID == clientID {
				return e
			}
		case <-deadline:
			t.Fatalf("no presence event of %s within %s", clientID, waitFor)
		}
	}
}

func (e *env) setStatus(t *testing.T, certificateID string, status types.CertificateStatus) error {
	t.Helper()
	_, err := e.sdk.UpdateCertificate(t.Context(), &iotsdk.UpdateCertificateInput{
		CertificateId: aws.String(certificateID), NewStatus: status})
	return err
}

func (e *env) status(t *testing.T, certificateID string) string {
	t.Helper()
	rec, ok := e.core.store.certificate(certificateID)
	if !ok {
		t.Fatalf("certificate %.12s unknown", certificateID)
	}
	return rec.Status
}

// TestUpdateCertificate: the SDK's UpdateCertificate sets a status, is
// idempotent, and gets AWS IoT's typed errors for what AWS refuses.
func TestUpdateCertificate(t *testing.T) {
	e := newEnv(t)
	claimConn, claim := e.claimConn(t, "widget", "installer")
	claimID := aws.ToString(claim.CertificateId)
	var pending createKeysAndCertificateResponse
	claimConn.mustCall(t, topicCreateKeysAndCertificate, nil, &pending)
	revoked := aws.ToString(e.claim(t, "widget").CertificateId)
	if err := e.setStatus(t, revoked, types.CertificateStatusRevoked); err != nil {
		t.Fatalf("revoke: %v", err)
	}

	var notFound *types.ResourceNotFoundException
	var invalid *types.InvalidRequestException
	var state *types.CertificateStateException
	for _, tt := range []struct {
		name       string
		id         string
		status     types.CertificateStatus
		wantErr    any // nil, or a pointer to the wanted error type
		wantStatus string
	}{
		{"deactivate an active claim", claimID, types.CertificateStatusInactive, nil, statusInactive},
		{"deactivate it again", claimID, types.CertificateStatusInactive, nil, statusInactive},
		{"reactivate it", claimID, types.CertificateStatusActive, nil, statusActive},
		{"an unknown certificate", strings.Repeat("ab", 32), types.CertificateStatusInactive, &notFound, ""},
		{"a status reserved to AWS IoT", claimID, types.CertificateStatusPendingTransfer, &invalid, statusActive},
		{"activate a pending certificate", pending.CertificateID, types.CertificateStatusActive, &state, statusPendingActivation},
		{"deactivate a pending certificate", pending.CertificateID, types.CertificateStatusInactive, nil, statusInactive},
		{"a revoked certificate stays revoked", revoked, types.CertificateStatusInactive, &state, statusRevoked},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := e.setStatus(t, tt.id, tt.status)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("got %v, want success", err)
			case tt.wantErr != nil && !errors.As(err, tt.wantErr):
				t.Fatalf("got %v, want a %T", err, tt.wantErr)
			}
			if tt.wantStatus != "" {
				if got := e.status(t, tt.id); got != tt.wantStatus {
					t.Errorf("status %s, want %s", got, tt.wantStatus)
				}
			}
		})
	}
}

// TestDeactivatedClaimCertificate: a claim certificate made INACTIVE loses
// its open connection at once, is refused at CONNECT afterwards, and the
// certificate it asked for can no longer be registered.
func TestDeactivatedClaimCertificate(t *testing.T) {
	e := newEnv(t)
	conn, claim := e.claimConn(t, "widget", "installer")
	var keys createKeysAndCertificateResponse
	conn.mustCall(t, topicCreateKeysAndCertificate, nil, &keys)

	revoker := iotclaims.NewRevoker(e.sdk)
	if err := revoker.DeactivateCertificate(t.Context(), aws.ToString(claim.CertificateId)); err != nil {
		t.Fatalf("DeactivateCertificate: %v", err)
	}
	conn.awaitLost(t)
	if _, err := e.dial(t, aws.ToString(claim.CertificatePem), aws.ToString(claim.KeyPair.PrivateKey), "installer"); err == nil {
		t.Fatal("an inactive claim certificate connected")
	}
	if got := e.status(t, aws.ToString(claim.CertificateId)); got != statusInactive {
		t.Errorf("claim status %s, want %s", got, statusInactive)
	}
	// Deactivating again, as a retried revocation does, is done.
	if err := revoker.DeactivateCertificate(t.Context(), aws.ToString(claim.CertificateId)); err != nil {
		t.Errorf("second DeactivateCertificate: %v", err)
	}
	// Another claim cannot register the first one's certificate either:
	// the token is bound to the inactive claim.
	other, _ := e.claimConn(t, "widget", "other")
	accepted, _ := other.call(t, registerThingTopic("widget"), mustJSON(t, registerThingRequest{
		CertificateOwnershipToken: keys.CertificateOwnershipToken, Parameters: map[string]string{"SerialNumber": "X"}}))
	if accepted {
		t.Error("RegisterThing accepted the deactivated claim's certificate")
	}
}

// TestDeactivatedDeviceCertificate: a device certificate made INACTIVE loses
// its open connection and is refused afterwards; one detached from its thing
// is refused too (the device policy's IsAttached condition), while the thing
// and its other certificates are kept.
func TestDeactivatedDeviceCertificate(t *testing.T) {
	e := newEnv(t)
	claimConn, _ := e.claimConn(t, "widget", "installer")
	deactivated := e.provision(t, claimConn, "widget", map[string]string{"SerialNumber": "D"})
	detached := e.provision(t, claimConn, "widget", map[string]string{"SerialNumber": "E"})
	revoker := iotclaims.NewRevoker(e.sdk)

	conn, err := e.dial(t, deactivated.certPEM, deactivated.keyPEM, deactivated.thingName)
	if err != nil {
		t.Fatalf("device cannot connect: %v", err)
	}
	if err := revoker.DeactivateCertificate(t.Context(), deactivated.certID); err != nil {
		t.Fatalf("DeactivateCertificate: %v", err)
	}
	conn.awaitLost(t)
	if _, err := e.dial(t, deactivated.certPEM, deactivated.keyPEM, deactivated.thingName); err == nil {
		t.Error("an inactive device certificate connected")
	}

	for range 2 { // the second time, it is already detached: done
		if err := revoker.DetachCertificate(t.Context(), detached.thingName, detached.certID); err != nil {
			t.Fatalf("DetachCertificate: %v", err)
		}
	}
	if _, err := e.dial(t, detached.certPEM, detached.keyPEM, detached.thingName); err == nil {
		t.Error("a certificate detached from its thing connected")
	}
	var thing thingRecord
	e.core.store.view(func(s *state) { thing = s.Things[detached.thingName] })
	if thing.Name != detached.thingName || len(thing.CertificateIDs) != 0 {
		t.Errorf("thing after detach = %+v, want it kept with no certificate", thing)
	}
	if err := revoker.DetachCertificate(t.Context(), "widget-nosuch", detached.certID); err != nil {
		t.Errorf("detach from an unknown thing: %v, want done", err)
	}
	_, err = e.sdk.DetachThingPrincipal(t.Context(), &iotsdk.DetachThingPrincipalInput{
		ThingName: aws.String(detached.thingName), Principal: aws.String("arn:aws:iot:us-east-1:999999999999:cert/" + detached.certID)})
	var invalid *types.InvalidRequestException
	if !errors.As(err, &invalid) {
		t.Errorf("detach another account's certificate: %v, want InvalidRequestException", err)
	}
}

// TestPresenceEvents: every accepted connection and every disconnection is
// published as AWS IoT's presence event, which topic rules and subscribers
// receive; a device's carries its certificate ID and thing name.
func TestPresenceEvents(t *testing.T) {
	events := make(chan presenceEvent, 64)
	e := newEnv(t, presenceRule(events))
	subscribed := make(chan []byte, 64)
	if err := e.core.server.Subscribe(presenceFilter, 99, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		subscribed <- pk.Payload
	}); err != nil {
		t.Fatal(err)
	}

	claimConn, claim := e.claimConn(t, "widget", "installer")
	got := awaitPresence(t, events, "installer")
	if got.EventType != PresenceConnected || got.PrincipalIdentifier != aws.ToString(claim.CertificateId) {
		t.Errorf("claim's event = %+v, want connected with the claim certificate", got)
	}
	device := e.provision(t, claimConn, "widget", map[string]string{"SerialNumber": "P"})

	conn, err := e.dial(t, device.certPEM, device.keyPEM, device.thingName)
	if err != nil {
		t.Fatalf("device cannot connect: %v", err)
	}
	connected := awaitPresence(t, events, device.thingName)
	want := presenceEvent{ClientID: device.thingName, Timestamp: e.clock.Now().UnixMilli(), EventType: PresenceConnected,
		SessionIdentifier: connected.SessionIdentifier, PrincipalIdentifier: device.certID, IPAddress: "127.0.0.1"}
	if connected != want || connected.SessionIdentifier == "" {
		t.Errorf("connected:\n got  %+v\n want %+v", connected, want)
	}

	conn.Disconnect(250)
	disconnected := awaitPresence(t, events, device.thingName)
	yes := true
	want.EventType, want.ClientInitiatedDisconnect, want.DisconnectReason = PresenceDisconnected, &yes, disconnectClientInitiated
	if disconnected.ClientInitiatedDisconnect == nil || *disconnected.ClientInitiatedDisconnect != true {
		t.Errorf("clientInitiatedDisconnect = %v, want true", disconnected.ClientInitiatedDisconnect)
	}
	disconnected.ClientInitiatedDisconnect = &yes
	if disconnected != want {
		t.Errorf("disconnected:\n got  %+v\n want %+v", disconnected, want)
	}

	// The next connection is a new session with the next version.
	conn, err = e.dial(t, device.certPEM, device.keyPEM, device.thingName)
	if err != nil {
		t.Fatalf("device cannot reconnect: %v", err)
	}
	again := awaitPresence(t, events, device.thingName)
	if again.VersionNumber != 1 || again.SessionIdentifier == connected.SessionIdentifier {
		t.Errorf("second connection: version %d session %q, want version 1 and a new session", again.VersionNumber, again.SessionIdentifier)
	}
	if err := e.setStatus(t, device.certID, types.CertificateStatusInactive); err != nil {
		t.Fatal(err)
	}
	conn.awaitLost(t)
	dropped := awaitPresence(t, events, device.thingName)
	if dropped.EventType != PresenceDisconnected || dropped.DisconnectReason != disconnectAuthError ||
		dropped.ClientInitiatedDisconnect == nil || *dropped.ClientInitiatedDisconnect {
		t.Errorf("dropped = %+v, want disconnected, AUTH_ERROR, not client initiated", dropped)
	}

	// Subscribers got the same messages: the claim's connected event first.
	select {
	case m := <-subscribed:
		var first presenceEvent
		if err := json.Unmarshal(m, &first); err != nil || first.ClientID != "installer" || first.EventType != PresenceConnected {
			t.Errorf("first subscribed message %s (%v), want the claim's connected event", m, err)
		}
	case <-time.After(waitFor):
		t.Error("the subscriber got no presence message")
	}
}

// TestRuleFailures: a rule's action runs apart from the connection, so a
// slow or failing action delays no client; a failure or a panic is logged
// with the rule's name.
func TestRuleFailures(t *testing.T) {
	release := make(chan struct{})
	e := newEnv(t, func(c *Core) {
		c.rules = []Rule{
			{Name: "slow", TopicFilter: presenceFilter, Action: func(ctx context.Context, _ json.RawMessage) error {
				select {
				case <-release:
				case <-ctx.Done():
				}
				return nil
			}},
			{Name: "failing", TopicFilter: presenceFilter, Action: func(context.Context, json.RawMessage) error {
				return errors.New("store unavailable")
			}},
			{Name: "panicking", TopicFilter: presenceFilter, Action: func(context.Context, json.RawMessage) error {
				panic("boom")
			}},
		}
	})
	defer close(release)
	start := time.Now()
	e.claimConn(t, "widget", "installer")
	if d := time.Since(start); d > waitFor/2 {
		t.Errorf("connecting took %s with a slow rule action", d)
	}
	for _, want := range []string{`"rule":"failing"`, `store unavailable`, `"rule":"panicking"`, `boom`} {
		deadline := time.Now().Add(waitFor)
		for !strings.Contains(e.logs.String(), want) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(e.logs.String(), want) {
			t.Errorf("logs do not hold %s", want)
		}
	}
}

// TestRuleNeedsAnAction: a misconfigured rule fails New, not the first event.
func TestRuleNeedsAnAction(t *testing.T) {
	for _, r := range []Rule{
		{Name: "", TopicFilter: presenceFilter, Action: func(context.Context, json.RawMessage) error { return nil }},
		{Name: "presence", TopicFilter: presenceFilter},
		{Name: "presence", Action: func(context.Context, json.RawMessage) error { return nil }},
	} {
		if _, err := New(Options{DataDir: t.TempDir(), Templates: testTemplates, Rules: []Rule{r}}); err == nil {
			t.Errorf("New accepted rule %+v", r)
		}
	}
}

// TestPresenceEventShape: what the broker publishes decodes, member for
// member, into the type the presence function takes.
func TestPresenceEventShape(t *testing.T) {
	raw := make(chan json.RawMessage, 16)
	e := newEnv(t, func(c *Core) {
		c.rules = []Rule{{Name: "presence", TopicFilter: iotpresence.TopicFilter, Action: func(_ context.Context, event json.RawMessage) error {
			raw <- slices.Clone(event)
			return nil
		}}}
	})
	conn, claim := e.claimConn(t, "widget", "installer")
	conn.Disconnect(250)
	for _, wantType := range []string{iotpresence.EventConnected, iotpresence.EventDisconnected} {
		var payload json.RawMessage
		select {
		case payload = <-raw:
		case <-time.After(waitFor):
			t.Fatalf("no %s event within %s", wantType, waitFor)
		}
		dec := json.NewDecoder(bytes.NewReader(payload))
		dec.DisallowUnknownFields()
		var ev iotpresence.Event
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("%s does not decode into iotpresence.Event: %v", payload, err)
		}
		if ev.EventType != wantType || ev.ClientID != "installer" || ev.PrincipalIdentifier != aws.ToString(claim.CertificateId) ||
			ev.Timestamp != e.clock.Now().UnixMilli() || (wantType == iotpresence.EventDisconnected) != (ev.ClientInitiatedDisconnect != nil) {
			t.Errorf("decoded %+v from %s", ev, payload)
		}
	}
}

// TestDeactivationDuringARequest: a hook that burns the claim deactivates
// its certificate before it answers. The device still gets the /rejected
// reply, as from AWS IoT, which drops connections minutes after a
// deactivation; then the connection ends and the claim is refused.
func TestDeactivationDuringARequest(t *testing.T) {
	e := newEnv(t)
	conn, claim := e.claimConn(t, "widget", "installer")
	claimID := aws.ToString(claim.CertificateId)
	revoker := iotclaims.NewRevoker(e.sdk)
	e.hook.setDecision(func(ctx context.Context, req events.IoTPreProvisionHookRequest) (events.IoTPreProvisionHookResponse, error) {
		if err := revoker.DeactivateCertificate(ctx, req.ClaimCertificateID); err != nil {
			return events.IoTPreProvisionHookResponse{}, err
		}
		return events.IoTPreProvisionHookResponse{AllowProvisioning: false}, nil
	})
	var keys createKeysAndCertificateResponse
	conn.mustCall(t, topicCreateKeysAndCertificate, nil, &keys)
	accepted, reply := conn.call(t, registerThingTopic("widget"), mustJSON(t, registerThingRequest{
		CertificateOwnershipToken: keys.CertificateOwnershipToken, Parameters: map[string]string{"SerialNumber": "B"}}))
	var rej errorResponse
	if err := json.Unmarshal(reply, &rej); accepted || err != nil || rej.ErrorCode != ErrorCodeAccessDenied {
		t.Fatalf("got accepted=%v %s, want ACCESS_DENIED on /rejected", accepted, reply)
	}
	conn.awaitLost(t)
	if got := e.status(t, claimID); got != statusInactive {
		t.Errorf("claim status %s, want %s", got, statusInactive)
	}
	if _, err := e.dial(t, aws.ToString(claim.CertificatePem), aws.ToString(claim.KeyPair.PrivateKey), "installer"); err == nil {
		t.Error("the burnt claim connected again")
	}
}
