package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/fleetclaim/fleetclaim/infra/local/device"
)

// The label scanner and the claim bundle as QR codes (README, "Console").

// qrPart is one QR code of a bundle: FCB1:<i>/<n>:<chunk>.
var qrPart = regexp.MustCompile(`^FCB1:([0-9]+)/([0-9]+):(.*)$`)

// decodeQR reads the one QR code in a PNG screenshot, as a device's camera
// would read it off the screen.
func decodeQR(t *testing.T, shot []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatalf("binarize screenshot: %v", err)
	}
	// The screenshot is the code alone, square to the axes, in its quiet
	// zone: read it as such (as a device reading a screen held to its
	// camera would after its own cropping), else search the whole image.
	var errs []error
	for _, hints := range []map[gozxing.DecodeHintType]any{
		{gozxing.DecodeHintType_PURE_BARCODE: true},
		{gozxing.DecodeHintType_TRY_HARDER: true},
	} {
		res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
		if err == nil {
			return res.GetText()
		}
		errs = append(errs, err)
	}
	t.Fatalf("decode QR code from a %v screenshot: %v", img.Bounds().Size(), errs)
	return ""
}

// TestConsoleQRBundle: a device with a camera provisions from the QR codes
// the page shows, alone: each part is read from a screenshot with a Go QR
// decoder, the parts are put together as the README tells firmware to, and
// the result is the downloaded bundle. Once the device has used the claim,
// the page forgets the key and its QR codes by itself.
func TestConsoleQRBundle(t *testing.T) {
	t.Parallel()
	x := startStack(t, t.TempDir())
	inst := x.autoApproved("acme", "acme.example")
	b := &tab{t: t, ctx: newBrowser(t), name: "qr"}
	downloads := t.TempDir()
	b.do("phone width and downloads", phoneWidth(), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
		return err
	}))
	b.open(x.e.ConsoleURL)
	b.signIn(inst.email, inst.password)
	serial := "SN-QR-" + randomSuffix()
	b.do("get a claim", b.fill("#serial", serial), chromedp.Click(chromedp.CSS(`#claim-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#private-key`)))
	want := b.download(downloads, serial)
	if got := b.eval(`String(document.querySelectorAll('svg').length)`); got != "0" {
		t.Errorf("%s SVG elements before the QR codes were asked for, want none", got)
	}

	b.do("show as QR codes", chromedp.Click(chromedp.CSS(`#show-qr`)), chromedp.WaitVisible(chromedp.CSS(`#qr-frame svg.qr`)))
	if got := b.eval(`document.querySelector('#show-qr').getAttribute('aria-expanded')`); got != "true" {
		t.Errorf("the QR button's aria-expanded = %q once open, want true", got)
	}
	b.screenshot("claim-qr.png")
	b.accessible("claim-qr")
	m := regexp.MustCompile(`^Part 1 of ([0-9]+)$`).FindStringSubmatch(b.text(`#qr-counter`))
	if m == nil {
		t.Fatalf("counter = %q, want Part 1 of n", b.text(`#qr-counter`))
	}
	n, _ := strconv.Atoi(m[1])
	if n < 2 {
		t.Fatalf("a bundle with a key, a certificate and a CA in %d QR code(s); want it split", n)
	}
	chunks := make([]string, n)
	for i := 1; i <= n; i++ {
		counter := fmt.Sprintf("Part %d of %d", i, n)
		b.waitFor("show "+counter, fmt.Sprintf(`document.querySelector('#qr-counter').textContent === %q`, counter), 5*time.Second)
		name := fmt.Sprintf("QR code, part %d of %d of the claim bundle", i, n)
		if got := b.eval(`document.querySelector('#qr-frame svg').getAttribute('aria-label')`); got != name {
			t.Errorf("part %d's accessible name = %q, want %q", i, got, name)
		}
		ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
		shot, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(`#qr-frame svg`)))
		cancel()
		if err != nil {
			t.Fatalf("screenshot part %d: %v", i, err)
		}
		text := decodeQR(t, shot)
		pm := qrPart.FindStringSubmatch(text)
		if pm == nil || pm[1] != strconv.Itoa(i) || pm[2] != strconv.Itoa(n) {
			t.Fatalf("QR code %d of %d reads %.40q…, want it to start FCB1:%d/%d:", i, n, text, i, n)
		}
		if len(text) > 771 {
			t.Errorf("part %d holds %d bytes, more than the 771 the README promises firmware", i, len(text))
		}
		chunks[i-1] = pm[3]
		b.do("next part", chromedp.Click(chromedp.CSS(`#qr-next`)))
	}
	b.waitFor("next after the last part is the first", `document.querySelector('#qr-counter').textContent === 'Part 1 of `+strconv.Itoa(n)+`'`, 5*time.Second)
	b.do("previous from the first part", chromedp.Click(chromedp.CSS(`#qr-prev`)))
	b.waitFor("previous from the first part is the last", fmt.Sprintf(`document.querySelector('#qr-counter').textContent === 'Part %d of %d'`, n, n), 5*time.Second)
	b.do("advance on their own", chromedp.Click(chromedp.CSS(`#qr-auto`)))
	b.waitFor("the parts advance on their own", `document.querySelector('#qr-counter').textContent === 'Part 1 of `+strconv.Itoa(n)+`'`, 8*time.Second)
	b.do("stop advancing", chromedp.Click(chromedp.CSS(`#qr-auto`)))

	joined := strings.Join(chunks, "")
	var got bundleJSON
	if err := json.Unmarshal([]byte(joined), &got); err != nil {
		t.Fatalf("the QR codes' chunks joined are not the bundle's JSON: %v", err)
	}
	var gotAll, wantAll map[string]any
	wantRaw, _ := json.Marshal(want)
	if err := json.Unmarshal([]byte(joined), &gotAll); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(wantRaw, &wantAll); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotAll, wantAll) {
		t.Fatalf("bundle from the QR codes = %v\nwant the downloaded one = %v", gotAll, wantAll)
	}

	// The device knows only what it read off the screen.
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, []byte(got.CAPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	res, err := device.Provision(ctx, device.Config{Endpoint: got.IoTEndpoint, CAFile: caFile, Timeout: 10 * time.Second},
		device.Credentials{CertificatePEM: got.CertificatePEM, PrivateKeyPEM: got.PrivateKey}, got.TemplateName, got.SerialNumber, false)
	if err != nil {
		t.Fatalf("device provisioning from the QR codes: %v", err)
	}
	if res.ThingName != want.ThingName {
		t.Errorf("thing name = %q, want the bundle's %q", res.ThingName, want.ThingName)
	}

	// Used claim, forgotten key: no key, no QR code, and a note saying why.
	b.waitFor("the key and the QR codes are forgotten", `!document.querySelector('#private-key') && document.querySelectorAll('svg').length === 0`, 10*time.Second)
	if got := b.text(`#key-gone`); got != "The device has used the claim, so its private key and QR codes were cleared from this page." {
		t.Errorf("note once the key is gone = %q, want it to say why in words", got)
	}
	if html := b.eval(`document.documentElement.outerHTML`); strings.Contains(html, "PRIVATE KEY") || strings.Contains(html, "qr-parts") {
		t.Error("the key or its QR codes are still on the page after the device used the claim")
	}
	b.waitFor("the page sees the device online", `document.querySelector('#claim-state').dataset.state === 'online'`, 20*time.Second)
}

