package fleetclaim

import (
	"errors"
	"fmt"
	"time"
)

// Kind is the class of an error; the HTTP edge maps each kind to one status.
type Kind string

// Error kinds.
const (
	KindInvalid         Kind = "invalid"         // 400
	KindUnauthenticated Kind = "unauthenticated" // 401
	KindForbidden       Kind = "forbidden"       // 403
	KindNotFound        Kind = "not_found"       // 404
	KindConflict        Kind = "conflict"        // 409
	KindTooLarge        Kind = "too_large"       // 413
	KindQuota           Kind = "quota"           // 429
	KindUnavailable     Kind = "unavailable"     // 503
	KindInternal        Kind = "internal"        // 500
)

// Stable error codes returned to API clients in the problem document's `code`.
const (
	CodeInvalidRequest           = "invalid_request"
	CodeInvalidJSON              = "invalid_json"
	CodeUnauthenticated          = "unauthenticated"
	CodeForbidden                = "forbidden"
	CodeMissingScope             = "missing_scope"
	CodeInstallerNotApproved     = "installer_not_approved"
	CodeTenantInactive           = "tenant_inactive"
	CodeTenantMismatch           = "tenant_mismatch"
	CodeNotFound                 = "not_found"
	CodeDeviceAlreadyProvisioned = "device_already_provisioned"
	CodeClaimNotUsable           = "claim_not_usable"
	CodeClaimOpen                = "claim_open"
	CodeInstallerStatusConflict  = "installer_status_conflict"
	CodeBodyTooLarge             = "body_too_large"
	CodeQuotaExceeded            = "quota_exceeded"
	CodeThrottled                = "throttled"
	CodeUnavailable              = "dependency_unavailable"
	CodeInternal                 = "internal_error"
)

// Stable error codes of tenant administration (tenants.go).
const (
	// CodeRevisionConflict: the tenant changed since the revision the caller read.
	CodeRevisionConflict = "revision_conflict"
	// CodeTenantExists: a tenant with the requested ID exists already.
	CodeTenantExists = "tenant_exists"
	// CodeTenantStatusConflict: the tenant is not in the status the action applies to.
	CodeTenantStatusConflict = "tenant_status_conflict"
	// CodePublicMailDomain: an auto-approve domain anyone can get an address at.
	CodePublicMailDomain = "public_mail_domain"
)

// CodeDeviceChanged: the serial's device is not the one the request's
// certificateId names (a replacement registered meanwhile).
const CodeDeviceChanged = "device_changed"

// Error is a domain error: a kind for the status, a stable code, a message
// safe to show the caller, and the cause, which is logged but never shown.
type Error struct {
	Kind       Kind
	Code       string
	Message    string
	Field      string        // the offending input field, for KindInvalid
	RetryAfter time.Duration // for KindQuota and KindUnavailable
	Err        error         // internal cause; never shown to callers
}

func (e *Error) Error() string {
	msg := e.Code + ": " + e.Message
	if e.Field != "" {
		msg = e.Code + ": " + e.Field + ": " + e.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorOf returns the *Error in err's chain, or an internal error wrapping err.
func ErrorOf(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: KindInternal, Code: CodeInternal, Message: "Internal error.", Err: err}
}

// Invalid reports bad input in one field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Code: CodeInvalidRequest, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Forbidden reports an authenticated caller who may not do this.
func Forbidden(code, message string) *Error {
	return &Error{Kind: KindForbidden, Code: code, Message: message}
}

// NotFound reports a missing resource, or one in another tenant.
func NotFound(what string) *Error {
	return &Error{Kind: KindNotFound, Code: CodeNotFound, Message: what + " not found."}
}

// Conflict reports a request the resource's current state does not allow.
func Conflict(code, message string) *Error {
	return &Error{Kind: KindConflict, Code: code, Message: message}
}

// Unavailable reports a dependency failure; cause is logged, not shown.
func Unavailable(cause error) *Error {
	return &Error{Kind: KindUnavailable, Code: CodeUnavailable,
		Message: "A dependency is unavailable; try again shortly.", RetryAfter: time.Second, Err: cause}
}

// Store and dependency sentinels returned by adapters (wrapped).
var (
	// ErrNotFound: no such record.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a conditional write's condition did not hold (or the
	// record to create exists already).
	ErrConflict = errors.New("condition failed")
	// ErrQuotaExhausted: a quota window is used up.
	ErrQuotaExhausted = errors.New("quota exhausted")
	// ErrThrottled: a dependency asked us to slow down.
	ErrThrottled = errors.New("throttled")
	// ErrInvalidCursor: a pagination cursor that no page of ours produced.
	ErrInvalidCursor = errors.New("invalid cursor")
)
