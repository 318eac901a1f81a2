package fleetclaim

import (
	"errors"
	"slices"
	"strings"
	"time"
)

// AuditActions is every action an audit event may carry: the values that
// GET /audit's action filter accepts and the OpenAPI enum lists.
var AuditActions = []string{
	ActionClaimIssued, ActionClaimRevoked,
	ActionDeviceProvisioned, ActionProvisioningDenied, ActionDeviceOnline,
	ActionDeviceDecommissioned, ActionDeviceReplaced, ActionCertificateDeactivated,
	ActionInstallerRegistered, ActionInstallerApproved, ActionInstallerSuspended,
	ActionInstallerReinstated, ActionInstallerOffboarded,
	ActionTenantCreated, ActionTenantUpdated, ActionTenantSuspended, ActionTenantReactivated,
}

// CodeUnknownAuditAction: the audit listing's action filter names no
// action the trail records (AuditActions).
const CodeUnknownAuditAction = "unknown_audit_action"

// AuditQuery is an audit listing's filters as the caller wrote them (query
// parameters); every one is optional. Filter checks and parses it.
type AuditQuery struct {
	Since  string // RFC 3339; events at or after it
	Until  string // RFC 3339; events before it
	Action string // one of AuditActions
	Serial string // the device serial the events concern
	Actor  string // the installer (Cognito sub) who acted
}

// AuditFilter narrows a tenant's audit trail. The zero AuditFilter lets
// every event through. Stores serve the time range from their time-ordered
// keys and test the rest on each event (Matches).
type AuditFilter struct {
	Since  time.Time // inclusive; zero for no lower bound
	Until  time.Time // exclusive; zero for no upper bound
	Action string
	Serial string
	Actor  InstallerID
}

// Filter checks q and returns the filter it asks for. Each field is checked
// on its own terms, so the first bad one is named in the error; nothing is
// read from a store before it passes.
func (q AuditQuery) Filter() (AuditFilter, error) {
	var f AuditFilter
	var err error
	if f.Since, err = auditTime("since", q.Since); err != nil {
		return AuditFilter{}, err
	}
	if f.Until, err = auditTime("until", q.Until); err != nil {
		return AuditFilter{}, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return AuditFilter{}, Invalid("until", "must be after since")
	}
	if q.Action != "" {
		if !slices.Contains(AuditActions, q.Action) {
			return AuditFilter{}, &Error{Kind: KindInvalid, Code: CodeUnknownAuditAction, Field: "action",
				Message: "must be one of " + strings.Join(AuditActions, ", ")}
		}
		f.Action = q.Action
	}
	if q.Serial != "" {
		if err := ValidateSerial(q.Serial); err != nil {
			return AuditFilter{}, renamed(err, "serial")
		}
		f.Serial = q.Serial
	}
	if q.Actor != "" {
		if err := ValidateInstallerID(InstallerID(q.Actor)); err != nil {
			return AuditFilter{}, renamed(err, "actor")
		}
		f.Actor = InstallerID(q.Actor)
	}
	return f, nil
}

// auditTime parses an optional RFC 3339 time of field.
func auditTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, Invalid(field, "must be an RFC 3339 time, such as 2026-01-31T09:00:00Z")
	}
	return t.UTC(), nil
}

// renamed gives a validation error the name of the filter field it came from.
func renamed(err error, field string) error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Field = field
		return &c
	}
	return err
}

// Matches reports whether e passes every part of f.
func (f AuditFilter) Matches(e AuditEvent) bool {
	return f.InRange(e.At) &&
		(f.Action == "" || e.Action == f.Action) &&
		(f.Serial == "" || e.Serial == f.Serial) &&
		(f.Actor == "" || e.Actor == f.Actor)
}

// InRange reports whether t is within [Since, Until).
func (f AuditFilter) InRange(t time.Time) bool {
	return (f.Since.IsZero() || !t.Before(f.Since)) && (f.Until.IsZero() || t.Before(f.Until))
}

// Empty reports whether the time range holds no instant at all, so that a
// store can answer without reading.
func (f AuditFilter) Empty() bool {
	return !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until)
}

// Key is a canonical rendering of f. Stores bind their cursors to it: a
// cursor continues only the filtered listing that produced it, so paging
// can never skip or repeat events because the filters changed in between.
func (f AuditFilter) Key() string {
	if f == (AuditFilter{}) {
		return ""
	}
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return strings.Join([]string{stamp(f.Since), stamp(f.Until), f.Action, f.Serial, string(f.Actor)}, "|")
}
