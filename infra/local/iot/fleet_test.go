package iot

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
)

// verifyIssued checks that certPEM is a client certificate issued by the
// local CA under the ID AWS would give it, and returns it.
func verifyIssued(t *testing.T, e *env, certPEM, wantID string) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil {
		t.Fatalf("certificatePem holds no PEM block: %q", certPEM)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	if got := certificateID(cert.Raw); got != wantID || len(got) != 64 {
		t.Errorf("certificateId = %q, want %q, the 64 hex digit SHA-256 of the DER", wantID, got)
	}
	if _, err := cert.Verify(x509.VerifyOptions{
		Roots:       e.caPool,
		CurrentTime: e.clock.Now(),
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		t.Errorf("certificate does not verify against ca.pem: %v", err)
	}
	return cert
}

// TestFleetProvisioningWithKeys walks the whole trusted-user flow: a claim
// from the SDK, CreateKeysAndCertificate and RegisterThing over MQTT, the
// hook's event, and the device's first connection as its thing.
func TestFleetProvisioningWithKeys(t *testing.T) {
	e := newEnv(t)
	claimConn, claim := e.claimConn(t, "widget", "installer-app-7f3a")

	var keys createKeysAndCertificateResponse
	claimConn.mustCall(t, topicCreateKeysAndCertificate, []byte("{}"), &keys)
	verifyIssued(t, e, keys.CertificatePEM, keys.CertificateID)
	if _, err := tls.X509KeyPair([]byte(keys.CertificatePEM), []byte(keys.PrivateKey)); err != nil {
		t.Errorf("privateKey does not match certificatePem: %v", err)
	}
	if keys.CertificateOwnershipToken == "" {
		t.Fatal("certificateOwnershipToken is empty")
	}

	// A device certificate is useless until RegisterThing activates it.
	if _, err := e.dial(t, keys.CertificatePEM, keys.PrivateKey, "widget-SN-0001"); err == nil {
		t.Error("pending device certificate connected; want refusal")
	}

	var reg registerThingResponse
	claimConn.mustCall(t, registerThingTopic("widget"), mustJSON(t, registerThingRequest{
		CertificateOwnershipToken: keys.CertificateOwnershipToken,
		Parameters:                map[string]string{"SerialNumber": "SN-0001", "Site": "lab-2"},
	}), &reg)
	if got, want := reg.ThingName, "widget-SN-0001"; got != want {
		t.Errorf("thingName = %q, want %q (from the hook's override)", got, want)
	}
	if got, want := reg.DeviceConfiguration, map[string]string{"telemetryPrefix": "dt"}; !maps.Equal(got, want) {
		t.Errorf("deviceConfiguration = %v, want %v", got, want)
	}

	call := e.hook.lastCall(t)
	wantEvent := events.IoTPreProvisionHookRequest{
		ClaimCertificateID: aws.ToString(claim.CertificateId),
		CertificateID:      keys.CertificateID,
		CertificatePEM:     keys.CertificatePEM,
		TemplateARN:        "arn:aws:iot:us-east-1:000000000000:provisioningtemplate/widget",
		ClientID:           "installer-app-7f3a",
		Parameters:         map[string]string{"SerialNumber": "SN-0001", "Site": "lab-2"},
	}
	got := call.req
	if got.ClaimCertificateID != wantEvent.ClaimCertificateID || got.CertificateID != wantEvent.CertificateID ||
		got.CertificatePEM != wantEvent.CertificatePEM || got.TemplateARN != wantEvent.TemplateARN ||
		got.ClientID != wantEvent.ClientID || !maps.Equal(got.Parameters, wantEvent.Parameters) {
		t.Errorf("hook event = %+v, want %+v", got, wantEvent)
	}
	if call.requestID == "" {
		t.Error("hook context carries no Lambda request ID")
	}
	if call.remaining <= 0 || call.remaining > hookDeadline {
		t.Errorf("hook deadline %s away, want within %s", call.remaining, hookDeadline)
	}

	var thing thingRecord
	e.core.store.view(func(s *state) { thing = s.Things["widget-SN-0001"] })
	if got, want := thing.Attributes, map[string]string{"serialNumber": "SN-0001", "site": "lab-2"}; !maps.Equal(got, want) {
		t.Errorf("thing attributes = %v, want %v", got, want)
	}
	if got, want := thing.CertificateIDs, []string{keys.CertificateID}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("thing certificates = %v, want %v", got, want)
	}

	// The new certificate connects only as its thing.
	if _, err := e.dial(t, keys.CertificatePEM, keys.PrivateKey, "some-other-id"); err == nil {
		t.Error("device connected with a client ID other than its thing name; want refusal")
	}
	device, err := e.dial(t, keys.CertificatePEM, keys.PrivateKey, reg.ThingName)
	if err != nil {
		t.Fatalf("device connect as %s: %v", reg.ThingName, err)
	}
	device.publish(t, "dt/widget-SN-0001/telemetry", 1, []byte(`{"temp":21.5}`))
	device.subscribe(t, "$aws/things/widget-SN-0001/shadow/#")
	device.publish(t, "$aws/things/widget-SN-0001/shadow/update", 1, []byte(`{"state":{}}`))
	if got, want := string(device.await(t, "$aws/things/widget-SN-0001/shadow/#")), `{"state":{}}`; got != want {
		t.Errorf("own shadow message = %s, want %s", got, want)
	}

	// Private keys and ownership tokens never reach the logs.
	logs := e.logs.String()
	for _, secret := range []string{"PRIVATE KEY", keys.CertificateOwnershipToken, aws.ToString(claim.KeyPair.PrivateKey)} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain a secret (%.30q...)", secret)
		}
	}
}

