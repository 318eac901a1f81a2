package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/metrics"
)

// MaxBodyBytes bounds request bodies. The largest valid body is a few hundred
// bytes; API Gateway's own limit (10 MB) is far too generous to rely on.
const MaxBodyBytes = 16 << 10

// Service is the domain API the handler translates requests into.
type Service interface {
	IssueClaim(ctx context.Context, p fleetclaim.Principal, r fleetclaim.IssueRequest) (fleetclaim.IssuedClaim, error)
	GetClaim(ctx context.Context, p fleetclaim.Principal, id fleetclaim.ClaimID) (fleetclaim.Claim, error)
	ListClaims(ctx context.Context, p fleetclaim.Principal, pg fleetclaim.Page) ([]fleetclaim.Claim, string, error)
	RevokeClaim(ctx context.Context, p fleetclaim.Principal, id fleetclaim.ClaimID) (fleetclaim.Claim, error)
	GetDevice(ctx context.Context, p fleetclaim.Principal, serial string) (fleetclaim.Device, error)
	Decommission(ctx context.Context, p fleetclaim.Principal, serial string, r fleetclaim.DecommissionRequest) (fleetclaim.Device, error)
	Replace(ctx context.Context, p fleetclaim.Principal, serial, certificateID string, r fleetclaim.IssueRequest) (fleetclaim.IssuedClaim, error)
	ListDeviceHistory(ctx context.Context, p fleetclaim.Principal, serial string, pg fleetclaim.Page) ([]fleetclaim.Device, string, error)
	ListDevices(ctx context.Context, p fleetclaim.Principal, tenant fleetclaim.TenantID, pg fleetclaim.Page) ([]fleetclaim.Device, string, error)
	ListInstallers(ctx context.Context, p fleetclaim.Principal, tenant fleetclaim.TenantID, pg fleetclaim.Page) ([]fleetclaim.Installer, string, error)
	GetInstaller(ctx context.Context, p fleetclaim.Principal, id fleetclaim.InstallerID) (fleetclaim.Installer, error)
	ApproveInstaller(ctx context.Context, p fleetclaim.Principal, id fleetclaim.InstallerID) (fleetclaim.Installer, error)
	SuspendInstaller(ctx context.Context, p fleetclaim.Principal, id fleetclaim.InstallerID) (fleetclaim.Installer, error)
	ReinstateInstaller(ctx context.Context, p fleetclaim.Principal, id fleetclaim.InstallerID) (fleetclaim.Installer, error)
	ListAudit(ctx context.Context, p fleetclaim.Principal, tenant fleetclaim.TenantID, q fleetclaim.AuditQuery, pg fleetclaim.Page) ([]fleetclaim.AuditEvent, string, error)
	TenantService
}

// Handler serves the API as an API Gateway REST proxy integration.
type Handler struct {
	Service Service
	Log     *slog.Logger
	// AllowedOrigin is echoed in Access-Control-Allow-Origin; empty for none.
	AllowedOrigin string
	// Metrics records the outcomes listed in metrics.go; nil records none.
	Metrics metrics.Recorder
	// Limiter bounds each caller's requests; nil for no limit.
	Limiter Limiter
}

// Limiter is a per-installer request allowance (fleetclaim.RateLimiter).
type Limiter interface {
	Allow(ctx context.Context, id fleetclaim.InstallerID) error
}

// request is one decoded API call.
type request struct {
	events.APIGatewayProxyRequest
	principal fleetclaim.Principal
}

type operation func(h *Handler, ctx context.Context, r request) (int, any, error)

var operations = map[string]operation{
	"issueClaim":         (*Handler).issueClaim,
	"listClaims":         (*Handler).listClaims,
	"getClaim":           (*Handler).getClaim,
	"revokeClaim":        (*Handler).revokeClaim,
	"listDevices":        (*Handler).listDevices,
	"getDevice":          (*Handler).getDevice,
	"decommissionDevice": (*Handler).decommissionDevice,
	"replaceDevice":      (*Handler).replaceDevice,
	"listDeviceHistory":  (*Handler).listDeviceHistory,
	"listInstallers":     (*Handler).listInstallers,
	"getInstaller":       (*Handler).getInstaller,
	"approveInstaller":   (*Handler).approveInstaller,
	"suspendInstaller":   (*Handler).suspendInstaller,
	"reinstateInstaller": (*Handler).reinstateInstaller,
	"listAuditEvents":    (*Handler).listAudit,
	"createTenant":       (*Handler).createTenant,
	"listTenants":        (*Handler).listTenants,
	"getTenant":          (*Handler).getTenant,
	"updateTenant":       (*Handler).updateTenant,
	"suspendTenant":      (*Handler).suspendTenant,
	"reactivateTenant":   (*Handler).reactivateTenant,
}

