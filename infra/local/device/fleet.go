package device

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// The fleet provisioning MQTT API, JSON payload format. Every request topic
// has an /accepted and a /rejected reply topic.
const (
	topicCreateKeysAndCertificate = "$aws/certificates/create/json"
	topicCreateCertificateFromCSR = "$aws/certificates/create-from-csr/json"
	suffixAccepted                = "/accepted"
	suffixRejected                = "/rejected"
)

// registerThingTopic is the RegisterThing request topic of a template.
func registerThingTopic(template string) string {
	return "$aws/provisioning-templates/" + template + "/provision/json"
}

var (
	// templateNamePattern is AWS IoT's constraint on provisioning template
	// names; it also keeps MQTT wildcards and separators out of the topic.
	templateNamePattern = regexp.MustCompile(`^[0-9A-Za-z_-]{1,36}$`)
	// thingNamePattern is AWS IoT's constraint on thing names. A thing name
	// from a reply goes into topics, so it is checked on arrival.
	thingNamePattern = regexp.MustCompile(`^[a-zA-Z0-9:_-]{1,128}$`)
)

// Certificate is a device certificate from CreateKeysAndCertificate or
// CreateCertificateFromCsr, pending activation until a RegisterThing
// presents its OwnershipToken. It prints and logs without the private key
// and the token.
type Certificate struct {
	// CertificateID is AWS IoT's ID of the certificate.
	CertificateID string
	// CertificatePEM is the certificate, in PEM.
	CertificatePEM string
	// PrivateKeyPEM is the certificate's private key, in PEM: from AWS IoT
	// for CreateKeysAndCertificate; empty from CreateCertificateFromCSR,
	// whose key never leaves the device (Provision fills it in).
	PrivateKeyPEM string
	// OwnershipToken proves ownership of the certificate to RegisterThing.
	// AWS IoT lets it expire after an hour.
	OwnershipToken string
}

// String hides the private key and the ownership token from fmt.
func (c Certificate) String() string {
	return fmt.Sprintf("device.Certificate{CertificateID: %s, CertificatePEM: (%d bytes), PrivateKeyPEM: [redacted], OwnershipToken: [redacted]}",
		c.CertificateID, len(c.CertificatePEM))
}

// GoString hides the private key and the ownership token from %#v.
func (c Certificate) GoString() string { return c.String() }

// LogValue hides the private key and the ownership token from log/slog.
func (c Certificate) LogValue() slog.Value {
	return slog.GroupValue(slog.String("certificateId", c.CertificateID), slog.String("privateKeyPem", "[redacted]"),
		slog.String("ownershipToken", "[redacted]"))
}

// Registration is RegisterThing's accepted reply.
type Registration struct {
	// ThingName is the thing the device was provisioned as, and the client
	// ID its certificate must connect with.
	ThingName string
	// DeviceConfiguration is the template's device configuration.
	DeviceConfiguration map[string]string
}

// RejectedError is a reply on a fleet provisioning request's /rejected
// topic, with AWS's error payload.
type RejectedError struct {
	// StatusCode is an HTTP status code, such as 400 or 403.
	StatusCode int `json:"statusCode"`
	// ErrorCode is AWS's error code, such as ACCESS_DENIED when the
	// pre-provisioning hook refused RegisterThing.
	ErrorCode string `json:"errorCode"`
	// ErrorMessage is AWS's description of the error.
	ErrorMessage string `json:"errorMessage"`
	// Topic is the /rejected topic the reply came on.
	Topic string `json:"-"`
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("rejected on %s: %d %s: %s", e.Topic, e.StatusCode, e.ErrorCode, e.ErrorMessage)
}

// The payloads, field for field as AWS documents them.
type (
	createCertificateFromCSRRequest struct {
		CertificateSigningRequest string `json:"certificateSigningRequest"`
	}
	// certificateResponse is the accepted reply of both certificate
	// requests; CreateCertificateFromCsr's has no privateKey.
	certificateResponse struct {
		CertificateID             string `json:"certificateId"`
		CertificatePEM            string `json:"certificatePem"`
		PrivateKey                string `json:"privateKey"`
		CertificateOwnershipToken string `json:"certificateOwnershipToken"`
	}
	registerThingRequest struct {
		CertificateOwnershipToken string            `json:"certificateOwnershipToken"`
		Parameters                map[string]string `json:"parameters,omitempty"`
	}
	registerThingResponse struct {
		DeviceConfiguration map[string]string `json:"deviceConfiguration"`
		ThingName           string            `json:"thingName"`
	}
)

// CreateKeysAndCertificate asks AWS IoT for a new key pair and a
// certificate for it. A rejection's error wraps a *RejectedError.
func (c *Client) CreateKeysAndCertificate(ctx context.Context) (Certificate, error) {
	// AWS documents the request as an empty message payload.
	cert, err := c.requestCertificate(ctx, topicCreateKeysAndCertificate, nil)
	if err == nil && cert.PrivateKeyPEM == "" {
		err = errors.New("accepted reply has no privateKey")
	}
	if err != nil {
		return Certificate{}, fmt.Errorf("CreateKeysAndCertificate: %w", err)
	}
	return cert, nil
}

// CreateCertificateFromCSR asks AWS IoT for a certificate for the key of a
// PEM certificate signing request, such as one from NewCSR. The private key
// stays with the caller, so the Certificate has none. A rejection's error
// wraps a *RejectedError.
func (c *Client) CreateCertificateFromCSR(ctx context.Context, csrPEM string) (Certificate, error) {
	payload, err := json.Marshal(createCertificateFromCSRRequest{CertificateSigningRequest: csrPEM})
	if err != nil {
		return Certificate{}, fmt.Errorf("CreateCertificateFromCsr: %w", err)
	}
	cert, err := c.requestCertificate(ctx, topicCreateCertificateFromCSR, payload)
	if err != nil {
		return Certificate{}, fmt.Errorf("CreateCertificateFromCsr: %w", err)
	}
	return cert, nil
}