// TestFleetProvisioningWithCSR provisions with the device's own key.
func TestFleetProvisioningWithCSR(t *testing.T) {
	e := newEnv(t)
	claimConn, _ := e.claimConn(t, "gadget", "gadget-installer")

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "gadget-42"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csrPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})

	var created createCertificateFromCSRResponse
	claimConn.mustCall(t, topicCreateCertificateFromCSR, mustJSON(t, createCertificateFromCSRRequest{CertificateSigningRequest: string(csrPEM)}), &created)
	cert := verifyIssued(t, e, created.CertificatePEM, created.CertificateID)
	if !key.PublicKey.Equal(cert.PublicKey) {
		t.Error("certificate is not for the CSR's key")
	}
	if got, want := cert.Subject.CommonName, "gadget-42"; got != want {
		t.Errorf("subject CN = %q, want %q from the CSR", got, want)
	}

	var reg registerThingResponse
	claimConn.mustCall(t, registerThingTopic("gadget"), mustJSON(t, registerThingRequest{
		CertificateOwnershipToken: created.CertificateOwnershipToken,
		Parameters:                map[string]string{"SerialNumber": "G42"},
	}), &reg)
	if got, want := reg.ThingName, "G42"; got != want {
		t.Errorf("thingName = %q, want %q", got, want)
	}
	if reg.DeviceConfiguration == nil {
		t.Error("deviceConfiguration is null, want an object")
	}

	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	if _, err := e.dial(t, created.CertificatePEM, string(keyPEM), "G42"); err != nil {
		t.Errorf("device connect with CSR certificate: %v", err)
	}
}

