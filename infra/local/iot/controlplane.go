package iot

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/fleetclaim/fleetclaim/infra/local/sigv4"
)

// AWS IoT REST JSON error types the control plane answers with. The SDK
// reads the type from the X-Amzn-ErrorType header and turns it into its
// typed error, such as *types.ResourceNotFoundException.
const (
	errTypeInvalidRequest     = "InvalidRequestException"
	errTypeResourceNotFound   = "ResourceNotFoundException"
	errTypeInternalFailure    = "InternalFailureException"
	errTypeServiceUnavailable = "ServiceUnavailableException"
	errTypeUnknownOperation   = "UnknownOperationException"
	errTypeCertificateState   = "CertificateStateException"
)

// ControlPlane returns the AWS IoT control-plane endpoint as an
// http.Handler speaking AWS IoT's REST JSON protocol, for an aws-sdk-go-v2
// iot client whose BaseEndpoint is where the handler is served. It serves
//
//	POST /provisioning-templates/{templateName}/provisioning-claim  CreateProvisioningClaim
//	GET  /endpoint?endpointType=iot:Data-ATS                         DescribeEndpoint
//	PUT  /certificates/{certificateId}?newStatus=...                 UpdateCertificate
//	GET  /certificates/{certificateId}                               DescribeCertificate
//	DELETE /things/{thingName}/principals (x-amzn-principal)         DetachThingPrincipal
//
// Every call must be signed with Options.Credentials, as AWS IoT's control
// plane is for IAM principals: no one else on the machine can mint claims.
func (c *Core) ControlPlane() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /provisioning-templates/{templateName}/provisioning-claim", c.serveCreateProvisioningClaim)
	mux.HandleFunc("GET /endpoint", c.serveDescribeEndpoint)
	mux.HandleFunc("PUT /certificates/{certificateId}", c.serveUpdateCertificate)
	mux.HandleFunc("GET /certificates/{certificateId}", c.serveDescribeCertificate)
	mux.HandleFunc("DELETE /things/{thingName}/principals", c.serveDetachThingPrincipal)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeAWSError(w, http.StatusNotFound, errTypeUnknownOperation, "The local AWS IoT does not serve "+r.Method+" "+r.URL.Path+".")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		var err error
		if r.Body != nil {
			body, err = io.ReadAll(io.LimitReader(r.Body, maxControlPlaneBody))
		}
		if err != nil {
			writeAWSError(w, http.StatusBadRequest, errTypeInvalidRequest, "Unreadable request body.")
			return
		}
		if err := c.iam.Verify(r, body); err != nil {
			c.log.Warn("AWS IoT control-plane call refused", "method", r.Method, "path", r.URL.Path, "reason", err.Error())
			errType, message := sigv4.Refusal(err)
			writeAWSError(w, http.StatusForbidden, errType, message)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		mux.ServeHTTP(w, r)
	})
}

// maxControlPlaneBody bounds a control-plane request body; the operations
// served take none.
const maxControlPlaneBody = 64 << 10

// createProvisioningClaimOutput is the CreateProvisioningClaim response.
// Expiration is in epoch seconds, the REST JSON encoding of timestamps.
type createProvisioningClaimOutput struct {
	CertificateID  string      `json:"certificateId"`
	CertificatePEM string      `json:"certificatePem"`
	KeyPair        keyPairJSON `json:"keyPair"`
	Expiration     float64     `json:"expiration"`
}

// keyPairJSON is AWS IoT's KeyPair shape, whose members alone are
// capitalized.
type keyPairJSON struct {
	PublicKey  string `json:"PublicKey"`
	PrivateKey string `json:"PrivateKey"`
}

func (c *Core) serveCreateProvisioningClaim(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("templateName")
	if !templateNamePattern.MatchString(name) {
		writeAWSError(w, http.StatusBadRequest, errTypeInvalidRequest, "templateName must match "+templateNamePattern.String()+".")
		return
	}
	m, err := c.createProvisioningClaim(r.Context(), name)
	switch {
	case errors.Is(err, ErrTemplateNotFound):
		writeAWSError(w, http.StatusNotFound, errTypeResourceNotFound, "Provisioning template "+name+" does not exist.")
		return
	case err != nil:
		c.log.Error("CreateProvisioningClaim failed", "template", name, "error", err)
		writeAWSError(w, http.StatusInternalServerError, errTypeInternalFailure, "Internal failure.")
		return
	}
	writeJSON(w, createProvisioningClaimOutput{
		CertificateID:  m.CertificateID,
		CertificatePEM: m.CertificatePEM,
		KeyPair:        keyPairJSON{PublicKey: m.PublicKey, PrivateKey: m.PrivateKey.Reveal()},
		Expiration:     float64(m.Expiration.UnixMilli()) / 1000,
	})
}

// serveDescribeEndpoint answers data endpoint queries with the MQTT
// listener's host:port. AWS answers with a host name alone, port 8883
// implied; the local listener's port varies, so it is part of the answer.
func (c *Core) serveDescribeEndpoint(w http.ResponseWriter, r *http.Request) {
	switch t := r.URL.Query().Get("endpointType"); t {
	case "", "iot:Data", "iot:Data-ATS":
	default:
		writeAWSError(w, http.StatusBadRequest, errTypeInvalidRequest, "Endpoint type "+t+" is not served by the local AWS IoT.")
		return
	}
	addr := c.MQTTAddr()
	if addr == "" {
		writeAWSError(w, http.StatusServiceUnavailable, errTypeServiceUnavailable, "The MQTT endpoint is not started.")
		return
	}
	writeJSON(w, struct {
		EndpointAddress string `json:"endpointAddress"`
	}{addr})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-RequestId", newRequestID())
	_ = json.NewEncoder(w).Encode(v)
}

// writeAWSError writes an AWS REST JSON error: the type in X-Amzn-ErrorType
// and {"message": ...} in the body.
func writeAWSError(w http.ResponseWriter, status int, errType, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", errType)
	w.Header().Set("X-Amzn-RequestId", newRequestID())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Message string `json:"message"`
	}{message})
}
