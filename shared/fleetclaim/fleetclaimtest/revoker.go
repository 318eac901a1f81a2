package fleetclaimtest

import (
	"context"
	"slices"
	"sync"
)

// Revoker stands in for AWS IoT's certificate deactivation and detachment
// (fleetclaim.CertificateRevoker). It records each call as
// "deactivate CERT" or "detach THING CERT", in order, and, like AWS IoT,
// treats repeating either as success. Its zero value is ready to use.
type Revoker struct {
	mu       sync.Mutex
	err      error
	calls    []string
	inactive map[string]bool
}

// Fail makes the calls that follow fail with err (they are still recorded,
// and change nothing); Fail(nil) makes them succeed again.
func (r *Revoker) Fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

// Calls returns the calls recorded so far, in order.
func (r *Revoker) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// Inactive reports whether a call deactivated certificateID.
func (r *Revoker) Inactive(certificateID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inactive[certificateID]
}

// DeactivateCertificate records "deactivate CERT".
func (r *Revoker) DeactivateCertificate(_ context.Context, certificateID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "deactivate "+certificateID)
	if r.err != nil {
		return r.err
	}
	if r.inactive == nil {
		r.inactive = map[string]bool{}
	}
	r.inactive[certificateID] = true
	return nil
}

// DetachCertificate records "detach THING CERT".
func (r *Revoker) DetachCertificate(_ context.Context, thingName, certificateID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "detach "+thingName+" "+certificateID)
	return r.err
}

// NopRevoker accepts every deactivation and detachment and keeps nothing:
// for benchmarks, where Revoker's record of calls would add its own cost to
// every figure.
type NopRevoker struct{}

// DeactivateCertificate succeeds.
func (NopRevoker) DeactivateCertificate(context.Context, string) error { return nil }

// DetachCertificate succeeds.
func (NopRevoker) DetachCertificate(context.Context, string, string) error { return nil }
