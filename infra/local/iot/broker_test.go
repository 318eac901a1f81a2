package iot

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// refused is the SUBACK code of a refused MQTT 3.1.1 subscription.
const refused = 0x80

// TestClaimCertificateExpiry: a claim connects within its lifetime and is
// refused after it, by the Core's clock.
func TestClaimCertificateExpiry(t *testing.T) {
	tests := []struct {
		name        string
		age         time.Duration
		wantConnect bool
	}{
		{"fresh claim", 0, true},
		{"claim about to expire", DefaultClaimLifetime - 5*time.Second, true},
		{"expired claim", DefaultClaimLifetime + time.Second, false},
		{"claim expired long ago", 24 * time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A fresh clock per case: only the claim's age differs.
			e := newEnv(t)
			claim := e.claim(t, "widget")
			if got, want := aws.ToTime(claim.Expiration), e.clock.Now().Add(DefaultClaimLifetime); got.Sub(want).Abs() > time.Second {
				t.Errorf("expiration = %s, want %s", got, want)
			}
			e.clock.Advance(tt.age)
			_, err := e.dial(t, aws.ToString(claim.CertificatePem), aws.ToString(claim.KeyPair.PrivateKey), "device")
			if got := err == nil; got != tt.wantConnect {
				t.Errorf("connected = %v (err %v), want %v", got, err, tt.wantConnect)
			}
		})
	}
}

// TestClaimPolicy: a claim may use the fleet provisioning API of its own
// template, in JSON, and nothing else.
func TestClaimPolicy(t *testing.T) {
	e := newEnv(t)
	conn, _ := e.claimConn(t, "widget", "installer")

	subscriptions := []struct {
		filter  string
		granted bool
	}{
		{"$aws/certificates/create/json/accepted", true},
		{"$aws/certificates/create-from-csr/json/rejected", true},
		{"$aws/provisioning-templates/widget/provision/json/accepted", true},
		// Another template's topic is open: the hook decides (claimMay).
		{"$aws/provisioning-templates/gadget/provision/json/accepted", true},
		{"$aws/provisioning-templates/no-such-template/provision/json/accepted", false},
		{"$aws/provisioning-templates/+/provision/json/accepted", false},
		{"$aws/certificates/create/cbor/accepted", false},
		{"$aws/certificates/create/json", false},
		{"$aws/certificates/create/json/+", false},
		{"$aws/certificates/#", false},
		{"#", false},
		{"dt/widget-SN-1/#", false},
		{"$aws/things/widget-SN-1/shadow/#", false},
	}
	for _, tt := range subscriptions {
		t.Run("subscribe "+tt.filter, func(t *testing.T) {
			got := conn.subscribe(t, tt.filter) != refused
			if got != tt.granted {
				t.Errorf("subscription granted = %v, want %v", got, tt.granted)
			}
		})
	}

	// AWS IoT disconnects a client that publishes outside its policy;
	// so does the broker, for QoS 1.
	for i, topic := range []string{
		"dt/widget-SN-1/telemetry",
		"$aws/provisioning-templates/no-such-template/provision/json",
		"$aws/certificates/create/cbor",
	} {
		t.Run("publish "+topic, func(t *testing.T) {
			conn, _ := e.claimConn(t, "widget", fmt.Sprintf("installer-%d", i))
			conn.Publish(topic, 1, false, []byte("{}"))
			conn.awaitLost(t)
		})
	}
}

