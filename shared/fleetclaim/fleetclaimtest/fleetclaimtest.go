// Package fleetclaimtest is test support: the hand-written fakes of the
// domain's ports that the tests of several packages build their worlds
// from. Only _test.go files import it.
//
//   - Minter stands in for AWS IoT CreateProvisioningClaim and keeps the
//     private keys it hands out, so that tests can look for them in logs,
//     answers and store files;
//   - Groups stands in for the Cognito group administration and records
//     each call;
//   - Revoker stands in for AWS IoT's certificate deactivation and
//     detachment, records each call and can be made to fail;
//   - LogBuffer collects log lines from concurrent writers;
//   - MemStore keeps the few records a benchmark touches in maps;
//   - OpenBolt opens a fresh embedded store;
//   - Clock is a settable clock;
//   - Stall stands for a dependency that never answers, and Within runs
//     the code under test against it with a bound on the wait.
//
// Valid random IDs come from storetest (NewClaimID, NewInstallerID), which
// builds the store fixtures; NewCertificateID is here for the device
// certificates a test presents.
package fleetclaimtest

import (
	"bytes"
	"path/filepath"
	"sync"
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/boltstore"
	"github.com/fleetclaim/fleetclaim/shared/storetest"
)

// OpenBolt opens an empty embedded store in a temporary directory and
// closes it when the test ends.
func OpenBolt(tb testing.TB) *boltstore.Store {
	tb.Helper()
	s, err := boltstore.Open(filepath.Join(tb.TempDir(), "fleetclaim.db"))
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// NewCertificateID returns a random AWS IoT certificate ID (64 lowercase
// hex characters). A claim ID has the same shape: it is the ID of the
// claim's certificate.
func NewCertificateID() string { return string(storetest.NewClaimID()) }

// LogBuffer collects log lines from concurrent writers. Its zero value is
// ready to use.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
