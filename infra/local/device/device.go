// Package device plays a device's part in AWS IoT fleet provisioning by
// claim. It connects to an AWS IoT endpoint over MQTT 3.1.1 with mutual TLS
// and calls the fleet provisioning MQTT API (CreateKeysAndCertificate,
// CreateCertificateFromCsr, RegisterThing) in its JSON payload format, as
// documented in
// https://docs.aws.amazon.com/iot/latest/developerguide/fleet-provision-api.html.
//
// It is written against AWS's documentation, not against the local stand-in
// (infra/local/iot), so that the same code provisions a device on AWS IoT.
// The local stack's demo command and the end-to-end tests use it to play the
// firmware.
//
// # Refusals
//
// MQTT 3.1.1 gives a broker few ways to say no. What a Client can observe:
//
//   - A refused connection: the broker rejects the client certificate in the
//     TLS handshake (unknown, expired, revoked), answers CONNECT with a
//     refusal code in CONNACK, or closes the connection before any CONNACK,
//     as AWS IoT does when the policy denies iot:Connect. Connect's error
//     then wraps ErrConnectionRefused and the cause.
//   - A refused subscription: the SUBACK carries the failure code 0x80, and
//     the error wraps ErrSubscriptionRefused (or ErrConnectionLost, from a
//     broker that disconnects instead).
//   - A refused publish: at QoS 0 a broker drops it without a word, which is
//     why this package only publishes at QoS 1. AWS IoT, and the local
//     stand-in, then close the connection instead of sending the PUBACK, so
//     the publish fails with an error wrapping ErrConnectionLost, as does
//     every later call on that Client. MQTT 3.1.1 has no way to tell this
//     from a network failure.
//   - A rejected fleet provisioning request: the reply on the /rejected
//     topic; the error wraps a *RejectedError carrying AWS's error payload.
//
// Nothing in this package logs, and the types holding private keys or
// ownership tokens hide them when formatted or logged.
package device

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// DefaultTimeout bounds each operation of a Client when Config.Timeout is
// zero. It leaves room for RegisterThing, whose pre-provisioning hook alone
// may take up to 5 seconds in AWS IoT.
const DefaultTimeout = 10 * time.Second

const (
	// alpnMQTT is the ALPN protocol AWS IoT requires for MQTT with X.509
	// client certificates on port 443 (port 8883 needs none).
	alpnMQTT = "x-amzn-mqtt-ca"
	// disconnectQuiesce is how long Close lets the DISCONNECT packet take to
	// go out, so that the broker sees a clean disconnection.
	disconnectQuiesce = 250 // milliseconds
	// subackFailure is the SUBACK return code of a refused subscription.
	subackFailure = 0x80
)

var (
	// ErrConnectionRefused is wrapped by Connect's error when the broker
	// refused the connection (see the package documentation).
	ErrConnectionRefused = errors.New("connection refused by the broker")
	// ErrConnectionLost is wrapped by the error of any call made after, or
	// cut short by, the loss of the connection, including a publish the
	// broker refused by disconnecting.
	ErrConnectionLost = errors.New("connection lost")
	// ErrSubscriptionRefused is wrapped by the error of a call whose reply
	// topics the broker would not subscribe the client to.
	ErrSubscriptionRefused = errors.New("subscription refused by the broker")
	// ErrClosed is wrapped by the error of any call made after Close.
	ErrClosed = errors.New("client closed")
)

// Credentials are a client certificate and its private key, in PEM: a claim
// certificate from CreateProvisioningClaim, or a device certificate from
// provisioning. They print and log without the key.
type Credentials struct {
	CertificatePEM string
	PrivateKeyPEM  string
}

// String hides the private key from fmt.
func (c Credentials) String() string {
	return fmt.Sprintf("device.Credentials{CertificatePEM: (%d bytes), PrivateKeyPEM: [redacted]}", len(c.CertificatePEM))
}

// GoString hides the private key from %#v.
func (c Credentials) GoString() string { return c.String() }

// LogValue hides the private key from log/slog.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("certificatePemBytes", len(c.CertificatePEM)), slog.String("privateKeyPem", "[redacted]"))
}

