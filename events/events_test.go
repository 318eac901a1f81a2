// Package events_test runs every sample event under events/ through the
// handler that receives it in AWS: each file is decoded into the exact
// aws-lambda-go type the handler takes (unknown fields refused), survives a
// round trip, and produces the outcome its row in the tables below states.
package events_test

import (
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/fleetclaim/fleetclaim/shared/logging"
)

// The fixtures' world: tenant acme with installers in every status, and
// claims in every state; globex holds one foreign claim.
const (
	installer = "4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
	admin     = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	pending   = "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"
	suspended = "7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918"
	newUser   = "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a"
	template  = "fleetclaim-prod"
)

var (
	issuedClaim   = fleetclaim.ClaimID(strings.Repeat("a1", 32))
	consumedClaim = fleetclaim.ClaimID(strings.Repeat("c0", 32))
	expiredClaim  = fleetclaim.ClaimID(strings.Repeat("e0", 32))
	foreignClaim  = fleetclaim.ClaimID(strings.Repeat("f0", 32))
	now           = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
)

type world struct {
	store  fleetclaim.Store
	parts  app.Parts
	groups *groups
	logs   *bytes.Buffer
}

func newWorld(t *testing.T) *world {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.PutTenant(ctx, fleetclaim.Tenant{ID: "acme", Name: "Acme", Status: fleetclaim.TenantActive, AutoApproveDomains: []string{"acme.example"}}))
	must(s.PutTenant(ctx, fleetclaim.Tenant{ID: "globex", Name: "Globex", Status: fleetclaim.TenantActive}))
	for sub, st := range map[string]fleetclaim.InstallerStatus{installer: fleetclaim.InstallerApproved, admin: fleetclaim.InstallerApproved,
		pending: fleetclaim.InstallerPending, suspended: fleetclaim.InstallerSuspended} {
		must(s.CreateInstaller(ctx, fleetclaim.Installer{ID: fleetclaim.InstallerID(sub), Username: sub, Email: sub[:4] + "@acme.example",
			TenantID: "acme", Status: st, CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour)}))
	}
	claim := func(id fleetclaim.ClaimID, tenant fleetclaim.TenantID, serial string, issued time.Time) fleetclaim.Claim {
		return fleetclaim.Claim{ID: id, TenantID: tenant, InstallerID: installer, Template: template, Serial: serial,
			Status: fleetclaim.ClaimIssued, IssuedAt: issued, ExpiresAt: issued.Add(5 * time.Minute), UpdatedAt: issued,
			RetainUntil: issued.Add(7 * 24 * time.Hour)}
	}
	must(s.CreateClaim(ctx, claim(issuedClaim, "acme", "SN-0001", now.Add(-time.Minute))))
	must(s.CreateClaim(ctx, claim(consumedClaim, "acme", "SN-0042", now.Add(-2*time.Hour))))
	must(s.CreateClaim(ctx, claim(expiredClaim, "acme", "SN-0003", now.Add(-time.Hour))))
	must(s.CreateClaim(ctx, claim(foreignClaim, "globex", "SN-0001", now.Add(-time.Minute))))
	_, err = s.UpdateClaim(ctx, fleetclaim.ClaimUpdate{ID: consumedClaim, IfStatus: fleetclaim.ClaimIssued, Status: fleetclaim.ClaimConsumed,
		At: now.Add(-2 * time.Hour), Device: &fleetclaim.Device{TenantID: "acme", Serial: "SN-0042", ThingName: "acme_SN-0042",
			CertificateID: strings.Repeat("d4", 32), InstallerID: installer, ClaimID: consumedClaim, Template: template,
			ProvisionedAt: now.Add(-2 * time.Hour)}})
	must(err)

	w := &world{store: s, groups: &groups{}, logs: &bytes.Buffer{}}
	w.parts = app.Parts{Store: s, Minter: minter{}, Log: logging.New(w.logs, "debug"), Now: func() time.Time { return now },
		Endpoint:  func(context.Context) (string, error) { return "a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com", nil },
		GroupsFor: func(string) fleetclaim.GroupManager { return w.groups }}
	return w
}

// minter stands in for AWS IoT CreateProvisioningClaim.
type minter struct{}

const mintedKey = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretsecretsecret\n-----END RSA PRIVATE KEY-----\n"

func (minter) CreateProvisioningClaim(context.Context, string) (fleetclaim.MintedClaim, error) {
	return fleetclaim.MintedClaim{CertificateID: strings.Repeat("b2", 32), CertificatePEM: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		PrivateKey: fleetclaim.NewSecret(mintedKey), Expiration: now.Add(5 * time.Minute)}, nil
}

type groups struct{ calls []string }

func (g *groups) AddUserToGroup(_ context.Context, u, gr string) error {
	g.calls = append(g.calls, "add "+u+" "+gr)
	return nil
}
func (g *groups) RemoveUserFromGroup(_ context.Context, u, gr string) error {
	g.calls = append(g.calls, "remove "+u+" "+gr)
	return nil
}
func (g *groups) SignOutEverywhere(_ context.Context, u string) error {
	g.calls = append(g.calls, "signout "+u)
	return nil
}

// load decodes a fixture strictly into v and checks the round trip: every
// value in the file survives unmarshal and marshal.
func load(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s does not decode into %T: %v", path, v, err)
	}
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	_ = json.Unmarshal(raw, &want)
	_ = json.Unmarshal(again, &got)
	if msg := subset(want, got, "$"); msg != "" {
		t.Errorf("%s round trip: %s", path, msg)
	}
}

// subset reports where want is not contained in got; a null in the file
// matches an empty value, which is how the types render what AWS sends null.
func subset(want, got any, at string) string {
	switch w := want.(type) {
	case nil:
		if isEmpty(got) || reflect.ValueOf(got).IsZero() {
			return ""
		}
		return at + ": got " + show(got) + ", want null"
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return at + ": got " + show(got) + ", want an object"
		}
		for k, v := range w {
			if msg := subset(v, g[k], at+"."+k); msg != "" {
				return msg
			}
		}
		return ""
	}
	// A field the type omits when empty (omitempty) reads back missing.
	if got == nil && reflect.ValueOf(want).IsZero() {
		return ""
	}
	if !reflect.DeepEqual(want, got) {
		return at + ": got " + show(got) + ", want " + show(want)
	}
	return ""
}

func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case map[string]any:
		for _, e := range v {
			if !isEmpty(e) && !reflect.ValueOf(e).IsZero() {
				return false
			}
		}
		return true
	case []any:
		return len(v) == 0
	}
	return false
}

func show(v any) string { b, _ := json.Marshal(v); return string(b) }

// files lists the fixtures of a function and fails on any without a row.
func files(t *testing.T, function string, rows []string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(function, "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures for %s: %v", function, err)
	}
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".json")
		if !slices.Contains(rows, name) {
			t.Errorf("%s has no expected outcome in this test", p)
		}
	}
	for _, r := range rows {
		if !slices.Contains(paths, filepath.Join(function, r+".json")) {
			t.Errorf("expected outcome for %s/%s.json, which does not exist", function, r)
		}
	}
	return paths
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

var hookConfig = config.Hook{HookDeadline: config.DefaultHookDeadline}
