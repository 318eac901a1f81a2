package main

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	iotsdk "github.com/aws/aws-sdk-go-v2/service/iot"
	iottypes "github.com/aws/aws-sdk-go-v2/service/iot/types"

	"github.com/fleetclaim/fleetclaim/infra/local/device"
	"github.com/fleetclaim/fleetclaim/shared/awsenv"
)

// A device whose certificate an operator revoked in AWS IoT (as one does
// with a leaked key) is still decommissioned through the API: AWS IoT will
// not move a REVOKED certificate to INACTIVE, and that refusal must not
// leave the serial taken for good, since stuck serials are repaired through
// the API, never by editing the table.
func TestEndToEndDecommissionRevokedCertificate(t *testing.T) {
	x := startStack(t, t.TempDir())
	ctx := t.Context()
	owner := x.approvedInstaller("acme")
	serial := "SN-" + randomSuffix()

	c := x.issue(owner, serial)
	res, err := device.Provision(ctx, x.deviceConfig(), creds(c), c.TemplateName, serial, false)
	if err != nil {
		t.Fatalf("provision: %v", err)
	}
	sdk := awsenv.Local(x.e.Region)
	sdk.Credentials = credentials.StaticCredentialsProvider{Value: x.e.operator}
	if _, err := awsenv.IoT(sdk, x.e.IoTEndpoint).UpdateCertificate(ctx, &iotsdk.UpdateCertificateInput{
		CertificateId: aws.String(res.Certificate.CertificateID), NewStatus: iottypes.CertificateStatusRevoked}); err != nil {
		t.Fatalf("revoke the device certificate as the operator: %v", err)
	}

	var d deviceJSON
	if err := x.admin.call(ctx, "POST", "/devices/"+serial+"/decommission", map[string]string{"reason": "key leaked"}, &d); err != nil {
		t.Fatalf("decommission a device whose certificate is revoked: %v", err)
	}
	if d.State != "decommissioned" || d.CertificateID != res.Certificate.CertificateID {
		t.Errorf("got %+v, want the device decommissioned", d)
	}
	// The serial is free for a replacement unit.
	again := x.issue(owner, serial)
	if _, err := device.Provision(ctx, x.deviceConfig(), creds(again), again.TemplateName, serial, false); err != nil {
		t.Errorf("provision the replacement: %v", err)
	}
}
