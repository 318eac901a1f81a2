package iot

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// The fleet provisioning MQTT API, JSON payload format, as documented in
// https://docs.aws.amazon.com/iot/latest/developerguide/fleet-provision-api.html.
// Each request topic has an /accepted and a /rejected reply topic. The CBOR
// format is not served: its topics are outside every certificate's policy.
const (
	topicCreateKeysAndCertificate = "$aws/certificates/create/json"
	topicCreateCertificateFromCSR = "$aws/certificates/create-from-csr/json"
	suffixAccepted                = "/accepted"
	suffixRejected                = "/rejected"
)

// registerThingTopic is the RegisterThing request topic of a template.
func registerThingTopic(template string) string {
	return "$aws/provisioning-templates/" + template + "/provision/json"
}

// Error codes of the errorCode field in /rejected replies. AWS documents the
// payload's fields but not its full list of codes: the hook outcome is
// documented as ACCESS_DENIED, InvalidCertificateOwnershipToken is what AWS
// IoT answers for a missing token, and the rest follow their style.
const (
	// ErrorCodeAccessDenied: the pre-provisioning hook refused
	// RegisterThing, failed, or did not answer within 5 seconds. The device
	// learns nothing more, by design.
	ErrorCodeAccessDenied = "ACCESS_DENIED"
	// ErrorCodeInvalidCertificateOwnershipToken: the token is missing,
	// unknown, expired, already used, or from another template's claim.
	ErrorCodeInvalidCertificateOwnershipToken = "InvalidCertificateOwnershipToken"
	// ErrorCodeInvalidPayload: the request is not JSON of the documented
	// shape.
	ErrorCodeInvalidPayload = "InvalidPayload"
	// ErrorCodeInvalidCSR: the certificate signing request is missing, not a
	// PEM CSR, badly signed, or for an unsupported key.
	ErrorCodeInvalidCSR = "InvalidCsr"
	// ErrorCodeInvalidParameters: the template cannot run with the
	// parameters, such as a missing or malformed thing name.
	ErrorCodeInvalidParameters = "InvalidParameters"
	// ErrorCodeInternalFailure: the local IoT itself failed.
	ErrorCodeInternalFailure = "InternalFailure"
)

// thingNamePattern is AWS IoT's constraint on thing names. It also keeps
// MQTT wildcards and separators out of the device topic policy.
var thingNamePattern = regexp.MustCompile(`^[a-zA-Z0-9:_-]{1,128}$`)

