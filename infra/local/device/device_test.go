package device

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/fleetclaim/fleetclaim/infra/local/iot"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
)

const (
	template = "widget"
	// okSerial is the one serial the test hook allows; slowSerial makes it
	// take its time before refusing.
	okSerial   = "SN-OK"
	slowSerial = "SN-SLOW"
	okThing    = "thing-" + okSerial
	// opTimeout bounds operations that should succeed.
	opTimeout = 5 * time.Second
)

// deviceConfiguration is the template's, as RegisterThing returns it.
var deviceConfiguration = map[string]string{"telemetryTopic": "dt"}

// hook allows provisioning only okSerial and names the thing after the
// serial. It keeps slowSerial waiting until it gives up or the local IoT
// closes.
func hook(ctx context.Context, req events.IoTPreProvisionHookRequest) (events.IoTPreProvisionHookResponse, error) {
	serial := req.Parameters[SerialNumberParameter]
	if serial == slowSerial {
		select {
		case <-ctx.Done():
		case <-time.After(3 * time.Second):
		}
	}
	return events.IoTPreProvisionHookResponse{
		AllowProvisioning:  serial == okSerial,
		ParameterOverrides: map[string]string{"ThingName": "thing-" + serial},
	}, nil
}

// stand is a local AWS IoT on a free loopback port with its own data
// directory and clock.
type stand struct {
	core  *iot.Core
	clock *fleetclaimtest.Clock
	cfg   Config
}

func newStand(t *testing.T) *stand {
	t.Helper()
	clk := fleetclaimtest.NewClock(time.Now())
	core, err := iot.New(iot.Options{
		DataDir:   t.TempDir(),
		MQTTAddr:  "127.0.0.1:0",
		Templates: []iot.Template{{Name: template, DeviceConfiguration: deviceConfiguration}},
		Hook:      hook,
		Now:       clk.Now,
	})
	if err != nil {
		t.Fatalf("iot.New: %v", err)
	}
	if err := core.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = core.Close() })
	return &stand{
		core:  core,
		clock: clk,
		cfg:   Config{Endpoint: core.MQTTAddr(), CAFile: core.CAFile(), Timeout: opTimeout},
	}
}

// claim mints a claim certificate for the template.
func (s *stand) claim(t *testing.T) Credentials {
	t.Helper()
	m, err := s.core.CreateProvisioningClaim(t.Context(), template)
	if err != nil {
		t.Fatalf("CreateProvisioningClaim: %v", err)
	}
	return Credentials{CertificatePEM: m.CertificatePEM, PrivateKeyPEM: m.PrivateKey.Reveal()}
}

// connect connects as clientID and closes the client when the test ends.
func (s *stand) connect(t *testing.T, clientID string, creds Credentials) *Client {
	t.Helper()
	cfg := s.cfg
	cfg.ClientID = clientID
	c, err := Connect(t.Context(), cfg, creds)
	if err != nil {
		t.Fatalf("Connect as %s: %v", clientID, err)
	}
	t.Cleanup(c.Close)
	return c
}

// provision provisions okSerial and returns the device's credentials.
func (s *stand) provision(t *testing.T) Credentials {
	t.Helper()
	res, err := Provision(t.Context(), s.cfg, s.claim(t), template, okSerial, false)
	if err != nil {
		t.Fatalf("Provision: %v", err)
	}
	return Credentials{CertificatePEM: res.Certificate.CertificatePEM, PrivateKeyPEM: res.Certificate.PrivateKeyPEM}
}

func TestProvision(t *testing.T) {
	s := newStand(t)
	tests := []struct {
		name   string
		useCSR bool
	}{
		{"keys from AWS IoT", false},
		{"certificate for a CSR", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Provision(t.Context(), s.cfg, s.claim(t), template, okSerial, tt.useCSR)
			if err != nil {
				t.Fatalf("Provision: %v", err)
			}
			if got, want := res.ThingName, okThing; got != want {
				t.Errorf("ThingName = %q, want %q", got, want)
			}
			if got, want := res.DeviceConfiguration, deviceConfiguration; !maps.Equal(got, want) {
				t.Errorf("DeviceConfiguration = %v, want %v", got, want)
			}
			if got := len(res.Certificate.CertificateID); got != 64 {
				t.Errorf("CertificateID has %d characters, want 64", got)
			}
			if _, err := tls.X509KeyPair([]byte(res.Certificate.CertificatePEM), []byte(res.Certificate.PrivateKeyPEM)); err != nil {
				t.Errorf("certificate and private key do not match: %v", err)
			}
			tm := res.Timings
			for name, d := range map[string]time.Duration{
				"ClaimConnect": tm.ClaimConnect, "CreateCertificate": tm.CreateCertificate, "RegisterThing": tm.RegisterThing,
				"DeviceConnect": tm.DeviceConnect, "FirstPublish": tm.FirstPublish,
			} {
				if d <= 0 || d > tm.Total {
					t.Errorf("Timings.%s = %s, want within (0, Total %s]", name, d, tm.Total)
				}
			}

			// Provision reconnected as the thing; so can the device later.
			creds := Credentials{CertificatePEM: res.Certificate.CertificatePEM, PrivateKeyPEM: res.Certificate.PrivateKeyPEM}
			device := s.connect(t, res.ThingName, creds)
			if err := device.Publish(t.Context(), "dt/"+res.ThingName+"/telemetry", []byte(`{"t":21.5}`)); err != nil {
				t.Errorf("Publish as the thing: %v", err)
			}
		})
	}
}

