package iotclaims_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iot"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/iotclaims"
)

const (
	certID = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
	key    = "-----BEGIN RSA PRIVATE KEY-----\nSECRETKEY\n-----END RSA PRIVATE KEY-----\n"
)

// awsIoT serves the two AWS IoT operations the package calls, answering
// each with the status, error type and body a test sets, as AWS IoT's
// REST-JSON protocol does, on a loopback port.
type awsIoT struct {
	claimStatus, endpointStatus int
	claimBody, endpointBody     string
	errorType                   string
	claims, endpoints           atomic.Int32
}

func (a *awsIoT) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	status, body := http.StatusNotFound, `{"message":"no such operation"}`
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/provisioning-templates/fleet/provisioning-claim":
		a.claims.Add(1)
		status, body = a.claimStatus, a.claimBody
	case r.Method == http.MethodGet && r.URL.Path == "/endpoint" && r.URL.Query().Get("endpointType") == "iot:Data-ATS":
		a.endpoints.Add(1)
		status, body = a.endpointStatus, a.endpointBody
	}
	w.Header().Set("Content-Type", "application/json")
	if status >= 400 {
		w.Header().Set("X-Amzn-Errortype", a.errorType)
	}
	w.WriteHeader(status)
	_, _ = fmt.Fprint(w, body)
}

// client is the real SDK client pointed at a, with no retries, so that each
// call is one request.
func client(t *testing.T, a *awsIoT) *iot.Client {
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return iot.New(iot.Options{
		Region:           "eu-west-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret", ""),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
}

func claimBody(fields ...string) string {
	all := map[string]string{
		"certificateId":  `"certificateId":"` + certID + `"`,
		"certificatePem": `"certificatePem":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"`,
		"keyPair":        `"keyPair":{"PublicKey":"pub","PrivateKey":"` + strings.ReplaceAll(key, "\n", `\n`) + `"}`,
		"expiration":     `"expiration":1795432500`,
	}
	var parts []string
	for _, f := range fields {
		parts = append(parts, all[f])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func TestCreateProvisioningClaim(t *testing.T) {
	a := &awsIoT{claimStatus: 200, claimBody: claimBody("certificateId", "certificatePem", "keyPair", "expiration")}
	m := iotclaims.NewMinter(client(t, a))
	got, err := m.CreateProvisioningClaim(context.Background(), "fleet")
	if err != nil {
		t.Fatal(err)
	}
	if got.CertificateID != certID || !strings.Contains(got.CertificatePEM, "MIIB") || got.Expiration.Unix() != 1795432500 {
		t.Errorf("got %+v", got)
	}
	if got.PrivateKey.Reveal() != key {
		t.Errorf("got key %q, want the one AWS IoT returned", got.PrivateKey.Reveal())
	}
	if s := fmt.Sprintf("%v %+v %s", got, got, got.PrivateKey); strings.Contains(s, "SECRETKEY") {
		t.Errorf("the key prints: %s", s)
	}
}

// AWS IoT's throttling is reported as fleetclaim.ErrThrottled, which the
// API answers with 503 "throttled" and Retry-After; any other failure, or an
// answer missing a part, is an error that is not throttling.
func TestCreateProvisioningClaimFailures(t *testing.T) {
	for _, tt := range []struct {
		name          string
		status        int
		errorType     string
		body          string
		wantThrottled bool
	}{
		{"throttled", 429, "ThrottlingException", `{"message":"Rate exceeded"}`, true},
		{"service unavailable", 503, "ServiceUnavailableException", `{"message":"try later"}`, false},
		{"no such template", 404, "ResourceNotFoundException", `{"message":"template not found"}`, false},
		{"denied", 403, "AccessDeniedException", `{"message":"denied"}`, false},
		{"no certificate ID", 200, "", claimBody("certificatePem", "keyPair", "expiration"), false},
		{"no certificate", 200, "", claimBody("certificateId", "keyPair", "expiration"), false},
		{"no key pair", 200, "", claimBody("certificateId", "certificatePem", "expiration"), false},
		{"no expiration", 200, "", claimBody("certificateId", "certificatePem", "keyPair"), false},
		{"not JSON", 200, "", `<html>`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := &awsIoT{claimStatus: tt.status, claimBody: tt.body, errorType: tt.errorType}
			got, err := iotclaims.NewMinter(client(t, a)).CreateProvisioningClaim(context.Background(), "fleet")
			if err == nil {
				t.Fatalf("got %+v, want an error", got)
			}
			if errors.Is(err, fleetclaim.ErrThrottled) != tt.wantThrottled {
				t.Errorf("got %v; throttled %v, want %v", err, errors.Is(err, fleetclaim.ErrThrottled), tt.wantThrottled)
			}
			if got.PrivateKey.Reveal() != "" || strings.Contains(err.Error(), "SECRETKEY") {
				t.Errorf("a failed call returned or reported the key: %+v, %v", got, err)
			}
			if n := a.claims.Load(); n != 1 {
				t.Errorf("AWS IoT was called %d times, want once", n)
			}
		})
	}
}

// The data endpoint is looked up on first use and then remembered; a failed
// lookup is not remembered, and a configured endpoint is never looked up.
func TestEndpoint(t *testing.T) {
	a := &awsIoT{endpointStatus: 503, endpointBody: `{"message":"try later"}`, errorType: "ServiceUnavailableException"}
	e := iotclaims.NewEndpoint(client(t, a), "")
	if got, err := e.Get(context.Background()); err == nil {
		t.Fatalf("got %q from a failing lookup", got)
	}
	a.endpointStatus, a.endpointBody = 200, `{"endpointAddress":""}`
	if got, err := e.Get(context.Background()); err == nil {
		t.Fatalf("got %q from an empty address", got)
	}
	a.endpointBody = `{"endpointAddress":"abc123-ats.iot.eu-west-1.amazonaws.com"}`
	for range 3 {
		if got, err := e.Get(context.Background()); err != nil || got != "abc123-ats.iot.eu-west-1.amazonaws.com" {
			t.Fatalf("got %q, %v", got, err)
		}
	}
	if n := a.endpoints.Load(); n != 3 {
		t.Errorf("looked up %d times, want 3 (two failures, then once)", n)
	}

	configured := &awsIoT{}
	e = iotclaims.NewEndpoint(client(t, configured), "configured.example")
	if got, err := e.Get(context.Background()); err != nil || got != "configured.example" || configured.endpoints.Load() != 0 {
		t.Errorf("got %q, %v after %d lookups; want the configured endpoint and none", got, err, configured.endpoints.Load())
	}
}