// Handle answers one API Gateway request. It never returns an error: every
// failure becomes a problem document, so API Gateway never answers 502.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	route, ok := findRoute(req.HTTPMethod, req.Resource)
	if !ok {
		return h.problem(ctx, req, &fleetclaim.Error{Kind: fleetclaim.KindNotFound, Code: fleetclaim.CodeNotFound,
			Message: "No such route."}), nil
	}
	p, ok := principalOf(req)
	if !ok {
		return h.problem(ctx, req, &fleetclaim.Error{Kind: fleetclaim.KindUnauthenticated,
			Code: fleetclaim.CodeUnauthenticated, Message: "A valid access token is required."}), nil
	}
	// The authorizer checks scopes too; checking again here keeps a
	// misconfigured method from opening a route.
	if !slices.Contains(p.Scopes, route.Scope) {
		return h.problem(ctx, req, fleetclaim.Forbidden(fleetclaim.CodeMissingScope,
			"The access token lacks the "+route.Scope+" scope.")), nil
	}
	// After authentication, so that the allowance is the caller's own and
	// anonymous floods stop at the authorizer (and the optional WAF).
	if h.Limiter != nil {
		if err := h.Limiter.Allow(ctx, p.Subject); err != nil {
			return h.problem(ctx, req, err), nil
		}
	}
	status, body, err := operations[route.Operation](h, ctx, request{req, p})
	h.record(ctx, body, err)
	if err != nil {
		return h.problem(ctx, req, err), nil
	}
	return h.json(status, body), nil
}

func findRoute(method, resource string) (Route, bool) {
	for _, r := range Routes {
		if r.Method == method && r.Path == resource {
			return r, true
		}
	}
	return Route{}, false
}

func (h *Handler) issueClaim(ctx context.Context, r request) (int, any, error) {
	var body issueClaimBody
	if err := decodeBody(r, &body); err != nil {
		return 0, nil, err
	}
	ic, err := h.Service.IssueClaim(ctx, r.principal, fleetclaim.IssueRequest{
		Serial: body.SerialNumber, Template: body.Template, Site: body.Site})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, viewIssued(ic), nil
}

func viewIssued(ic fleetclaim.IssuedClaim) issuedClaimView {
	return issuedClaimView{claimView: viewClaim(ic.Claim), CertificatePEM: ic.CertificatePEM,
		PrivateKey: ic.PrivateKey.Reveal(), IoTEndpoint: ic.IoTEndpoint}
}

func (h *Handler) listClaims(ctx context.Context, r request) (int, any, error) {
	pg, err := pageOf(r)
	if err != nil {
		return 0, nil, err
	}
	cs, next, err := h.Service.ListClaims(ctx, r.principal, pg)
	return http.StatusOK, viewList(cs, next, viewClaim), err
}

func (h *Handler) getClaim(ctx context.Context, r request) (int, any, error) {
	c, err := h.Service.GetClaim(ctx, r.principal, fleetclaim.ClaimID(r.PathParameters["id"]))
	return http.StatusOK, viewClaim(c), err
}

func (h *Handler) revokeClaim(ctx context.Context, r request) (int, any, error) {
	c, err := h.Service.RevokeClaim(ctx, r.principal, fleetclaim.ClaimID(r.PathParameters["id"]))
	return http.StatusOK, viewClaim(c), err
}

func (h *Handler) listDevices(ctx context.Context, r request) (int, any, error) {
	pg, err := pageOf(r)
	if err != nil {
		return 0, nil, err
	}
	ds, next, err := h.Service.ListDevices(ctx, r.principal, tenantOf(r), pg)
	return http.StatusOK, viewList(ds, next, viewDevice), asParameter(err, "tenantId", "tenant")
}

func (h *Handler) getDevice(ctx context.Context, r request) (int, any, error) {
	d, err := h.Service.GetDevice(ctx, r.principal, r.PathParameters["serial"])
	return http.StatusOK, viewDevice(d), asParameter(err, "serialNumber", "serial")
}