// TestRejections: every rejection reaches the caller as a *RejectedError
// with AWS's error payload, and leaves the client usable.
func TestRejections(t *testing.T) {
	s := newStand(t)
	claim := s.claim(t)
	c := s.connect(t, "installer-app", claim)

	tests := []struct {
		name       string
		do         func(ctx context.Context) error
		wantStatus int
		wantCode   string
		wantTopic  string
	}{
		{
			name: "hook denies the serial",
			do: func(ctx context.Context) error {
				_, err := Provision(ctx, s.cfg, claim, template, "SN-BAD", false)
				return err
			},
			wantStatus: 403, wantCode: "ACCESS_DENIED",
			wantTopic: "$aws/provisioning-templates/widget/provision/json/rejected",
		},
		{
			name: "unknown ownership token",
			do: func(ctx context.Context) error {
				_, err := c.RegisterThing(ctx, template, "bm90LWEtdG9rZW4", map[string]string{SerialNumberParameter: okSerial})
				return err
			},
			wantStatus: 400, wantCode: "InvalidCertificateOwnershipToken",
			wantTopic: "$aws/provisioning-templates/widget/provision/json/rejected",
		},
		{
			name: "not a CSR",
			do: func(ctx context.Context) error {
				_, err := c.CreateCertificateFromCSR(ctx, "not a certificate signing request")
				return err
			},
			wantStatus: 400, wantCode: "InvalidCsr",
			wantTopic: "$aws/certificates/create-from-csr/json/rejected",
		},
		{
			// Only a raw request can be malformed: the typed calls
			// always send the documented shape.
			name: "malformed JSON",
			do: func(ctx context.Context) error {
				return c.call(ctx, topicCreateCertificateFromCSR, []byte(`{"certificateSigningRequest":`), new(certificateResponse))
			},
			wantStatus: 400, wantCode: "InvalidPayload",
			wantTopic: "$aws/certificates/create-from-csr/json/rejected",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do(t.Context())
			rej, ok := errors.AsType[*RejectedError](err)
			if !ok {
				t.Fatalf("got error %v, want a *RejectedError", err)
			}
			if rej.StatusCode != tt.wantStatus || rej.ErrorCode != tt.wantCode || rej.Topic != tt.wantTopic || rej.ErrorMessage == "" {
				t.Errorf("got %+v, want statusCode %d, errorCode %s, topic %s and an errorMessage",
					*rej, tt.wantStatus, tt.wantCode, tt.wantTopic)
			}
			if _, err := c.CreateKeysAndCertificate(t.Context()); err != nil {
				t.Errorf("CreateKeysAndCertificate after the rejection: %v", err)
			}
		})
	}
}

