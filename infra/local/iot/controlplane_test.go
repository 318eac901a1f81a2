package iot

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	iotsdk "github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"
	"github.com/aws/smithy-go"

	"github.com/fleetclaim/fleetclaim/infra/local/sigv4"
)

// TestCreateProvisioningClaim checks the claim an unmodified SDK client gets.
func TestCreateProvisioningClaim(t *testing.T) {
	e := newEnv(t)
	out := e.claim(t, "widget")

	id := aws.ToString(out.CertificateId)
	cert := verifyIssued(t, e, aws.ToString(out.CertificatePem), id)
	if got, want := aws.ToTime(out.Expiration), e.clock.Now().Add(DefaultClaimLifetime); got.Sub(want).Abs() > time.Second {
		t.Errorf("expiration = %s, want %s", got, want)
	}
	if got, want := cert.NotAfter, aws.ToTime(out.Expiration); got.Sub(want).Abs() > time.Second {
		t.Errorf("certificate NotAfter = %s, want the expiration %s", got, want)
	}
	if out.KeyPair == nil || !strings.Contains(aws.ToString(out.KeyPair.PrivateKey), "PRIVATE KEY") ||
		!strings.Contains(aws.ToString(out.KeyPair.PublicKey), "PUBLIC KEY") {
		t.Errorf("keyPair = %+v, want PEM public and private keys", out.KeyPair)
	}

	rec, ok := e.core.store.certificate(id)
	if !ok || rec.Kind != kindClaim || rec.Template != "widget" || rec.Status != statusActive {
		t.Errorf("claim record = %+v (found %v), want an active claim for widget", rec, ok)
	}
}

// TestControlPlaneErrors: the SDK gets AWS IoT's typed errors.
func TestControlPlaneErrors(t *testing.T) {
	e := newEnv(t)
	isNotFound := func(err error) bool {
		var want *types.ResourceNotFoundException
		return errors.As(err, &want)
	}
	isInvalid := func(err error) bool {
		var want *types.InvalidRequestException
		return errors.As(err, &want)
	}
	tests := []struct {
		name     string
		call     func() error
		want     func(error) bool
		wantType string
	}{
		{"claim for an unknown template", func() error {
			_, err := e.sdk.CreateProvisioningClaim(t.Context(), &iotsdk.CreateProvisioningClaimInput{TemplateName: aws.String("nosuch")})
			return err
		}, isNotFound, "ResourceNotFoundException"},
		{"claim for a malformed template name", func() error {
			_, err := e.sdk.CreateProvisioningClaim(t.Context(), &iotsdk.CreateProvisioningClaimInput{TemplateName: aws.String("no such/template")})
			return err
		}, isInvalid, "InvalidRequestException"},
		{"endpoint of an unserved type", func() error {
			_, err := e.sdk.DescribeEndpoint(t.Context(), &iotsdk.DescribeEndpointInput{EndpointType: aws.String("iot:Jobs")})
			return err
		}, isInvalid, "InvalidRequestException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !tt.want(err) {
				t.Errorf("error = %v, want a %s", err, tt.wantType)
			}
			var apiErr smithy.APIError
			if errors.As(err, &apiErr) && apiErr.ErrorMessage() == "" {
				t.Error("error has no message")
			}
		})
	}

	_, err := e.core.CreateProvisioningClaim(t.Context(), "nosuch")
	if !errors.Is(err, ErrTemplateNotFound) {
		t.Errorf("CreateProvisioningClaim(nosuch) error = %v, want ErrTemplateNotFound", err)
	}
}

func TestDescribeEndpoint(t *testing.T) {
	e := newEnv(t)
	for _, endpointType := range []string{"iot:Data-ATS", "iot:Data"} {
		t.Run(endpointType, func(t *testing.T) {
			out, err := e.sdk.DescribeEndpoint(t.Context(), &iotsdk.DescribeEndpointInput{EndpointType: aws.String(endpointType)})
			if err != nil {
				t.Fatalf("DescribeEndpoint: %v", err)
			}
			if got, want := aws.ToString(out.EndpointAddress), e.core.MQTTAddr(); got != want || !strings.HasPrefix(got, "127.0.0.1:") {
				t.Errorf("endpointAddress = %q, want %q on loopback", got, want)
			}
		})
	}
}

func TestUnknownOperation(t *testing.T) {
	e := newEnv(t)
	req := signedRequest(t, http.MethodGet, "/things", testCredentials)
	rec := httptest.NewRecorder()
	e.core.ControlPlane().ServeHTTP(rec, req)
	if got, want := rec.Code, http.StatusNotFound; got != want {
		t.Errorf("status = %d, want %d", got, want)
	}
	if got, want := rec.Header().Get("X-Amzn-ErrorType"), "UnknownOperationException"; got != want {
		t.Errorf("X-Amzn-ErrorType = %q, want %q", got, want)
	}
}

