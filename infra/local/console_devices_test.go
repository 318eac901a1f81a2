package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"github.com/fleetclaim/fleetclaim/infra/local/device"
)

// The plain words the devices pages answer a refusal with (i18n/en.js).
const (
	deviceChangedText   = "Nothing was done: this serial number has another device than the page showed, as someone replaced it meanwhile. The page now shows the current device; check it before trying again."
	deviceForbiddenText = "You may not decommission or replace this device: in your organisation only administrators may, or it is not a device you installed. Ask an administrator."
)

// deviceRow is the devices list's row for serial.
func deviceRow(serial string) string {
	return fmt.Sprintf(`#devices tr[data-serial=%q]`, serial)
}

// openDevice goes from the devices list to serial's page.
func (b *tab) openDevice(serial string) {
	b.t.Helper()
	b.do("open the devices list and "+serial,
		chromedp.Click(chromedp.CSS(`#nav-devices`)), chromedp.WaitVisible(chromedp.CSS(deviceRow(serial))),
		chromedp.Click(chromedp.CSS(deviceRow(serial)+` button`)), chromedp.WaitVisible(chromedp.CSS(`#device-state`)))
}

// allowDownloads saves the tab's downloads in dir.
func (b *tab) allowDownloads(dir string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir})
		return err
	})
}

