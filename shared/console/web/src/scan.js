// Reading a serial number from the device label with the camera, where the
// browser has a barcode detector (the Shape Detection API's BarcodeDetector:
// Chrome on Android, ChromeOS and macOS, for instance; not Chrome on Windows
// or Linux, nor Firefox). Where it has none, the console offers typing only.

// LABEL_FORMATS are the symbologies a device label may carry, in the
// Shape Detection API's names; a scan asks for those the browser reports.
const LABEL_FORMATS = ['qr_code', 'data_matrix', 'code_128', 'code_39', 'code_93', 'aztec', 'pdf417', 'ean_13', 'ean_8', 'upc_a', 'upc_e', 'itf', 'codabar'];

// SCAN_EVERY_MS paces detection: a few reads a second find a label at once
// without keeping a phone's processor busy.
const SCAN_EVERY_MS = 250;

// canScan reports whether this browser can read labels with a camera.
export function canScan() {
	return 'BarcodeDetector' in window && !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

// cameraError turns getUserMedia's and the detector's failures into the
// codes the page explains in words.
function cameraError(e) {
	switch (e && e.name) {
		case 'NotAllowedError':
		case 'SecurityError':
			return { code: 'camera_denied' };
		case 'NotFoundError':
		case 'OverconstrainedError':
			return { code: 'camera_missing' };
		default:
			return { code: 'camera_failed', detail: String((e && e.message) || e) };
	}
}

// scan shows the back camera in video and reads labels until accept returns
// true for a value; onReject hears each value accept refused. It returns
// {result, stop}: result resolves to the accepted value, or null when the
// scan was stopped (stop(), the video leaving the page, or the page being
// hidden), and rejects with {code} when the camera or detector fails.
// However it ends, every camera track is stopped and the video emptied.
export function scan(video, accept, onReject = () => {}) {
	let stream = null;
	let timer = 0;
	let finished = false;
	let settle;
	const result = new Promise((resolve, reject) => { settle = { resolve, reject }; });

	const end = (value, err) => {
		if (finished) return;
		finished = true;
		clearTimeout(timer);
		window.removeEventListener('pagehide', stop);
		if (stream) stream.getTracks().forEach((track) => track.stop());
		stream = null;
		video.srcObject = null;
		if (err) settle.reject(err);
		else settle.resolve(value);
	};
	function stop() { end(null); }
	window.addEventListener('pagehide', stop);

	(async () => {
		const supported = await window.BarcodeDetector.getSupportedFormats();
		const formats = LABEL_FORMATS.filter((f) => supported.includes(f));
		if (formats.length === 0) throw { code: 'camera_unsupported' };
		const detector = new window.BarcodeDetector({ formats });
		let s;
		try {
			s = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: 'environment' } }, audio: false });
		} catch (e) {
			throw cameraError(e);
		}
		// Stopped, or the view left, while the browser asked for the camera.
		if (finished || !video.isConnected) {
			s.getTracks().forEach((track) => track.stop());
			end(null);
			return;
		}
		stream = s;
		// Set as properties: attributes added after the element was made do
		// not mute it, and a muted inline video may play without a gesture.
		video.muted = true;
		video.playsInline = true;
		video.srcObject = s;
		try {
			await video.play();
		} catch (e) {
			if (finished) return;
			throw cameraError(e);
		}
		const tick = async () => {
			// A view drawn anew drops the video without telling us: the
			// camera must not stay on behind the user's back.
			if (finished || !video.isConnected) return end(null);
			try {
				for (const code of await detector.detect(video)) {
					const value = String(code.rawValue || '').trim();
					if (finished) return;
					if (accept(value)) return end(value);
					onReject(value);
				}
			} catch (e) {
				return end(null, cameraError(e));
			}
			if (!finished) timer = setTimeout(tick, SCAN_EVERY_MS);
		};
		tick();
	})().catch((e) => end(null, e && e.code ? e : cameraError(e)));

	return { result, stop };
}
