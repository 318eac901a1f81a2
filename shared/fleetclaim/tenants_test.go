package fleetclaim_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// tenantWorld is the world plus a platform admin (an installer of acme in
// the platform-admins group) and a second tenant, globex, with an approved
// installer.
type tenantWorld struct {
	*world
	operator, globexInstaller fleetclaim.Installer
}

func newTenantWorld(t *testing.T, store fleetclaim.Store) *tenantWorld {
	w := &tenantWorld{world: newWorldWith(t, store)}
	w.operator = w.addInstaller("acme", fleetclaim.InstallerApproved)
	w.addTenant("globex", fleetclaim.TenantActive, "globex.example")
	w.globexInstaller = w.addInstaller("globex", fleetclaim.InstallerApproved)
	return w
}

func (w *tenantWorld) operatorP() fleetclaim.Principal {
	return principal(w.operator, fleetclaim.GroupPlatformAdmins)
}
func (w *tenantWorld) globexP() fleetclaim.Principal { return principal(w.globexInstaller) }

func ptr[T any](v T) *T { return &v }

func TestPublicMailDomains(t *testing.T) {
	list := fleetclaim.PublicMailDomains()
	if len(list) < 50 {
		t.Fatalf("got %d public mail domains, want the shipped list", len(list))
	}
	if !slices.IsSorted(list) {
		t.Errorf("publicmail.txt is not sorted")
	}
	for i, d := range list {
		if got, err := fleetclaim.ParseDomain(d); err != nil || got != d {
			t.Errorf("line %q: got %q, %v; want a lower-case ASCII domain", d, got, err)
		}
		if i > 0 && list[i-1] == d {
			t.Errorf("%s is listed twice", d)
		}
	}
	tests := []struct {
		domain string
		want   bool
	}{
		{"gmail.com", true},
		{"outlook.com", true},
		{"proton.me", true},
		{"eu.gmail.com", true},
		{"mail.yahoo.co.uk", true},
		{"gmail.com.acme.example", false},
		{"notgmail.com", false},
		{"com", false},
		{"acme.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			if got := fleetclaim.IsPublicMailDomain(tt.domain); got != tt.want {
				t.Errorf("IsPublicMailDomain(%q): got %v, want %v", tt.domain, got, tt.want)
			}
		})
	}
}