// TestConsoleDevices: an admin sees the tenant's devices with their states,
// decommissions one (its certificate is then refused by AWS IoT, and the
// device page shows it in the serial's history), and replaces another, whose
// new claim's bundle provisions the replacement unit; a page opened before
// the replacement cannot decommission the new unit; an installer whose
// tenant keeps decommissioning to admins is refused in plain words.
func TestConsoleDevices(t *testing.T) {
	t.Parallel()
	x := startStack(t, t.TempDir())
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	owner := x.approvedInstaller("acme")
	provision := func(serial string) device.Result {
		t.Helper()
		c := x.issue(owner, serial)
		res, err := device.Provision(ctx, x.deviceConfig(), creds(c), c.TemplateName, serial, false)
		if err != nil {
			t.Fatalf("provision %s: %v", serial, err)
		}
		if _, err := owner.awaitOnline(ctx, serial); err != nil {
			t.Fatalf("%s online: %v", serial, err)
		}
		return res
	}
	retired, replaced, kept := "SN-RET-"+randomSuffix(), "SN-REP-"+randomSuffix(), "SN-KEEP-"+randomSuffix()
	retiredUnit, replacedUnit := provision(retired), provision(replaced)
	provision(kept)
	// A unit that registers and never connects with its own certificate.
	silent := "SN-REG-" + randomSuffix()
	silentClaim := x.issue(owner, silent)
	silentCfg := x.deviceConfig()
	silentCfg.ClientID = silent
	cl, err := device.Connect(ctx, silentCfg, creds(silentClaim))
	if err != nil {
		t.Fatalf("connect with the claim: %v", err)
	}
	cert, err := cl.CreateKeysAndCertificate(ctx)
	if err != nil {
		t.Fatalf("create keys and certificate: %v", err)
	}
	if _, err := cl.RegisterThing(ctx, silentClaim.TemplateName, cert.OwnershipToken, map[string]string{device.SerialNumberParameter: silent}); err != nil {
		t.Fatalf("register thing: %v", err)
	}
	cl.Close()

	admin := &tab{t: t, ctx: newBrowser(t), name: "admin"}
	downloads := t.TempDir()
	admin.do("desktop width and downloads", chromedp.EmulateViewport(1100, 800), admin.allowDownloads(downloads))
	admin.open(x.e.ConsoleURL)
	admin.signIn(testAdmin, testAdminPassword)
	admin.do("the devices list", chromedp.Click(chromedp.CSS(`#nav-devices`)),
		chromedp.WaitVisible(chromedp.CSS(deviceRow(retired)+`[data-state=online]`)),
		chromedp.WaitVisible(chromedp.CSS(deviceRow(replaced)+`[data-state=online]`)),
		chromedp.WaitVisible(chromedp.CSS(deviceRow(kept)+`[data-state=online]`)),
		chromedp.WaitVisible(chromedp.CSS(deviceRow(silent)+`[data-state=registered]`)))
	meanings := []struct{ serial, want string }{
		{retired, "The device has connected with its own certificate."},
		{silent, "The device registered with its claim and has not yet connected with its own certificate."},
	}
	for _, m := range meanings {
		if got := admin.text(deviceRow(m.serial) + ` .meaning`); got != m.want {
			t.Errorf("%s: state's meaning = %q, want %q", m.serial, got, m.want)
		}
	}
	admin.screenshot("devices-list.png")
	admin.accessible("devices")

	// Another admin's page on the serial about to be replaced, left open.
	stale := &tab{t: t, ctx: newBrowser(t), name: "stale"}
	stale.do("desktop width", chromedp.EmulateViewport(1100, 800))
	stale.open(x.e.ConsoleURL)
	stale.signIn(testAdmin, testAdminPassword)
	stale.openDevice(replaced)

	// Decommission, by keyboard from the confirmation on.
	admin.openDevice(retired)
	if got := admin.text(`#device-cert`); got != retiredUnit.Certificate.CertificateID {
		t.Errorf("device page's certificate = %q, want %q", got, retiredUnit.Certificate.CertificateID)
	}
	admin.do("ask to decommission", chromedp.Click(chromedp.CSS(`#decommission`)), chromedp.WaitVisible(chromedp.CSS(`#device-confirm[data-action=decommission]`)))
	if got := admin.eval(`document.activeElement.id`); got != "confirm-yes" {
		t.Errorf("focus after asking = %q, want the confirmation's button", got)
	}
	confirmText := admin.text(`#device-confirm-text`)
	for _, want := range []string{retired, "certificate is deactivated in AWS IoT", "serial number is freed"} {
		if !strings.Contains(confirmText, want) {
			t.Errorf("confirmation %q does not say %q", confirmText, want)
		}
	}
	admin.do("cancel by keyboard", chromedp.KeyEvent("\t"), chromedp.KeyEvent("\r"), chromedp.WaitNotVisible(chromedp.CSS(`#device-confirm`)))
	if got := admin.eval(`document.activeElement.id`); got != "decommission" {
		t.Errorf("focus after cancelling = %q, want back on Decommission", got)
	}
	admin.do("ask again", chromedp.Click(chromedp.CSS(`#decommission`)), chromedp.WaitVisible(chromedp.CSS(`#confirm-yes`)),
		admin.fill(`#decommission-reason`, "Water damage"))
	admin.screenshot("device-decommission-confirm.png")
	admin.accessible("device-decommission-confirm")
	admin.do("confirm", chromedp.Focus(chromedp.CSS(`#confirm-yes`)), chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(`#device-state[data-state=decommissioned]`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#device-history tr[data-cert=%q]`, retiredUnit.Certificate.CertificateID))))
	if got := admin.text(`#device-history tr[data-cert]`); !strings.Contains(got, "Water damage") {
		t.Errorf("history row = %q, want the reason given", got)
	}
	admin.screenshot("device-history.png")
	admin.accessible("device-history")
	cfg := x.deviceConfig()
	cfg.ClientID = retiredUnit.ThingName
	if cl, err := device.Connect(ctx, cfg, device.Credentials{CertificatePEM: retiredUnit.Certificate.CertificatePEM, PrivateKeyPEM: retiredUnit.Certificate.PrivateKeyPEM}); !errors.Is(err, device.ErrConnectionRefused) {
		if err == nil {
			cl.Close()
		}
		t.Errorf("connecting with the decommissioned device's certificate: %v, want it refused", err)
	}
	admin.do("back to the list", chromedp.Click(chromedp.CSS(`#back-to-devices`)), chromedp.WaitVisible(chromedp.CSS(deviceRow(replaced))))
	if got := admin.eval(fmt.Sprintf(`String(document.querySelector(%q) === null)`, deviceRow(retired))); got != "true" {
		t.Error("the decommissioned device is still in the devices list")
	}

	// Replace: the new claim's watch page with its one-time key, whose
	// bundle provisions the replacement unit.
	admin.openDevice(replaced)
	admin.do("ask to replace", chromedp.Click(chromedp.CSS(`#replace`)), chromedp.WaitVisible(chromedp.CSS(`#device-confirm[data-action=replace]`)))
	if got := admin.text(`#device-confirm-text`); !strings.Contains(got, replaced) || !strings.Contains(got, "new claim is issued for the replacement unit") {
		t.Errorf("replace confirmation = %q, want the serial and the new claim named", got)
	}
	admin.do("confirm the replacement", chromedp.Click(chromedp.CSS(`#confirm-yes`)), chromedp.WaitVisible(chromedp.CSS(`#private-key`)))
	b := admin.download(downloads, replaced)
	if b.SerialNumber != replaced || !strings.Contains(b.PrivateKey, "PRIVATE KEY") || b.CAPEM == "" {
		t.Fatalf("replacement bundle = %+v, want serial %s with a key and the CA", b, replaced)
	}
	if leaked := admin.eval(`JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + location.href + document.cookie`); strings.Contains(leaked, "PRIVATE KEY") {
		t.Error("the page stored the replacement's key")
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, []byte(b.CAPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	unit, err := device.Provision(ctx, device.Config{Endpoint: b.IoTEndpoint, CAFile: caFile, Timeout: 10 * time.Second},
		device.Credentials{CertificatePEM: b.CertificatePEM, PrivateKeyPEM: b.PrivateKey}, b.TemplateName, b.SerialNumber, false)
	if err != nil {
		t.Fatalf("provision the replacement from its bundle: %v", err)
	}
	admin.waitFor("the watch page sees the replacement online", `document.querySelector('#claim-state').dataset.state === 'online'`, 20*time.Second)
	admin.openDevice(replaced)
	admin.do("the replacement online, its predecessor in history",
		chromedp.WaitVisible(chromedp.CSS(`#device-state[data-state=online]`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#device-history tr[data-cert=%q]`, replacedUnit.Certificate.CertificateID))))
	if got := admin.text(`#device-cert`); got != unit.Certificate.CertificateID {
		t.Errorf("device page's certificate = %q, want the replacement's %q", got, unit.Certificate.CertificateID)
	}
	if got := admin.text(fmt.Sprintf(`#device-history tr[data-cert=%q]`, replacedUnit.Certificate.CertificateID)); !strings.Contains(got, "Replaced by a new unit") || !strings.Contains(got, "You") {
		t.Errorf("predecessor's history row = %q, want it replaced, by you", got)
	}

	// The page opened before the replacement still names the old unit: its
	// decommission is refused, and it reloads to show the new one.
	stale.do("decommission from the stale page", chromedp.Click(chromedp.CSS(`#decommission`)), chromedp.Click(chromedp.CSS(`#confirm-yes`)))
	stale.waitFor("the refusal", `document.querySelector('#device-error').textContent.length > 0`, 10*time.Second)
	if got := stale.text(`#device-error`); got != deviceChangedText {
		t.Errorf("stale page's error = %q, want %q", got, deviceChangedText)
	}
	stale.waitFor("the reload", fmt.Sprintf(`document.querySelector('#device-cert').textContent === %q`, unit.Certificate.CertificateID), 10*time.Second)
	var d deviceJSON
	if err := x.admin.call(ctx, "GET", "/devices/"+replaced, nil, &d); err != nil || d.State != "online" || d.CertificateID != unit.Certificate.CertificateID {
		t.Errorf("replacement after the stale request = %+v (%v), want it online with certificate %s", d, err, unit.Certificate.CertificateID)
	}

	// acme keeps decommissioning to admins: the installer, on their own
	// device, is told so.
	in := &tab{t: t, ctx: newBrowser(t), name: "installer"}
	in.do("phone width", phoneWidth())
	in.open(x.e.ConsoleURL)
	in.signIn(owner.email, owner.password)
	in.openDevice(kept)
	in.do("decommission as an installer", chromedp.Click(chromedp.CSS(`#decommission`)), chromedp.Click(chromedp.CSS(`#confirm-yes`)))
	in.waitFor("the refusal", `document.querySelector('#device-error').textContent.length > 0`, 10*time.Second)
	if got := in.text(`#device-error`); got != deviceForbiddenText {
		t.Errorf("installer's error = %q, want %q", got, deviceForbiddenText)
	}
	if err := x.admin.call(ctx, "GET", "/devices/"+kept, nil, &d); err != nil || d.State != "online" {
		t.Errorf("installer's device after the refusal = %+v (%v), want it still online", d, err)
	}
	// Devices other installers provisioned offer them no actions.
	in.do("another's device", chromedp.Click(chromedp.CSS(`#back-to-devices`)), chromedp.WaitVisible(chromedp.CSS(deviceRow(replaced))),
		chromedp.Click(chromedp.CSS(deviceRow(replaced)+` button`)), chromedp.WaitVisible(chromedp.CSS(`#device-state`)))
	if got := in.eval(`String(document.querySelector('#decommission') === null && document.querySelector('#replace') === null)`); got != "true" {
		t.Error("an installer is offered to decommission a device they did not provision")
	}

	// Past the online window the silent unit shows overdue, and what to do.
	x.stack.clock.advance(15 * time.Minute)
	t.Cleanup(x.stack.clock.reset)
	admin.do("the devices list later", chromedp.Click(chromedp.CSS(`#nav-devices`)),
		chromedp.WaitVisible(chromedp.CSS(deviceRow(silent)+`[data-state=overdue]`)))
	if got := admin.text(deviceRow(silent) + ` .meaning`); !strings.Contains(got, "did not come online in time") {
		t.Errorf("overdue state's meaning = %q, want it in plain words", got)
	}

	// Spanish: the page redraws in the reader's language.
	in.do("switch to Spanish", chromedp.SetValue(chromedp.CSS(`#lang`), "es"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#lang').dispatchEvent(new Event('change'))`),
		chromedp.WaitVisible(chromedp.CSS(`#device-state[data-state=online]`)))
	if got, want := in.text(`main h1`), "Dispositivo "+replaced; got != want {
		t.Errorf("Spanish heading = %q, want %q", got, want)
	}
	if got := in.text(`#device-state`); got != "En línea" {
		t.Errorf("Spanish state = %q, want En línea", got)
	}
}

// TestConsoleDevicesPaging: the devices list shows a page of 20 and loads
// the rest on request.
func TestConsoleDevicesPaging(t *testing.T) {
	t.Parallel()
	x := startStack(t, t.TempDir())
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	owner := x.approvedInstaller("acme")
	const n = 23
	for i := range n {
		serial := fmt.Sprintf("SN-PAGE-%02d-%s", i, randomSuffix())
		c := x.issue(owner, serial)
		if _, err := device.Provision(ctx, x.deviceConfig(), creds(c), c.TemplateName, serial, false); err != nil {
			t.Fatalf("provision %s: %v", serial, err)
		}
	}
	admin := &tab{t: t, ctx: newBrowser(t), name: "admin"}
	admin.open(x.e.ConsoleURL)
	admin.signIn(testAdmin, testAdminPassword)
	rows := `String(document.querySelectorAll('#devices tr[data-serial]').length)`
	admin.do("the first page", chromedp.Click(chromedp.CSS(`#nav-devices`)), chromedp.WaitVisible(chromedp.CSS(`#devices-more`)))
	if got := admin.eval(rows); got != "20" {
		t.Errorf("first page shows %s devices, want 20", got)
	}
	admin.do("load more", chromedp.Click(chromedp.CSS(`#devices-more`)), chromedp.WaitNotVisible(chromedp.CSS(`#devices-more`)))
	if got := admin.eval(rows); got != fmt.Sprint(n) {
		t.Errorf("after loading more the list shows %s devices, want %d", got, n)
	}
	if got := admin.eval(`String(new Set([...document.querySelectorAll('#devices tr[data-serial]')].map(r => r.dataset.serial)).size)`); got != fmt.Sprint(n) {
		t.Errorf("the list shows %s distinct serials, want %d", got, n)
	}
}