// scanDouble stands in for the platform's BarcodeDetector, which headless
// Chromium on Linux lacks (the Shape Detection API reads barcodes only where
// the operating system has a detector: Android, ChromeOS, macOS). It is
// installed before the page loads, so the page's feature detection finds it
// as it would find the real one; the camera behind it is Chromium's fake
// device (--use-fake-device-for-media-stream), a real MediaStream. It answers
// detect() with the values the test queues in window.labelQueue, one a
// call, only for a playing video element with live tracks, and keeps every
// stream it was shown so the test can check that each was stopped.
const scanDouble = `(() => {
	window.labelQueue = [];
	window.scannedStreams = [];
	window.detectCalls = 0;
	class BarcodeDetector {
		static async getSupportedFormats() { return ['qr_code', 'code_128', 'ean_13']; }
		constructor(opts) { window.detectorFormats = opts.formats; }
		async detect(source) {
			window.detectCalls++;
			if (!(source instanceof HTMLVideoElement) || !source.srcObject) throw new TypeError('detect: not a video with a stream');
			const stream = source.srcObject;
			if (!window.scannedStreams.includes(stream)) window.scannedStreams.push(stream);
			if (stream.getVideoTracks().every((t) => t.readyState !== 'live')) throw new DOMException('no live track', 'InvalidStateError');
			const v = window.labelQueue.shift();
			return v === undefined ? [] : [{ rawValue: v, format: 'qr_code', boundingBox: new DOMRectReadOnly(0, 0, 10, 10), cornerPoints: [] }];
		}
	}
	window.BarcodeDetector = BarcodeDetector;
})();`

