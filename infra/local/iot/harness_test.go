package iot

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	iotsdk "github.com/aws/aws-sdk-go-v2/service/iot"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
)

// waitFor bounds every wait for something that should happen; quietFor is
// how long a test listens for something that must not.
const (
	waitFor  = 5 * time.Second
	quietFor = 400 * time.Millisecond
)

// hookCall is one invocation seen by hookSpy.
type hookCall struct {
	req       events.IoTPreProvisionHookRequest
	requestID string
	remaining time.Duration // time left before the invocation's deadline
}

// hookSpy records pre-provisioning hook invocations and answers with decide.
type hookSpy struct {
	mu     sync.Mutex
	calls  []hookCall
	decide HookFunc
}

func (h *hookSpy) hook(ctx context.Context, req events.IoTPreProvisionHookRequest) (events.IoTPreProvisionHookResponse, error) {
	call := hookCall{req: req}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		call.requestID = lc.AwsRequestID
	}
	if dl, ok := ctx.Deadline(); ok {
		call.remaining = time.Until(dl)
	}
	h.mu.Lock()
	h.calls = append(h.calls, call)
	decide := h.decide
	h.mu.Unlock()
	return decide(ctx, req)
}

func (h *hookSpy) setDecision(decide HookFunc) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.decide = decide
}

func (h *hookSpy) lastCall(t *testing.T) hookCall {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.calls) == 0 {
		t.Fatal("pre-provisioning hook was not called")
	}
	return h.calls[len(h.calls)-1]
}

// allowSerial plays a hook that allows every request and names the thing
// after the SerialNumber parameter, when there is one.
func allowSerial(_ context.Context, req events.IoTPreProvisionHookRequest) (events.IoTPreProvisionHookResponse, error) {
	resp := events.IoTPreProvisionHookResponse{AllowProvisioning: true}
	if sn, ok := req.Parameters["SerialNumber"]; ok {
		resp.ParameterOverrides = map[string]string{"ThingName": "widget-" + sn}
	}
	return resp, nil
}

// testTemplates: widget names things by the ThingName parameter (which the
// hook overrides) and sets attributes; gadget names them by SerialNumber;
// bare too, without a hook.
var testTemplates = []Template{
	{
		Name:                "widget",
		Attributes:          map[string]string{"serialNumber": "SerialNumber", "site": "Site"},
		DeviceConfiguration: map[string]string{"telemetryPrefix": "dt"},
	},
	{Name: "gadget", ThingNameParameter: "SerialNumber"},
	// bare has no pre-provisioning hook, as an AWS template may not.
	{Name: "bare", ThingNameParameter: "SerialNumber", NoHook: true},
}

// env is a started Core with the clients a test drives it through.
type env struct {
	core    *Core
	dataDir string
	clock   *fleetclaimtest.Clock
	hook    *hookSpy
	logs    *fleetclaimtest.LogBuffer
	sdk     *iotsdk.Client
	caPool  *x509.CertPool
}

// newEnv starts a Core on a free loopback port with a fresh data directory,
// serves its control plane over HTTP, and builds an SDK client for it;
// configure, when given, adjusts the Core before it starts serving.
func newEnv(t *testing.T, configure ...func(*Core)) *env {
	t.Helper()
	e := &env{
		dataDir: t.TempDir(),
		clock:   fleetclaimtest.NewClock(time.Now()),
		hook:    &hookSpy{decide: allowSerial},
		logs:    &fleetclaimtest.LogBuffer{},
	}
	var adjust func(*Core)
	if len(configure) > 0 {
		adjust = configure[0]
	}
	e.start(t, adjust)
	return e
}

// start (re)starts the Core on e's data directory; configure, when not nil,
// adjusts the Core before it starts serving.
// testCredentials sign the tests' control-plane calls, and are the ones the
// Core accepts.
var testCredentials = aws.Credentials{AccessKeyID: "AKIDLOCAL", SecretAccessKey: "local-secret"}

