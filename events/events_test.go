// Package events_test runs every sample event under events/ through the
// handler that receives it in AWS. Each file is decoded, unknown members
// refused, into the exact aws-lambda-go type the handler's Handle method
// takes (the type lambda.Start decodes it into), survives a round trip, and
// has the outcome its row in this package's tables states. A file without a
// row, or a row without a file, fails TestEveryFixtureHasAnOutcome.
package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/app"
	"github.com/fleetclaim/fleetclaim/shared/boltstore"
	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
	"github.com/fleetclaim/fleetclaim/shared/logging"
)

// The people the fixtures name: Cognito subs, also their user names.
const (
	installer = "4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f" // approved installer of acme
	admin     = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d" // approved admin of acme
	pending   = "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e" // pending installer of acme
	suspended = "7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918" // suspended installer of acme
	globexer  = "bbbbbbbb-0000-4000-8000-000000000003" // approved installer of globex
	newUser   = "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a" // confirms sign-up in the fixtures
	stranger  = "0e0e0e0e-1f1f-4a2a-8b3b-4c4c5d5d6e6e" // signs in without a record

	template   = "fleetclaim-prod"
	userPoolID = "eu-west-1_Ab12Cd34E"
	endpoint   = "a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com"
)

// The claims the fixtures name, in every state.
var (
	issuedClaim    = fleetclaim.ClaimID(strings.Repeat("a1", 32)) // installer's, SN-0001, usable
	consumedClaim  = fleetclaim.ClaimID(strings.Repeat("c0", 32)) // installer's, provisioned SN-0042
	expiredClaim   = fleetclaim.ClaimID(strings.Repeat("e0", 32)) // installer's, SN-0003, never used
	rejectedClaim  = fleetclaim.ClaimID(strings.Repeat("d1", 32)) // installer's, SN-0002, presented with a wrong serial
	revokedClaim   = fleetclaim.ClaimID(strings.Repeat("7e", 32)) // installer's, SN-0004, revoked
	suspendedClaim = fleetclaim.ClaimID(strings.Repeat("5d", 32)) // issued to suspended before the suspension, SN-0005
	foreignClaim   = fleetclaim.ClaimID(strings.Repeat("f0", 32)) // globex's, SN-0001
	unknownClaim   = fleetclaim.ClaimID(strings.Repeat("b7", 32)) // in no table

	deviceCertificate = strings.Repeat("d4", 32) // SN-0042's own certificate

	// now is when every fixture arrives (requestTime 23/Nov/2026:10:00:00).
	now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
)

// world is a store seeded with what the fixtures refer to, and the fakes
// for AWS IoT and Cognito every handler is built with.
type world struct {
	store  *boltstore.Store
	parts  app.Parts
	minter *fleetclaimtest.Minter
	groups *fleetclaimtest.Groups
	// revoker stands in for AWS IoT's certificate deactivation.
	revoker *fleetclaimtest.Revoker
	logs    *fleetclaimtest.LogBuffer
}

