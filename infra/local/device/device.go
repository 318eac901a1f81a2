// Package device plays a device's part in AWS IoT fleet provisioning, written
// against AWS's documented MQTT API (topics, payloads, /accepted and
// /rejected replies) and nothing particular to the local stack: connect with
// the claim certificate over mutual TLS, get a certificate
// (CreateKeysAndCertificate or CreateCertificateFromCsr), RegisterThing with
// the serial number, then reconnect with the new certificate as the thing.
// The local stack's demo and the end-to-end tests use it as the firmware.
package device

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
	"fmt"
	"os"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// The fleet provisioning API topics (JSON payload format).
const (
	TopicCreateKeysAndCertificate = "$aws/certificates/create/json"
	TopicCreateCertificateFromCSR = "$aws/certificates/create-from-csr/json"
)

// TopicRegisterThing is the RegisterThing topic of a template.
func TopicRegisterThing(template string) string {
	return "$aws/provisioning-templates/" + template + "/provision/json"
}

// Config says where the MQTT endpoint is and whom to trust there.
type Config struct {
	Endpoint string // host:port
	CAFile   string // PEM file of the CA that signs the endpoint's certificate
	ClientID string // the MQTT client ID; a random one when empty
	Timeout  time.Duration
}

// Credentials are a certificate and its private key, PEM-encoded.
type Credentials struct {
	CertificatePEM string
	PrivateKeyPEM  string
}

// Certificate is what CreateKeysAndCertificate or CreateCertificateFromCsr
// accepted. PrivateKeyPEM is empty for a CSR, whose key the device kept.
type Certificate struct {
	CertificateID  string `json:"certificateId"`
	CertificatePEM string `json:"certificatePem"`
	PrivateKeyPEM  string `json:"privateKey"`
	OwnershipToken string `json:"certificateOwnershipToken"`
}

// Registration is what RegisterThing accepted.
type Registration struct {
	ThingName           string            `json:"thingName"`
	DeviceConfiguration map[string]string `json:"deviceConfiguration"`
}