// TestDevicePolicy: a provisioned device may use its own topics only, and
// what it publishes elsewhere reaches no one.
func TestDevicePolicy(t *testing.T) {
	e := newEnv(t)
	claimConn, _ := e.claimConn(t, "widget", "installer")
	credsA := e.provision(t, claimConn, "widget", map[string]string{"SerialNumber": "A"})
	credsB := e.provision(t, claimConn, "widget", map[string]string{"SerialNumber": "B"})
	a, err := e.dial(t, credsA.certPEM, credsA.keyPEM, credsA.thingName)
	if err != nil {
		t.Fatalf("connect A: %v", err)
	}
	b, err := e.dial(t, credsB.certPEM, credsB.keyPEM, credsB.thingName)
	if err != nil {
		t.Fatalf("connect B: %v", err)
	}

	subscriptions := []struct {
		filter  string
		granted bool
	}{
		{"cmd/widget-A/+", true},
		{"$aws/things/widget-A/shadow/update/accepted", true},
		{"$aws/things/widget-A/shadow/#", true},
		{"dt/widget-A/#", false}, // telemetry is publish-only
		{"cmd/widget-B/#", false},
		{"cmd/+/reboot", false},
		{"$aws/things/widget-B/shadow/#", false},
		{"$aws/certificates/create/json/accepted", false},
		{"#", false},
	}
	for _, tt := range subscriptions {
		t.Run("subscribe "+tt.filter, func(t *testing.T) {
			got := a.subscribe(t, tt.filter) != refused
			if got != tt.granted {
				t.Errorf("subscription granted = %v, want %v", got, tt.granted)
			}
		})
	}

	b.subscribe(t, "$aws/things/widget-B/shadow/#")
	t.Run("publish on own topics", func(t *testing.T) {
		a.publish(t, "dt/widget-A/temp", 1, []byte("21.5"))
		a.publish(t, "$aws/things/widget-A/shadow/update", 1, []byte(`{"state":{}}`))
		if got, want := string(a.await(t, "$aws/things/widget-A/shadow/#")), `{"state":{}}`; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("publish on another thing's topic at QoS 0 is dropped", func(t *testing.T) {
		a.publish(t, "$aws/things/widget-B/shadow/update", 0, []byte(`{"state":{"desired":{"open":true}}}`))
		b.quiet(t, "$aws/things/widget-B/shadow/#")
	})
	t.Run("publish on another thing's topic at QoS 1 disconnects", func(t *testing.T) {
		a.Publish("$aws/things/widget-B/shadow/update", 1, false, []byte(`{"state":{"desired":{"open":true}}}`))
		a.awaitLost(t)
		b.quiet(t, "$aws/things/widget-B/shadow/#")
	})
}

// TestReprovisioning: provisioning a device again keeps its thing, adds the
// new certificate and replaces the attributes; both certificates connect.
func TestReprovisioning(t *testing.T) {
	e := newEnv(t)
	claimConn, _ := e.claimConn(t, "widget", "installer")
	first := e.provision(t, claimConn, "widget", map[string]string{"SerialNumber": "R", "Site": "old"})
	second := e.provision(t, claimConn, "widget", map[string]string{"SerialNumber": "R"})
	if first.thingName != second.thingName {
		t.Fatalf("thing names %q and %q, want the same", first.thingName, second.thingName)
	}

	var thing thingRecord
	e.core.store.view(func(s *state) { thing = s.Things[first.thingName] })
	if got, want := thing.CertificateIDs, []string{first.certID, second.certID}; !slices.Equal(got, want) {
		t.Errorf("certificates = %v, want %v", got, want)
	}
	if got, want := thing.Attributes, map[string]string{"serialNumber": "R"}; !maps.Equal(got, want) {
		t.Errorf("attributes = %v, want %v", got, want)
	}
	for _, creds := range []deviceCreds{first, second} {
		if _, err := e.dial(t, creds.certPEM, creds.keyPEM, creds.thingName); err != nil {
			t.Errorf("certificate %.12s cannot connect: %v", creds.certID, err)
		}
	}
}

// TestConnectRefusals: certificates the local IoT did not issue, or issued
// for something else, do not get in. A certificate the broker knows but whose
// policy refuses the connection gets CONNACK 135, not authorized (return
// code 5 in MQTT 3.1.1), as from AWS IoT, not 134 (bad user name or
// password); a foreign certificate fails the TLS handshake.
func TestConnectRefusals(t *testing.T) {
	e := newEnv(t)
	claimConn, claim := e.claimConn(t, "widget", "installer")
	creds := e.provision(t, claimConn, "widget", map[string]string{"SerialNumber": "R1"})

	foreignCert, foreignKey := selfSigned(t)
	willOn := func(topic string) func(*paho.ClientOptions) {
		return func(o *paho.ClientOptions) { o.SetBinaryWill(topic, []byte(`{}`), 1, false) }
	}
	tests := []struct {
		name            string
		certPEM, keyPEM string
		clientID        string
		options         []func(*paho.ClientOptions)
		wantConnect     bool
		wantNotAuth     bool
	}{
		{"device as its thing", creds.certPEM, creds.keyPEM, creds.thingName, nil, true, false},
		{"device under another client ID", creds.certPEM, creds.keyPEM, "widget-R2", nil, false, true},
		{"claim with a will on a device's commands", aws.ToString(claim.CertificatePem), aws.ToString(claim.KeyPair.PrivateKey),
			"claimant", []func(*paho.ClientOptions){willOn("cmd/widget-R1/unlock")}, false, true},
		{"certificate from another CA", foreignCert, foreignKey, "widget-R1", nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.dial(t, tt.certPEM, tt.keyPEM, tt.clientID, tt.options...)
			if got := err == nil; got != tt.wantConnect {
				t.Errorf("connected = %v (err %v), want %v", got, err, tt.wantConnect)
			}
			if got := errors.Is(err, packets.ErrorRefusedNotAuthorised); got != tt.wantNotAuth {
				t.Errorf("refused as not authorized = %v (err %v), want %v", got, err, tt.wantNotAuth)
			}
		})
	}
}

// TestWillPolicy: a last will is a publish the broker makes later for the
// client, so a connection whose will names a topic its certificate may not
// publish to is refused; otherwise dropping the connection would deliver
// (and, retained, keep) a message on another thing's topics or a forged
// provisioning reply.
func TestWillPolicy(t *testing.T) {
	e := newEnv(t)
	claimConn, claim := e.claimConn(t, "widget", "installer")
	a := e.provision(t, claimConn, "widget", map[string]string{"SerialNumber": "A"})
	e.provision(t, claimConn, "widget", map[string]string{"SerialNumber": "B"})
	claimCert, claimKey := aws.ToString(claim.CertificatePem), aws.ToString(claim.KeyPair.PrivateKey)

	tests := []struct {
		name            string
		certPEM, keyPEM string
		clientID        string
		topic           string
		wantConnect     bool
	}{
		{"device, will on its own telemetry", a.certPEM, a.keyPEM, a.thingName, "dt/widget-A/status", true},
		{"device, will on another thing's commands", a.certPEM, a.keyPEM, a.thingName, "cmd/widget-B/unlock", false},
		{"device, will on another thing's shadow", a.certPEM, a.keyPEM, a.thingName, "$aws/things/widget-B/shadow/update", false},
		{"device, will on its own commands (receive only)", a.certPEM, a.keyPEM, a.thingName, "cmd/widget-A/unlock", false},
		{"claim, will on a provisioning reply", claimCert, claimKey, "attacker", "$aws/certificates/create/json/accepted", false},
		{"claim, will on a device's commands", claimCert, claimKey, "attacker", "cmd/widget-A/unlock", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.dial(t, tt.certPEM, tt.keyPEM, tt.clientID, func(o *paho.ClientOptions) {
				o.SetBinaryWill(tt.topic, []byte(`{"forged":true}`), 1, true)
			})
			if got := err == nil; got != tt.wantConnect {
				t.Errorf("connected = %v (err %v), want %v", got, err, tt.wantConnect)
			}
		})
	}
}