func TestParseAutoApproveDomains(t *testing.T) {
	tests := []struct {
		name     string
		in       []string
		want     []string
		wantCode string
	}{
		{name: "none", in: []string{}, want: nil},
		{name: "folded and kept in order", in: []string{"ACME.example", "acme.test"}, want: []string{"acme.example", "acme.test"}},
		{name: "a public mail provider", in: []string{"acme.example", "gmail.com"}, wantCode: fleetclaim.CodePublicMailDomain},
		{name: "a public mail provider in upper case", in: []string{"Hotmail.COM"}, wantCode: fleetclaim.CodePublicMailDomain},
		{name: "a subdomain of one", in: []string{"eu.outlook.com"}, wantCode: fleetclaim.CodePublicMailDomain},
		{name: "twice", in: []string{"acme.example", "Acme.example"}, wantCode: fleetclaim.CodeInvalidRequest},
		{name: "not a domain", in: []string{"acme example"}, wantCode: fleetclaim.CodeInvalidRequest},
		{name: "a Unicode look-alike", in: []string{"acmé.example"}, wantCode: fleetclaim.CodeInvalidRequest},
		{name: "too many", in: func() []string {
			var ds []string
			for i := range fleetclaim.MaxAutoApproveDomains + 1 {
				ds = append(ds, "d"+string(rune('a'+i))+".example")
			}
			return ds
		}(), wantCode: fleetclaim.CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fleetclaim.ParseAutoApproveDomains(tt.in)
			if tt.wantCode != "" {
				e := errorOf(t, err)
				if e.Code != tt.wantCode || e.Field != "autoApproveDomains" {
					t.Fatalf("got %s on %q, want %s on autoApproveDomains", e.Code, e.Field, tt.wantCode)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// Who may do what to which tenant: platform admins anything to any tenant
// (but suspend their own); tenant admins read and rename their own, and
// every other tenant is "not found"; installers nothing.
func TestTenantPermissions(t *testing.T) {
	type call func(w *tenantWorld, p fleetclaim.Principal, id fleetclaim.TenantID) error
	get := func(w *tenantWorld, p fleetclaim.Principal, id fleetclaim.TenantID) error {
		_, err := w.svc.GetTenant(t.Context(), p, id)
		return err
	}
	rename := func(w *tenantWorld, p fleetclaim.Principal, id fleetclaim.TenantID) error {
		_, err := w.svc.UpdateTenant(t.Context(), p, id, fleetclaim.TenantChange{Revision: 0,
			TenantSettings: fleetclaim.TenantSettings{Name: ptr("Renamed")}})
		return err
	}
	setDomains := func(w *tenantWorld, p fleetclaim.Principal, id fleetclaim.TenantID) error {
		_, err := w.svc.UpdateTenant(t.Context(), p, id, fleetclaim.TenantChange{Revision: 0,
			TenantSettings: fleetclaim.TenantSettings{AutoApproveDomains: ptr([]string{"evil.example"})}})
		return err
	}
	setDecommission := func(w *tenantWorld, p fleetclaim.Principal, id fleetclaim.TenantID) error {
		_, err := w.svc.UpdateTenant(t.Context(), p, id, fleetclaim.TenantChange{Revision: 0,
			TenantSettings: fleetclaim.TenantSettings{InstallersMayDecommission: ptr(true)}})
		return err
	}
	suspend := func(w *tenantWorld, p fleetclaim.Principal, id fleetclaim.TenantID) error {
		_, err := w.svc.SuspendTenant(t.Context(), p, id)
		return err
	}
	reactivate := func(w *tenantWorld, p fleetclaim.Principal, id fleetclaim.TenantID) error {
		_, err := w.svc.ReactivateTenant(t.Context(), p, id)
		return err
	}
	create := func(w *tenantWorld, p fleetclaim.Principal, _ fleetclaim.TenantID) error {
		_, err := w.svc.CreateTenant(t.Context(), p, fleetclaim.NewTenantRequest{ID: "initech",
			TenantSettings: fleetclaim.TenantSettings{Name: ptr("Initech")}})
		return err
	}
	const ok = ""
	tests := []struct {
		name   string
		caller func(w *tenantWorld) fleetclaim.Principal
		call   call
		target fleetclaim.TenantID
		want   string // error code; "" for success
	}{
		{"platform admin reads another tenant", (*tenantWorld).operatorP, get, "globex", ok},
		{"platform admin renames another tenant", (*tenantWorld).operatorP, rename, "globex", ok},
		{"platform admin sets another tenant's domains", (*tenantWorld).operatorP, setDomains, "globex", ok},
		{"platform admin lets installers decommission", (*tenantWorld).operatorP, setDecommission, "globex", ok},
		{"platform admin suspends another tenant", (*tenantWorld).operatorP, suspend, "globex", ok},
		{"platform admin reactivates an active tenant", (*tenantWorld).operatorP, reactivate, "globex", ok},
		{"platform admin creates a tenant", (*tenantWorld).operatorP, create, "", ok},
		{"platform admin reads a missing tenant", (*tenantWorld).operatorP, get, "umbrella", fleetclaim.CodeNotFound},
		{"platform admin suspends their own tenant", (*tenantWorld).operatorP, suspend, "acme", fleetclaim.CodeForbidden},
		{"tenant admin reads their tenant", (*tenantWorld).adminP, get, "acme", ok},
		{"tenant admin renames their tenant", (*tenantWorld).adminP, rename, "acme", ok},
		{"tenant admin sets their domains", (*tenantWorld).adminP, setDomains, "acme", fleetclaim.CodeForbidden},
		{"tenant admin lets installers decommission", (*tenantWorld).adminP, setDecommission, "acme", fleetclaim.CodeForbidden},
		{"tenant admin suspends their tenant", (*tenantWorld).adminP, suspend, "acme", fleetclaim.CodeForbidden},
		{"tenant admin creates a tenant", (*tenantWorld).adminP, create, "", fleetclaim.CodeForbidden},
		{"tenant admin reads another tenant", (*tenantWorld).adminP, get, "globex", fleetclaim.CodeNotFound},
		{"tenant admin renames another tenant", (*tenantWorld).adminP, rename, "globex", fleetclaim.CodeNotFound},
		{"tenant admin suspends another tenant", (*tenantWorld).adminP, suspend, "globex", fleetclaim.CodeNotFound},
		{"tenant admin reads a missing tenant", (*tenantWorld).adminP, get, "umbrella", fleetclaim.CodeNotFound},
		{"installer reads their tenant", (*tenantWorld).installerP, get, "acme", fleetclaim.CodeForbidden},
		{"installer renames their tenant", (*tenantWorld).installerP, rename, "acme", fleetclaim.CodeForbidden},
		{"malformed tenant ID", (*tenantWorld).operatorP, get, "Globex Inc", fleetclaim.CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newTenantWorld(t, nil2bolt(t))
			before := w.tenants()
			err := tt.call(w, tt.caller(w), tt.target)
			if tt.want == ok {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				return
			}
			if e := errorOf(t, err); e.Code != tt.want {
				t.Fatalf("got %s (%s), want %s", e.Code, e.Message, tt.want)
			}
			if after := w.tenants(); !slices.EqualFunc(before, after, tenantsEqual) {
				t.Errorf("a refused call changed the tenants:\n got %+v\nwant %+v", after, before)
			}
		})
	}
}

func tenantsEqual(a, b fleetclaim.Tenant) bool {
	return a.ID == b.ID && a.Revision == b.Revision && a.Status == b.Status && a.Name == b.Name
}

func (w *tenantWorld) tenants() []fleetclaim.Tenant {
	w.t.Helper()
	ts, _, err := w.store.ListTenants(context.Background(), fleetclaim.Page{Limit: fleetclaim.MaxPageSize})
	if err != nil {
		w.t.Fatalf("list tenants: %v", err)
	}
	return ts
}

func nil2bolt(t *testing.T) fleetclaim.Store { return storesUnderTest(t)["bolt"](t) }

func TestListTenants(t *testing.T) {
	w := newTenantWorld(t, nil2bolt(t))
	got, next, err := w.svc.ListTenants(t.Context(), w.operatorP(), fleetclaim.Page{Limit: 1})
	if err != nil || len(got) != 1 || got[0].ID != "acme" || next == "" {
		t.Fatalf("platform admin, first page: got %v %q %v; want acme and a cursor", got, next, err)
	}
	got, next, err = w.svc.ListTenants(t.Context(), w.operatorP(), fleetclaim.Page{Limit: 1, Cursor: next})
	if err != nil || len(got) != 1 || got[0].ID != "globex" || next != "" {
		t.Fatalf("platform admin, second page: got %v %q %v; want globex and no cursor", got, next, err)
	}
	got, next, err = w.svc.ListTenants(t.Context(), w.adminP(), fleetclaim.Page{})
	if err != nil || len(got) != 1 || got[0].ID != "acme" || next != "" {
		t.Fatalf("tenant admin: got %v %q %v; want their own tenant only", got, next, err)
	}
	_, _, err = w.svc.ListTenants(t.Context(), w.adminP(), fleetclaim.Page{Cursor: "eyJrIjoidGVuYW50cyJ9"})
	if e := errorOf(t, err); e.Field != "cursor" {
		t.Fatalf("tenant admin with a cursor: got %v, want a refused cursor", err)
	}
	_, _, err = w.svc.ListTenants(t.Context(), w.operatorP(), fleetclaim.Page{Cursor: "bm9wZQ"})
	if e := errorOf(t, err); e.Field != "cursor" {
		t.Fatalf("platform admin with a foreign cursor: got %v, want a refused cursor", err)
	}
}

func TestCreateTenant(t *testing.T) {
	tests := []struct {
		name      string
		req       fleetclaim.NewTenantRequest
		wantCode  string
		wantField string
	}{
		{name: "every setting", req: fleetclaim.NewTenantRequest{ID: "initech", TenantSettings: fleetclaim.TenantSettings{
			Name: ptr("Initech"), AutoApproveDomains: ptr([]string{"Initech.example"}), ClaimsPerHour: ptr(20),
			AllowedTemplates: ptr([]string{"other-template"}), InstallersMayDecommission: ptr(true)}}},
		{name: "name only", req: fleetclaim.NewTenantRequest{ID: "initech", TenantSettings: fleetclaim.TenantSettings{Name: ptr("Initech")}}},
		{name: "existing ID", req: fleetclaim.NewTenantRequest{ID: "globex", TenantSettings: fleetclaim.TenantSettings{Name: ptr("Globex 2")}},
			wantCode: fleetclaim.CodeTenantExists},
		{name: "malformed ID", req: fleetclaim.NewTenantRequest{ID: "Init_tech", TenantSettings: fleetclaim.TenantSettings{Name: ptr("x")}},
			wantCode: fleetclaim.CodeInvalidRequest, wantField: "tenantId"},
		{name: "no name", req: fleetclaim.NewTenantRequest{ID: "initech"}, wantCode: fleetclaim.CodeInvalidRequest, wantField: "name"},
		{name: "blank name", req: fleetclaim.NewTenantRequest{ID: "initech", TenantSettings: fleetclaim.TenantSettings{Name: ptr("  ")}},
			wantCode: fleetclaim.CodeInvalidRequest, wantField: "name"},
		{name: "public mail domain", req: fleetclaim.NewTenantRequest{ID: "initech", TenantSettings: fleetclaim.TenantSettings{
			Name: ptr("Initech"), AutoApproveDomains: ptr([]string{"gmail.com"})}}, wantCode: fleetclaim.CodePublicMailDomain, wantField: "autoApproveDomains"},
		{name: "template not offered", req: fleetclaim.NewTenantRequest{ID: "initech", TenantSettings: fleetclaim.TenantSettings{
			Name: ptr("Initech"), AllowedTemplates: ptr([]string{"elsewhere"})}}, wantCode: fleetclaim.CodeInvalidRequest, wantField: "allowedTemplates"},
		{name: "negative quota", req: fleetclaim.NewTenantRequest{ID: "initech", TenantSettings: fleetclaim.TenantSettings{
			Name: ptr("Initech"), ClaimsPerHour: ptr(-1)}}, wantCode: fleetclaim.CodeInvalidRequest, wantField: "claimsPerHour"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newTenantWorld(t, nil2bolt(t))
			got, err := w.svc.CreateTenant(t.Context(), w.operatorP(), tt.req)
			if tt.wantCode != "" {
				e := errorOf(t, err)
				if e.Code != tt.wantCode || e.Field != tt.wantField {
					t.Fatalf("got %s on %q (%s), want %s on %q", e.Code, e.Field, e.Message, tt.wantCode, tt.wantField)
				}
				if _, err := w.store.GetTenant(t.Context(), "initech"); !errors.Is(err, fleetclaim.ErrNotFound) {
					t.Errorf("a refused create left a tenant: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("CreateTenant: %v", err)
			}
			stored, err := w.store.GetTenant(t.Context(), tt.req.ID)
			if err != nil {
				t.Fatalf("GetTenant: %v", err)
			}
			if !tenantsEqual(got, stored) || stored.Status != fleetclaim.TenantActive || stored.Revision != 1 ||
				stored.UpdatedBy != w.operator.ID || !stored.CreatedAt.Equal(t0) {
				t.Errorf("got stored %+v, want an active tenant at revision 1 created by the operator at t0", stored)
			}
			if tt.req.AutoApproveDomains != nil && !slices.Equal(stored.AutoApproveDomains, []string{"initech.example"}) {
				t.Errorf("got domains %v, want [initech.example]", stored.AutoApproveDomains)
			}
			if e := w.lastAudit(tt.req.ID); e.Action != fleetclaim.ActionTenantCreated || e.Actor != w.operator.ID {
				t.Errorf("got audit %+v, want tenant.created by the operator", e)
			}
		})
	}
}

func (w *tenantWorld) lastAudit(tenant fleetclaim.TenantID) fleetclaim.AuditEvent {
	w.t.Helper()
	es, _, err := w.store.ListAudit(context.Background(), tenant, fleetclaim.AuditFilter{}, fleetclaim.Page{Limit: 1})
	if err != nil || len(es) == 0 {
		w.t.Fatalf("list audit of %s: %v %v", tenant, es, err)
	}
	return es[0]
}

func TestUpdateTenant(t *testing.T) {
	w := newTenantWorld(t, nil2bolt(t))
	ctx := t.Context()
	// The seed wrote globex at revision 0.
	tn, err := w.svc.UpdateTenant(ctx, w.operatorP(), "globex", fleetclaim.TenantChange{Revision: 0,
		TenantSettings: fleetclaim.TenantSettings{AutoApproveDomains: ptr([]string{"globex.example", "globex.test"}),
			ClaimsPerHour: ptr(7), AllowedTemplates: ptr([]string{"other-template", template})}})
	if err != nil {
		t.Fatalf("UpdateTenant: %v", err)
	}
	if tn.Revision != 1 || tn.Name != "globex" || tn.ClaimsPerHour != 7 || !slices.Equal(tn.AutoApproveDomains, []string{"globex.example", "globex.test"}) {
		t.Fatalf("got %+v, want revision 1 with the new settings and the name kept", tn)
	}
	if e := w.lastAudit("globex"); e.Action != fleetclaim.ActionTenantUpdated || !strings.Contains(e.Detail, "autoApproveDomains, claimsPerHour, allowedTemplates") {
		t.Errorf("got audit %+v, want tenant.updated naming the settings", e)
	}

	t.Run("stale revision", func(t *testing.T) {
		_, err := w.svc.UpdateTenant(ctx, w.operatorP(), "globex", fleetclaim.TenantChange{Revision: 0,
			TenantSettings: fleetclaim.TenantSettings{Name: ptr("Stale")}})
		if e := errorOf(t, err); e.Code != fleetclaim.CodeRevisionConflict || e.Kind != fleetclaim.KindConflict {
			t.Fatalf("got %v, want revision_conflict", err)
		}
	})
	t.Run("nothing to change", func(t *testing.T) {
		_, err := w.svc.UpdateTenant(ctx, w.operatorP(), "globex", fleetclaim.TenantChange{Revision: 1})
		if e := errorOf(t, err); e.Kind != fleetclaim.KindInvalid {
			t.Fatalf("got %v, want invalid", err)
		}
	})
	t.Run("public mail domain", func(t *testing.T) {
		_, err := w.svc.UpdateTenant(ctx, w.operatorP(), "globex", fleetclaim.TenantChange{Revision: 1,
			TenantSettings: fleetclaim.TenantSettings{AutoApproveDomains: ptr([]string{"globex.example", "yahoo.com"})}})
		if e := errorOf(t, err); e.Code != fleetclaim.CodePublicMailDomain {
			t.Fatalf("got %v, want public_mail_domain", err)
		}
	})
	got, err := w.store.GetTenant(ctx, "globex")
	if err != nil || got.Revision != 1 || got.Name != "globex" || len(got.AutoApproveDomains) != 2 {
		t.Fatalf("after the refused changes: got %+v, %v; want revision 1 unchanged", got, err)
	}

	t.Run("the tenant's templates narrow claims", func(t *testing.T) {
		ic, err := w.svc.IssueClaim(ctx, w.globexP(), fleetclaim.IssueRequest{Serial: "SN-T1"})
		if err != nil || ic.Claim.Template != "other-template" {
			t.Fatalf("default template: got %+v, %v; want the tenant's first, other-template", ic.Claim, err)
		}
		if _, err := w.svc.UpdateTenant(ctx, w.operatorP(), "globex", fleetclaim.TenantChange{Revision: 1,
			TenantSettings: fleetclaim.TenantSettings{AllowedTemplates: ptr([]string{"other-template"})}}); err != nil {
			t.Fatalf("UpdateTenant: %v", err)
		}
		_, err = w.svc.IssueClaim(ctx, w.globexP(), fleetclaim.IssueRequest{Serial: "SN-T2", Template: template})
		if e := errorOf(t, err); e.Field != "template" {
			t.Fatalf("a template the deployment offers but the tenant may not use: got %v, want refused", err)
		}
		if _, err := w.svc.IssueClaim(ctx, w.installerP(), fleetclaim.IssueRequest{Serial: "SN-T3", Template: template}); err != nil {
			t.Fatalf("another tenant is not narrowed: %v", err)
		}
	})
}

// Suspension takes effect on the next request and in the hook, revokes
// the tenant's unused claims (and only those, and only the tenant's), is
// audited; reactivation brings none of them back. Run on both stores.
func TestSuspendTenant(t *testing.T) {
	for name, open := range storesUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			w := newTenantWorld(t, open(t))
			ctx := t.Context()
			issue := func(p fleetclaim.Principal, serial string) fleetclaim.Claim {
				t.Helper()
				ic, err := w.svc.IssueClaim(ctx, p, fleetclaim.IssueRequest{Serial: serial})
				if err != nil {
					t.Fatalf("issue %s: %v", serial, err)
				}
				return ic.Claim
			}
			expired := issue(w.globexP(), "SN-OLD")
			w.advance(10 * time.Minute)
			consumed := issue(w.globexP(), "SN-USED")
			if d := w.register(consumed.ID, "SN-USED", consumed.Template); !d.Allow {
				t.Fatalf("register SN-USED: %+v", d)
			}
			open1, open2 := issue(w.globexP(), "SN-1"), issue(w.globexP(), "SN-2")
			acmeClaim := issue(w.installerP(), "SN-1")

			w.advance(time.Minute)
			tn, err := w.svc.SuspendTenant(ctx, w.operatorP(), "globex")
			if err != nil {
				t.Fatalf("SuspendTenant: %v", err)
			}
			if tn.Status != fleetclaim.TenantSuspended || tn.Revision != 1 {
				t.Fatalf("got %+v, want suspended at revision 1", tn)
			}
			for _, c := range []fleetclaim.Claim{open1, open2} {
				if got := w.claim(c.ID); got.Status != fleetclaim.ClaimRevoked || got.Reason != fleetclaim.ReasonTenantSuspended {
					t.Errorf("open claim %s: got %s %s, want revoked tenant_suspended", c.Serial, got.Status, got.Reason)
				}
			}
			for _, c := range []fleetclaim.Claim{expired, consumed, acmeClaim} {
				if got := w.claim(c.ID); got.Status != c.Status && got.Status != fleetclaim.ClaimConsumed {
					t.Errorf("claim %s: got %s, want it left as it was", c.Serial, got.Status)
				}
			}
			if got := w.claim(acmeClaim.ID); got.Status != fleetclaim.ClaimIssued {
				t.Errorf("acme's claim: got %s, want issued", got.Status)
			}
			// Invariant 10: the revoked claims' certificates are
			// deactivated in AWS IoT, and no other.
			for _, c := range []fleetclaim.Claim{open1, open2} {
				if !w.revoker.Inactive(string(c.ID)) {
					t.Errorf("open claim %s: certificate still active in AWS IoT", c.Serial)
				}
			}
			for _, c := range []fleetclaim.Claim{expired, consumed, acmeClaim} {
				if w.revoker.Inactive(string(c.ID)) {
					t.Errorf("claim %s: certificate deactivated, want it left alone", c.Serial)
				}
			}

			// The next request and the hook refuse the tenant.
			_, err = w.svc.IssueClaim(ctx, w.globexP(), fleetclaim.IssueRequest{Serial: "SN-3"})
			if e := errorOf(t, err); e.Code != fleetclaim.CodeTenantInactive {
				t.Fatalf("claim request after the suspension: got %v, want tenant_inactive", err)
			}
			if d := w.register(open1.ID, "SN-1", open1.Template); d.Allow {
				t.Fatalf("registration of a claim issued before the suspension: got allowed")
			}

			es, _, err := w.store.ListAudit(ctx, "globex", fleetclaim.AuditFilter{}, fleetclaim.Page{Limit: fleetclaim.MaxPageSize})
			if err != nil {
				t.Fatal(err)
			}
			// The suspension's own record: the tenant's status and each
			// revoked claim (deactivations in AWS IoT are audited apart).
			var actions []string
			for _, e := range es {
				if e.Actor == w.operator.ID && (e.Action == fleetclaim.ActionClaimRevoked || e.Action == fleetclaim.ActionTenantSuspended) {
					actions = append(actions, e.Action+" "+string(e.Reason))
				}
			}
			slices.Sort(actions)
			want := []string{"claim.revoked tenant_suspended", "claim.revoked tenant_suspended", "tenant.suspended "}
			if !slices.Equal(actions, want) {
				t.Errorf("got audit %q, want %q", actions, want)
			}

			// Suspending again changes nothing and succeeds.
			if again, err := w.svc.SuspendTenant(ctx, w.operatorP(), "globex"); err != nil || again.Revision != 1 {
				t.Fatalf("second suspension: got %+v, %v; want the same record", again, err)
			}

			w.advance(time.Minute)
			tn, err = w.svc.ReactivateTenant(ctx, w.operatorP(), "globex")
			if err != nil || tn.Status != fleetclaim.TenantActive || tn.Revision != 2 {
				t.Fatalf("ReactivateTenant: got %+v, %v", tn, err)
			}
			if got := w.claim(open2.ID); got.Status != fleetclaim.ClaimRevoked {
				t.Errorf("after reactivation, a revoked claim: got %s, want still revoked", got.Status)
			}
			if e := w.lastAudit("globex"); e.Action != fleetclaim.ActionTenantReactivated || !strings.Contains(e.Detail, "stay revoked") {
				t.Errorf("got audit %+v, want tenant.reactivated saying what stays", e)
			}
			if d := w.register(open2.ID, "SN-2", open2.Template); d.Allow {
				t.Errorf("after reactivation, a revoked claim registered")
			}
			issue(w.globexP(), "SN-4")
		})
	}
}

// A suspension whose revocations fail partway stands (the hook refuses the
// tenant), says so, and repeating it completes the revocations.
func TestSuspendTenantRevocationFault(t *testing.T) {
	store := &faultyStore{Store: nil2bolt(t)}
	w := newTenantWorld(t, store)
	ctx := t.Context()
	ic, err := w.svc.IssueClaim(ctx, w.globexP(), fleetclaim.IssueRequest{Serial: "SN-1"})
	if err != nil {
		t.Fatal(err)
	}
	store.updateClaim = fail
	_, err = w.svc.SuspendTenant(ctx, w.operatorP(), "globex")
	if e := errorOf(t, err); e.Kind != fleetclaim.KindUnavailable || !strings.Contains(e.Message, "suspended") ||
		strings.Contains(e.Message, errStoreDown.Error()) {
		t.Fatalf("got %v, want unavailable, saying the suspension stands, without the cause", err)
	}
	if tn, _ := w.store.GetTenant(ctx, "globex"); tn.Status != fleetclaim.TenantSuspended {
		t.Fatalf("got tenant %s, want suspended", tn.Status)
	}
	if got := w.claim(ic.Claim.ID); got.Status != fleetclaim.ClaimIssued {
		t.Fatalf("got claim %s, want still issued (the revocation failed)", got.Status)
	}
	if !strings.Contains(w.logs.String(), "not all revoked") {
		t.Errorf("the failed revocation was not logged: %s", w.logs.String())
	}
	store.updateClaim = nil
	if _, err := w.svc.SuspendTenant(ctx, w.operatorP(), "globex"); err != nil {
		t.Fatalf("repeated suspension: %v", err)
	}
	if got := w.claim(ic.Claim.ID); got.Status != fleetclaim.ClaimRevoked {
		t.Fatalf("after the repeat: got claim %s, want revoked", got.Status)
	}
}

// FuzzParseAutoApproveDomains: whatever a platform admin sends, an accepted
// list holds only valid, distinct, lower-case ASCII domains, none of them a
// public mail provider or under one; a refused one names its field.
func FuzzParseAutoApproveDomains(f *testing.F) {
	for _, seed := range []string{"acme.example", "ACME.example,acme.test", "gmail.com", "eu.gmail.com", "a,a",
		"b\u0130gcorp.example", "xn--bcher-kva.example", "", ",", "-a.example", "a..b"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, list string) {
		got, err := fleetclaim.ParseAutoApproveDomains(strings.Split(list, ","))
		if err != nil {
			if e := errorOf(t, err); e.Kind != fleetclaim.KindInvalid || e.Field != "autoApproveDomains" {
				t.Fatalf("got %+v, want invalid autoApproveDomains", e)
			}
			return
		}
		if len(got) > fleetclaim.MaxAutoApproveDomains {
			t.Fatalf("accepted %d domains", len(got))
		}
		for i, d := range got {
			if err := fleetclaim.ValidateDomain(d); err != nil || fleetclaim.IsPublicMailDomain(d) || slices.Contains(got[:i], d) {
				t.Fatalf("accepted %q in %q", d, got)
			}
		}
	})
}

// FuzzValidateTenantName: an accepted name is valid UTF-8, 1 to 100
// printable characters, not all spaces.
func FuzzValidateTenantName(f *testing.F) {
	for _, seed := range []string{"Acme", " ", "", "Acme\u200b", "Acme\nCorp", strings.Repeat("n", 101), "Ünïcödé Ltd", "\xff"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if fleetclaim.ValidateTenantName(name) != nil {
			return
		}
		if !utf8.ValidString(name) || strings.TrimSpace(name) == "" || utf8.RuneCountInString(name) > fleetclaim.MaxTenantNameLength {
			t.Fatalf("accepted %q", name)
		}
		for _, r := range name {
			if !unicode.IsPrint(r) {
				t.Fatalf("accepted %q with %U", name, r)
			}
		}
	})
}
