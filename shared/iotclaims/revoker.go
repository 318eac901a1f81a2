package iotclaims

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// RevokerAPI is the part of the AWS IoT client a Revoker calls.
type RevokerAPI interface {
	UpdateCertificate(ctx context.Context, in *iot.UpdateCertificateInput, opts ...func(*iot.Options)) (*iot.UpdateCertificateOutput, error)
	DescribeCertificate(ctx context.Context, in *iot.DescribeCertificateInput, opts ...func(*iot.Options)) (*iot.DescribeCertificateOutput, error)
	DetachThingPrincipal(ctx context.Context, in *iot.DetachThingPrincipalInput, opts ...func(*iot.Options)) (*iot.DetachThingPrincipalOutput, error)
}

// Revoker takes certificates out of service in AWS IoT: it deactivates them,
// after which AWS IoT refuses their connections and drops the open ones, and
// detaches them from their things. Every call is idempotent, so a caller that
// failed half-way repeats the whole operation.
type Revoker struct{ api RevokerAPI }

// Revoker is the domain's way to take certificates out of service in AWS IoT.
var _ fleetclaim.CertificateRevoker = (*Revoker)(nil)

// NewRevoker returns a Revoker using api.
func NewRevoker(api RevokerAPI) *Revoker { return &Revoker{api: api} }

// DeactivateCertificate sets the certificate INACTIVE. AWS IoT documents
// UpdateCertificate as idempotent, so a certificate already inactive is
// done; one that does not exist can never connect, so it is done too, and
// so is one AWS IoT will not change because it is already REVOKED.
// Throttling wraps fleetclaim.ErrThrottled.
func (r *Revoker) DeactivateCertificate(ctx context.Context, certificateID string) error {
	_, err := r.api.UpdateCertificate(ctx, &iot.UpdateCertificateInput{
		CertificateId: aws.String(certificateID),
		NewStatus:     types.CertificateStatusInactive,
	})
	var state *types.CertificateStateException
	if errors.As(err, &state) {
		err = r.outOfService(ctx, certificateID, err)
	}
	if err = absentIsDone(err); err != nil {
		return fmt.Errorf("deactivate certificate %s: %w", certificateID, classify(err))
	}
	return nil
}

// outOfService decides an UpdateCertificate that AWS IoT refused because
// the certificate's status cannot change so: a certificate already REVOKED
// (by an operator, say) or INACTIVE can never connect again, so it is done;
// otherwise refused stays refused. Without this, a device whose certificate
// an operator revoked could never be decommissioned, and its serial would
// stay taken with no way through the API to free it.
func (r *Revoker) outOfService(ctx context.Context, certificateID string, refused error) error {
	desc, err := r.api.DescribeCertificate(ctx, &iot.DescribeCertificateInput{CertificateId: aws.String(certificateID)})
	if err != nil {
		return err
	}
	if d := desc.CertificateDescription; d != nil &&
		(d.Status == types.CertificateStatusRevoked || d.Status == types.CertificateStatusInactive) {
		return nil
	}
	return refused
}

// DetachCertificate detaches the certificate from the thing. AWS IoT names
// the principal by the certificate's ARN, which it is asked for rather than
// assembled here from an account ID the function would have to be told. A
// certificate or thing that does not exist, or a certificate no longer
// attached, is done.
func (r *Revoker) DetachCertificate(ctx context.Context, thingName, certificateID string) error {
	desc, err := r.api.DescribeCertificate(ctx, &iot.DescribeCertificateInput{CertificateId: aws.String(certificateID)})
	if err != nil {
		if err = absentIsDone(err); err != nil {
			return fmt.Errorf("detach certificate %s from %s: describe: %w", certificateID, thingName, classify(err))
		}
		return nil
	}
	if desc.CertificateDescription == nil || aws.ToString(desc.CertificateDescription.CertificateArn) == "" {
		return fmt.Errorf("detach certificate %s from %s: describe: no certificate ARN in the answer", certificateID, thingName)
	}
	_, err = r.api.DetachThingPrincipal(ctx, &iot.DetachThingPrincipalInput{
		ThingName: aws.String(thingName),
		Principal: desc.CertificateDescription.CertificateArn,
	})
	if err = absentIsDone(err); err != nil {
		return fmt.Errorf("detach certificate %s from %s: %w", certificateID, thingName, classify(err))
	}
	return nil
}

// absentIsDone turns AWS IoT's "not found" into success: what is not there
// is neither active nor attached.
func absentIsDone(err error) error {
	var notFound *types.ResourceNotFoundException
	if errors.As(err, &notFound) {
		return nil
	}
	return err
}

// classify marks AWS IoT's throttling as fleetclaim.ErrThrottled, keeping
// AWS's error for the log.
func classify(err error) error {
	var throttled *types.ThrottlingException
	if errors.As(err, &throttled) {
		return fmt.Errorf("%w: %w", fleetclaim.ErrThrottled, err)
	}
	return err
}