// TestPacketSizeLimit: a message within AWS IoT's 128 KB is delivered; a
// larger packet ends the connection before it is read into memory.
func TestPacketSizeLimit(t *testing.T) {
	e := newEnv(t)
	claimConn, _ := e.claimConn(t, "widget", "installer")
	a := e.provision(t, claimConn, "widget", map[string]string{"SerialNumber": "A"})
	conn, err := e.dial(t, a.certPEM, a.keyPEM, a.thingName)
	if err != nil {
		t.Fatal(err)
	}
	conn.subscribe(t, "$aws/things/widget-A/shadow/#")
	big := bytes.Repeat([]byte("x"), 128*1024)
	conn.publish(t, "$aws/things/widget-A/shadow/update", 1, big)
	if got := conn.await(t, "$aws/things/widget-A/shadow/#"); len(got) != len(big) {
		t.Fatalf("got %d bytes, want %d", len(got), len(big))
	}
	conn.Publish("$aws/things/widget-A/shadow/update", 1, false, append(big, make([]byte, 2048)...))
	conn.awaitLost(t)
}

// selfSigned returns a client certificate and key that no local CA signed.
func selfSigned(t *testing.T) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "intruder"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
}

// TestConnectRefusalMQTT5: an MQTT 5 client whose certificate may not use
// its client ID reads reason code 135 (not authorized) in its CONNACK, as
// from AWS IoT; the client ID the certificate may use gets 0.
func TestConnectRefusalMQTT5(t *testing.T) {
	e := newEnv(t)
	claimConn, _ := e.claimConn(t, "widget", "installer")
	creds := e.provision(t, claimConn, "widget", map[string]string{"SerialNumber": "R5"})
	tests := []struct {
		name     string
		clientID string
		want     byte
	}{
		{"its thing name", creds.thingName, 0x00},
		{"another thing's name", "widget-R6", 0x87},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := connackMQTT5(t, e, creds.certPEM, creds.keyPEM, tt.clientID); got != tt.want {
				t.Errorf("got CONNACK reason code %#x, want %#x", got, tt.want)
			}
		})
	}
}

// connackMQTT5 sends a bare MQTT 5 CONNECT over TLS and returns the reason
// code of the CONNACK. Neither MQTT client the project uses speaks MQTT 5,
// and the packet is small enough to write by hand.
func connackMQTT5(t *testing.T, e *env, certPEM, keyPEM, clientID string) byte {
	t.Helper()
	cert, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", e.core.MQTTAddr(), &tls.Config{RootCAs: e.caPool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(waitFor))
	// Variable header: protocol name, level 5, clean start, keep-alive 60 s,
	// no properties; payload: the client ID.
	body := append([]byte{0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 60, 0}, byte(len(clientID)>>8), byte(len(clientID)))
	body = append(body, clientID...)
	if len(body) > 127 {
		t.Fatalf("client ID %q too long for a one-byte remaining length", clientID)
	}
	if _, err := conn.Write(append([]byte{0x10, byte(len(body))}, body...)); err != nil {
		t.Fatal(err)
	}
	// CONNACK: type, remaining length, acknowledge flags, reason code.
	head := make([]byte, 4)
	if _, err := io.ReadFull(conn, head); err != nil {
		t.Fatalf("read CONNACK: %v", err)
	}
	if head[0] != 0x20 {
		t.Fatalf("got packet type %#x, want CONNACK", head[0])
	}
	return head[3]
}
