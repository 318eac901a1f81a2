package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/fleetclaim/fleetclaim/infra/local/device"
	"github.com/fleetclaim/fleetclaim/shared/awsenv"
	"github.com/fleetclaim/fleetclaim/shared/console"
)

// The console tests drive the real console in headless Chromium (Debian's
// chromium package, which infra/scripts/deps.sh installs for the tests)
// against the whole local stack, as a person would: the page signs in with
// SRP against the Cognito stand-in and calls the API across origins.

// screenshotsEnv names a directory to keep the tests' screenshots in (the
// README's are made with FLEETCLAIM_CONSOLE_SCREENSHOTS=docs/console).
const screenshotsEnv = "FLEETCLAIM_CONSOLE_SCREENSHOTS"

// chromiumPath finds the browser: FLEETCLAIM_CHROMIUM, else chromium on PATH.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("FLEETCLAIM_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on PATH: infra/scripts/deps.sh installs it (Debian package chromium), or set FLEETCLAIM_CHROMIUM")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile, and extra
// options after the tests' own, and returns a context for its first tab.
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	if !console.Built() {
		t.Fatal("the console is not built: run go generate ./shared/console (make test does)")
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	}, extra...)...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// tab is one browser tab on the console.
type tab struct {
	t    *testing.T
	ctx  context.Context
	name string
}

func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.t.Logf("%s: %s", b.name, what)
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		textCtx, cancelText := context.WithTimeout(b.ctx, 5*time.Second)
		defer cancelText()
		text, _ := chromedp.Run(textCtx, chromedp.Evaluate[string](`document.body.innerText`))
		b.t.Fatalf("%s: %s: %v\npage text:\n%s", b.name, what, err, text)
	}
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("%s: text of %s: %v", b.name, sel, err)
	}
	return s
}

func (b *tab) eval(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("%s: evaluate %s: %v", b.name, expr, err)
	}
	return s
}

// waitFor waits until the JavaScript predicate is true.
func (b *tab) waitFor(what, predicate string, timeout time.Duration) {
	b.t.Helper()
	b.do(what, func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[chromedp.Void](predicate, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(100*time.Millisecond))(ctx, t)
		return chromedp.Void{}, err
	})
}

func (b *tab) fill(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.SetValue(chromedp.CSS(sel), value))
}

func (b *tab) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("%s: screenshot %s: %v", b.name, name, err)
	}
	dir := os.Getenv(screenshotsEnv)
	if dir == "" {
		dir = b.t.TempDir()
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func phoneWidth() chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2))
}

func (b *tab) open(url string) {
	b.t.Helper()
	b.do("open the console", chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"] main h1`)))
}

func (b *tab) signIn(email, password string) {
	b.t.Helper()
	b.do("sign in "+email,
		chromedp.Click(chromedp.CSS(`#nav-signIn`)),
		b.fill("#signin-form #email", email), b.fill("#signin-form #password", password),
		chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#signin-form`)))
}

// download clicks the page's download button and reads the bundle it saves.
func (b *tab) download(dir, serial string) bundleJSON {
	b.t.Helper()
	// The local stack says how to play a device with the file, by its name.
	if got, want := b.text(`#device-command code`), "make device BUNDLE=~/Downloads/claim-"+serial+".json"; got != want {
		b.t.Errorf("device command shown = %q, want %q", got, want)
	}
	b.do("download the bundle", chromedp.Click(chromedp.CSS(`#download-bundle`)))
	path := filepath.Join(dir, "claim-"+serial+".json")
	var raw []byte
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		if raw, err = os.ReadFile(path); err == nil && json.Valid(raw) {
			break
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("no bundle downloaded to %s: %v", path, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var bundle bundleJSON
	if err := json.Unmarshal(raw, &bundle); err != nil {
		b.t.Fatal(err)
	}
	return bundle
}

// axeScript is axe-core, the accessibility checker, from the console's npm
// development dependencies.
const axeScript = "../../shared/console/web/node_modules/axe-core/axe.min.js"

// accessible runs axe-core's WCAG 2 A and AA rules on the screen and fails
// the test on any violation of serious or critical impact.
func (b *tab) accessible(screen string) {
	b.t.Helper()
	src, err := os.ReadFile(axeScript)
	if err != nil {
		b.t.Fatalf("axe-core (go generate ./shared/console installs it): %v", err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](string(src))); err != nil {
		b.t.Fatalf("load axe-core: %v", err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})
		.then(r => JSON.stringify({passes: r.passes.length, violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target.join(' '))}))}))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("run axe-core on %s: %v", screen, err)
	}
	var res struct {
		Passes     int
		Violations []struct {
			ID, Impact, Help string
			Targets          []string
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		b.t.Fatal(err)
	}
	if res.Passes < 10 {
		b.t.Fatalf("%s: axe-core passed only %d rules: did it check the page?", screen, res.Passes)
	}
	for _, v := range res.Violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			b.t.Errorf("%s: accessibility: %s (%s): %s at %v", screen, v.ID, v.Impact, v.Help, v.Targets)
		} else {
			b.t.Logf("%s: accessibility (%s, tolerated): %s at %v", screen, v.Impact, v.ID, v.Targets)
		}
	}
}