// RejectedError is a reply on a /rejected topic, AWS's error payload.
type RejectedError struct {
	Topic        string `json:"-"`
	StatusCode   int    `json:"statusCode"`
	ErrorCode    string `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("%s rejected: %d %s: %s", e.Topic, e.StatusCode, e.ErrorCode, e.ErrorMessage)
}

// Client is one MQTT connection.
type Client struct {
	c       mqtt.Client
	timeout time.Duration
	mu      sync.Mutex // one request at a time: replies are not correlated
}

// Connect opens a mutual-TLS MQTT connection with creds.
func Connect(ctx context.Context, cfg Config, creds Credentials) (*Client, error) {
	cert, err := tls.X509KeyPair([]byte(creds.CertificatePEM), []byte(creds.PrivateKeyPEM))
	if err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	}
	ca, err := os.ReadFile(cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("CA file %s: no certificate", cfg.CAFile)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	id := cfg.ClientID
	if id == "" {
		id = "device-" + randomHex(6)
	}
	opts := mqtt.NewClientOptions().
		AddBroker("ssl://" + cfg.Endpoint).
		SetClientID(id).
		SetTLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots, MinVersion: tls.VersionTLS12}).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(timeout).
		SetOrderMatters(false)
	c := mqtt.NewClient(opts)
	if err := wait(ctx, c.Connect(), timeout); err != nil {
		return nil, fmt.Errorf("connect to %s as %s: %w", cfg.Endpoint, id, err)
	}
	return &Client{c: c, timeout: timeout}, nil
}

// Close disconnects.
func (c *Client) Close() { c.c.Disconnect(250) }

// CreateKeysAndCertificate asks AWS IoT for a key pair and certificate.
func (c *Client) CreateKeysAndCertificate(ctx context.Context) (Certificate, error) {
	var out Certificate
	err := c.request(ctx, TopicCreateKeysAndCertificate, struct{}{}, &out)
	return out, err
}

// CreateCertificateFromCSR asks AWS IoT to sign the device's CSR.
func (c *Client) CreateCertificateFromCSR(ctx context.Context, csrPEM string) (Certificate, error) {
	var out Certificate
	err := c.request(ctx, TopicCreateCertificateFromCSR, map[string]string{"certificateSigningRequest": csrPEM}, &out)
	return out, err
}

// RegisterThing asks template to provision the device owning the token.
func (c *Client) RegisterThing(ctx context.Context, template, ownershipToken string, params map[string]string) (Registration, error) {
	var out Registration
	err := c.request(ctx, TopicRegisterThing(template), map[string]any{
		"certificateOwnershipToken": ownershipToken, "parameters": params}, &out)
	return out, err
}

// Publish sends payload at QoS 1 and waits for the broker's acknowledgement.
func (c *Client) Publish(ctx context.Context, topic string, payload []byte) error {
	return wait(ctx, c.c.Publish(topic, 1, false, payload), c.timeout)
}

// request subscribes to the topic's /accepted and /rejected replies before
// publishing, as AWS's documentation requires, and waits for one of them.
func (c *Client) request(ctx context.Context, topic string, body, out any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	type reply struct {
		accepted bool
		payload  []byte
	}
	replies := make(chan reply, 2)
	handler := func(accepted bool) mqtt.MessageHandler {
		return func(_ mqtt.Client, m mqtt.Message) {
			select {
			case replies <- reply{accepted, m.Payload()}:
			default:
			}
		}
	}
	filters := map[string]byte{topic + "/accepted": 1, topic + "/rejected": 1}
	if err := wait(ctx, c.c.Subscribe(topic+"/accepted", 1, handler(true)), c.timeout); err != nil {
		return fmt.Errorf("subscribe %s/accepted: %w", topic, err)
	}
	if err := wait(ctx, c.c.Subscribe(topic+"/rejected", 1, handler(false)), c.timeout); err != nil {
		return fmt.Errorf("subscribe %s/rejected: %w", topic, err)
	}
	defer func() {
		names := make([]string, 0, len(filters))
		for f := range filters {
			names = append(names, f)
		}
		c.c.Unsubscribe(names...).WaitTimeout(c.timeout)
	}()
	payload, err := json.Marshal(body)
	if err != nil {
		return err
	}
	if err := wait(ctx, c.c.Publish(topic, 1, false, payload), c.timeout); err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	select {
	case r := <-replies:
		if !r.accepted {
			rej := &RejectedError{Topic: topic}
			if err := json.Unmarshal(r.payload, rej); err != nil {
				return fmt.Errorf("%s rejected with an undecodable payload: %w", topic, err)
			}
			return rej
		}
		if err := json.Unmarshal(r.payload, out); err != nil {
			return fmt.Errorf("decode %s/accepted: %w", topic, err)
		}
		return nil
	case <-timer.C:
		return fmt.Errorf("%s: no reply within %s", topic, c.timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func wait(ctx context.Context, tok mqtt.Token, timeout time.Duration) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-time.After(timeout):
		return errors.New("timed out")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// NewCSR makes an ECDSA P-256 key, which stays on the device, and a CSR for it.
func NewCSR() (csrPEM, keyPEM string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "device"}}, key)
	if err != nil {
		return "", "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})), nil
}

// Result is a completed provisioning.
type Result struct {
	ThingName   string
	Certificate Certificate // the device's own; PrivateKeyPEM set either way
	// Steps are the durations of connect, certificate, register and reconnect.
	Steps [4]time.Duration
}

// Provision runs the whole device side: claim connection, certificate (keys
// from AWS IoT, or a CSR when useCSR), RegisterThing with SerialNumber, then a
// connection with the new certificate as the thing, which publishes one
// message on dt/<thing>/provisioned to prove it can.
func Provision(ctx context.Context, cfg Config, claim Credentials, template, serial string, useCSR bool) (Result, error) {
	var res Result
	start := time.Now()
	c, err := Connect(ctx, cfg, claim)
	if err != nil {
		return res, err
	}
	defer c.Close()
	res.Steps[0], start = time.Since(start), time.Now()

	var cert Certificate
	if useCSR {
		csr, key, err := NewCSR()
		if err != nil {
			return res, err
		}
		if cert, err = c.CreateCertificateFromCSR(ctx, csr); err != nil {
			return res, err
		}
		cert.PrivateKeyPEM = key
	} else if cert, err = c.CreateKeysAndCertificate(ctx); err != nil {
		return res, err
	}
	res.Certificate = cert
	res.Steps[1], start = time.Since(start), time.Now()

	reg, err := c.RegisterThing(ctx, template, cert.OwnershipToken, map[string]string{"SerialNumber": serial})
	if err != nil {
		return res, err
	}
	res.ThingName = reg.ThingName
	res.Steps[2], start = time.Since(start), time.Now()
	c.Close()

	devCfg := cfg
	devCfg.ClientID = reg.ThingName
	dev, err := Connect(ctx, devCfg, Credentials{CertificatePEM: cert.CertificatePEM, PrivateKeyPEM: cert.PrivateKeyPEM})
	if err != nil {
		return res, fmt.Errorf("reconnect as %s: %w", reg.ThingName, err)
	}
	defer dev.Close()
	if err := dev.Publish(ctx, "dt/"+reg.ThingName+"/provisioned", []byte(`{"provisioned":true}`)); err != nil {
		return res, fmt.Errorf("publish as %s: %w", reg.ThingName, err)
	}
	res.Steps[3] = time.Since(start)
	return res, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}