// TestConnect tells refusals by the broker from other failures.
func TestConnect(t *testing.T) {
	s := newStand(t)
	device := s.provision(t)
	claim := s.claim(t)

	// An empty pool: the broker's certificate cannot verify against it.
	untrusting := x509.NewCertPool()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := closed.Addr().String()
	_ = closed.Close()
	closingAddr, closingRoots := closingBroker(t)
	droppingAddr := droppingListener(t)

	tests := []struct {
		name        string
		clientID    string
		creds       Credentials
		configure   func(*Config)
		wantErr     bool
		wantRefused bool
	}{
		{name: "claim", clientID: "installer-app", creds: claim},
		{name: "device as its thing", clientID: okThing, creds: device},
		{name: "device as another client ID", clientID: "thing-SN-OTHER", creds: device, wantErr: true, wantRefused: true},
		{name: "broker certificate from an untrusted CA", clientID: "installer-app", creds: claim, wantErr: true,
			configure: func(cfg *Config) { cfg.CAFile, cfg.RootCAs = "", untrusting }},
		{name: "broker closing the connection instead of answering CONNECT", clientID: "installer-app", creds: claim,
			wantErr: true, wantRefused: true,
			configure: func(cfg *Config) { cfg.Endpoint, cfg.CAFile, cfg.RootCAs = closingAddr, "", closingRoots }},
		{name: "connection dropped in the TLS handshake", clientID: "installer-app", creds: claim, wantErr: true,
			configure: func(cfg *Config) { cfg.Endpoint = droppingAddr }},
		{name: "nothing listening", clientID: "installer-app", creds: claim, wantErr: true,
			configure: func(cfg *Config) { cfg.Endpoint = deadAddr }},
		{name: "no client ID", creds: claim, wantErr: true},
		{name: "CAFile and RootCAs both set", clientID: "installer-app", creds: claim, wantErr: true,
			configure: func(cfg *Config) { cfg.RootCAs = untrusting }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := s.cfg
			cfg.ClientID = tt.clientID
			if tt.configure != nil {
				tt.configure(&cfg)
			}
			c, err := Connect(t.Context(), cfg, tt.creds)
			if err == nil {
				c.Close()
			}
			if got := err != nil; got != tt.wantErr {
				t.Fatalf("Connect error = %v, want error %v", err, tt.wantErr)
			}
			if got := errors.Is(err, ErrConnectionRefused); got != tt.wantRefused {
				t.Errorf("Connect error = %v; wraps ErrConnectionRefused = %v, want %v", err, got, tt.wantRefused)
			}
		})
	}
}

// TestClaimExpiry: the broker refuses a claim past its lifetime, by the
// local IoT's clock, in the TLS handshake.
func TestClaimExpiry(t *testing.T) {
	tests := []struct {
		name        string
		age         time.Duration
		wantRefused bool
	}{
		{"fresh claim", 0, false},
		{"claim about to expire", iot.DefaultClaimLifetime - 5*time.Second, false},
		{"expired claim", iot.DefaultClaimLifetime + time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStand(t)
			claim := s.claim(t)
			s.clock.Advance(tt.age)
			cfg := s.cfg
			cfg.ClientID = "installer-app"
			c, err := Connect(t.Context(), cfg, claim)
			if err == nil {
				c.Close()
			}
			if got := errors.Is(err, ErrConnectionRefused); got != tt.wantRefused {
				t.Errorf("Connect error = %v; wraps ErrConnectionRefused = %v, want %v", err, got, tt.wantRefused)
			}
			if !tt.wantRefused && err != nil {
				t.Errorf("Connect: %v", err)
			}
		})
	}
}

// TestPublish: a publish outside the certificate's policy costs the
// connection, which is how MQTT 3.1.1 brokers refuse it; a refused
// subscription does not.
func TestPublish(t *testing.T) {
	s := newStand(t)
	creds := s.provision(t)
	own := "dt/" + okThing + "/telemetry"

	tests := []struct {
		name string
		// before runs on the connection before the publish on own.
		before      func(ctx context.Context, c *Client) error
		wantBefore  error
		wantPublish error
	}{
		{name: "own topic"},
		{
			name: "after a publish on another thing's topic",
			before: func(ctx context.Context, c *Client) error {
				return c.Publish(ctx, "dt/thing-SN-OTHER/telemetry", []byte("{}"))
			},
			wantBefore:  ErrConnectionLost,
			wantPublish: ErrConnectionLost,
		},
		{
			name: "after a fleet provisioning request, whose replies a device may not subscribe to",
			before: func(ctx context.Context, c *Client) error {
				_, err := c.CreateKeysAndCertificate(ctx)
				return err
			},
			wantBefore: ErrSubscriptionRefused,
		},
		{
			name:        "after Close",
			before:      func(_ context.Context, c *Client) error { c.Close(); return nil },
			wantPublish: ErrClosed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := s.connect(t, okThing, creds)
			if tt.before != nil {
				if err := tt.before(t.Context(), c); !errors.Is(err, tt.wantBefore) {
					t.Errorf("before: got %v, want %v", err, tt.wantBefore)
				}
			}
			if err := c.Publish(t.Context(), own, []byte("{}")); !errors.Is(err, tt.wantPublish) {
				t.Errorf("Publish on %s: got %v, want %v", own, err, tt.wantPublish)
			}
		})
	}
}