// TestRegisterThingHookRefusal: whatever goes wrong in the hook, the device
// sees only ACCESS_DENIED and its certificate stays unusable.
func TestRegisterThingHookRefusal(t *testing.T) {
	tests := []struct {
		name   string
		decide HookFunc
	}{
		{"hook denies", func(context.Context, events.IoTPreProvisionHookRequest) (events.IoTPreProvisionHookResponse, error) {
			return events.IoTPreProvisionHookResponse{AllowProvisioning: false}, nil
		}},
		{"hook fails", func(context.Context, events.IoTPreProvisionHookRequest) (events.IoTPreProvisionHookResponse, error) {
			return events.IoTPreProvisionHookResponse{AllowProvisioning: true}, errors.New("store unavailable")
		}},
		{"hook panics", func(context.Context, events.IoTPreProvisionHookRequest) (events.IoTPreProvisionHookResponse, error) {
			panic("nil map")
		}},
		{"hook ignores its deadline", func(context.Context, events.IoTPreProvisionHookRequest) (events.IoTPreProvisionHookResponse, error) {
			time.Sleep(time.Second)
			return events.IoTPreProvisionHookResponse{AllowProvisioning: true}, nil
		}},
	}
	e := &env{dataDir: t.TempDir(), clock: fleetclaimtest.NewClock(time.Now()), hook: &hookSpy{}, logs: &fleetclaimtest.LogBuffer{}}
	// A short deadline keeps the timeout case fast; the 5 s default is
	// checked in TestFleetProvisioningWithKeys.
	e.start(t, func(c *Core) { c.hookDeadline = 200 * time.Millisecond })
	claimConn, _ := e.claimConn(t, "widget", "installer")

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.hook.setDecision(tt.decide)
			var keys createKeysAndCertificateResponse
			claimConn.mustCall(t, topicCreateKeysAndCertificate, nil, &keys)
			accepted, reply := claimConn.call(t, registerThingTopic("widget"), mustJSON(t, registerThingRequest{
				CertificateOwnershipToken: keys.CertificateOwnershipToken,
				Parameters:                map[string]string{"SerialNumber": "SN-9"},
			}))
			if accepted {
				t.Fatalf("RegisterThing accepted: %s", reply)
			}
			var got errorResponse
			if err := json.Unmarshal(reply, &got); err != nil {
				t.Fatalf("decode rejection: %v", err)
			}
			if want := (errorResponse{StatusCode: http.StatusForbidden, ErrorCode: "ACCESS_DENIED", ErrorMessage: "Access denied."}); got != want {
				t.Errorf("rejection = %+v, want %+v", got, want)
			}
			if _, err := e.dial(t, keys.CertificatePEM, keys.PrivateKey, "widget-SN-9"); err == nil {
				t.Error("device certificate of a refused registration connected; want refusal")
			}
		})
	}
}