// TestStateSurvivesRestart: the CA, claims, ownership tokens, device
// certificates and things outlive the process.
func TestStateSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	caBefore, err := os.ReadFile(e.core.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	claimConn, claim := e.claimConn(t, "widget", "installer")
	device := e.provision(t, claimConn, "widget", map[string]string{"SerialNumber": "P1"})
	var pending createKeysAndCertificateResponse
	claimConn.mustCall(t, topicCreateKeysAndCertificate, nil, &pending)

	e.restart(t)

	caAfter, err := os.ReadFile(e.core.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(caBefore, caAfter) {
		t.Error("ca.pem changed across a restart")
	}
	if _, err := e.dial(t, device.certPEM, device.keyPEM, device.thingName); err != nil {
		t.Errorf("device provisioned before the restart cannot connect: %v", err)
	}
	// The claim and the ownership token issued before the restart still work.
	conn, err := e.dial(t, aws.ToString(claim.CertificatePem), aws.ToString(claim.KeyPair.PrivateKey), "installer")
	if err != nil {
		t.Fatalf("claim issued before the restart cannot connect: %v", err)
	}
	conn.subscribe(t, registerThingTopic("widget")+suffixAccepted)
	conn.subscribe(t, registerThingTopic("widget")+suffixRejected)
	var reg registerThingResponse
	conn.mustCall(t, registerThingTopic("widget"), mustJSON(t, registerThingRequest{
		CertificateOwnershipToken: pending.CertificateOwnershipToken,
		Parameters:                map[string]string{"SerialNumber": "P2"},
	}), &reg)
	if _, err := e.dial(t, pending.CertificatePEM, pending.PrivateKey, reg.ThingName); err != nil {
		t.Errorf("device registered after the restart cannot connect: %v", err)
	}

	for _, name := range []string{caCertFile, caKeyFile, stateFile} {
		info, err := os.Stat(filepath.Join(e.dataDir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if name != caCertFile && info.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, want 0600", name, info.Mode().Perm())
		}
	}
	state, err := os.ReadFile(filepath.Join(e.dataDir, stateFile))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(state, []byte("PRIVATE KEY")) || bytes.Contains(state, []byte(pending.CertificateOwnershipToken)) {
		t.Error("state file holds a private key or a usable ownership token")
	}
}

// signedRequest is a control-plane request signed as an SDK signs one.
func signedRequest(t *testing.T, method, path string, creds aws.Credentials) *http.Request {
	t.Helper()
	req := httptest.NewRequest(method, "http://127.0.0.1:8443"+path, nil)
	if err := sigv4.Sign(req, nil, creds, DefaultRegion, "iot", time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

// The control plane is for IAM principals, as in AWS: a call that is not
// signed, or signed with other credentials, mints nothing.
func TestControlPlaneNeedsTheCredentials(t *testing.T) {
	e := newEnv(t)
	claims := func() int {
		n := 0
		e.core.store.view(func(s *state) {
			for _, c := range s.Certificates {
				if c.Kind == kindClaim {
					n++
				}
			}
		})
		return n
	}
	before := claims()
	for _, tt := range []struct {
		name     string
		req      *http.Request
		wantType string
	}{
		{"unsigned", httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8443/provisioning-templates/widget/provisioning-claim", nil),
			"MissingAuthenticationTokenException"},
		{"other credentials", signedRequest(t, http.MethodPost, "/provisioning-templates/widget/provisioning-claim",
			aws.Credentials{AccessKeyID: "AKIDLOCAL", SecretAccessKey: "guessed"}), "InvalidSignatureException"},
		{"another access key", signedRequest(t, http.MethodPost, "/provisioning-templates/widget/provisioning-claim",
			aws.Credentials{AccessKeyID: "AKIDOTHER", SecretAccessKey: "local-secret"}), "UnrecognizedClientException"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			e.core.ControlPlane().ServeHTTP(rec, tt.req)
			if rec.Code != http.StatusForbidden || rec.Header().Get("X-Amzn-ErrorType") != tt.wantType {
				t.Errorf("got %d %s, want 403 %s", rec.Code, rec.Header().Get("X-Amzn-ErrorType"), tt.wantType)
			}
		})
	}
	if after := claims(); after != before {
		t.Errorf("%d claims minted by refused calls", after-before)
	}
	rec := httptest.NewRecorder()
	e.core.ControlPlane().ServeHTTP(rec, signedRequest(t, http.MethodPost, "/provisioning-templates/widget/provisioning-claim", testCredentials))
	if rec.Code != http.StatusOK || claims() != before+1 {
		t.Errorf("signed with the credentials: got %d %s and %d claims, want 200 and one more", rec.Code, rec.Body, claims()-before)
	}
}