// Config says where and how to connect.
type Config struct {
	// Endpoint is the broker's host:port, such as the account's
	// DescribeEndpoint (iot:Data-ATS) address with port 8883, or the local
	// stack's MQTT endpoint.
	Endpoint string
	// CAFile is a PEM file of the CAs trusted to sign the broker's
	// certificate, such as AmazonRootCA1.pem or the local stack's ca.pem.
	// RootCAs is the same as a pool; set at most one of them. With neither,
	// the system's roots are trusted.
	CAFile  string
	RootCAs *x509.CertPool
	// ClientID is the MQTT client ID of Connect. Provision uses it for the
	// claim connection (the serial number when empty) and reconnects as the
	// thing name whatever it is.
	ClientID string
	// Timeout bounds each operation: Connect, Publish, and each fleet
	// provisioning request, unless the context ends sooner. DefaultTimeout
	// when zero.
	Timeout time.Duration
}

func (cfg Config) timeout() time.Duration {
	if cfg.Timeout > 0 {
		return cfg.Timeout
	}
	return DefaultTimeout
}

// tlsConfig is mutual TLS with creds, trusting the configured CAs.
func (cfg Config) tlsConfig(creds Credentials) (*tls.Config, error) {
	host, port, err := net.SplitHostPort(cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q is not host:port: %w", cfg.Endpoint, err)
	}
	cert, err := tls.X509KeyPair([]byte(creds.CertificatePEM), []byte(creds.PrivateKeyPEM))
	if err != nil {
		return nil, fmt.Errorf("client certificate and key: %w", err)
	}
	roots := cfg.RootCAs
	if cfg.CAFile != "" {
		if roots != nil {
			return nil, errors.New("set CAFile or RootCAs, not both")
		}
		caPEM, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", cfg.CAFile)
		}
	}
	conf := &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      roots,
		ServerName:   host,
		MinVersion:   tls.VersionTLS12,
	}
	if port == "443" {
		conf.NextProtos = []string{alpnMQTT}
	}
	return conf, nil
}

// Client is one MQTT connection to the broker. Its methods are safe for
// concurrent use; fleet provisioning requests are sent one at a time.
type Client struct {
	mqtt    paho.Client
	timeout time.Duration

	// calls holds a token while a fleet provisioning request is in flight.
	// Replies carry nothing that ties them to their request, only the topic,
	// so a client may have one request outstanding at a time.
	calls chan struct{}
	// subscribed holds the request topics whose replies the client is
	// subscribed to; only accessed while holding the calls token.
	subscribed map[string]bool

	mu      sync.Mutex // guards pending
	pending *pendingCall

	ended    chan struct{} // closed by end
	endErr   error         // why the client ended; set before ended is closed
	endOnce  sync.Once
	shutOnce sync.Once
}

// pendingCall is the fleet provisioning request awaiting its reply.
type pendingCall struct {
	request string
	reply   chan reply // buffered: the first reply wins, later ones are dropped
}

// reply is a message on a request's /accepted or /rejected topic.
type reply struct {
	topic   string
	payload []byte
}

// Connect opens an MQTT 3.1.1 connection over mutual TLS with creds, with a
// clean session, as cfg.ClientID. It returns an error wrapping
// ErrConnectionRefused when the broker refuses the connection.
func Connect(ctx context.Context, cfg Config, creds Credentials) (*Client, error) {
	fail := func(err error) (*Client, error) {
		return nil, fmt.Errorf("connect to %s as %q: %w", cfg.Endpoint, cfg.ClientID, err)
	}
	if cfg.ClientID == "" {
		return fail(errors.New("a client ID is required"))
	}
	tlsConfig, err := cfg.tlsConfig(creds)
	if err != nil {
		return fail(err)
	}
	c := &Client{
		timeout:    cfg.timeout(),
		calls:      make(chan struct{}, 1),
		subscribed: map[string]bool{},
		ended:      make(chan struct{}),
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	// The connection is opened here rather than by paho so that ctx bounds
	// the dial and the handshake, and also the wait for CONNACK: the
	// connection is closed if ctx ends before Connect stops watching it.
	var dialed atomic.Bool
	watching := make(chan func() bool, 1)
	open := func(broker *url.URL, _ paho.ClientOptions) (net.Conn, error) {
		conn, err := (&tls.Dialer{Config: tlsConfig}).DialContext(ctx, "tcp", broker.Host)
		if err != nil {
			return nil, err
		}
		dialed.Store(true)
		watching <- context.AfterFunc(ctx, func() { _ = conn.Close() })
		return conn, nil
	}
	opts := paho.NewClientOptions().
		AddBroker("ssl://" + cfg.Endpoint).
		SetClientID(cfg.ClientID).
		SetCleanSession(true).
		// Explicit, or paho retries a refused connection as MQTT 3.1.
		SetProtocolVersion(4).
		SetCustomOpenConnectionFn(open).
		SetConnectTimeout(c.timeout).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			c.end(fmt.Errorf("%w: %w", ErrConnectionLost, err))
		})
	c.mqtt = paho.NewClient(opts)

	tok := c.mqtt.Connect()
	<-tok.Done() // bounded by ctx and the connect timeout, as arranged above
	select {
	case stopWatching := <-watching:
		if !stopWatching() && tok.Error() == nil {
			// ctx ended just as the connection came up, and closed it.
			c.mqtt.Disconnect(0)
			return fail(ctx.Err())
		}
	default:
	}
	if err := tok.Error(); err != nil {
		if ctx.Err() != nil {
			return fail(fmt.Errorf("%w (%w)", ctx.Err(), err))
		}
		if refused(err, dialed.Load()) {
			return fail(fmt.Errorf("%w: %w", ErrConnectionRefused, err))
		}
		return fail(err)
	}
	return c, nil
}

