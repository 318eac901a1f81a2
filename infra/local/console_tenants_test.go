package main

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleTenants drives tenant administration through the console, as
// a platform admin and a tenant's admin would, against the real local
// stack: onboarding (a public mail domain refused in words), picking the
// tenant the admin pages act on, editing from the revision read (a stale
// edit refused in words, then reloaded), suspension as the tenant's member
// sees it at sign-in, reactivation; and a tenant's admin, who gets no
// picker, sees their own tenant only and may rename it.
func TestConsoleTenants(t *testing.T) {
	t.Parallel()
	x := startStack(t, t.TempDir(), "-platform-admin", operatorEmail+":"+operatorPassword)
	ctx := t.Context()
	// The same platform admin through the API, to check what the page did
	// and to change a tenant behind the page's back.
	opsAPI := newInstaller(x.e, operatorEmail, operatorPassword)
	if err := opsAPI.signIn(ctx); err != nil {
		t.Fatal(err)
	}

	ops := &tab{t: t, ctx: newBrowser(t), name: "platform admin"}
	ops.do("desktop width", chromedp.EmulateViewport(1100, 800))
	ops.open(x.e.ConsoleURL)
	ops.signIn(operatorEmail, operatorPassword)
	ops.do("the header names the tenant acted on", chromedp.WaitVisible(chromedp.CSS(`#acting`)))
	if got, want := ops.text(`#acting`), "Acting on your own tenant: operators"; !strings.HasPrefix(got, want) {
		t.Errorf("header before a pick = %q, want it to start %q", got, want)
	}
	ops.do("open the tenants", chromedp.Click(chromedp.CSS(`#nav-tenants`)),
		chromedp.WaitVisible(chromedp.CSS(`#tenants tr[data-tenant=acme]`)), chromedp.WaitVisible(chromedp.CSS(`#tenants tr[data-tenant=globex]`)))

	// Onboarding: a public mail provider is refused as an auto-approve
	// domain, in a sentence that names it; nothing is created.
	ops.do("add a tenant with gmail.com", chromedp.Click(chromedp.CSS(`#tenant-new`)),
		ops.fill("#tenant-id", "initech"), ops.fill("#tenant-name", "Initech"), ops.fill("#tenant-domains", "initech.example, gmail.com"),
		chromedp.Click(chromedp.CSS(`#tenant-create`)))
	ops.waitFor("the refusal", `document.querySelector('#tenant-form-error').textContent.length > 0`, 10*time.Second)
	if got, want := ops.text(`#tenant-form-error`), "gmail.com is a public mail provider: anyone can get an address there, so it cannot approve installers automatically."; !strings.HasPrefix(got, want) {
		t.Errorf("public mail domain refusal = %q, want it to start %q", got, want)
	}
	ops.accessible("tenant-new")
	var tn tenantJSON
	var apiErr *apiError
	if err := opsAPI.call(ctx, "GET", "/tenants/initech", nil, &tn); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Fatalf("tenant after the refused creation: %+v, %v; want none", tn, err)
	}
	ops.do("add it with its own domain", ops.fill("#tenant-domains", "initech.example"), chromedp.Click(chromedp.CSS(`#tenant-create`)),
		chromedp.WaitVisible(chromedp.CSS(`#tenants tr[data-tenant=initech][data-status=active]`)))
	if got := ops.text(`main .notice`); got != "Tenant Initech (initech) added." {
		t.Errorf("notice after adding = %q", got)
	}
	ops.screenshot("tenants-list.png")
	ops.accessible("tenants-list")
	// Initech's first member, approved by its domain.
	member := x.autoApproved("initech", "initech.example")

	// Picking Initech: the header says so and the installers page lists
	// Initech's (none yet), not the platform admin's own tenant's.
	ops.do("pick Initech", chromedp.Click(chromedp.CSS(`#tenants tr[data-tenant=initech] button[data-pick]`)),
		chromedp.WaitVisible(chromedp.CSS(`#acting[data-tenant=initech]`)), chromedp.WaitVisible(chromedp.CSS(`#installers tr`)))
	if got := ops.text(`#acting`); !strings.HasPrefix(got, "Acting on tenant: Initech") {
		t.Errorf("header after the pick = %q, want Acting on tenant: Initech", got)
	}
	ops.waitFor("Initech's installers", fmt.Sprintf(`document.querySelector('#installers tr[data-email=%q]') !== null`, member.email), 10*time.Second)
	if n := ops.eval(`String(document.querySelectorAll('#installers tr[data-email]').length)`); n != "1" {
		t.Errorf("installers listed while acting on Initech: %s, want its one member", n)
	}
	ops.screenshot("tenant-picker.png")
	ops.accessible("tenant-picked")
	// Its devices are there to read only: the device routes act in the
	// caller's own tenant, so the page offers no device page or action.
	ops.do("Initech's devices", chromedp.Click(chromedp.CSS(`#nav-devices`)), chromedp.WaitVisible(chromedp.CSS(`#devices-intro`)))
	if got := ops.text(`#devices-intro`); !strings.HasPrefix(got, "The devices of the tenant you picked, to read only") {
		t.Errorf("devices page while acting on Initech says %q, want the read-only note", got)
	}

	// Editing from the revision read.
	ops.do("edit Initech", chromedp.Click(chromedp.CSS(`#acting-change`)),
		chromedp.Click(chromedp.CSS(`#tenants tr[data-tenant=initech] button[data-edit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#tenant-form`)))
	if got := ops.text(`#tenant-revision`); got != "1" {
		t.Errorf("revision shown = %q, want 1", got)
	}
	ops.do("change it", ops.fill("#tenant-name", "Initech Corp"), ops.fill("#tenant-quota", "25"),
		chromedp.Click(chromedp.CSS(`#tenant-decommission`)), chromedp.Click(chromedp.CSS(`#tenant-save`)))
	ops.waitFor("saved", `(e => e !== null && e.textContent === '2')(document.querySelector('#tenant-revision'))`, 10*time.Second)
	if got := ops.text(`main .notice`); got != "Saved Initech Corp (revision 2)." {
		t.Errorf("notice after saving = %q", got)
	}
	if got := ops.text(`#acting`); !strings.HasPrefix(got, "Acting on tenant: Initech Corp") {
		t.Errorf("header after the rename = %q, want the new name", got)
	}
	if err := x.admin.call(ctx, "GET", "/tenants/initech", nil, &tn); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Errorf("acme's admin reading initech: %v, want 404", err)
	}
	var got map[string]any
	if err := opsAPI.call(ctx, "GET", "/tenants/initech", nil, &got); err != nil {
		t.Fatal(err)
	}
	if got["name"] != "Initech Corp" || got["claimsPerHour"] != 25.0 || got["installersMayDecommission"] != true ||
		fmt.Sprint(got["autoApproveDomains"]) != "[initech.example]" || got["revision"] != 2.0 {
		t.Errorf("tenant after the edit = %v, want the page's changes at revision 2", got)
	}
	ops.screenshot("tenant-edit.png")
	ops.accessible("tenant-edit")

	// A stale edit: someone else saves first; the page's change is refused
	// in words, not merged, and a reload shows the tenant as it is now.
	if err := opsAPI.call(ctx, "PATCH", "/tenants/initech", map[string]any{"revision": 2, "claimsPerHour": 30}, nil); err != nil {
		t.Fatalf("the other change: %v", err)
	}
	ops.do("save from revision 2", ops.fill("#tenant-name", "Initech Inc"), chromedp.Click(chromedp.CSS(`#tenant-save`)))
	ops.waitFor("the refusal", `document.querySelector('#tenant-form-error').textContent.length > 0`, 10*time.Second)
	if got, want := ops.text(`#tenant-form-error`), "Someone else changed this tenant after you opened it, so your change was not saved."; !strings.HasPrefix(got, want) {
		t.Errorf("stale edit message = %q, want it to start %q", got, want)
	}
	ops.accessible("tenant-stale")
	ops.do("reload", chromedp.Click(chromedp.CSS(`#tenant-reload`)))
	ops.waitFor("revision 3", `(e => e !== null && e.textContent === '3')(document.querySelector('#tenant-revision'))`, 10*time.Second)
	if name, quota := ops.eval(`document.querySelector('#tenant-name').value`), ops.eval(`document.querySelector('#tenant-quota').value`); name != "Initech Corp" || quota != "30" {
		t.Errorf("after the reload: name %q, claims per hour %q; want the stored Initech Corp and 30", name, quota)
	}
	if err := opsAPI.call(ctx, "GET", "/tenants/initech", nil, &got); err != nil || got["name"] != "Initech Corp" {
		t.Errorf("the stale change reached the tenant: %v, %v", got, err)
	}

	// Suspension, behind a confirmation that says what it does; the focus
	// starts on Cancel.
	ops.do("ask to suspend", chromedp.Click(chromedp.CSS(`#tenant-suspend`)), chromedp.WaitVisible(chromedp.CSS(`#tenant-confirm`)))
	if confirm := ops.text(`#tenant-confirm-text`); !strings.Contains(confirm, "unused claims are revoked") || !strings.Contains(confirm, "lose access at their next sign-in") {
		t.Errorf("suspension confirmation = %q, want what it revokes and when members lose access", confirm)
	}
	if f := ops.eval(`document.activeElement.id`); f != "tenant-suspend-no" {
		t.Errorf("focus on the confirmation = %q, want the Cancel button", f)
	}
	ops.accessible("tenant-suspend-confirm")
	// By keyboard: Enter on Cancel withdraws the question and puts the focus
	// back on the button that asked it; Enter there asks again.
	ops.do("cancel by keyboard", chromedp.KeyEvent("\r"), chromedp.WaitNotPresent(chromedp.CSS(`#tenant-confirm`)))
	if f := ops.eval(`document.activeElement.id`); f != "tenant-suspend" {
		t.Errorf("focus after Cancel = %q, want the Suspend button", f)
	}
	ops.do("ask again by keyboard", chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.CSS(`#tenant-confirm`)))
	if s := ops.eval(`document.querySelector('#tenant-status-value').dataset.status`); s != "active" {
		t.Fatalf("status before confirming = %q, want active: asking must change nothing", s)
	}
	ops.do("suspend", chromedp.Click(chromedp.CSS(`#tenant-suspend-yes`)),
		chromedp.WaitVisible(chromedp.CSS(`#tenant-status-value[data-status=suspended]`)))

	// Its member sees the suspension when signing in.
	m := &tab{t: t, ctx: newBrowser(t), name: "member"}
	m.do("phone width", phoneWidth())
	m.open(x.e.ConsoleURL)
	m.signIn(member.email, member.password)
	m.do("the organisation's status", chromedp.WaitVisible(chromedp.CSS(`#tenant-status[data-status=suspended]`)))
	if got := m.text(`#tenant-status`); got != "Your organisation is suspended" {
		t.Errorf("member's tenant status = %q", got)
	}
	m.screenshot("status-tenant-suspended.png")
	m.accessible("status-tenant-suspended")

	ops.do("reactivate", chromedp.Click(chromedp.CSS(`#tenant-reactivate`)), chromedp.WaitVisible(chromedp.CSS(`#tenant-confirm`)))
	if confirm := ops.text(`#tenant-confirm-text`); !strings.Contains(confirm, "stay revoked") {
		t.Errorf("reactivation confirmation = %q, want it to say revoked claims stay revoked", confirm)
	}
	ops.do("confirm", chromedp.Click(chromedp.CSS(`#tenant-reactivate-yes`)),
		chromedp.WaitVisible(chromedp.CSS(`#tenant-status-value[data-status=active]`)))
	m.do("the member checks again", chromedp.Click(chromedp.CSS(`#status-refresh`)), chromedp.WaitVisible(chromedp.CSS(`#claim-form`)))

	// Spanish on the same screens.
	ops.do("Spanish", chromedp.SetValue(chromedp.CSS(`#lang`), "es"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#lang').dispatchEvent(new Event('change'))`))
	if got := ops.text(`#acting`); !strings.HasPrefix(got, "Actuando sobre la organización: Initech Corp") {
		t.Errorf("Spanish header = %q", got)
	}

	// A tenant's admin: no picker, their own tenant only, rename only.
	ta := &tab{t: t, ctx: newBrowser(t), name: "tenant admin"}
	ta.open(x.e.ConsoleURL)
	ta.signIn(testAdmin, testAdminPassword)
	if present := ta.eval(`String(document.querySelector('#acting, [data-pick]') !== null)`); present != "false" {
		t.Error("a tenant's admin is offered a tenant picker")
	}
	ta.do("my organisation", chromedp.Click(chromedp.CSS(`#nav-tenants`)), chromedp.WaitVisible(chromedp.CSS(`#rename-form`)))
	if h1 := ta.text(`main h1`); h1 != "My organisation" {
		t.Errorf("tenant admin's heading = %q", h1)
	}
	if page := ta.eval(`document.querySelector('main').innerText`); strings.Contains(page, "globex") || strings.Contains(page, "initech") ||
		ta.eval(`String(document.querySelector('#tenants, #tenant-new, #tenant-suspend, #tenant-domains') !== null)`) != "false" {
		t.Errorf("a tenant's admin sees other tenants or settings they may not change:\n%s", page)
	}
	ta.do("rename", ta.fill("#tenant-name", "Acme Ltd"), chromedp.Click(chromedp.CSS(`#tenant-save`)))
	ta.waitFor("renamed", `(e => e !== null && e.textContent === 'Acme Ltd')(document.querySelector('#tenant-name-value'))`, 10*time.Second)
	ta.screenshot("tenant-own.png")
	ta.accessible("tenant-own")
	for _, path := range []string{"/installers?tenant=globex", "/devices?tenant=initech", "/tenants/globex"} {
		if err := x.admin.call(ctx, "GET", path, nil, nil); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
			t.Errorf("tenant admin GET %s: %v, want 404", path, err)
		}
	}
}
