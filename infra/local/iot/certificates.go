package iot

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// certificateIDPattern is AWS IoT's constraint on certificate IDs.
var certificateIDPattern = regexp.MustCompile(`^(0x)?[a-fA-F0-9]{64}$`)

// Errors of UpdateCertificate and DetachThingPrincipal, which the control
// plane answers with AWS IoT's error types.
var (
	errCertificateNotFound = errors.New("certificate not found")
	errThingNotFound       = errors.New("thing not found")
	errCertificateState    = errors.New("certificate status cannot change so")
	errInvalidStatus       = errors.New("invalid new status")
	errInvalidPrincipal    = errors.New("invalid principal")
)

// certificateARN is the ARN AWS IoT gives a certificate, which
// DetachThingPrincipal takes as the principal.
func (c *Core) certificateARN(id string) string {
	return fmt.Sprintf("arn:aws:iot:%s:%s:cert/%s", c.region, c.accountID, id)
}

// updateCertificate sets a certificate's status, as UpdateCertificate does.
// Setting the status a certificate has is done (AWS documents the call as
// idempotent). PENDING_* statuses are AWS IoT's own; a REVOKED certificate
// stays revoked; a pending one cannot be activated but by RegisterThing. A
// certificate leaving ACTIVE loses its open connections at once: AWS IoT
// drops them "within a few minutes", and at once is the stricter reading.
func (c *Core) updateCertificate(id, newStatus string) error {
	switch newStatus {
	case statusActive, statusInactive, statusRevoked:
	default:
		return fmt.Errorf("%w: %q", errInvalidStatus, newStatus)
	}
	now := c.now()
	err := c.store.update(func(tx *txn) error {
		rec, ok := tx.certificate(id)
		switch {
		case !ok:
			return errCertificateNotFound
		case rec.Status == newStatus:
			return nil
		case rec.Status == statusRevoked,
			rec.Status == statusPendingActivation && newStatus == statusActive:
			return fmt.Errorf("%w: from %s to %s", errCertificateState, rec.Status, newStatus)
		}
		rec.Status, rec.UpdatedAt = newStatus, now
		tx.putCertificate(rec)
		return nil
	})
	if err != nil {
		return err
	}
	if newStatus != statusActive {
		c.dropConnections(id)
	}
	c.log.Info("certificate status set", "certificateId", id, "status", newStatus)
	return nil
}

// dropConnections closes every open connection authenticated with the
// certificate, each once its requests in progress are answered. Their
// presence events say AUTH_ERROR.
func (c *Core) dropConnections(certificateID string) {
	c.mu.Lock()
	server := c.server
	c.mu.Unlock()
	if server == nil {
		return
	}
	for _, cl := range server.Clients.GetAll() {
		if cl.Net.Inline {
			continue
		}
		if id, _, _ := c.identify(cl); id != certificateID {
			continue
		}
		if c.presence.drop(cl) {
			c.log.Warn("MQTT connection dropped: certificate no longer active", "clientId", cl.ID, "certificateId", certificateID)
			dropClient(server, cl)
		}
	}
}

// dropClient ends a connection as the broker's own decision: MQTT 5 clients
// are told why, in a DISCONNECT; an MQTT 3.1.1 server has no such packet, so
// the connection is closed.
func dropClient(server *mqtt.Server, cl *mqtt.Client) {
	if cl.Properties.ProtocolVersion == 5 {
		_ = server.DisconnectClient(cl, packets.ErrNotAuthorized)
		return
	}
	cl.Stop(packets.ErrNotAuthorized)
}

// detachThingPrincipal detaches a certificate, named by its ARN, from a
// thing, as DetachThingPrincipal does. A certificate that is not attached is
// done.
func (c *Core) detachThingPrincipal(thing, principal string) error {
	id, ok := strings.CutPrefix(principal, c.certificateARN(""))
	if !ok || !certificateIDPattern.MatchString(id) {
		return fmt.Errorf("%w: %q is not a certificate ARN of this account and region", errInvalidPrincipal, principal)
	}
	err := c.store.update(func(tx *txn) error {
		t, ok := tx.thing(thing)
		if !ok {
			return errThingNotFound
		}
		t.CertificateIDs = slices.DeleteFunc(t.CertificateIDs, func(attached string) bool { return attached == id })
		t.UpdatedAt = c.now()
		tx.putThing(t)
		return nil
	})
	if err == nil {
		c.log.Info("certificate detached", "thingName", thing, "certificateId", id)
	}
	return err
}

// describeCertificateOutput is the DescribeCertificate response, reduced to
// the members the local IoT knows. Dates are epoch seconds.
type describeCertificateOutput struct {
	CertificateDescription certificateDescription `json:"certificateDescription"`
}

