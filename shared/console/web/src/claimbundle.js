// The claim bundle a device provisions with (README, "Console"): one JSON
// object, written as a file the installer hands to the device.
export const BUNDLE_FORMAT = 'fleetclaim.claim-bundle/1';

// SERIAL is the API's serial-number rule (fleetclaim.ValidateSerial).
export const SERIAL = /^[A-Za-z0-9:_-]{1,64}$/;

export function claimBundle(issued, caPem) {
	const b = {
		format: BUNDLE_FORMAT,
		claimId: issued.claimId,
		serialNumber: issued.serialNumber,
		thingName: issued.thingName,
		templateName: issued.templateName,
		iotEndpoint: issued.iotEndpoint,
		expiresAt: issued.expiresAt,
		certificatePem: issued.certificatePem,
		privateKey: issued.privateKey,
	};
	if (caPem) b.caPem = caPem;
	return b;
}

// download saves the bundle through a short-lived blob URL, revoked at once
// so the key does not linger in a URL the page could hand out again.
export function download(bundle) {
	const blob = new Blob([JSON.stringify(bundle, null, 2)], { type: 'application/json' });
	const url = URL.createObjectURL(blob);
	const a = document.createElement('a');
	a.href = url;
	a.download = 'claim-' + bundle.serialNumber + '.json';
	document.body.append(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 0);
}