// connackRefusals are paho's errors for the MQTT 3.1.1 CONNACK refusal
// codes 1 to 5.
var connackRefusals = []error{
	packets.ErrorRefusedBadProtocolVersion,
	packets.ErrorRefusedIDRejected,
	packets.ErrorRefusedServerUnavailable,
	packets.ErrorRefusedBadUsernameOrPassword,
	packets.ErrorRefusedNotAuthorised,
}

// refused reports whether a failed connection attempt was the broker saying
// no, rather than the network failing or the client distrusting the broker.
// dialed is whether the TCP connection and TLS handshake had succeeded.
func refused(err error, dialed bool) bool {
	for _, refusal := range connackRefusals {
		if errors.Is(err, refusal) {
			return true
		}
	}
	// crypto/tls reports a TLS alert from the peer as this operation. In
	// TLS 1.3 the broker judges the client certificate after the client has
	// finished its handshake, so the alert arrives in place of CONNACK.
	if opErr, ok := errors.AsType[*net.OpError](err); ok && opErr.Op == "remote error" {
		return true
	}
	// A broker that closes an established connection instead of answering
	// CONNECT has refused it: AWS IoT does so when its policy denies
	// iot:Connect.
	return dialed && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET))
}

// end marks the client unusable for the reason err; the first reason stays.
func (c *Client) end(err error) {
	c.endOnce.Do(func() {
		c.endErr = err
		close(c.ended)
	})
}

// Done is closed when the client ends: closed, or its connection lost (a
// broker drops a deactivated certificate's connections, for one). Err then
// says why.
func (c *Client) Done() <-chan struct{} { return c.ended }

// Err is why the client ended, once Done is closed; nil before.
func (c *Client) Err() error {
	select {
	case <-c.ended:
		return c.endErr
	default:
		return nil
	}
}

// Close disconnects from the broker. Calls made afterwards fail with an
// error wrapping ErrClosed. Close is safe to call more than once.
func (c *Client) Close() {
	c.end(ErrClosed)
	c.shutOnce.Do(func() { c.mqtt.Disconnect(disconnectQuiesce) })
}

// Publish publishes payload on topic at QoS 1 and waits for the broker's
// PUBACK. A publish the broker refuses by disconnecting, as AWS IoT does,
// fails with an error wrapping ErrConnectionLost.
func (c *Client) Publish(ctx context.Context, topic string, payload []byte) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return c.publish(ctx, topic, payload)
}

func (c *Client) publish(ctx context.Context, topic string, payload []byte) error {
	if err := c.await(ctx, c.mqtt.Publish(topic, 1, false, payload)); err != nil {
		return fmt.Errorf("publish on %s: %w", topic, err)
	}
	return nil
}

// await waits for tok to complete, for ctx to end, or for the connection to
// end, whichever comes first.
func (c *Client) await(ctx context.Context, tok paho.Token) error {
	select {
	case <-tok.Done():
		err := tok.Error()
		if err == nil {
			return nil
		}
		// paho fails outstanding tokens when the connection drops, with
		// an error that does not say why; the reason may still be on its
		// way to the connection lost handler.
		select {
		case <-c.ended:
			return fmt.Errorf("%w (%w)", c.endErr, err)
		default:
		}
		if !c.mqtt.IsConnectionOpen() {
			return fmt.Errorf("%w: %w", ErrConnectionLost, err)
		}
		return err
	case <-c.ended:
		return c.endErr
	case <-ctx.Done():
		return ctx.Err()
	}
}
