package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// TestConsoleAudit: an admin approves an installer in the console, the
// installer requests a claim and revokes it, and the admin's audit page
// lists those events in words; filtering by action, by serial and by date
// narrows the list (an empty result says so), the filters outlast a visit
// to another page, and the screen passes the accessibility scan.
func TestConsoleAudit(t *testing.T) {
	t.Parallel()
	x := startStack(t, t.TempDir())
	ctx := t.Context()
	in := newInstaller(x.e, "inst-"+randomSuffix()+"@installers.example", "Passw0rd-"+randomSuffix())
	if err := in.signUp(ctx, "acme"); err != nil {
		t.Fatalf("sign up: %v", err)
	}
	rec, err := x.admin.findInstaller(ctx, in.email)
	if err != nil {
		t.Fatal(err)
	}

	admin := &tab{t: t, ctx: newBrowser(t), name: "admin"}
	admin.do("admin at desktop width", chromedp.EmulateViewport(1100, 800))
	admin.open(x.e.ConsoleURL)
	admin.signIn(testAdmin, testAdminPassword)
	row := fmt.Sprintf(`#installers tr[data-email=%q]`, in.email)
	admin.do("approve the installer", chromedp.Click(chromedp.CSS(`#nav-admin`)), chromedp.WaitVisible(chromedp.CSS(row)),
		chromedp.Click(chromedp.CSS(row+` button[data-action=approve]`)),
		chromedp.Click(chromedp.CSS(row+` button[data-confirm=approve]`)),
		chromedp.WaitVisible(chromedp.CSS(row+`[data-status=approved]`)))

	// The installer, now approved, asks for claims and revokes them: enough
	// for the trail to need a second page; the last serial is the one
	// looked into.
	if err := in.signIn(ctx); err != nil {
		t.Fatalf("installer sign-in: %v", err)
	}
	var serial string
	for range 8 {
		serial = "SN-" + randomSuffix()
		c := x.issue(in, serial)
		if err := in.call(ctx, "DELETE", "/claims/"+c.ClaimID, nil, nil); err != nil {
			t.Fatalf("revoke: %v", err)
		}
	}
	var trail struct {
		Items []struct {
			EventID string `json:"eventId"`
		} `json:"items"`
	}
	if err := x.admin.call(ctx, "GET", "/audit?limit=100", nil, &trail); err != nil {
		t.Fatalf("the trail through the API: %v", err)
	}
	if len(trail.Items) <= 20 {
		t.Fatalf("the API lists %d events, want more than the console's page of 20", len(trail.Items))
	}

	// rows lists the shown events as "action serial actor-cell-text".
	rows := func() []string {
		out := admin.eval(`[...document.querySelectorAll('#audit-events tr[data-action]')]
			.map(r => [r.dataset.action, r.dataset.serial, r.cells[2].textContent].join(' ')).join('\n')`)
		if out == "" {
			return nil
		}
		return strings.Split(out, "\n")
	}
	// apply submits the filter form with the keyboard (Enter in the serial
	// field) and waits for the listing it asked for to be drawn.
	apply := func(what string, values map[string]string, drawn string) {
		t.Helper()
		set := `document.querySelector('#audit-events').replaceChildren();`
		for _, name := range []string{"since", "until", "action", "serial", "actor"} {
			set += fmt.Sprintf(`document.querySelector('#audit-%s').value = %q;`, name, values[name])
		}
		admin.do(what, chromedp.Evaluate[chromedp.Void](set), chromedp.Focus(chromedp.CSS(`#audit-serial`)), chromedp.KeyEvent("\r"))
		admin.waitFor(what+": drawn", drawn, 10*time.Second)
	}

	admin.do("open the audit trail", chromedp.Click(chromedp.CSS(`#nav-audit`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#audit-events tr[data-action="claim.revoked"][data-serial=%q]`, serial))))
	admin.waitFor("actors by email", fmt.Sprintf(`[...document.querySelectorAll('#audit-events button[data-actor]')].some(b => b.textContent === %q)`, in.email), 10*time.Second)
	if n := len(rows()); n != 20 {
		t.Errorf("first page = %d events, want 20", n)
	}
	admin.do("the next page", chromedp.Click(chromedp.CSS(`#audit-more`)))
	admin.waitFor("all events", fmt.Sprintf(`document.querySelectorAll('#audit-events tr[data-action]').length === %d`, len(trail.Items)), 10*time.Second)
	if more := admin.eval(`String(document.querySelector('#audit-more').hidden)`); more != "true" {
		t.Error("the last page still offers more")
	}
	all := rows()
	for _, want := range []string{
		"claim.issued " + serial + " " + in.email,
		"claim.revoked " + serial + " " + in.email,
		"installer.approved  " + testAdmin,
	} {
		if !slices.Contains(all, want) {
			t.Errorf("the audit trail lacks %q; it lists %q", want, all)
		}
	}
	if got := admin.text(fmt.Sprintf(`#audit-events tr[data-action="installer.approved"][data-subject=%q] td:nth-child(2)`, rec.InstallerID)); got != "Installer approved" {
		t.Errorf("approval shown as %q, want the action in words", got)
	}
	if got := admin.text(fmt.Sprintf(`#audit-events tr[data-action="claim.revoked"][data-serial=%q] td:nth-child(5)`, serial)); got != "Revoked by its installer." {
		t.Errorf("revocation details = %q, want the reason in words", got)
	}
	// The form offers exactly the actions the API filters by, each in words.
	options := strings.Split(admin.eval(`[...document.querySelectorAll('#audit-action option')].slice(1).map(o => o.value).join(' ')`), " ")
	if want := fleetclaim.AuditActions; !slices.Equal(slices.Sorted(slices.Values(options)), slices.Sorted(slices.Values(want))) {
		t.Errorf("action choices = %v, want %v", options, want)
	}
	if raw := admin.eval(`[...document.querySelectorAll('#audit-action option')].map(o => o.textContent).filter(s => s.includes('.')).join(', ')`); raw != "" {
		t.Errorf("actions offered without words: %s", raw)
	}
	admin.accessible("admin-audit")

	only := func(attr, value string) string {
		return fmt.Sprintf(`(rs => rs.length > 0 && rs.every(r => r.dataset.%s === %q))([...document.querySelectorAll('#audit-events tr[data-action]')])`, attr, value)
	}
	apply("only revocations", map[string]string{"action": "claim.revoked"}, only("action", "claim.revoked"))
	if got := rows(); len(got) != 8 || got[0] != "claim.revoked "+serial+" "+in.email {
		t.Errorf("revocations = %q, want the 8, the latest first", got)
	}
	admin.screenshot("admin-audit.png")

	apply("only the serial", map[string]string{"serial": serial}, only("serial", serial))
	var actions []string
	for _, r := range rows() {
		actions = append(actions, strings.Fields(r)[0])
	}
	slices.Sort(actions)
	if want := []string{"certificate.deactivated", "claim.issued", "claim.revoked"}; !slices.Equal(actions, want) {
		t.Errorf("events of %s = %v, want %v", serial, actions, want)
	}
	admin.screenshot("admin-audit-serial.png")

	// "Done by" takes an email, looked up among the tenant's installers.
	by := func(email string) string {
		return fmt.Sprintf(`(rs => rs.length > 0 && rs.every(r => r.cells[2].textContent === %q))([...document.querySelectorAll('#audit-events tr[data-action]')])`, email)
	}
	apply("only the admin's doing", map[string]string{"actor": testAdmin}, by(testAdmin))
	if got := rows(); len(got) != 1 || !strings.HasPrefix(got[0], "installer.approved ") {
		t.Errorf("the admin's events = %q, want the approval", got)
	}
	apply("the installer's revocations", map[string]string{"actor": in.email, "action": "claim.revoked"}, by(in.email))
	if n := len(rows()); n != 8 {
		t.Errorf("the installer's revocations = %d, want 8", n)
	}

	apply("an unknown serial", map[string]string{"serial": "SN-NONE-" + randomSuffix()}, `!!document.querySelector('#audit-empty')`)
	if got := admin.text(`#audit-empty`); got != "No events match these filters." {
		t.Errorf("empty result says %q", got)
	}
	admin.accessible("admin-audit-empty")

	// Dates are days in the user's time zone, "to" included; the stack's
	// clock is the machine's, so every event is from today.
	day := func(d int) string { return time.Now().AddDate(0, 0, d).Format("2006-01-02") }
	apply("from tomorrow", map[string]string{"since": day(1)}, `!!document.querySelector('#audit-empty')`)
	apply("yesterday to today", map[string]string{"since": day(-1), "until": day(0), "serial": serial}, only("serial", serial))
	if n := len(rows()); n != 3 {
		t.Errorf("events of %s from yesterday to today = %d, want 3", serial, n)
	}

	// The filters are kept while the page lives, not in the URL.
	admin.do("leave and come back", chromedp.Click(chromedp.CSS(`#nav-admin`)), chromedp.WaitVisible(chromedp.CSS(row)),
		chromedp.Click(chromedp.CSS(`#nav-audit`)), chromedp.WaitVisible(chromedp.CSS(`#audit-form`)))
	admin.waitFor("the kept filters applied", only("serial", serial), 10*time.Second)
	if got := admin.eval(`[document.querySelector('#audit-since').value, document.querySelector('#audit-serial').value].join(' ')`); got != day(-1)+" "+serial {
		t.Errorf("filters after coming back = %q, want %q", got, day(-1)+" "+serial)
	}
	if url := admin.eval(`location.href`); strings.Contains(url, serial) {
		t.Errorf("the filters went into the URL %s", url)
	}

	// Spanish, on the spot.
	admin.do("switch to Spanish", chromedp.SetValue(chromedp.CSS(`#lang`), "es"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#lang').dispatchEvent(new Event('change'))`))
	admin.waitFor("the Spanish list", fmt.Sprintf(`!!document.querySelector('#audit-events tr[data-action="claim.revoked"][data-serial=%q]')`, serial), 10*time.Second)
	if got := admin.text(`main h1`); got != "Registro de auditoría" {
		t.Errorf("Spanish heading = %q", got)
	}
	if got := admin.text(fmt.Sprintf(`#audit-events tr[data-action="claim.revoked"][data-serial=%q] td:nth-child(2)`, serial)); got != "Credencial revocada" {
		t.Errorf("Spanish action = %q, want it in words", got)
	}
}
