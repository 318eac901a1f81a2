// The claim bundle as QR codes, for devices that read it with a camera
// (README, "Console", "The claim bundle as QR codes"). A bundle is a few
// kilobytes, more than one QR code a camera reads easily holds, so it is
// cut into parts: each part is one QR code (byte mode) whose text is
//
//	FCB1:<i>/<n>:<chunk>
//
// with i counting from 1 to n, and the chunks, joined in order, the bundle's
// JSON on one line, in ASCII (anything else escaped as \uXXXX). Firmware
// strips the prefix, keeps one chunk per i, and parses the join once it has
// all n: no base64 or decompression to carry.
import qrcode from 'qrcode-generator';

// QR_PREFIX marks a part and the version of this layout.
export const QR_PREFIX = 'FCB1';

// QR_CHUNK caps a part's chunk: with its prefix (11 characters up to 99 parts)
// and error correction M, each symbol stays at version 22 (105 modules a
// side, 779 bytes) or below, which phone and module cameras read from a
// screen at arm's length.
export const QR_CHUNK = 760;

// bundleParts returns the texts of the bundle's QR codes, the chunks as even
// as the cap allows so no part is much denser than another.
export function bundleParts(bundle) {
	const json = JSON.stringify(bundle).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
	const n = Math.max(1, Math.ceil(json.length / QR_CHUNK));
	const size = Math.ceil(json.length / n);
	return Array.from({ length: n }, (_, i) => `${QR_PREFIX}:${i + 1}/${n}:` + json.slice(i * size, (i + 1) * size));
}

const SVG = 'http://www.w3.org/2000/svg';

// QUIET is the blank margin around a symbol, in modules, that the QR
// standard asks for.
const QUIET = 4;

// QR_MAX_WIDTH caps a code's width in CSS pixels: big enough to read from
// a screen, small enough to keep the part counter and buttons in view.
const QR_MAX_WIDTH = 448;

// qrSVG draws text as a QR code into an SVG element made in memory (no URL,
// no storage): one path of dark modules on a white square, as wide as fits
// in room CSS pixels with every module the same whole number of device
// pixels. Modules of mixed sizes (5 and 6 pixels) are what decoders, and the
// cameras they sit behind, misread most.
export function qrSVG(text, label, room) {
	const q = qrcode(0, 'M');
	q.addData(text, 'Byte');
	q.make();
	const n = q.getModuleCount();
	const side = n + 2 * QUIET;
	let d = '';
	for (let r = 0; r < n; r++) {
		for (let c = 0; c < n; c++) {
			if (q.isDark(r, c)) d += `M${c + QUIET} ${r + QUIET}h1v1h-1z`;
		}
	}
	const svg = document.createElementNS(SVG, 'svg');
	svg.setAttribute('viewBox', `0 0 ${side} ${side}`);
	const dpr = window.devicePixelRatio || 1;
	const px = Math.floor((Math.min(room, QR_MAX_WIDTH) * dpr) / side);
	const width = String(px >= 1 ? (side * px) / dpr : room);
	svg.setAttribute('width', width);
	svg.setAttribute('height', width);
	svg.setAttribute('role', 'img');
	svg.setAttribute('aria-label', label);
	svg.setAttribute('shape-rendering', 'crispEdges');
	svg.setAttribute('class', 'qr');
	const bg = document.createElementNS(SVG, 'rect');
	bg.setAttribute('width', String(side));
	bg.setAttribute('height', String(side));
	bg.setAttribute('fill', '#fff');
	const dark = document.createElementNS(SVG, 'path');
	dark.setAttribute('d', d);
	dark.setAttribute('fill', '#000');
	svg.append(bg, dark);
	return svg;
}