// noDetector takes the platform's detector away, where a browser has one,
// so the page is tested as on a browser without.
const noDetector = `delete window.BarcodeDetector;`

// initScript installs src in every document the tab loads, before its own
// scripts run.
func initScript(src string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src})
		return err
	})
}

// camerasStopped is true when the preview holds no stream and every stream
// the detector was shown has ended.
const camerasStopped = `(() => {
	const v = document.querySelector('video');
	return (!v || v.srcObject === null) && window.scannedStreams.length > 0 &&
		window.scannedStreams.every((s) => s.getTracks().every((t) => t.readyState === 'ended'));
})()`

// TestConsoleQRScanLabel: where the browser has a barcode detector, "Scan
// label" reads the serial off the device label with the camera, skipping
// values that are not serials; the camera stops when a serial is read, on
// Cancel, on Escape and when the view is left; a refused camera is said in
// words; a browser without a detector has no such button.
func TestConsoleQRScanLabel(t *testing.T) {
	t.Parallel()
	x := startStack(t, t.TempDir())
	inst := x.autoApproved("acme", "acme.example")
	b := &tab{t: t, ctx: newBrowser(t,
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true)), name: "scan"}
	b.do("phone width and the detector double", phoneWidth(), initScript(scanDouble))
	b.open(x.e.ConsoleURL)
	b.signIn(inst.email, inst.password)
	b.do("the claim form", chromedp.WaitVisible(chromedp.CSS(`#scan-label`)))
	if got := b.eval(`window.detectorFormats ? window.detectorFormats.join(',') : 'none'`); got != "none" {
		t.Errorf("a detector was made (formats %s) before the user asked to scan", got)
	}

	serial := "SN-LABEL-" + randomSuffix()
	tests := []struct {
		name   string
		labels []string
		end    chromedp.Action[chromedp.Void] // how the scan ends, when it does not read a serial
		want   string                         // the serial field afterwards
		focus  string                         // the element focused afterwards
	}{
		{name: "cancelled", end: chromedp.Click(chromedp.CSS(`#scan-cancel`)), focus: "scan-label"},
		{name: "escape", end: chromedp.KeyEvent(kb.Escape), focus: "scan-label"},
		{name: "a serial", labels: []string{serial}, want: serial, focus: "serial"},
		// The last case's serial gets a claim below.
		{name: "not a serial, then a serial", labels: []string{"https://example.com/p?id=1", "SN 1/2", serial + "-2"}, want: serial + "-2", focus: "serial"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.t = t
			labels, _ := json.Marshal(append([]string{}, tt.labels...))
			b.do("clear the field, queue the labels and scan",
				chromedp.Evaluate[chromedp.Void](`document.querySelector('#serial').value = ''; window.scannedStreams = []; window.detectCalls = 0; window.labelQueue = `+string(labels)),
				chromedp.Click(chromedp.CSS(`#scan-label`)),
				chromedp.WaitVisible(chromedp.CSS(`#scan-video`)))
			if got := b.eval(`document.activeElement.id`); got != "scan-cancel" {
				t.Errorf("focus while scanning on %q, want the Cancel button", got)
			}
			if tt.end != nil {
				b.waitFor("the camera is on and read", `window.detectCalls >= 2`, 10*time.Second)
				b.do("end the scan", tt.end)
			}
			b.waitFor("the scan ends", `document.querySelector('#scan-panel').hidden`, 10*time.Second)
			b.waitFor("the camera is stopped", camerasStopped, 5*time.Second)
			if got := b.eval(`document.querySelector('#serial').value`); got != tt.want {
				t.Errorf("serial field = %q, want %q", got, tt.want)
			}
			if got := b.eval(`document.activeElement.id`); got != tt.focus {
				t.Errorf("focus after the scan on %q, want %q", got, tt.focus)
			}
			if got := b.eval(`window.labelQueue.length + ''`); got != "0" {
				t.Errorf("%s labels left unread, want the scan to read on until the serial", got)
			}
		})
	}
	b.t = t
	if got := b.eval(`window.detectorFormats.join(',')`); got != "qr_code,code_128,ean_13" {
		t.Errorf("detector asked for %s, want the label formats the browser reports", got)
	}
	b.do("a scanned serial gets a claim", chromedp.Click(chromedp.CSS(`#claim-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#private-key`)))
	if got := b.text(`#claim-issued`); !strings.Contains(got, serial+"-2") {
		t.Errorf("claim issued = %q, want it for the scanned serial %s", got, serial+"-2")
	}

	b.do("leave the view while scanning", chromedp.Click(chromedp.CSS(`#new-claim`)), chromedp.WaitVisible(chromedp.CSS(`#scan-label`)),
		chromedp.Evaluate[chromedp.Void](`window.scannedStreams = []; window.detectCalls = 0; window.labelQueue = []`),
		chromedp.Click(chromedp.CSS(`#scan-label`)))
	b.waitFor("the camera is on", `window.detectCalls >= 1`, 10*time.Second)
	b.screenshot("claim-scan.png")
	b.accessible("claim-scan")
	b.do("leave", chromedp.Click(chromedp.CSS(`#nav-claims`)), chromedp.WaitNotPresent(chromedp.CSS(`#scan-video`)))
	b.waitFor("the camera is stopped after leaving", camerasStopped, 5*time.Second)

	// The camera refused (Chromium's permission prompt answered "block"):
	// said in words, and typing still works.
	denied := &tab{t: t, ctx: newBrowser(t,
		chromedp.Flag("use-fake-ui-for-media-stream", "deny"),
		chromedp.Flag("use-fake-device-for-media-stream", true)), name: "camera-refused"}
	denied.do("phone width and the detector double", phoneWidth(), initScript(scanDouble))
	denied.open(x.e.ConsoleURL)
	denied.signIn(inst.email, inst.password)
	denied.do("scan", chromedp.WaitVisible(chromedp.CSS(`#scan-label`)), chromedp.Click(chromedp.CSS(`#scan-label`)))
	denied.waitFor("the refusal is explained", `document.querySelector('#scan-error').textContent.length > 0`, 10*time.Second)
	if got := denied.text(`#scan-error`); !strings.HasPrefix(got, "The camera was refused, so the label cannot be read. Type the serial number") {
		t.Errorf("camera refused: message = %q, want it in plain words", got)
	}
	if got := denied.eval(`String(document.querySelector('#scan-panel').hidden && document.querySelector('video').srcObject === null && window.detectCalls === 0)`); got != "true" {
		t.Error("after the refusal the scan panel is open, a stream is attached or the detector ran")
	}
	if got := denied.eval(`document.activeElement.id`); got != "scan-label" {
		t.Errorf("focus after the refusal on %q, want the Scan label button", got)
	}

	// A browser without a detector: typing only.
	plain := &tab{t: t, ctx: newBrowser(t), name: "no-detector"}
	plain.do("phone width and no detector", phoneWidth(), initScript(noDetector))
	plain.open(x.e.ConsoleURL)
	plain.signIn(inst.email, inst.password)
	plain.do("the claim form", chromedp.WaitVisible(chromedp.CSS(`#serial`)))
	if got := plain.eval(`String(!!document.querySelector('#scan-label') || !!document.querySelector('video'))`); got != "false" {
		t.Error("a browser without BarcodeDetector is offered the label scanner")
	}
}