// TestRegisterThingRejections covers requests that never reach the hook, or
// that the template cannot run, and their error payloads.
func TestRegisterThingRejections(t *testing.T) {
	e := newEnv(t)
	widget, _ := e.claimConn(t, "widget", "widget-installer")
	gadget, _ := e.claimConn(t, "gadget", "gadget-installer")

	var gadgetKeys createKeysAndCertificateResponse
	gadget.mustCall(t, topicCreateKeysAndCertificate, nil, &gadgetKeys)
	otherWidget, _ := e.claimConn(t, "widget", "other-widget-installer")
	var otherClaimKeys createKeysAndCertificateResponse
	otherWidget.mustCall(t, topicCreateKeysAndCertificate, nil, &otherClaimKeys)

	var usedKeys createKeysAndCertificateResponse
	widget.mustCall(t, topicCreateKeysAndCertificate, nil, &usedKeys)
	register := func(token string, params map[string]string) []byte {
		return mustJSON(t, registerThingRequest{CertificateOwnershipToken: token, Parameters: params})
	}
	var reg registerThingResponse
	widget.mustCall(t, registerThingTopic("widget"), register(usedKeys.CertificateOwnershipToken, map[string]string{"SerialNumber": "SN-1"}), &reg)

	fresh := func() string {
		var keys createKeysAndCertificateResponse
		widget.mustCall(t, topicCreateKeysAndCertificate, nil, &keys)
		return keys.CertificateOwnershipToken
	}

	tests := []struct {
		name     string
		topic    string
		payload  func() []byte
		wantCode string
		wantHTTP int
	}{
		{"CreateKeysAndCertificate with malformed JSON", topicCreateKeysAndCertificate,
			func() []byte { return []byte("{not json") }, ErrorCodeInvalidPayload, 400},
		{"CreateCertificateFromCsr with malformed JSON", topicCreateCertificateFromCSR,
			func() []byte { return []byte(`{"certificateSigningRequest":`) }, ErrorCodeInvalidPayload, 400},
		{"CreateCertificateFromCsr without a CSR", topicCreateCertificateFromCSR,
			func() []byte { return []byte(`{}`) }, ErrorCodeInvalidCSR, 400},
		{"CreateCertificateFromCsr with a certificate instead of a CSR", topicCreateCertificateFromCSR,
			func() []byte { return mustJSON(t, createCertificateFromCSRRequest{usedKeys.CertificatePEM}) }, ErrorCodeInvalidCSR, 400},
		{"RegisterThing with malformed JSON", registerThingTopic("widget"),
			func() []byte { return []byte(`{"certificateOwnershipToken": "x", `) }, ErrorCodeInvalidPayload, 400},
		{"RegisterThing with a non-string parameter", registerThingTopic("widget"),
			func() []byte { return []byte(`{"certificateOwnershipToken":"x","parameters":{"SerialNumber":7}}`) }, ErrorCodeInvalidPayload, 400},
		{"RegisterThing without a token", registerThingTopic("widget"),
			func() []byte { return register("", map[string]string{"SerialNumber": "SN-2"}) }, ErrorCodeInvalidCertificateOwnershipToken, 400},
		{"RegisterThing with an unknown token", registerThingTopic("widget"),
			func() []byte { return register("bm90LWEtdG9rZW4", map[string]string{"SerialNumber": "SN-2"}) }, ErrorCodeInvalidCertificateOwnershipToken, 400},
		{"RegisterThing with a token used before", registerThingTopic("widget"),
			func() []byte {
				return register(usedKeys.CertificateOwnershipToken, map[string]string{"SerialNumber": "SN-2"})
			}, ErrorCodeInvalidCertificateOwnershipToken, 400},
		{"RegisterThing with another template's token", registerThingTopic("widget"),
			func() []byte {
				return register(gadgetKeys.CertificateOwnershipToken, map[string]string{"SerialNumber": "SN-2"})
			}, ErrorCodeInvalidCertificateOwnershipToken, 400},
		{"RegisterThing with another claim's token, same template", registerThingTopic("widget"),
			func() []byte {
				return register(otherClaimKeys.CertificateOwnershipToken, map[string]string{"SerialNumber": "SN-3"})
			}, ErrorCodeInvalidCertificateOwnershipToken, 400},
		{"RegisterThing without a thing name", registerThingTopic("widget"),
			func() []byte { return register(fresh(), map[string]string{"Site": "lab"}) }, ErrorCodeInvalidParameters, 400},
		{"RegisterThing with a thing name holding a wildcard", registerThingTopic("widget"),
			func() []byte { return register(fresh(), map[string]string{"SerialNumber": "#"}) }, ErrorCodeInvalidParameters, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.hook.mu.Lock()
			hookCalls := len(e.hook.calls)
			e.hook.mu.Unlock()
			accepted, reply := widget.call(t, tt.topic, tt.payload())
			if accepted {
				t.Fatalf("accepted: %s", reply)
			}
			e.hook.mu.Lock()
			asked := len(e.hook.calls) > hookCalls
			e.hook.mu.Unlock()
			if asked && tt.wantCode == ErrorCodeInvalidCertificateOwnershipToken {
				t.Errorf("the pre-provisioning hook was asked about a request with a bad token")
			}
			var got errorResponse
			if err := json.Unmarshal(reply, &got); err != nil {
				t.Fatalf("decode rejection %s: %v", reply, err)
			}
			if got.StatusCode != tt.wantHTTP || got.ErrorCode != tt.wantCode || got.ErrorMessage == "" {
				t.Errorf("rejection = %+v, want statusCode %d, errorCode %s and a message", got, tt.wantHTTP, tt.wantCode)
			}
		})
	}
}

