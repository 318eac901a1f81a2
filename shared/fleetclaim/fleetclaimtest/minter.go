package fleetclaimtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// KeyMarker is in the body of every private key a Minter hands out, once,
// and in nothing else it returns: a test that finds it in a log line, an
// answer or a store file has found a key. It begins with "SECRET", which
// tests also look for on its own.
const KeyMarker = "SECRETKEYMATERIAL"

// certificatePEM is the claim certificate every Minter claim carries.
const certificatePEM = "-----BEGIN CERTIFICATE-----\nMIIDWTCCAkGgAwIBAgIUEAI8\n-----END CERTIFICATE-----\n"

// Minter stands in for AWS IoT CreateProvisioningClaim. Each claim gets a
// distinct certificate ID and a distinct private key that holds KeyMarker,
// and expires five minutes after Now. Its zero value is ready to use.
type Minter struct {
	// Now is the clock expirations are set from; nil means time.Now.
	Now func() time.Time

	mu     sync.Mutex
	err    error
	calls  int
	minted int
}

// CreateProvisioningClaim mints the next claim, or fails with the error
// given to Fail.
func (m *Minter) CreateProvisioningClaim(_ context.Context, template string) (fleetclaim.MintedClaim, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.err != nil {
		return fleetclaim.MintedClaim{}, m.err
	}
	m.minted++
	id := sha256.Sum256(fmt.Appendf(nil, "claim %d of %s", m.minted, template))
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	return fleetclaim.MintedClaim{CertificateID: hex.EncodeToString(id[:]), CertificatePEM: certificatePEM,
		PrivateKey: fleetclaim.NewSecret(privateKey(m.minted)), Expiration: now().Add(5 * time.Minute)}, nil
}

// Fail makes the calls that follow fail with err, as AWS IoT does when it
// throttles or is down; Fail(nil) makes them succeed again.
func (m *Minter) Fail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.err = err
}

// Calls counts the calls made, the failed ones included.
func (m *Minter) Calls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

// Keys returns the private keys handed out, in order.
func (m *Minter) Keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]string, m.minted)
	for i := range keys {
		keys[i] = privateKey(i + 1)
	}
	return keys
}

// privateKey is the PEM private key of the nth claim. The keys are derived
// from n rather than kept, so that a benchmark minting millions of claims
// does not grow a list.
func privateKey(n int) string {
	return fmt.Sprintf("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA%s%04d\n-----END RSA PRIVATE KEY-----\n", KeyMarker, n)
}