// errorResponse is the payload of every /rejected reply.
type errorResponse struct {
	StatusCode   int    `json:"statusCode"`
	ErrorCode    string `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
}

func rejected(status int, code, message string) *errorResponse {
	return &errorResponse{StatusCode: status, ErrorCode: code, ErrorMessage: message}
}

var (
	errInvalidPayload = rejected(http.StatusBadRequest, ErrorCodeInvalidPayload, "The request payload is not valid JSON of the expected shape.")
	errEmptyToken     = rejected(http.StatusBadRequest, ErrorCodeInvalidCertificateOwnershipToken, "Certificate ownership token cannot be empty.")
	errInvalidToken   = rejected(http.StatusBadRequest, ErrorCodeInvalidCertificateOwnershipToken, "Certificate ownership token is not valid.")
	errAccessDenied   = rejected(http.StatusForbidden, ErrorCodeAccessDenied, "Access denied.")
	errInternal       = rejected(http.StatusInternalServerError, ErrorCodeInternalFailure, "Internal failure.")
)

type createKeysAndCertificateResponse struct {
	CertificateID             string `json:"certificateId"`
	CertificatePEM            string `json:"certificatePem"`
	PrivateKey                string `json:"privateKey"`
	CertificateOwnershipToken string `json:"certificateOwnershipToken"`
}

type createCertificateFromCSRRequest struct {
	CertificateSigningRequest string `json:"certificateSigningRequest"`
}

type createCertificateFromCSRResponse struct {
	CertificateOwnershipToken string `json:"certificateOwnershipToken"`
	CertificateID             string `json:"certificateId"`
	CertificatePEM            string `json:"certificatePem"`
}

type registerThingRequest struct {
	CertificateOwnershipToken string            `json:"certificateOwnershipToken"`
	Parameters                map[string]string `json:"parameters"`
}

type registerThingResponse struct {
	DeviceConfiguration map[string]string `json:"deviceConfiguration"`
	ThingName           string            `json:"thingName"`
}

// request is one fleet provisioning request from a claim connection.
type request struct {
	claim    certRecord
	clientID string
	topic    string
	payload  []byte
}

// operationFunc answers a request with the accepted reply, or the rejection.
type operationFunc func(ctx context.Context, req request) (any, *errorResponse)

// operation returns the fleet provisioning operation served on topic, or nil
// when topic is not one.
func (c *Core) operation(topic string) operationFunc {
	switch topic {
	case topicCreateKeysAndCertificate:
		return c.createKeysAndCertificate
	case topicCreateCertificateFromCSR:
		return c.createCertificateFromCSR
	}
	if _, ok := c.templates[templateOfRegisterTopic(topic)]; ok {
		return c.registerThing
	}
	return nil
}

// templateOfRegisterTopic returns the template a RegisterThing topic names,
// or "" when topic is not a RegisterThing topic of a well-formed name.
func templateOfRegisterTopic(topic string) string {
	const prefix, suffix = "$aws/provisioning-templates/", "/provision/json"
	name, ok := strings.CutPrefix(topic, prefix)
	if !ok {
		return ""
	}
	if name, ok = strings.CutSuffix(name, suffix); !ok || !templateNamePattern.MatchString(name) {
		return ""
	}
	return name
}

// createKeysAndCertificate serves CreateKeysAndCertificate: a new key pair
// and a certificate, pending activation until a RegisterThing.
func (c *Core) createKeysAndCertificate(_ context.Context, req request) (any, *errorResponse) {
	// AWS documents an empty payload; clients commonly send "{}".
	if len(strings.TrimSpace(string(req.payload))) > 0 {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(req.payload, &obj); err != nil {
			c.logRejected(req, errInvalidPayload, err)
			return nil, errInvalidPayload
		}
	}
	keys, err := c.keys.take()
	if err != nil {
		c.logRejected(req, errInternal, err)
		return nil, errInternal
	}
	rec, token, err := c.issuePending(req, &keys.key.PublicKey, nil)
	if err != nil {
		c.logRejected(req, errInternal, err)
		return nil, errInternal
	}
	return createKeysAndCertificateResponse{
		CertificateID:             rec.ID,
		CertificatePEM:            rec.PEM,
		PrivateKey:                keys.privateKeyPEM,
		CertificateOwnershipToken: token,
	}, nil
}

// createCertificateFromCSR serves CreateCertificateFromCsr: a certificate
// for the device's own key, pending activation until a RegisterThing.
func (c *Core) createCertificateFromCSR(_ context.Context, req request) (any, *errorResponse) {
	var in createCertificateFromCSRRequest
	if err := json.Unmarshal(req.payload, &in); err != nil {
		c.logRejected(req, errInvalidPayload, err)
		return nil, errInvalidPayload
	}
	csr, err := parseCSR(in.CertificateSigningRequest)
	if err != nil {
		rej := rejected(http.StatusBadRequest, ErrorCodeInvalidCSR, "The certificate signing request is not valid: "+err.Error()+".")
		c.logRejected(req, rej, err)
		return nil, rej
	}
	rec, token, err := c.issuePending(req, csr.PublicKey, csr)
	if err != nil {
		c.logRejected(req, errInternal, err)
		return nil, errInternal
	}
	return createCertificateFromCSRResponse{
		CertificateOwnershipToken: token,
		CertificateID:             rec.ID,
		CertificatePEM:            rec.PEM,
	}, nil
}

// parseCSR accepts a PEM CSR, correctly signed, for a key AWS IoT accepts.
func parseCSR(csrPEM string) (*x509.CertificateRequest, error) {
	if csrPEM == "" {
		return nil, errors.New("it is empty")
	}
	block, _ := pem.Decode([]byte(csrPEM))
	if block == nil || (block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST") {
		return nil, errors.New("it is not a PEM certificate request")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, errors.New("it cannot be parsed")
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, errors.New("its signature does not verify")
	}
	switch key := csr.PublicKey.(type) {
	case *rsa.PublicKey:
		if key.N.BitLen() < 2048 {
			return nil, errors.New("its RSA key is shorter than 2048 bits")
		}
	case *ecdsa.PublicKey:
		if key.Curve != elliptic.P256() && key.Curve != elliptic.P384() && key.Curve != elliptic.P521() {
			return nil, errors.New("its EC key is not on P-256, P-384 or P-521")
		}
	default:
		return nil, errors.New("its key type is not RSA or EC")
	}
	return csr, nil
}

// issuePending signs a device certificate for pub, records it pending
// activation, and binds a new ownership token to it and to the claim's
// template. csr, when given, supplies the subject.
func (c *Core) issuePending(req request, pub crypto.PublicKey, csr *x509.CertificateRequest) (certRecord, string, error) {
	var subject *pkix.Name
	if csr != nil {
		subject = &csr.Subject
	}
	now := c.now()
	der, err := c.ca.issueClient(pub, subject, now.Add(-time.Minute), deviceNotAfter)
	if err != nil {
		return certRecord{}, "", err
	}
	rec := certRecord{
		ID:        certificateID(der),
		PEM:       certificatePEM(der),
		Kind:      kindDevice,
		Status:    statusPendingActivation,
		Template:  req.claim.Template,
		ClaimID:   req.claim.ID,
		CreatedAt: now,
		NotAfter:  deviceNotAfter,
	}
	token := newOwnershipToken()
	err = c.store.update(func(tx *txn) error {
		tx.putCertificate(rec)
		tx.putToken(tokenKey(token), tokenRecord{
			CertificateID: rec.ID,
			ClaimID:       req.claim.ID,
			Template:      req.claim.Template,
			ExpiresAt:     now.Add(ownershipTokenLifetime),
		})
		return nil
	})
	if err != nil {
		return certRecord{}, "", err
	}
	c.log.Info("device certificate created", "certificateId", rec.ID, "claimCertificateId", req.claim.ID, "template", req.claim.Template, "clientId", req.clientID)
	return rec, token, nil
}

// newOwnershipToken returns an opaque, unguessable token.
func newOwnershipToken() string {
	b := make([]byte, 48)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// registerThing serves RegisterThing: check the ownership token, ask the
// pre-provisioning hook, then run the template and activate the certificate.
func (c *Core) registerThing(ctx context.Context, req request) (any, *errorResponse) {
	var in registerThingRequest
	if err := json.Unmarshal(req.payload, &in); err != nil {
		c.logRejected(req, errInvalidPayload, err)
		return nil, errInvalidPayload
	}
	if in.CertificateOwnershipToken == "" {
		c.logRejected(req, errEmptyToken, nil)
		return nil, errEmptyToken
	}
	key := tokenKey(in.CertificateOwnershipToken)
	cert, err := c.ownedCertificate(key, req.claim)
	if err != nil {
		c.logRejected(req, errInvalidToken, err)
		return nil, errInvalidToken
	}

	params := maps.Clone(in.Parameters)
	if params == nil {
		params = map[string]string{}
	}
	event := events.IoTPreProvisionHookRequest{
		ClaimCertificateID: req.claim.ID,
		CertificateID:      cert.ID,
		CertificatePEM:     cert.PEM,
		TemplateARN:        c.templateARN(templateOfRegisterTopic(req.topic)),
		ClientID:           req.clientID,
		Parameters:         maps.Clone(params),
	}
	tmpl := c.templates[templateOfRegisterTopic(req.topic)]
	decision := events.IoTPreProvisionHookResponse{AllowProvisioning: true}
	if !tmpl.NoHook {
		decision, err = c.invokeHook(ctx, event)
	}
	switch {
	case err != nil:
		c.logRejected(req, errAccessDenied, fmt.Errorf("pre-provisioning hook failed: %w", err))
		return nil, errAccessDenied
	case !decision.AllowProvisioning:
		c.logRejected(req, errAccessDenied, errors.New("pre-provisioning hook denied provisioning"))
		return nil, errAccessDenied
	}
	maps.Copy(params, decision.ParameterOverrides)

	thingName := params[tmpl.ThingNameParameter]
	if !thingNamePattern.MatchString(thingName) {
		rej := rejected(http.StatusBadRequest, ErrorCodeInvalidParameters,
			fmt.Sprintf("Parameter %s must be a thing name of 1 to 128 characters a-z, A-Z, 0-9, ':', '_' or '-'.", tmpl.ThingNameParameter))
		c.logRejected(req, rej, nil)
		return nil, rej
	}
	attributes := map[string]string{}
	for attr, param := range tmpl.Attributes {
		if v, ok := params[param]; ok {
			attributes[attr] = v
		}
	}

	now := c.now()
	err = c.store.update(func(tx *txn) error {
		// The hook ran without the lock: the token may have been spent by
		// a concurrent RegisterThing meanwhile. Exactly one of them wins.
		tok, ok := tx.token(key)
		if !ok || !now.Before(tok.ExpiresAt) {
			return errTokenSpent
		}
		activated, ok := tx.certificate(tok.CertificateID)
		if !ok || activated.Status != statusPendingActivation {
			return errTokenSpent
		}
		tx.deleteToken(key)
		activated.Status = statusActive
		activated.ThingName = thingName
		tx.putCertificate(activated)

		thing, exists := tx.thing(thingName)
		if !exists {
			thing = thingRecord{Name: thingName, CreatedAt: now}
		}
		// A thing provisioned again keeps its certificates and takes the
		// new attributes, as the stack's template (AttributePayload
		// REPLACE) has it.
		thing.Template = tmpl.Name
		thing.Attributes = attributes
		thing.CertificateIDs = append(thing.CertificateIDs, activated.ID)
		thing.UpdatedAt = now
		tx.putThing(thing)
		return nil
	})
	switch {
	case errors.Is(err, errTokenSpent):
		c.logRejected(req, errInvalidToken, err)
		return nil, errInvalidToken
	case err != nil:
		c.logRejected(req, errInternal, err)
		return nil, errInternal
	}
	c.log.Info("thing registered", "thingName", thingName, "certificateId", cert.ID, "claimCertificateId", req.claim.ID, "template", tmpl.Name)
	config := maps.Clone(tmpl.DeviceConfiguration)
	if config == nil {
		config = map[string]string{}
	}
	return registerThingResponse{DeviceConfiguration: config, ThingName: thingName}, nil
}

var errTokenSpent = errors.New("ownership token already used or expired")

// ownedCertificate returns the pending certificate an ownership token
// proves, provided the token is live and was issued to this claim (and so
// under its template). A token is bound to the claim that asked for the
// certificate: used under another claim, it would let one claim's
// pre-provisioning decision consume a second claim for the first one's
// certificate.
func (c *Core) ownedCertificate(key string, claim certRecord) (certRecord, error) {
	var (
		cert certRecord
		err  error
	)
	now := c.now()
	c.store.view(func(s *state) {
		tok, ok := s.Tokens[key]
		switch {
		case !ok:
			err = errors.New("unknown ownership token")
		case !now.Before(tok.ExpiresAt):
			err = errors.New("ownership token expired")
		case tok.ClaimID != claim.ID:
			err = errors.New("ownership token was issued to another claim")
		case tok.Template != claim.Template:
			err = fmt.Errorf("ownership token was issued under template %q", tok.Template)
		default:
			var found bool
			cert, found = s.Certificates[tok.CertificateID]
			if !found || cert.Status != statusPendingActivation {
				err = errors.New("ownership token's certificate is not pending activation")
			}
		}
	})
	return cert, err
}

// invokeHook calls the pre-provisioning hook as AWS IoT invokes its Lambda
// function: with a fresh request ID in the Lambda context, and a 5 second
// limit that holds even if the hook ignores its context. A panic counts as
// a failed invocation.
func (c *Core) invokeHook(ctx context.Context, event events.IoTPreProvisionHookRequest) (events.IoTPreProvisionHookResponse, error) {
	if c.hook == nil {
		return events.IoTPreProvisionHookResponse{AllowProvisioning: true}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.hookDeadline)
	defer cancel()
	requestID := newRequestID()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: requestID})

	type outcome struct {
		resp events.IoTPreProvisionHookResponse
		err  error
	}
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- outcome{err: fmt.Errorf("hook panicked: %v", r)}
			}
		}()
		resp, err := c.hook(ctx, event)
		done <- outcome{resp, err}
	}()
	select {
	case o := <-done:
		c.log.Info("pre-provisioning hook answered", "requestId", requestID, "allowProvisioning", o.resp.AllowProvisioning, "error", o.err)
		return o.resp, o.err
	case <-ctx.Done():
		return events.IoTPreProvisionHookResponse{}, fmt.Errorf("hook invocation %s: %w", requestID, ctx.Err())
	}
}

// newRequestID returns a random (version 4) UUID, the form of Lambda
// request IDs.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// logRejected logs why a request was rejected; cause, which the device never
// sees, may be nil.
func (c *Core) logRejected(req request, rej *errorResponse, cause error) {
	attrs := []any{"topic", req.topic, "clientId", req.clientID, "claimCertificateId", req.claim.ID, "errorCode", rej.ErrorCode}
	if cause != nil {
		attrs = append(attrs, "cause", cause.Error())
	}
	level := slog.LevelWarn
	if rej.StatusCode >= http.StatusInternalServerError {
		level = slog.LevelError
	}
	c.log.Log(context.Background(), level, "fleet provisioning request rejected", attrs...)
}