// TestTokenExpiry: an ownership token lasts an hour, as AWS documents.
func TestTokenExpiry(t *testing.T) {
	e := newEnv(t)
	conn, _ := e.claimConn(t, "widget", "installer")
	var keys createKeysAndCertificateResponse
	conn.mustCall(t, topicCreateKeysAndCertificate, nil, &keys)
	e.clock.Advance(ownershipTokenLifetime + time.Second)

	accepted, reply := conn.call(t, registerThingTopic("widget"), mustJSON(t, registerThingRequest{
		CertificateOwnershipToken: keys.CertificateOwnershipToken,
		Parameters:                map[string]string{"SerialNumber": "late"},
	}))
	var got errorResponse
	if err := json.Unmarshal(reply, &got); err != nil || accepted || got.ErrorCode != ErrorCodeInvalidCertificateOwnershipToken {
		t.Errorf("RegisterThing after an hour: accepted %v, reply %s; want %s", accepted, reply, ErrorCodeInvalidCertificateOwnershipToken)
	}
}

// TestRepliesReachOnlyTheRequester: reply topics are shared names, but one
// claim connection never sees another's keys.
func TestRepliesReachOnlyTheRequester(t *testing.T) {
	e := newEnv(t)
	first, _ := e.claimConn(t, "widget", "first-device")
	second, _ := e.claimConn(t, "widget", "second-device")
	accepted := topicCreateKeysAndCertificate + suffixAccepted

	first.publish(t, topicCreateKeysAndCertificate, 1, []byte("{}"))
	var firstKeys createKeysAndCertificateResponse
	if err := json.Unmarshal(first.await(t, accepted), &firstKeys); err != nil {
		t.Fatal(err)
	}
	second.quiet(t, accepted)

	second.publish(t, topicCreateKeysAndCertificate, 1, []byte("{}"))
	var secondKeys createKeysAndCertificateResponse
	if err := json.Unmarshal(second.await(t, accepted), &secondKeys); err != nil {
		t.Fatal(err)
	}
	first.quiet(t, accepted)
	if firstKeys.PrivateKey == secondKeys.PrivateKey {
		t.Error("both requesters got the same private key")
	}
}

// TestRegisterThingOnAnotherTemplate: a claim of one template asking another
// template to provision it reaches the hook with the template it asked for,
// so the hook can refuse it, and the refusal arrives on /rejected.
func TestRegisterThingOnAnotherTemplate(t *testing.T) {
	e := newEnv(t)
	e.hook.setDecision(func(_ context.Context, req events.IoTPreProvisionHookRequest) (events.IoTPreProvisionHookResponse, error) {
		return events.IoTPreProvisionHookResponse{AllowProvisioning: strings.HasSuffix(req.TemplateARN, "/widget")}, nil
	})
	conn, _ := e.claimConn(t, "widget", "installer-cross")
	var keys createKeysAndCertificateResponse
	conn.mustCall(t, topicCreateKeysAndCertificate, nil, &keys)
	for _, suffix := range []string{suffixAccepted, suffixRejected} {
		if got := conn.subscribe(t, registerThingTopic("gadget")+suffix); got > 2 {
			t.Fatalf("subscribe: got code %#x, want a granted QoS", got)
		}
	}

	accepted, reply := conn.call(t, registerThingTopic("gadget"), mustJSON(t, registerThingRequest{
		CertificateOwnershipToken: keys.CertificateOwnershipToken,
		Parameters:                map[string]string{"SerialNumber": "SN-1"},
	}))
	var rej errorResponse
	if err := json.Unmarshal(reply, &rej); accepted || err != nil {
		t.Fatalf("got accepted=%v (%v), want a rejection", accepted, err)
	}
	if rej.ErrorCode != ErrorCodeAccessDenied || rej.StatusCode != 403 {
		t.Errorf("got rejection %+v, want 403 %s", rej, ErrorCodeAccessDenied)
	}
	if got, want := e.hook.lastCall(t).req.TemplateARN, "arn:aws:iot:us-east-1:000000000000:provisioningtemplate/gadget"; got != want {
		t.Errorf("hook saw template %q, want %q", got, want)
	}
}