// bundleJSON is the claim bundle as the README documents it: the type the
// device command reads it into.
type bundleJSON = claimBundle

// TestConsoleInstallsADevice is the newcomer's path through the console: sign
// up and confirm, wait as pending, be approved by an admin in another browser
// browser, get a claim, download its bundle, and watch the device (the Go
// device client, provisioning from that bundle alone) register.
func TestConsoleInstallsADevice(t *testing.T) {
	t.Parallel()
	x := startStack(t, t.TempDir())
	if !strings.HasPrefix(x.e.ConsoleURL, "http://127.0.0.1:") {
		t.Fatalf("ConsoleURL = %q, want a loopback URL", x.e.ConsoleURL)
	}
	// Two browsers with their own profiles: the installer's phone and the
	// admin's desktop. (Two browser contexts of one headless browser would
	// do, but a tab in the background there paints no frames.)
	in := &tab{t: t, ctx: newBrowser(t), name: "installer"}
	admin := &tab{t: t, ctx: newBrowser(t), name: "admin"}
	downloads := t.TempDir()
	in.do("phone width and downloads", phoneWidth(), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
		return err
	}))

	email, password := "inst-"+randomSuffix()+"@installers.example", "Passw0rd-"+randomSuffix()
	in.open(x.e.ConsoleURL)
	in.screenshot("sign-in.png")
	in.accessible("sign-in")
	in.do("sign up",
		chromedp.Click(chromedp.CSS(`#nav-signUp`)),
		in.fill("#signup-form #email", email), in.fill("#signup-form #tenant", "acme"), in.fill("#signup-form #password", password),
		chromedp.Click(chromedp.CSS(`#signup-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#confirm-form`)))
	code, ok := x.stack.Pool.ConfirmationCode(email)
	if !ok {
		t.Fatalf("no confirmation code for %s", email)
	}
	in.do("confirm", in.fill("#code", code), chromedp.Click(chromedp.CSS(`#confirm-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#signin-form`)))
	in.do("sign in", in.fill("#signin-form #password", password), chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#installer-status`)))
	if got := in.eval(`document.querySelector('#installer-status').dataset.status`); got != "pending" {
		t.Fatalf("status after sign-up = %q, want pending", got)
	}
	in.screenshot("status-pending.png")
	in.accessible("status-pending")

	admin.do("admin at desktop width", chromedp.EmulateViewport(1100, 700))
	admin.open(x.e.ConsoleURL)
	admin.signIn(testAdmin, testAdminPassword)
	row := fmt.Sprintf(`#installers tr[data-email=%q]`, email)
	admin.do("open installers", chromedp.Click(chromedp.CSS(`#nav-admin`)), chromedp.WaitVisible(chromedp.CSS(row)))
	if first := admin.eval(`document.querySelector('#installers tr').dataset.status`); first != "pending" {
		t.Errorf("first installer listed is %q, want the pending ones first", first)
	}
	admin.screenshot("admin-installers.png")
	admin.accessible("admin-installers")
	admin.do("approve", chromedp.Click(chromedp.CSS(row+` button[data-action=approve]`)),
		chromedp.Click(chromedp.CSS(row+` button[data-confirm=approve]`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#installers tr[data-email=%q][data-status=approved]`, email))))

	in.do("check again", chromedp.Click(chromedp.CSS(`#status-refresh`)), chromedp.WaitVisible(chromedp.CSS(`#claim-form`)))
	in.do("a bad serial is refused on the page", in.fill("#serial", "SN 1/2"), chromedp.Click(chromedp.CSS(`#claim-form button[type=submit]`)))
	in.waitFor("serial error", `document.querySelector('#claim-error').textContent.length > 0`, 5*time.Second)
	serial := "SN-" + randomSuffix()
	in.do("get a claim", in.fill("#serial", serial), chromedp.Click(chromedp.CSS(`#claim-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#private-key`)))
	in.screenshot("claim-issued.png")
	in.accessible("claim-issued")
	b := in.download(downloads, serial)
	if b.Format != "fleetclaim.claim-bundle/1" || b.SerialNumber != serial || b.ClaimID == "" || b.CAPEM == "" ||
		!strings.Contains(b.PrivateKey, "PRIVATE KEY") || b.IoTEndpoint != x.e.MQTTEndpoint || b.TemplateName != x.e.TemplateName {
		t.Fatalf("bundle = %+v; want format, serial %s, claim ID, CA, key, endpoint %s, template %s", b, serial, x.e.MQTTEndpoint, x.e.TemplateName)
	}
	if leaked := in.eval(`JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + location.href + document.cookie`); strings.Contains(leaked, "PRIVATE KEY") || strings.Contains(leaked, "eyJ") {
		t.Errorf("the page stored a key or token where scripts and URLs keep it: %q", leaked)
	}

	// The device knows only the bundle: its endpoint, CA, certificate and key.
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, []byte(b.CAPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	res, err := device.Provision(ctx, device.Config{Endpoint: b.IoTEndpoint, CAFile: caFile, Timeout: 10 * time.Second},
		device.Credentials{CertificatePEM: b.CertificatePEM, PrivateKeyPEM: b.PrivateKey}, b.TemplateName, b.SerialNumber, false)
	if err != nil {
		t.Fatalf("device provisioning from the downloaded bundle: %v", err)
	}
	if res.ThingName != b.ThingName {
		t.Errorf("thing name = %q, want the bundle's %q", res.ThingName, b.ThingName)
	}
	// The device client connects with its new certificate once
	// provisioned; AWS IoT's presence event marks the device online.
	in.waitFor("the page sees the device online", `document.querySelector('#claim-state').dataset.state === 'online'`, 20*time.Second)
	if shown := in.eval(`String(document.querySelector('#revoke-confirm').offsetParent !== null || document.querySelector('#revoke').offsetParent !== null)`); shown != "false" {
		t.Error("a registered claim still offers to be revoked")
	}
	in.screenshot("claim-online.png")
	in.accessible("claim-online")
	// The device has used the claim: the page forgets the key by itself.
	in.do("the key is forgotten", chromedp.WaitVisible(chromedp.CSS(`#key-gone`)))
	if strings.Contains(in.eval(`document.documentElement.outerHTML`), "PRIVATE KEY") {
		t.Error("the private key is still on the page after the device used the claim")
	}
	if got := in.text(`#key-gone`); !strings.Contains(got, "device has used the claim") {
		t.Errorf("note once the key is gone = %q, want it to say the device used the claim", got)
	}

	// A device that reports another serial than its claim's is refused, and
	// the page says why in words.
	misused := "SN-" + randomSuffix()
	in.do("a claim a device misuses", chromedp.Click(chromedp.CSS(`#new-claim`)), in.fill("#serial", misused),
		chromedp.Click(chromedp.CSS(`#claim-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#private-key`)))
	mb := in.download(downloads, misused)
	_, err = device.Provision(ctx, device.Config{Endpoint: mb.IoTEndpoint, CAFile: caFile, Timeout: 10 * time.Second},
		device.Credentials{CertificatePEM: mb.CertificatePEM, PrivateKeyPEM: mb.PrivateKey}, mb.TemplateName, "SN-OTHER-"+randomSuffix(), false)
	var rejected *device.RejectedError
	if !errors.As(err, &rejected) {
		t.Fatalf("provisioning under another serial: %v, want a refusal", err)
	}
	in.waitFor("the page sees the refusal", `document.querySelector('#claim-state').dataset.state === 'rejected'`, 10*time.Second)
	if got := in.text(`#claim-reason`); got != "The device reported a different serial number than the claim was issued for." {
		t.Errorf("rejected claim's reason = %q, want the serial mismatch in words", got)
	}
	in.screenshot("claim-rejected.png")
	in.accessible("claim-rejected")

	// An unused claim can be revoked, after a confirmation.
	in.do("a claim to revoke", chromedp.Click(chromedp.CSS(`#new-claim`)), in.fill("#serial", "SN-"+randomSuffix()),
		chromedp.Click(chromedp.CSS(`#claim-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#revoke`)),
		chromedp.Click(chromedp.CSS(`#revoke`)), chromedp.Click(chromedp.CSS(`#revoke-yes`)))
	in.waitFor("the page sees the revocation", `document.querySelector('#claim-state').dataset.state === 'revoked'`, 10*time.Second)
	if got := in.text(`#claim-reason`); got != "You revoked this claim." {
		t.Errorf("revoked claim's reason = %q, want it in plain words", got)
	}
	if !strings.Contains(in.text(`#key-gone`), "cleared") {
		t.Error("revoking did not clear the private key from the page")
	}

	// A claim left unused until it expires says so in words.
	expiring := "SN-" + randomSuffix()
	in.do("another claim", chromedp.Click(chromedp.CSS(`#new-claim`)), in.fill("#serial", expiring),
		chromedp.Click(chromedp.CSS(`#claim-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#private-key`)))
	x.stack.clock.advance(2 * time.Minute)
	t.Cleanup(x.stack.clock.reset)
	in.waitFor("the page sees the claim expire", `document.querySelector('#claim-state').dataset.state === 'expired'`, 10*time.Second)
	if got := in.text(`#claim-reason`); !strings.Contains(got, "ran out of time") {
		t.Errorf("expired claim's reason = %q, want it in plain words", got)
	}
	in.screenshot("claim-expired.png")
	in.accessible("claim-expired")

	// The lists: every claim of this installer with its state, and the
	// tenant's devices; a claim opens its progress again.
	in.do("my claims", chromedp.Click(chromedp.CSS(`#nav-claims`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#claims tr[data-claim=%q][data-state=online]`, b.ClaimID))))
	if n := in.eval(`String(document.querySelectorAll('#claims tr[data-claim]').length)`); n != "4" {
		t.Errorf("my claims lists %s claims, want the 4 this installer asked for", n)
	}
	in.screenshot("claims-list.png")
	in.accessible("claims-list")
	in.do("open a claim from the list", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#claims tr[data-claim=%q] button`, b.ClaimID))),
		chromedp.WaitVisible(chromedp.CSS(`#claim-state[data-state=online]`)))
	in.do("the tenant's devices", chromedp.Click(chromedp.CSS(`#nav-devices`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#devices tr[data-serial=%q][data-state=online]`, serial))))

	// Suspended by an admin: the installer's session ends, and signing in
	// again shows the suspension and what to do.
	rec, err := x.admin.findInstaller(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.admin.call(t.Context(), "POST", "/installers/"+rec.InstallerID+"/suspend", nil, nil); err != nil {
		t.Fatalf("suspend: %v", err)
	}
	in.do("check the status", chromedp.Click(chromedp.CSS(`#nav-status`)), chromedp.Click(chromedp.CSS(`#status-refresh`)),
		chromedp.WaitVisible(chromedp.CSS(`#signin-form`)))
	if got := in.text(`main .notice`); !strings.Contains(got, "session has ended") {
		t.Errorf("notice after the suspension = %q, want the session's end explained", got)
	}
	in.do("sign in again", in.fill("#signin-form #password", password), chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#installer-status[data-status=suspended]`)))
	in.screenshot("status-suspended.png")
	in.accessible("status-suspended")

	in.do("sign out", chromedp.Click(chromedp.CSS(`#nav-signOut`)), chromedp.WaitVisible(chromedp.CSS(`#signin-form`)))
	if got := in.text(`main .notice`); got != "You are signed out." {
		t.Errorf("notice after signing out = %q", got)
	}
}

// TestConsoleForgottenPassword: an installer who forgot their password gets
// a code by email, sets a new password, and signs in with it.
func TestConsoleForgottenPassword(t *testing.T) {
	t.Parallel()
	x := startStack(t, t.TempDir())
	inst := x.autoApproved("acme", "acme.example")
	b := &tab{t: t, ctx: newBrowser(t), name: "forgot"}
	b.do("phone width", phoneWidth())
	b.open(x.e.ConsoleURL)
	b.do("ask for a code", b.fill("#signin-form #email", inst.email), chromedp.Click(chromedp.CSS(`#forgot-link`)),
		chromedp.WaitVisible(chromedp.CSS(`#forgot-form`)), chromedp.Click(chromedp.CSS(`#forgot-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#reset-form`)))
	code, ok := x.stack.Pool.PasswordResetCode(inst.email)
	if !ok {
		t.Fatalf("no reset code for %s", inst.email)
	}
	b.do("a wrong code", b.fill("#code", "000000"), b.fill("#reset-form #password", "N3w-Passw0rd-"+randomSuffix()),
		chromedp.Click(chromedp.CSS(`#reset-form button[type=submit]`)))
	b.waitFor("the refusal", `document.querySelector('#reset-error').textContent.length > 0`, 10*time.Second)
	if got := b.text(`#reset-error`); got != "That code is not right. Check the email and try again." {
		t.Errorf("wrong code message = %q", got)
	}
	newPassword := "N3w-Passw0rd-" + randomSuffix()
	b.do("the right code", b.fill("#code", code), b.fill("#reset-form #password", newPassword),
		chromedp.Click(chromedp.CSS(`#reset-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#signin-form`)))
	b.screenshot("password-reset.png")
	b.do("sign in with the new password", b.fill("#signin-form #email", inst.email), b.fill("#signin-form #password", newPassword),
		chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#claim-form`)))
}

// TestConsoleByKeyboard: skip to the content, sign in and get a claim with
// the keyboard alone; each new screen puts the focus on its heading.
func TestConsoleByKeyboard(t *testing.T) {
	t.Parallel()
	x := startStack(t, t.TempDir())
	b := &tab{t: t, ctx: newBrowser(t), name: "keyboard"}
	b.open(x.e.ConsoleURL)
	focused := func() string {
		return b.eval(`(e => e.id || e.className || e.tagName)(document.activeElement)`)
	}
	steps := []struct {
		keys, wantFocus, waitFor string
	}{
		{"\t", "skip", ""},
		{"\r", "main", ""},
		{"\t", "email", ""},
		{testAdmin + "\t", "password", ""},
		{testAdminPassword + "\r", "H1", "#claim-form"},
		{"\t", "serial", ""},
		{"SN-" + randomSuffix() + "\r", "H1", "#private-key"},
		{"\t", "download-bundle", ""},
		{"\t", "forget-key", ""},
	}
	for _, s := range steps {
		b.do(fmt.Sprintf("keys %q", s.keys), chromedp.KeyEvent(s.keys))
		if s.waitFor != "" {
			b.do("wait for "+s.waitFor, chromedp.WaitVisible(chromedp.CSS(s.waitFor)))
		}
		if got := focused(); got != s.wantFocus {
			t.Fatalf("after %q the focus is on %q, want %q", s.keys, got, s.wantFocus)
		}
	}
}

// TestConsoleNewPasswordRequired: an admin an operator created
// (AdminCreateUser) signs in with the temporary password, chooses their own
// and reaches the console.
func TestConsoleNewPasswordRequired(t *testing.T) {
	t.Parallel()
	x := startStack(t, t.TempDir())
	sdk := awsenv.Local(x.e.Region)
	sdk.Credentials = credentials.StaticCredentialsProvider{Value: x.e.operator}
	email := "ops-" + randomSuffix() + "@acme.example"
	if _, err := awsenv.Cognito(sdk, x.e.CognitoEndpoint).AdminCreateUser(t.Context(), &cip.AdminCreateUserInput{
		UserPoolId: aws.String(x.e.UserPoolID), Username: aws.String(email),
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String(email)},
			{Name: aws.String("email_verified"), Value: aws.String("true")}, {Name: aws.String("custom:tenant_id"), Value: aws.String("acme")}},
	}); err != nil {
		t.Fatalf("AdminCreateUser: %v", err)
	}
	temporary, ok := x.stack.Pool.TemporaryPassword(email)
	if !ok {
		t.Fatal("no temporary password")
	}
	b := &tab{t: t, ctx: newBrowser(t), name: "new-password"}
	b.open(x.e.ConsoleURL)
	b.do("sign in with the temporary password", b.fill("#signin-form #email", email), b.fill("#signin-form #password", temporary),
		chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#newpassword-form`)))
	b.accessible("new-password")
	chosen := "Chosen-Passw0rd-" + randomSuffix()
	b.do("choose a password", b.fill("#newpassword-form #password", chosen), chromedp.Click(chromedp.CSS(`#newpassword-form button[type=submit]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#newpassword-form`)), chromedp.WaitVisible(chromedp.CSS(`#nav-signOut`)))
	if err := newInstaller(x.e, email, chosen).signIn(t.Context()); err != nil {
		t.Errorf("sign-in with the chosen password: %v", err)
	}
}

// TestConsoleSpanish: a browser that prefers Spanish gets the Spanish
// catalogue, and the language switch changes it on the spot.
func TestConsoleSpanish(t *testing.T) {
	t.Parallel()
	x := startStack(t, t.TempDir())
	es := &tab{t: t, ctx: newBrowser(t), name: "es"}
	es.do("prefer Spanish", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64) fleetclaim-test", AcceptLanguage: "es-ES,es"})
		return err
	}), phoneWidth())
	es.open(x.e.ConsoleURL)
	tests := []struct {
		lang, h1, button string
	}{
		{"es", "Iniciar sesión", "Entrar"},
		{"en", "Sign in", "Sign in"},
	}
	for i, tt := range tests {
		if i > 0 {
			es.do("switch language", chromedp.SetValue(chromedp.CSS(`#lang`), tt.lang),
				chromedp.Evaluate[chromedp.Void](`document.querySelector('#lang').dispatchEvent(new Event('change'))`))
		}
		if got := es.eval(`document.documentElement.lang`); got != tt.lang {
			t.Errorf("html lang = %q, want %q", got, tt.lang)
		}
		if got := es.text(`main h1`); got != tt.h1 {
			t.Errorf("%s: heading = %q, want %q", tt.lang, got, tt.h1)
		}
		if got := es.text(`#signin-form button[type=submit]`); got != tt.button {
			t.Errorf("%s: button = %q, want %q", tt.lang, got, tt.button)
		}
		if tt.lang == "es" {
			es.screenshot("sign-in-es.png")
			es.accessible("sign-in-es")
		}
	}
	// A wrong password is explained in the reader's language.
	es.do("back to Spanish", chromedp.SetValue(chromedp.CSS(`#lang`), "es"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#lang').dispatchEvent(new Event('change'))`),
		es.fill("#signin-form #email", testAdmin), es.fill("#signin-form #password", "Wrong-Passw0rd"),
		chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)))
	es.waitFor("the refusal", `document.querySelector('#signin-error').textContent.length > 0`, 10*time.Second)
	if got := es.text(`#signin-error`); got != "Correo o contraseña incorrectos." {
		t.Errorf("wrong password message = %q, want the Spanish one", got)
	}
}