// requestCertificate sends a certificate request and checks that the
// accepted reply holds what RegisterThing and a connection will need.
func (c *Client) requestCertificate(ctx context.Context, topic string, payload []byte) (Certificate, error) {
	var resp certificateResponse
	if err := c.call(ctx, topic, payload, &resp); err != nil {
		return Certificate{}, err
	}
	if resp.CertificateID == "" || resp.CertificatePEM == "" || resp.CertificateOwnershipToken == "" {
		return Certificate{}, errors.New("accepted reply lacks certificateId, certificatePem or certificateOwnershipToken")
	}
	return Certificate{
		CertificateID:  resp.CertificateID,
		CertificatePEM: resp.CertificatePEM,
		PrivateKeyPEM:  resp.PrivateKey,
		OwnershipToken: resp.CertificateOwnershipToken,
	}, nil
}

// RegisterThing asks the provisioning template to provision the device
// whose certificate ownershipToken proves, with the template parameters
// params, which the pre-provisioning hook also sees. On success the
// certificate is active and connects as Registration.ThingName. A
// rejection's error, such as for the hook's refusal, wraps a *RejectedError.
func (c *Client) RegisterThing(ctx context.Context, template, ownershipToken string, params map[string]string) (Registration, error) {
	fail := func(err error) (Registration, error) {
		return Registration{}, fmt.Errorf("RegisterThing with template %q: %w", template, err)
	}
	if !templateNamePattern.MatchString(template) {
		return fail(fmt.Errorf("template name must match %s", templateNamePattern))
	}
	payload, err := json.Marshal(registerThingRequest{CertificateOwnershipToken: ownershipToken, Parameters: params})
	if err != nil {
		return fail(err)
	}
	var resp registerThingResponse
	if err := c.call(ctx, registerThingTopic(template), payload, &resp); err != nil {
		return fail(err)
	}
	if !thingNamePattern.MatchString(resp.ThingName) {
		return fail(fmt.Errorf("accepted reply has thingName %q, not a thing name", resp.ThingName))
	}
	return Registration{ThingName: resp.ThingName, DeviceConfiguration: resp.DeviceConfiguration}, nil
}

// call sends a fleet provisioning request on topic and decodes its accepted
// reply into out. It subscribes to the reply topics before publishing, as
// AWS requires, and returns a *RejectedError for a reply on /rejected.
func (c *Client) call(ctx context.Context, topic string, payload []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	select {
	case c.calls <- struct{}{}:
		defer func() { <-c.calls }()
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := c.subscribeReplies(ctx, topic); err != nil {
		return err
	}

	p := &pendingCall{request: topic, reply: make(chan reply, 1)}
	c.setPending(p)
	// A reply arriving after this is dropped; should it come during the
	// next request on the same topic, it would be taken for that one's, so
	// a client whose request timed out is best closed.
	defer c.setPending(nil)
	if err := c.publish(ctx, topic, payload); err != nil {
		return err
	}

	select {
	case r := <-p.reply:
		if strings.HasSuffix(r.topic, suffixRejected) {
			rej := &RejectedError{Topic: r.topic}
			if err := json.Unmarshal(r.payload, rej); err != nil {
				return fmt.Errorf("decode reply on %s: %w", r.topic, err)
			}
			return rej
		}
		if err := json.Unmarshal(r.payload, out); err != nil {
			return fmt.Errorf("decode reply on %s: %w", r.topic, err)
		}
		return nil
	case <-c.ended:
		return c.endErr
	case <-ctx.Done():
		return fmt.Errorf("awaiting the reply on %s: %w", topic, ctx.Err())
	}
}

// subscribeReplies subscribes to the /accepted and /rejected replies of the
// request topic, once per client. The caller holds the calls token.
func (c *Client) subscribeReplies(ctx context.Context, topic string) error {
	if c.subscribed[topic] {
		return nil
	}
	filters := map[string]byte{topic + suffixAccepted: 1, topic + suffixRejected: 1}
	tok := c.mqtt.SubscribeMultiple(filters, c.onReply)
	if err := c.await(ctx, tok); err != nil {
		return fmt.Errorf("subscribe to the replies of %s: %w", topic, err)
	}
	for filter, code := range tok.(*paho.SubscribeToken).Result() {
		if code == subackFailure {
			return fmt.Errorf("subscribe to %s: %w", filter, ErrSubscriptionRefused)
		}
	}
	c.subscribed[topic] = true
	return nil
}

func (c *Client) setPending(p *pendingCall) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = p
}

// onReply hands a reply to the pending request it answers. paho calls it on
// its own goroutine, which it must never block.
func (c *Client) onReply(_ paho.Client, m paho.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pending
	if p == nil || (m.Topic() != p.request+suffixAccepted && m.Topic() != p.request+suffixRejected) {
		return
	}
	select {
	case p.reply <- reply{topic: m.Topic(), payload: m.Payload()}:
	default:
	}
}

// NewCSR returns a new ECDSA P-256 private key, which is to stay on the
// device, and a certificate signing request for it with the subject common
// name commonName, both in PEM.
func NewCSR(commonName string) (csrPEM, keyPEM string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("new CSR: %w", err)
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: commonName}}, key)
	if err != nil {
		return "", "", fmt.Errorf("new CSR: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("new CSR: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})), nil
}
