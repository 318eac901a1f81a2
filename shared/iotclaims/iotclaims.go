// Package iotclaims reaches the AWS IoT control plane: it mints provisioning
// claims (CreateProvisioningClaim), finds the data endpoint devices use, and
// takes certificates out of service (UpdateCertificate, DetachThingPrincipal).
package iotclaims

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// API is the part of the AWS IoT client this package calls.
type API interface {
	CreateProvisioningClaim(ctx context.Context, in *iot.CreateProvisioningClaimInput, opts ...func(*iot.Options)) (*iot.CreateProvisioningClaimOutput, error)
	DescribeEndpoint(ctx context.Context, in *iot.DescribeEndpointInput, opts ...func(*iot.Options)) (*iot.DescribeEndpointOutput, error)
}

// Minter creates claim certificates.
type Minter struct{ api API }

// NewMinter returns a Minter using api.
func NewMinter(api API) *Minter { return &Minter{api: api} }

// CreateProvisioningClaim asks AWS IoT for a claim certificate and key for
// template. The key is wrapped as a fleetclaim.Secret at once so that no log
// line can carry it.
func (m *Minter) CreateProvisioningClaim(ctx context.Context, template string) (fleetclaim.MintedClaim, error) {
	out, err := m.api.CreateProvisioningClaim(ctx, &iot.CreateProvisioningClaimInput{TemplateName: aws.String(template)})
	if err != nil {
		var throttled *types.ThrottlingException
		if errors.As(err, &throttled) {
			return fleetclaim.MintedClaim{}, fmt.Errorf("create provisioning claim for %s: %w", template, fleetclaim.ErrThrottled)
		}
		return fleetclaim.MintedClaim{}, fmt.Errorf("create provisioning claim for %s: %w", template, err)
	}
	if out.CertificateId == nil || out.CertificatePem == nil || out.KeyPair == nil || out.KeyPair.PrivateKey == nil || out.Expiration == nil {
		return fleetclaim.MintedClaim{}, fmt.Errorf("create provisioning claim for %s: incomplete answer", template)
	}
	return fleetclaim.MintedClaim{
		CertificateID:  *out.CertificateId,
		CertificatePEM: *out.CertificatePem,
		PrivateKey:     fleetclaim.NewSecret(*out.KeyPair.PrivateKey),
		Expiration:     *out.Expiration,
	}, nil
}

// Endpoint finds the account's AWS IoT data (ATS) endpoint once and remembers
// it. It is resolved lazily, on the first claim, so that a cold start does no
// network call, and a failure is retried on the next request.
type Endpoint struct {
	api   API
	mu    sync.Mutex
	value string
}

// NewEndpoint returns an Endpoint; a non-empty configured value is used as is.
func NewEndpoint(api API, configured string) *Endpoint {
	return &Endpoint{api: api, value: configured}
}

// Get returns the data endpoint host name.
func (e *Endpoint) Get(ctx context.Context) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.value != "" {
		return e.value, nil
	}
	out, err := e.api.DescribeEndpoint(ctx, &iot.DescribeEndpointInput{EndpointType: aws.String("iot:Data-ATS")})
	if err != nil {
		return "", fmt.Errorf("describe IoT endpoint: %w", err)
	}
	if out.EndpointAddress == nil || *out.EndpointAddress == "" {
		return "", errors.New("describe IoT endpoint: empty address")
	}
	e.value = *out.EndpointAddress
	return e.value, nil
}