// decommissionDevice takes an optional body: {"reason": "...",
// "certificateId": "..."}, either member optional, or none.
func (h *Handler) decommissionDevice(ctx context.Context, r request) (int, any, error) {
	var body decommissionBody
	if r.Body != "" {
		if err := decodeBody(r, &body); err != nil {
			return 0, nil, err
		}
	}
	d, err := h.Service.Decommission(ctx, r.principal, r.PathParameters["serial"],
		fleetclaim.DecommissionRequest{Reason: body.Reason, CertificateID: body.CertificateID})
	return http.StatusOK, viewDevice(d), asParameter(err, "serialNumber", "serial")
}

func (h *Handler) replaceDevice(ctx context.Context, r request) (int, any, error) {
	var body replaceDeviceBody
	if err := decodeBody(r, &body); err != nil {
		return 0, nil, err
	}
	ic, err := h.Service.Replace(ctx, r.principal, r.PathParameters["serial"], body.CertificateID,
		fleetclaim.IssueRequest{Template: body.Template, Site: body.Site})
	if err != nil {
		return 0, nil, asParameter(err, "serialNumber", "serial")
	}
	return http.StatusCreated, viewIssued(ic), nil
}

func (h *Handler) listDeviceHistory(ctx context.Context, r request) (int, any, error) {
	pg, err := pageOf(r)
	if err != nil {
		return 0, nil, err
	}
	ds, next, err := h.Service.ListDeviceHistory(ctx, r.principal, r.PathParameters["serial"], pg)
	return http.StatusOK, viewList(ds, next, viewDevice), asParameter(err, "serialNumber", "serial")
}

func (h *Handler) listInstallers(ctx context.Context, r request) (int, any, error) {
	pg, err := pageOf(r)
	if err != nil {
		return 0, nil, err
	}
	ins, next, err := h.Service.ListInstallers(ctx, r.principal, tenantOf(r), pg)
	return http.StatusOK, viewList(ins, next, viewInstaller), asParameter(err, "tenantId", "tenant")
}

func (h *Handler) getInstaller(ctx context.Context, r request) (int, any, error) {
	in, err := h.Service.GetInstaller(ctx, r.principal, installerOf(r))
	return http.StatusOK, viewInstaller(in), asParameter(err, "installerId", "id")
}

func (h *Handler) approveInstaller(ctx context.Context, r request) (int, any, error) {
	in, err := h.Service.ApproveInstaller(ctx, r.principal, installerOf(r))
	return http.StatusOK, viewInstaller(in), asParameter(err, "installerId", "id")
}

func (h *Handler) suspendInstaller(ctx context.Context, r request) (int, any, error) {
	in, err := h.Service.SuspendInstaller(ctx, r.principal, installerOf(r))
	return http.StatusOK, viewInstaller(in), asParameter(err, "installerId", "id")
}

func (h *Handler) reinstateInstaller(ctx context.Context, r request) (int, any, error) {
	in, err := h.Service.ReinstateInstaller(ctx, r.principal, installerOf(r))
	return http.StatusOK, viewInstaller(in), asParameter(err, "installerId", "id")
}

func (h *Handler) listAudit(ctx context.Context, r request) (int, any, error) {
	pg, err := pageOf(r)
	if err != nil {
		return 0, nil, err
	}
	// The filters are passed as written; the domain checks them.
	q := r.QueryStringParameters
	es, next, err := h.Service.ListAudit(ctx, r.principal, tenantOf(r), fleetclaim.AuditQuery{
		Since: q["since"], Until: q["until"], Action: q["action"], Serial: q["serial"], Actor: q["actor"]}, pg)
	return http.StatusOK, viewList(es, next, viewAudit), asParameter(err, "tenantId", "tenant")
}

// asParameter renames the field of an invalid-input error from the domain's
// name for a value to the name of the path or query parameter that carried
// it, so that a problem's field names what the caller sent.
func asParameter(err error, field, param string) error {
	var e *fleetclaim.Error
	if errors.As(err, &e) && e.Kind == fleetclaim.KindInvalid && e.Field == field {
		renamed := *e
		renamed.Field = param
		return &renamed
	}
	return err
}