type certificateDescription struct {
	CertificateARN   string   `json:"certificateArn"`
	CertificateID    string   `json:"certificateId"`
	CertificatePEM   string   `json:"certificatePem"`
	Status           string   `json:"status"`
	CreationDate     float64  `json:"creationDate"`
	LastModifiedDate float64  `json:"lastModifiedDate"`
	OwnedBy          string   `json:"ownedBy"`
	Validity         validity `json:"validity"`
}

type validity struct {
	NotAfter float64 `json:"notAfter"`
}

// pathCertificateID reads the certificateId path parameter in the form the
// store keeps (lowercase, no 0x), or answers 400 and reports false.
func pathCertificateID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("certificateId")
	if !certificateIDPattern.MatchString(id) {
		writeAWSError(w, http.StatusBadRequest, errTypeInvalidRequest, "certificateId must be 64 hexadecimal characters.")
		return "", false
	}
	return strings.ToLower(strings.TrimPrefix(id, "0x")), true
}

func (c *Core) serveUpdateCertificate(w http.ResponseWriter, r *http.Request) {
	id, ok := pathCertificateID(w, r)
	if !ok {
		return
	}
	status := r.URL.Query().Get("newStatus")
	err := c.updateCertificate(id, status)
	switch {
	case err == nil:
		w.Header().Set("X-Amzn-RequestId", newRequestID())
		w.WriteHeader(http.StatusOK)
	case errors.Is(err, errInvalidStatus):
		writeAWSError(w, http.StatusBadRequest, errTypeInvalidRequest, "newStatus must be ACTIVE, INACTIVE or REVOKED.")
	case errors.Is(err, errCertificateNotFound):
		writeAWSError(w, http.StatusNotFound, errTypeResourceNotFound, "The certificate does not exist.")
	case errors.Is(err, errCertificateState):
		writeAWSError(w, http.StatusConflict, errTypeCertificateState, "The certificate operation is not allowed: "+err.Error()+".")
	default:
		c.log.Error("UpdateCertificate failed", "certificateId", r.PathValue("certificateId"), "error", err)
		writeAWSError(w, http.StatusInternalServerError, errTypeInternalFailure, "Internal failure.")
	}
}

func (c *Core) serveDescribeCertificate(w http.ResponseWriter, r *http.Request) {
	id, ok := pathCertificateID(w, r)
	if !ok {
		return
	}
	rec, ok := c.store.certificate(id)
	if !ok {
		writeAWSError(w, http.StatusNotFound, errTypeResourceNotFound, "The certificate does not exist.")
		return
	}
	modified := rec.UpdatedAt
	if modified.IsZero() {
		modified = rec.CreatedAt
	}
	seconds := func(ms int64) float64 { return float64(ms) / 1000 }
	writeJSON(w, describeCertificateOutput{CertificateDescription: certificateDescription{
		CertificateARN:   c.certificateARN(rec.ID),
		CertificateID:    rec.ID,
		CertificatePEM:   rec.PEM,
		Status:           rec.Status,
		CreationDate:     seconds(rec.CreatedAt.UnixMilli()),
		LastModifiedDate: seconds(modified.UnixMilli()),
		OwnedBy:          c.accountID,
		Validity:         validity{NotAfter: seconds(rec.NotAfter.UnixMilli())},
	}})
}

func (c *Core) serveDetachThingPrincipal(w http.ResponseWriter, r *http.Request) {
	thing := r.PathValue("thingName")
	principal := r.Header.Get("X-Amzn-Principal")
	if !thingNamePattern.MatchString(thing) || principal == "" {
		writeAWSError(w, http.StatusBadRequest, errTypeInvalidRequest, "thingName and the x-amzn-principal header are required.")
		return
	}
	err := c.detachThingPrincipal(thing, principal)
	switch {
	case err == nil:
		w.Header().Set("X-Amzn-RequestId", newRequestID())
		w.WriteHeader(http.StatusOK)
	case errors.Is(err, errInvalidPrincipal):
		writeAWSError(w, http.StatusBadRequest, errTypeInvalidRequest, "The principal is not a certificate ARN of this account and region.")
	case errors.Is(err, errThingNotFound):
		writeAWSError(w, http.StatusNotFound, errTypeResourceNotFound, "Thing "+thing+" does not exist.")
	default:
		c.log.Error("DetachThingPrincipal failed", "thingName", thing, "error", err)
		writeAWSError(w, http.StatusInternalServerError, errTypeInternalFailure, "Internal failure.")
	}
}