func newWorld(t *testing.T) *world {
	t.Helper()
	s := fleetclaimtest.OpenBolt(t)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	must(s.PutTenant(ctx, fleetclaim.Tenant{ID: "acme", Name: "Acme", Status: fleetclaim.TenantActive, AutoApproveDomains: []string{"acme.example"}}))
	must(s.PutTenant(ctx, fleetclaim.Tenant{ID: "globex", Name: "Globex", Status: fleetclaim.TenantActive}))
	for sub, in := range map[string]struct {
		tenant fleetclaim.TenantID
		status fleetclaim.InstallerStatus
		email  string
	}{
		installer: {"acme", fleetclaim.InstallerApproved, "ines@acme.example"},
		admin:     {"acme", fleetclaim.InstallerApproved, "ada@acme.example"},
		pending:   {"acme", fleetclaim.InstallerPending, "pat@gmail.example"},
		suspended: {"acme", fleetclaim.InstallerSuspended, "sam@acme.example"},
		globexer:  {"globex", fleetclaim.InstallerApproved, "gil@globex.example"},
	} {
		must(s.CreateInstaller(ctx, fleetclaim.Installer{ID: fleetclaim.InstallerID(sub), Username: sub, Email: in.email,
			TenantID: in.tenant, Status: in.status, CreatedAt: now.Add(-48 * time.Hour), UpdatedAt: now.Add(-24 * time.Hour)}))
	}
	claim := func(id fleetclaim.ClaimID, tenant fleetclaim.TenantID, by, serial string, issued time.Time) {
		must(s.CreateClaim(ctx, fleetclaim.Claim{ID: id, TenantID: tenant, InstallerID: fleetclaim.InstallerID(by),
			Template: template, Serial: serial, Status: fleetclaim.ClaimIssued, IssuedAt: issued,
			ExpiresAt: issued.Add(5 * time.Minute), UpdatedAt: issued, RetainUntil: issued.Add(config.DefaultClaimRetention)}, ""))
	}
	update := func(u fleetclaim.ClaimUpdate) {
		u.IfStatus = fleetclaim.ClaimIssued
		_, err := s.UpdateClaim(ctx, u)
		must(err)
	}
	claim(issuedClaim, "acme", installer, "SN-0001", now.Add(-time.Minute))
	claim(consumedClaim, "acme", installer, "SN-0042", now.Add(-2*time.Hour))
	update(fleetclaim.ClaimUpdate{ID: consumedClaim, Status: fleetclaim.ClaimConsumed, At: now.Add(-2*time.Hour + time.Minute),
		Device: &fleetclaim.Device{TenantID: "acme", Serial: "SN-0042", ThingName: "acme_SN-0042", CertificateID: deviceCertificate,
			InstallerID: installer, ClaimID: consumedClaim, Template: template, ProvisionedAt: now.Add(-2*time.Hour + time.Minute)}})
	claim(expiredClaim, "acme", installer, "SN-0003", now.Add(-time.Hour))
	claim(rejectedClaim, "acme", installer, "SN-0002", now.Add(-3*time.Minute))
	update(fleetclaim.ClaimUpdate{ID: rejectedClaim, Status: fleetclaim.ClaimRejected, Reason: fleetclaim.ReasonSerialMismatch, At: now.Add(-2 * time.Minute)})
	claim(revokedClaim, "acme", installer, "SN-0004", now.Add(-3*time.Minute))
	update(fleetclaim.ClaimUpdate{ID: revokedClaim, Status: fleetclaim.ClaimRevoked, Reason: fleetclaim.ReasonRevokedByInstaller, At: now.Add(-2 * time.Minute)})
	claim(suspendedClaim, "acme", suspended, "SN-0005", now.Add(-2*time.Minute))
	claim(foreignClaim, "globex", globexer, "SN-0001", now.Add(-time.Minute))
	must(s.AppendAudit(ctx, fleetclaim.AuditEvent{TenantID: "acme", ID: "20261123T095800.000000000Z-0a1b2c3d4e5f", At: now.Add(-2 * time.Minute),
		Actor: installer, Action: fleetclaim.ActionProvisioningDenied, Subject: string(rejectedClaim), Serial: "SN-0002",
		Reason: fleetclaim.ReasonSerialMismatch, Detail: `serial presented "SN-9999"`}))
	must(s.AppendAudit(ctx, fleetclaim.AuditEvent{TenantID: "acme", ID: "20261123T095900.000000000Z-1b2c3d4e5f6a", At: now.Add(-time.Minute),
		Actor: installer, Action: fleetclaim.ActionClaimIssued, Subject: string(issuedClaim), Serial: "SN-0001",
		Detail: "serial SN-0001, template " + template}))

	w := &world{store: s, minter: &fleetclaimtest.Minter{Now: func() time.Time { return now }}, groups: &fleetclaimtest.Groups{},
		logs: &fleetclaimtest.LogBuffer{}}
	w.revoker = &fleetclaimtest.Revoker{}
	w.parts = app.Parts{Store: s, Minter: w.minter, Revoker: w.revoker, Log: logging.New(w.logs, "debug"), Now: func() time.Time { return now },
		Endpoint:  func(context.Context) (string, error) { return endpoint, nil },
		GroupsFor: func(string) fleetclaim.GroupManager { return w.groups }}
	return w
}

// claimsConfig is the claims function's configuration in the fixtures'
// deployment.
func claimsConfig() config.Claims {
	return config.Claims{DefaultTemplate: template, AllowedTemplates: []string{template}, ClaimsPerHour: 60,
		ClaimRetention: config.DefaultClaimRetention, UserPoolID: userPoolID}
}