// TestDeadlines: a request that takes too long ends at the context's
// deadline or at Config.Timeout, whichever comes first.
func TestDeadlines(t *testing.T) {
	const short = 300 * time.Millisecond
	s := newStand(t)
	claim := s.claim(t)
	// The ownership token comes from a client with time to spare: the
	// certificate's RSA key takes a while to generate.
	keys, err := s.connect(t, "installer-keys", claim).CreateKeysAndCertificate(t.Context())
	if err != nil {
		t.Fatalf("CreateKeysAndCertificate: %v", err)
	}

	tests := []struct {
		name       string
		timeout    time.Duration
		ctxTimeout time.Duration
	}{
		{"context deadline", opTimeout, short},
		{"Config.Timeout", short, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := s.cfg
			cfg.ClientID, cfg.Timeout = fmt.Sprintf("installer-%d", i), tt.timeout
			c, err := Connect(t.Context(), cfg, claim)
			if err != nil {
				t.Fatalf("Connect: %v", err)
			}
			t.Cleanup(c.Close)
			ctx := t.Context()
			if tt.ctxTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctxTimeout)
				defer cancel()
			}
			start := time.Now()
			_, err = c.RegisterThing(ctx, template, keys.OwnershipToken, map[string]string{SerialNumberParameter: slowSerial})
			if elapsed := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || elapsed > 2*short {
				t.Errorf("RegisterThing: got %v after %s, want %v after about %s", err, elapsed, context.DeadlineExceeded, short)
			}
		})
	}
}

// TestConcurrentRequests: requests on one client from many goroutines each
// get their own reply.
func TestConcurrentRequests(t *testing.T) {
	s := newStand(t)
	c := s.connect(t, "installer-app", s.claim(t))
	const n = 4
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			cert, err := c.CreateKeysAndCertificate(t.Context())
			if err != nil {
				t.Errorf("CreateKeysAndCertificate: %v", err)
				return
			}
			if _, err := tls.X509KeyPair([]byte(cert.CertificatePEM), []byte(cert.PrivateKeyPEM)); err != nil {
				t.Errorf("certificate and private key do not match: %v", err)
			}
			ids <- cert.CertificateID
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if got := len(seen); got != n {
		t.Errorf("got %d distinct certificates, want %d", got, n)
	}
}

// TestSecretsHidden: private keys and ownership tokens stay out of
// formatted and logged values.
func TestSecretsHidden(t *testing.T) {
	csrPEM, keyPEM, err := NewCSR("SN-1")
	if err != nil {
		t.Fatalf("NewCSR: %v", err)
	}
	if block, _ := pem.Decode([]byte(csrPEM)); block == nil || block.Type != "CERTIFICATE REQUEST" {
		t.Fatalf("NewCSR returned no PEM certificate request")
	}
	const token = "b3duZXJzaGlwLXRva2Vu"
	cert := Certificate{CertificateID: "abc123", CertificatePEM: "-----BEGIN CERTIFICATE-----", PrivateKeyPEM: keyPEM, OwnershipToken: token}
	creds := Credentials{CertificatePEM: cert.CertificatePEM, PrivateKeyPEM: keyPEM}
	res := Result{ThingName: okThing, Certificate: cert}

	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("provisioned", "certificate", cert, "credentials", creds)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("provisioned", "certificate", cert, "credentials", creds)
	out := fmt.Sprintf("%v %+v %#v %s %v %+v %#v", cert, cert, cert, creds, creds, res, res) + logs.String()
	for _, secret := range []string{"PRIVATE KEY", token} {
		if strings.Contains(out, secret) {
			t.Errorf("output contains %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "abc123") {
		t.Errorf("output lacks the certificate ID:\n%s", out)
	}
}

// closingBroker plays a broker that completes the TLS handshake, with any
// client certificate, and closes the connection when CONNECT arrives, as AWS
// IoT does when its policy denies iot:Connect. It returns its address and a
// pool that trusts its certificate.
func closingBroker(t *testing.T) (string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "closing broker"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)

	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		ClientAuth:   tls.RequireAnyClientCert,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go serve(ln, func(conn net.Conn) {
		// The first read completes the handshake and takes the CONNECT.
		_, _ = conn.Read(make([]byte, 4096))
	})
	return ln.Addr().String(), roots
}

// droppingListener accepts TCP connections and closes them at once, before
// any TLS handshake.
func droppingListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go serve(ln, func(net.Conn) {})
	return ln.Addr().String()
}

// serve runs handle on each connection ln accepts, then closes it, until ln
// is closed.
func serve(ln net.Listener, handle func(net.Conn)) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		handle(conn)
		_ = conn.Close()
	}
}
