package iotclaims_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iot"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/iotclaims"
)

const (
	thing   = "acme_SN-1"
	certARN = "arn:aws:iot:eu-west-1:123456789012:cert/" + certID
)

// answer is what the loopback AWS IoT replies to one operation.
type answer struct {
	status    int
	errorType string
	body      string
}

var ok = answer{status: 200, body: "{}"}

// revokerIoT serves UpdateCertificate, DescribeCertificate and
// DetachThingPrincipal as AWS IoT's REST JSON protocol does, answering each
// as the test sets, and records every request it gets.
type revokerIoT struct {
	update, describe, detach answer

	mu       sync.Mutex
	requests []string // "<method> <path>?<query> principal=<x-amzn-principal>"
}

func (a *revokerIoT) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.requests = append(a.requests, fmt.Sprintf("%s %s?%s principal=%s", r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("X-Amzn-Principal")))
	a.mu.Unlock()
	reply := answer{status: 404, errorType: "UnknownOperationException", body: `{"message":"no such operation"}`}
	switch {
	case r.Method == http.MethodPut && r.URL.Path == "/certificates/"+certID:
		reply = a.update
	case r.Method == http.MethodGet && r.URL.Path == "/certificates/"+certID:
		reply = a.describe
	case r.Method == http.MethodDelete && r.URL.Path == "/things/"+thing+"/principals":
		reply = a.detach
	}
	w.Header().Set("Content-Type", "application/json")
	if reply.status >= 400 {
		w.Header().Set("X-Amzn-Errortype", reply.errorType)
	}
	w.WriteHeader(reply.status)
	_, _ = fmt.Fprint(w, reply.body)
}

func (a *revokerIoT) seen() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.requests...)
}

// revoker is a Revoker over the real SDK client pointed at a, with no
// retries, so that each call is one request.
func revoker(t *testing.T, a *revokerIoT) *iotclaims.Revoker {
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return iotclaims.NewRevoker(iot.New(iot.Options{
		Region:           "eu-west-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret", ""),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	}))
}

func failure(status int, errorType string) answer {
	return answer{status: status, errorType: errorType, body: `{"message":"` + errorType + `"}`}
}

var (
	notFound    = failure(404, "ResourceNotFoundException")
	throttled   = failure(429, "ThrottlingException")
	unavailable = failure(503, "ServiceUnavailableException")
	stateError  = failure(409, "CertificateStateException")
	denied      = failure(401, "UnauthorizedException")
)

// outcome is how a call ended: done, failed, or throttled (failed with
// fleetclaim.ErrThrottled).
type outcome string

const (
	done        outcome = "done"
	failed      outcome = "failed"
	isThrottled outcome = "throttled"
)

func outcomeOf(err error) outcome {
	switch {
	case err == nil:
		return done
	case errors.Is(err, fleetclaim.ErrThrottled):
		return isThrottled
	default:
		return failed
	}
}

// DeactivateCertificate is one UpdateCertificate to INACTIVE; a certificate
// AWS IoT does not know is done, throttling is ErrThrottled, and any other
// refusal is an error. A certificate whose status cannot change is looked
// at: one already REVOKED (by an operator, say) can never connect again, so
// it is done, else a device whose certificate was revoked could never be
// decommissioned and its serial would stay taken for good.
func TestDeactivateCertificate(t *testing.T) {
	update := "PUT /certificates/" + certID + "?newStatus=INACTIVE principal="
	describe := "GET /certificates/" + certID + "? principal="
	withStatus := func(status string) answer {
		return answer{status: 200, body: `{"certificateDescription":{"certificateArn":"` + certARN +
			`","certificateId":"` + certID + `","status":"` + status + `"}}`}
	}
	for _, tt := range []struct {
		name             string
		update, describe answer
		want             outcome
		wantCalls        []string
	}{
		{"deactivated (or already inactive: AWS answers the same)", ok, ok, done, []string{update}},
		{"no such certificate", notFound, ok, done, []string{update}},
		{"throttled", throttled, ok, isThrottled, []string{update}},
		{"service unavailable", unavailable, ok, failed, []string{update}},
		{"not authorized", denied, ok, failed, []string{update}},
		{"state cannot change: revoked", stateError, withStatus("REVOKED"), done, []string{update, describe}},
		{"state cannot change: inactive", stateError, withStatus("INACTIVE"), done, []string{update, describe}},
		{"state cannot change: still active", stateError, withStatus("ACTIVE"), failed, []string{update, describe}},
		{"state cannot change: pending transfer", stateError, withStatus("PENDING_TRANSFER"), failed, []string{update, describe}},
		{"state cannot change: gone meanwhile", stateError, notFound, done, []string{update, describe}},
		{"state cannot change: describe unavailable", stateError, unavailable, failed, []string{update, describe}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := &revokerIoT{update: tt.update, describe: tt.describe}
			err := revoker(t, a).DeactivateCertificate(context.Background(), certID)
			if got := outcomeOf(err); got != tt.want {
				t.Errorf("got %s (%v), want %s", got, err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), certID) {
				t.Errorf("error %q does not name the certificate", err)
			}
			if got := a.seen(); strings.Join(got, "\n") != strings.Join(tt.wantCalls, "\n") {
				t.Errorf("requests:\n got  %q\n want %q", got, tt.wantCalls)
			}
		})
	}
}

// DetachCertificate asks AWS IoT for the certificate's ARN and detaches that
// principal from the thing; whatever is already gone is done.
func TestDetachCertificate(t *testing.T) {
	describeOK := answer{status: 200, body: `{"certificateDescription":{"certificateArn":"` + certARN +
		`","certificateId":"` + certID + `","status":"INACTIVE"}}`}
	describeCall := "GET /certificates/" + certID + "? principal="
	detachCall := "DELETE /things/" + thing + "/principals? principal=" + certARN
	for _, tt := range []struct {
		name             string
		describe, detach answer
		want             outcome
		wantCalls        []string
	}{
		{"detached", describeOK, ok, done, []string{describeCall, detachCall}},
		{"no such certificate", notFound, ok, done, []string{describeCall}},
		{"no such thing, or not attached", describeOK, notFound, done, []string{describeCall, detachCall}},
		{"describe throttled", throttled, ok, isThrottled, []string{describeCall}},
		{"detach throttled", describeOK, throttled, isThrottled, []string{describeCall, detachCall}},
		{"describe unavailable", unavailable, ok, failed, []string{describeCall}},
		{"detach not authorized", describeOK, denied, failed, []string{describeCall, detachCall}},
		{"answer without the ARN", answer{status: 200, body: `{"certificateDescription":{"certificateId":"` + certID + `"}}`},
			ok, failed, []string{describeCall}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := &revokerIoT{describe: tt.describe, detach: tt.detach}
			err := revoker(t, a).DetachCertificate(context.Background(), thing, certID)
			if got := outcomeOf(err); got != tt.want {
				t.Errorf("got %s (%v), want %s", got, err, tt.want)
			}
			if got := a.seen(); strings.Join(got, "\n") != strings.Join(tt.wantCalls, "\n") {
				t.Errorf("requests:\n got  %q\n want %q", got, tt.wantCalls)
			}
		})
	}
}
