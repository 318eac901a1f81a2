package iot

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"time"

	"github.com/fleetclaim/fleetclaim/infra/local/statefile"
)

// Files the authority keeps in the data directory.
const (
	caCertFile = "ca.pem"
	caKeyFile  = "ca-key.pem"
)

// issuedCommonName is the subject AWS IoT gives the certificates it issues;
// kept so that anything inspecting a certificate sees what it would in AWS.
const issuedCommonName = "AWS IoT Certificate"

// deviceNotAfter is when AWS IoT's own device certificates expire.
var deviceNotAfter = time.Date(2049, time.December, 31, 23, 59, 59, 0, time.UTC)

// authority is the local certificate authority. It signs claim, device and
// server certificates; clients trust its certificate (ca.pem) the way they
// trust Amazon's root CA.
type authority struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

// loadOrCreateAuthority reads the CA from the data directory, or creates and
// saves one when it has none yet, so that certificates issued before a
// restart stay valid after it.
func loadOrCreateAuthority(dir *os.Root, now time.Time) (*authority, error) {
	certPEM, certErr := dir.ReadFile(caCertFile)
	keyPEM, keyErr := dir.ReadFile(caKeyFile)
	switch {
	case certErr == nil && keyErr == nil:
		return parseAuthority(certPEM, keyPEM)
	case certErr != nil && !errors.Is(certErr, fs.ErrNotExist):
		return nil, fmt.Errorf("read CA certificate: %w", certErr)
	case errors.Is(certErr, fs.ErrNotExist):
		// No certificate was ever handed out, so a key left alone by an
		// interrupted first start can be replaced.
		return createAuthority(dir, now)
	default:
		// Clients may already trust this certificate; minting a new CA
		// would silently invalidate everything issued under it.
		return nil, fmt.Errorf("read CA key %s: %w", caKeyFile, keyErr)
	}
}

func parseAuthority(certPEM, keyPEM []byte) (*authority, error) {
	certBlock, _ := pem.Decode(certPEM)
	if certBlock == nil || certBlock.Type != "CERTIFICATE" {
		return nil, errors.New("CA certificate: no PEM certificate")
	}
	cert, err := x509.ParseCertificate(certBlock.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	keyBlock, _ := pem.Decode(keyPEM)
	if keyBlock == nil {
		return nil, errors.New("CA key: no PEM block")
	}
	key, err := x509.ParseECPrivateKey(keyBlock.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse CA key: %w", err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("CA key does not match CA certificate")
	}
	return &authority{cert: cert, key: key, certPEM: certPEM}, nil
}

func createAuthority(dir *os.Root, now time.Time) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "fleetclaim local IoT CA", Organization: []string{"fleetclaim local stack"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode CA key: %w", err)
	}
	// The key goes first: a lone key file is replaced on the next start,
	// while a certificate without its key would be refused.
	if err := statefile.WriteFile(dir, caKeyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, fmt.Errorf("save CA key: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := statefile.WriteFile(dir, caCertFile, certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("save CA certificate: %w", err)
	}
	return &authority{cert: cert, key: key, certPEM: certPEM}, nil
}

// pool returns a certificate pool holding only this CA.
func (a *authority) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.cert)
	return p
}

// issueClient signs a client certificate for pub, valid from notBefore to
// notAfter, with the subject AWS IoT uses unless subject is given (a CSR's).
func (a *authority) issueClient(pub crypto.PublicKey, subject *pkix.Name, notBefore, notAfter time.Time) (der []byte, err error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	name := pkix.Name{CommonName: issuedCommonName}
	if subject != nil {
		name = *subject
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      name,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if _, ok := pub.(*rsa.PublicKey); ok {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	der, err = x509.CreateCertificate(rand.Reader, tmpl, a.cert, pub, a.key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	return der, nil
}

// serverCertificate issues the MQTT listener's certificate for the loopback
// names clients dial. It is not persisted: clients trust the CA, not it.
func (a *authority) serverCertificate(now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate server key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("sign server certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der, a.cert.Raw}, PrivateKey: key}, nil
}

// keyPair is a freshly generated client key pair in the PEM encodings AWS
// IoT returns: PKCS #1 for the private key, PKIX for the public key.
type keyPair struct {
	key           *rsa.PrivateKey
	publicKeyPEM  string
	privateKeyPEM string
}

// newKeyPair generates an RSA 2048 key pair, the kind AWS IoT generates for
// CreateProvisioningClaim and CreateKeysAndCertificate.
func newKeyPair() (keyPair, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return keyPair{}, fmt.Errorf("generate key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return keyPair{}, fmt.Errorf("encode public key: %w", err)
	}
	return keyPair{
		key:           key,
		publicKeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})),
		privateKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})),
	}, nil
}

// certificateID is how AWS IoT names a certificate: the lowercase hex
// SHA-256 of its DER encoding.
func certificateID(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

func certificatePEM(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func newSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("certificate serial: %w", err)
	}
	return serial, nil
}