func installerOf(r request) fleetclaim.InstallerID {
	return fleetclaim.InstallerID(r.PathParameters["id"])
}

func tenantOf(r request) fleetclaim.TenantID {
	return fleetclaim.TenantID(r.QueryStringParameters["tenant"])
}

// pageOf reads ?limit= and ?cursor=.
func pageOf(r request) (fleetclaim.Page, error) {
	var pg fleetclaim.Page
	if s, ok := r.QueryStringParameters["limit"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > fleetclaim.MaxPageSize {
			return pg, fleetclaim.Invalid("limit", "must be a whole number from 1 to %d", fleetclaim.MaxPageSize)
		}
		pg.Limit = n
	}
	pg.Cursor = r.QueryStringParameters["cursor"]
	return pg, nil
}

// decodeBody reads exactly one JSON object with only known fields.
func decodeBody(r request, v any) error {
	raw := []byte(r.Body)
	if r.IsBase64Encoded {
		var err error
		if raw, err = base64.StdEncoding.DecodeString(r.Body); err != nil {
			return &fleetclaim.Error{Kind: fleetclaim.KindInvalid, Code: fleetclaim.CodeInvalidJSON, Message: "The body is not valid base64."}
		}
	}
	if len(raw) > MaxBodyBytes {
		return &fleetclaim.Error{Kind: fleetclaim.KindTooLarge, Code: fleetclaim.CodeBodyTooLarge,
			Message: fmt.Sprintf("The body must be at most %d bytes.", MaxBodyBytes)}
	}
	if err := exactNames(raw, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &fleetclaim.Error{Kind: fleetclaim.KindInvalid, Code: fleetclaim.CodeInvalidJSON,
			Message: "The body must be a single JSON object."}
	}
	return nil
}

// exactNames refuses a member of a JSON object whose name is not exactly one
// of the JSON field names of the struct v points to, or that appears twice.
// encoding/json matches names regardless of case (with Unicode folding, so
// even "ſerialNumber" is serialNumber) and keeps the last of duplicate
// members: without this check the handler could read a body otherwise than
// the published schema and API Gateway's model validation do. A body that is
// not an object, bare null included (which encoding/json would read as an
// empty object), is refused; malformed JSON inside an object is left to the
// decoder to report.
func exactNames(raw []byte, v any) error {
	known := jsonNames(reflect.TypeOf(v).Elem())
	dec := json.NewDecoder(bytes.NewReader(raw))
	switch tok, err := dec.Token(); {
	case errors.Is(err, io.EOF):
		return &fleetclaim.Error{Kind: fleetclaim.KindInvalid, Code: fleetclaim.CodeInvalidJSON, Message: "A JSON body is required."}
	case err != nil:
		return &fleetclaim.Error{Kind: fleetclaim.KindInvalid, Code: fleetclaim.CodeInvalidJSON, Message: "The body is not valid JSON."}
	case tok != json.Delim('{'):
		return &fleetclaim.Error{Kind: fleetclaim.KindInvalid, Code: fleetclaim.CodeInvalidJSON, Message: "The body must be a JSON object."}
	}
	seen := make(map[string]bool, len(known))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		name, _ := tok.(string)
		switch {
		case !known[name]:
			return unknownMember(name, known)
		case seen[name]:
			return &fleetclaim.Error{Kind: fleetclaim.KindInvalid, Code: fleetclaim.CodeInvalidJSON, Field: name, Message: "is given more than once"}
		}
		seen[name] = true
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil
		}
	}
	return nil
}

// maxEchoedName bounds the unknown member name a refusal repeats.
const maxEchoedName = 64

// unknownMember refuses a member the schema does not have. It names the
// member, to help whoever wrote the body, only when the name is short plain
// ASCII (letters, digits, '_', '-', '.', '$'); a long name, or one with
// control characters, look-alikes or markup, is not repeated into the
// answer or the logs, and the refusal lists the members there are instead.
func unknownMember(name string, known map[string]bool) error {
	e := &fleetclaim.Error{Kind: fleetclaim.KindInvalid, Code: fleetclaim.CodeInvalidJSON}
	if plainName(name) {
		e.Field, e.Message = name, "is not a known field"
		return e
	}
	e.Message = "The body has a member that is not one of: " + strings.Join(slices.Sorted(maps.Keys(known)), ", ") + "."
	return e
}