func (e *env) start(t *testing.T, configure func(*Core)) {
	t.Helper()
	core, err := New(Options{
		DataDir:     e.dataDir,
		Templates:   testTemplates,
		Hook:        e.hook.hook,
		Credentials: testCredentials,
		Logger:      slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:         e.clock.Now,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if configure != nil {
		configure(core)
	}
	if err := core.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = core.Close() })
	e.core = core

	srv := httptest.NewServer(core.ControlPlane())
	t.Cleanup(srv.Close)
	e.sdk = iotsdk.New(iotsdk.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.StaticCredentialsProvider{Value: testCredentials},
		HTTPClient:   srv.Client(),
	})

	// Clients trust the CA through the file, as a real device would.
	caPEM, err := os.ReadFile(core.CAFile())
	if err != nil {
		t.Fatalf("read CA file: %v", err)
	}
	e.caPool = x509.NewCertPool()
	if !e.caPool.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA file holds no certificate")
	}
}

// restart closes the Core and starts a new one on the same data directory.
func (e *env) restart(t *testing.T) {
	t.Helper()
	if err := e.core.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	e.start(t, nil)
}

// claim gets a provisioning claim through the AWS SDK.
func (e *env) claim(t *testing.T, template string) *iotsdk.CreateProvisioningClaimOutput {
	t.Helper()
	out, err := e.sdk.CreateProvisioningClaim(t.Context(), &iotsdk.CreateProvisioningClaimInput{TemplateName: aws.String(template)})
	if err != nil {
		t.Fatalf("CreateProvisioningClaim(%s): %v", template, err)
	}
	return out
}

// claimConn gets a claim for template, connects with it, and subscribes to
// every fleet provisioning reply topic of the template.
func (e *env) claimConn(t *testing.T, template, clientID string) (*mqttConn, *iotsdk.CreateProvisioningClaimOutput) {
	t.Helper()
	claim := e.claim(t, template)
	conn, err := e.dial(t, aws.ToString(claim.CertificatePem), aws.ToString(claim.KeyPair.PrivateKey), clientID)
	if err != nil {
		t.Fatalf("connect with claim: %v", err)
	}
	for _, request := range []string{topicCreateKeysAndCertificate, topicCreateCertificateFromCSR, registerThingTopic(template)} {
		for _, suffix := range []string{suffixAccepted, suffixRejected} {
			if got := conn.subscribe(t, request+suffix); got > 2 {
				t.Fatalf("subscribe %s: got code %#x, want a granted QoS", request+suffix, got)
			}
		}
	}
	return conn, claim
}

// deviceCreds are a provisioned device's credentials.
type deviceCreds struct {
	certPEM, keyPEM, certID, thingName string
}

// provision runs CreateKeysAndCertificate and RegisterThing on a claim
// connection and requires both to be accepted.
func (e *env) provision(t *testing.T, conn *mqttConn, template string, params map[string]string) deviceCreds {
	t.Helper()
	var keys createKeysAndCertificateResponse
	conn.mustCall(t, topicCreateKeysAndCertificate, []byte("{}"), &keys)
	var reg registerThingResponse
	conn.mustCall(t, registerThingTopic(template), mustJSON(t, registerThingRequest{
		CertificateOwnershipToken: keys.CertificateOwnershipToken,
		Parameters:                params,
	}), &reg)
	return deviceCreds{certPEM: keys.CertificatePEM, keyPEM: keys.PrivateKey, certID: keys.CertificateID, thingName: reg.ThingName}
}

// mqttConn is a real MQTT client connection with per-topic inboxes.
type mqttConn struct {
	paho.Client
	lost chan error

	mu    sync.Mutex
	inbox map[string]chan []byte
}