// audit returns a tenant's audit events.
func (w *world) audit(t *testing.T, tenant fleetclaim.TenantID) []fleetclaim.AuditEvent {
	t.Helper()
	es, _, err := w.store.ListAudit(t.Context(), tenant, fleetclaim.AuditFilter{}, fleetclaim.Page{Limit: fleetclaim.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// eventType is the type of the event a handler takes: the second parameter
// of its Handle method, which lambda.Start(h.Handle) decodes each
// invocation's payload into.
func eventType(handle any) reflect.Type { return reflect.TypeOf(handle).In(1) }

// load decodes the fixture at path into the event type handle takes,
// refusing members the type does not have, checks the round trip, and
// returns the event.
func load(t *testing.T, path string, handle any) any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ptr := reflect.New(eventType(handle))
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(ptr.Interface()); err != nil {
		t.Fatalf("%s does not decode into %s: %v", path, ptr.Elem().Type(), err)
	}
	if dec.More() {
		t.Fatalf("%s holds more than one event", path)
	}
	again, err := json.Marshal(ptr.Interface())
	if err != nil {
		t.Fatal(err)
	}
	if msg := sameJSON(raw, again); msg != "" {
		t.Errorf("%s round trip: %s", path, msg)
	}
	return ptr.Elem().Interface()
}

// sameJSON compares two JSON documents as values, in the manner of
// aws-lambda-go's own fixture tests (unmarshal, marshal, JSONEq), except
// for members that are empty on one side and absent on the other: the
// types omit empty members (omitempty) or write them as zero values where
// AWS writes null. It returns where they differ, or "".
func sameJSON(want, got []byte) string {
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		return err.Error()
	}
	if err := json.Unmarshal(got, &g); err != nil {
		return err.Error()
	}
	return diff(withoutEmpty(w), withoutEmpty(g), "$")
}

func withoutEmpty(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			if e := withoutEmpty(e); !isEmpty(e) {
				out[k] = e
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = withoutEmpty(e)
		}
		return out
	}
	return v
}

func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case bool:
		return !v
	case float64:
		return v == 0
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}

func diff(want, got any, at string) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: got %s, want an object", at, show(got))
		}
		for _, k := range sortedKeys(w, g) {
			if msg := diff(w[k], g[k], at+"."+k); msg != "" {
				return msg
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: got %s, want %s", at, show(got), show(want))
		}
		for i := range w {
			if msg := diff(w[i], g[i], fmt.Sprintf("%s[%d]", at, i)); msg != "" {
				return msg
			}
		}
		return ""
	}
	if !reflect.DeepEqual(want, got) {
		return fmt.Sprintf("%s: got %s, want %s", at, show(got), show(want))
	}
	return ""
}

func sortedKeys(ms ...map[string]any) []string {
	var out []string
	for _, m := range ms {
		for k := range m {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	slices.Sort(out)
	return out
}

func show(v any) string { b, _ := json.Marshal(v); return string(b) }

// outcomes names, per function directory, the fixtures that have a row in
// this package's tables.
func outcomes() map[string][]string {
	return map[string][]string{
		"claims":        names(claimsCases),
		"postconfirm":   names(postConfirmationCases),
		"pretoken":      names(preTokenCases),
		"provisionhook": names(hookCases),
		"presence":      names(presenceCases),
	}
}

func names[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Every JSON file under events/ has an expected outcome, and every outcome
// its file: a sample event nobody checks is a sample event that can rot.
func TestEveryFixtureHasAnOutcome(t *testing.T) {
	want := outcomes()
	found := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.EqualFold(filepath.Ext(path), ".json") {
			return err
		}
		found++
		dir, file := filepath.Split(path)
		if !slices.Contains(want[filepath.Clean(dir)], strings.TrimSuffix(file, filepath.Ext(file))) {
			t.Errorf("%s has no expected outcome in this package's tests", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for dir, rows := range want {
		for _, name := range rows {
			total++
			if _, err := os.Stat(filepath.Join(dir, name+".json")); err != nil {
				t.Errorf("%s/%s has an expected outcome but no fixture: %v", dir, name, err)
			}
		}
	}
	if found != total {
		t.Errorf("got %d fixtures, want %d", found, total)
	}
}

// fixtures returns the path of each row's fixture in dir, in order.
func fixtures[V any](dir string, rows map[string]V) []string {
	var out []string
	for _, name := range names(rows) {
		out = append(out, filepath.Join(dir, name+".json"))
	}
	return out
}

func nameOf(path string) string { return strings.TrimSuffix(filepath.Base(path), ".json") }