func plainName(s string) bool {
	if s == "" || len(s) > maxEchoedName {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '$') {
			return false
		}
	}
	return true
}

// jsonNames returns the JSON member names of struct type t.
func jsonNames(t reflect.Type) map[string]bool {
	names := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			names[name] = true
		}
	}
	return names
}

// jsonError turns a decoding error into a message that names the field but
// does not echo the input.
func jsonError(err error) error {
	e := &fleetclaim.Error{Kind: fleetclaim.KindInvalid, Code: fleetclaim.CodeInvalidJSON, Message: "The body is not valid JSON."}
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		e.Field = typeErr.Field
		e.Message = "has the wrong type; expected " + typeErr.Type.String()
		if typeErr.Field == "" {
			e.Message = "The body must be a JSON object."
		}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// exactNames refuses unknown members first; this is a backstop
		// that, like it, does not repeat the name.
		e.Message = "The body has a member that is not a known field."
	case errors.Is(err, io.EOF):
		e.Message = "A JSON body is required."
	}
	return e
}

func (h *Handler) json(status int, body any) events.APIGatewayProxyResponse {
	b, err := json.Marshal(body)
	if err != nil {
		// Every view is plain data; this cannot happen short of a bug.
		h.Log.Error("encode response", "error", err)
		return events.APIGatewayProxyResponse{StatusCode: http.StatusInternalServerError, Headers: h.headers("application/problem+json"),
			Body: `{"type":"about:blank","title":"Internal Server Error","status":500,"code":"internal_error"}`}
	}
	return events.APIGatewayProxyResponse{StatusCode: status, Headers: h.headers("application/json"), Body: string(b)}
}

func (h *Handler) headers(contentType string) map[string]string {
	hs := map[string]string{
		"Content-Type": contentType,
		// Responses may carry a private key; nothing between here and the
		// installer app may keep a copy.
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	}
	if h.AllowedOrigin != "" {
		hs["Access-Control-Allow-Origin"] = h.AllowedOrigin
		hs["Vary"] = "Origin"
	}
	return hs
}

// problem is an RFC 9457 problem document.
type problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Code     string `json:"code"`
	Field    string `json:"field,omitempty"`
	Instance string `json:"instance,omitempty"`
}

var statusOf = map[fleetclaim.Kind]int{
	fleetclaim.KindInvalid:         http.StatusBadRequest,
	fleetclaim.KindUnauthenticated: http.StatusUnauthorized,
	fleetclaim.KindForbidden:       http.StatusForbidden,
	fleetclaim.KindNotFound:        http.StatusNotFound,
	fleetclaim.KindConflict:        http.StatusConflict,
	fleetclaim.KindTooLarge:        http.StatusRequestEntityTooLarge,
	fleetclaim.KindQuota:           http.StatusTooManyRequests,
	fleetclaim.KindUnavailable:     http.StatusServiceUnavailable,
	fleetclaim.KindInternal:        http.StatusInternalServerError,
}

// problem maps an error to its status once, here at the edge. Only internal
// and dependency errors are logged with their cause; the caller sees the
// domain message, never the cause.
func (h *Handler) problem(ctx context.Context, req events.APIGatewayProxyRequest, err error) events.APIGatewayProxyResponse {
	e := fleetclaim.ErrorOf(err)
	status, ok := statusOf[e.Kind]
	if !ok {
		status = http.StatusInternalServerError
	}
	detail := e.Message
	if e.Field != "" {
		detail = e.Field + " " + e.Message
	}
	log := h.Log.With("method", req.HTTPMethod, "resource", req.Resource, "status", status, "code", e.Code)
	if status >= 500 {
		log.ErrorContext(ctx, "request failed", "error", e.Err)
	} else {
		log.InfoContext(ctx, "request refused", "field", e.Field)
	}
	p := problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail,
		Code: e.Code, Field: e.Field, Instance: req.RequestContext.RequestID}
	b, _ := json.Marshal(p)
	resp := events.APIGatewayProxyResponse{StatusCode: status, Headers: h.headers("application/problem+json"), Body: string(b)}
	if e.RetryAfter > 0 {
		resp.Headers["Retry-After"] = strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds())))
	}
	if status == http.StatusUnauthorized {
		resp.Headers["WWW-Authenticate"] = "Bearer"
	}
	return resp
}