// dial connects to the broker over TLS with a client certificate, sending a
// username like the AWS IoT Device SDKs do.
func (e *env) dial(t *testing.T, certPEM, keyPEM, clientID string, options ...func(*paho.ClientOptions)) (*mqttConn, error) {
	t.Helper()
	cert, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		t.Fatalf("client key pair: %v", err)
	}
	conn := &mqttConn{lost: make(chan error, 1), inbox: map[string]chan []byte{}}
	opts := paho.NewClientOptions().
		AddBroker("ssl://" + e.core.MQTTAddr()).
		SetClientID(clientID).
		SetUsername("?SDK=IoTDeviceSDK/Go&Version=test").
		SetTLSConfig(&tls.Config{RootCAs: e.caPool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(waitFor).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			select {
			case conn.lost <- err:
			default:
			}
		})
	for _, o := range options {
		o(opts)
	}
	client := paho.NewClient(opts)
	tok := client.Connect()
	if !tok.WaitTimeout(2 * waitFor) {
		return nil, errors.New("connect timed out")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	conn.Client = client
	t.Cleanup(func() { client.Disconnect(0) })
	return conn, nil
}

// subscribe subscribes at QoS 1 and returns the broker's SUBACK code:
// the granted QoS, or 0x80 for a refusal.
func (c *mqttConn) subscribe(t *testing.T, topic string) byte {
	t.Helper()
	ch := make(chan []byte, 16)
	c.mu.Lock()
	c.inbox[topic] = ch
	c.mu.Unlock()
	tok := c.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) {
		select {
		case ch <- m.Payload():
		default:
			t.Errorf("inbox of %s overflowed", topic)
		}
	})
	if !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", topic, tok.Error())
	}
	return tok.(*paho.SubscribeToken).Result()[topic]
}

func (c *mqttConn) inboxOf(t *testing.T, topic string) chan []byte {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.inbox[topic]
	if !ok {
		t.Fatalf("not subscribed to %s", topic)
	}
	return ch
}

func (c *mqttConn) publish(t *testing.T, topic string, qos byte, payload []byte) {
	t.Helper()
	tok := c.Publish(topic, qos, false, payload)
	if !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// await returns the next message on topic.
func (c *mqttConn) await(t *testing.T, topic string) []byte {
	t.Helper()
	select {
	case m := <-c.inboxOf(t, topic):
		return m
	case <-time.After(waitFor):
		t.Fatalf("no message on %s within %s", topic, waitFor)
		return nil
	}
}

// quiet fails the test if a message arrives on topic within quietFor.
func (c *mqttConn) quiet(t *testing.T, topic string) {
	t.Helper()
	select {
	case m := <-c.inboxOf(t, topic):
		// The length only: the message may hold a private key.
		t.Errorf("got a message of %d bytes on %s; want none", len(m), topic)
	case <-time.After(quietFor):
	}
}

// call publishes a fleet provisioning request and waits for its reply;
// accepted reports which reply topic it came on.
func (c *mqttConn) call(t *testing.T, topic string, payload []byte) (accepted bool, reply []byte) {
	t.Helper()
	acc, rej := c.inboxOf(t, topic+suffixAccepted), c.inboxOf(t, topic+suffixRejected)
	c.publish(t, topic, 1, payload)
	select {
	case m := <-acc:
		return true, m
	case m := <-rej:
		return false, m
	case <-time.After(waitFor):
		t.Fatalf("no reply to %s within %s", topic, waitFor)
		return false, nil
	}
}

// mustCall is call for a request that must be accepted; it decodes the
// reply into out.
func (c *mqttConn) mustCall(t *testing.T, topic string, payload []byte, out any) {
	t.Helper()
	accepted, reply := c.call(t, topic, payload)
	if !accepted {
		t.Fatalf("%s rejected: %s", topic, reply)
	}
	if err := json.Unmarshal(reply, out); err != nil {
		t.Fatalf("decode %s reply: %v", topic, err)
	}
}

// awaitLost waits for the broker to drop the connection.
func (c *mqttConn) awaitLost(t *testing.T) {
	t.Helper()
	select {
	case <-c.lost:
	case <-time.After(waitFor):
		t.Fatalf("connection still open after %s", waitFor)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
