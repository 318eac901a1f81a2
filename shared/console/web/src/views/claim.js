// Claim views: request a claim for a serial, then watch it live with the
// one-time private key until the device uses it.
import { app, busyForm, ended, errorText, field, forgetKey, go, h, render, say } from '../shell.js';
import { SERIAL, claimBundle, download } from '../claimbundle.js';
import { bundleParts, qrSVG } from '../bundleqr.js';
import { canScan, scan } from '../scan.js';
import { t } from '../i18n/index.js';

const POLL_MS = 2000;

// QR_ADVANCE_MS is how long each QR part stays up when they advance on
// their own: time for a device to focus and read one.
const QR_ADVANCE_MS = 3000;

// usedClaim is the claim whose key was cleared because the device used it,
// so the page can say why the key is gone.
let usedClaim = '';

// labelScanner is the "Scan label" button and its camera panel, or nothing
// where the browser cannot read labels: typing always works.
function labelScanner(input) {
	if (!canScan()) return [];
	const error = h('p', { class: 'error', role: 'alert', id: 'scan-error' });
	const video = h('video', { id: 'scan-video', class: 'scan-video', 'aria-label': t('scan.preview'), muted: true, playsinline: true });
	const status = h('p', { id: 'scan-status', role: 'status' });
	const cancel = h('button', { type: 'button', class: 'secondary', id: 'scan-cancel' }, t('scan.cancel'));
	const panel = h('section', { class: 'card', id: 'scan-panel', hidden: true, 'aria-labelledby': 'scan-title' },
		h('h2', { id: 'scan-title' }, t('scan.title')), h('p', { class: 'hint' }, t('scan.hint')), video, status, cancel);
	const open = h('button', { type: 'button', class: 'secondary', id: 'scan-label', 'aria-controls': 'scan-panel' }, t('scan.open'));
	let current = null;
	const onKey = (ev) => {
		if (ev.key === 'Escape' && current) {
			ev.preventDefault();
			current.stop();
		}
	};
	cancel.addEventListener('click', () => current && current.stop());
	open.addEventListener('click', () => {
		if (current) return;
		error.textContent = '';
		status.textContent = t('scan.looking');
		panel.hidden = false;
		open.hidden = true;
		cancel.focus();
		document.addEventListener('keydown', onKey);
		current = scan(video, (v) => SERIAL.test(v), (v) => { status.textContent = t('scan.notSerial', { value: v }); });
		// done closes the panel and puts the focus where the user goes on:
		// the field to check and send what was read, else the button.
		const done = (focus) => {
			current = null;
			document.removeEventListener('keydown', onKey);
			panel.hidden = true;
			open.hidden = false;
			if (focus.isConnected) focus.focus();
		};
		current.result.then((value) => {
			if (value !== null) {
				input.value = value;
				say(t('scan.found', { serial: value }));
			}
			done(value !== null ? input : open);
		}, (e) => {
			const key = 'scan.error.' + e.code;
			error.textContent = t(key) !== key ? t(key) : t('scan.error.camera_failed');
			done(open);
		});
	});
	return [open, error, panel];
}

// qrParts is the "Show as QR codes" control of the key card: the bundle's
// parts (bundleqr.js), one at a time, drawn in memory only when asked for
// and gone with the card when the key is forgotten.
function qrParts() {
	const frame = h('div', { class: 'qr-frame', id: 'qr-frame' });
	const counter = h('p', { id: 'qr-counter', class: 'status' });
	const prev = h('button', { type: 'button', class: 'secondary', id: 'qr-prev' }, t('qr.prev'));
	const next = h('button', { type: 'button', class: 'secondary', id: 'qr-next' }, t('qr.next'));
	const auto = h('input', { type: 'checkbox', id: 'qr-auto' });
	const box = h('div', { id: 'qr-parts', hidden: true },
		h('p', { class: 'hint' }, t('qr.note')), counter, frame,
		h('div', { class: 'row' }, prev, next, h('label', { for: 'qr-auto', class: 'inline' }, auto, t('qr.auto'))));
	const show = h('button', { type: 'button', class: 'secondary', id: 'show-qr', 'aria-expanded': 'false', 'aria-controls': 'qr-parts' }, t('qr.show'));
	let parts = [];
	let at = 0;
	let timer = 0;
	const draw = () => {
		const n = parts.length;
		counter.textContent = t('qr.part', { i: at + 1, n });
		frame.replaceChildren(qrSVG(parts[at], t('qr.label', { i: at + 1, n }), frame.clientWidth));
		prev.disabled = next.disabled = n < 2;
	};
	const step = (by) => { at = (at + by + parts.length) % parts.length; draw(); };
	const stopAuto = () => { clearInterval(timer); timer = 0; auto.checked = false; };
	prev.addEventListener('click', () => step(-1));
	next.addEventListener('click', () => step(1));
	auto.addEventListener('change', () => {
		if (!auto.checked) return stopAuto();
		timer = setInterval(() => step(1), QR_ADVANCE_MS);
		// The view's timers stop when it is drawn again or left.
		app.timers.push(timer);
	});
	show.addEventListener('click', () => {
		if (box.hidden && app.secret) {
			parts = bundleParts(app.secret.bundle);
			at = 0;
			// Shown first, so the frame has the width the code is sized to.
			box.hidden = false;
			draw();
			show.textContent = t('qr.hide');
			show.setAttribute('aria-expanded', 'true');
		} else {
			stopAuto();
			parts = [];
			frame.replaceChildren();
			box.hidden = true;
			show.textContent = t('qr.show');
			show.setAttribute('aria-expanded', 'false');
		}
	});
	return [h('div', { class: 'row' }, show), box];
}

export const claimViews = {
	claim() {
		const err = h('p', { class: 'error', role: 'alert', id: 'claim-error' });
		const form = h('form', { id: 'claim-form', novalidate: true },
			field('serial', t('claim.serial'), { type: 'text', required: true, autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', maxlength: '64' }, t('claim.serial.hint')),
			h('button', { type: 'submit' }, t('claim.submit')), err);
		// The scanner follows the field, so typing and sending stay first
		// in the keyboard's order.
		form.querySelector('button[type=submit]').before(...labelScanner(form.querySelector('#serial')));
		return [h('h1', {}, t('claim.title')), busyForm(form, err, async (d) => {
			const serial = String(d.get('serial')).trim();
			if (!SERIAL.test(serial)) throw { code: 'serial_invalid', message: t('claim.serial.invalid') , detail: t('claim.serial.invalid') };
			const issued = await app.api.issueClaim(serial);
			app.secret = { bundle: claimBundle(issued, app.cfg.caPem) };
			const { privateKey, certificatePem, ...claim } = issued;
			app.claim = claim;
			go('watch');
		})];
	},

	watch() {
		const c = app.claim;
		// Opened from the list, the claim has no key: only its progress.
		const out = [h('h1', {}, t('claim.title')), h('p', { id: 'claim-issued' }, t('claim.issued', { id: c.claimId, serial: c.serialNumber }))];
		if (app.secret) {
			const keyBox = h('textarea', { id: 'private-key', class: 'key', readonly: true, 'aria-label': t('claim.key.title') });
			keyBox.value = app.secret.bundle.privateKey;
			out.push(h('section', { class: 'card', 'aria-labelledby': 'key-title' },
				h('h2', { id: 'key-title' }, t('claim.key.title')),
				h('p', {}, t('claim.key.note')),
				h('div', { class: 'row' },
					h('button', { type: 'button', id: 'download-bundle', onclick: () => download(app.secret.bundle) }, t('claim.download')),
					h('button', { type: 'button', id: 'forget-key', class: 'secondary', onclick: () => { keyBox.value = ''; forgetKey(); say(t('claim.key.gone')); render(); } }, t('claim.key.done'))),
				// The local stack has no real device: it says how to play one
				// with the downloaded file.
				app.cfg.deviceCommand ? h('p', { class: 'hint', id: 'device-command' }, t('claim.deviceCommand'), ' ',
					h('code', {}, app.cfg.deviceCommand.replace('{file}', 'claim-' + c.serialNumber + '.json'))) : null,
				...qrParts(),
				keyBox));
		} else {
			out.push(h('p', { class: 'hint', id: 'key-gone' }, usedClaim === c.claimId ? t('claim.key.used') : t('claim.key.gone')));
		}
		const state = h('p', { class: 'status', id: 'claim-state', 'aria-live': 'polite' });
		const reason = h('p', { id: 'claim-reason' });
		const left = h('p', { id: 'time-left' });
		const steps = h('ol', { class: 'steps', id: 'claim-steps' });
		const err = h('p', { class: 'error', role: 'alert', id: 'watch-error' });
		const revoke = h('button', { type: 'button', id: 'revoke', class: 'danger' }, t('claim.revoke'));
		const confirmRow = h('div', { class: 'row', hidden: true, id: 'revoke-confirm' },
			h('span', {}, t('claim.revoke.confirm', { serial: c.serialNumber })),
			h('button', { type: 'button', class: 'danger', id: 'revoke-yes', onclick: async () => {
				try { app.claim = await app.api.revokeClaim(c.claimId); forgetKey(); render(); } catch (e) { err.textContent = errorText(e); }
			} }, t('claim.revoke')),
			h('button', { type: 'button', class: 'secondary', onclick: () => { confirmRow.hidden = true; revoke.hidden = false; } }, t('admin.cancel')));
		revoke.addEventListener('click', () => { confirmRow.hidden = false; revoke.hidden = true; });
		out.push(h('section', { class: 'card', 'aria-labelledby': 'watch-title' },
			h('h2', { id: 'watch-title' }, t('claim.watch')), state, reason, left, steps, revoke, confirmRow, err),
			h('button', { type: 'button', class: 'secondary', id: 'new-claim', onclick: () => go('claim') }, t('claim.new')));

		const paint = () => {
			const cl = app.claim;
			const phase = cl.status === 'consumed' && cl.device && cl.device.state === 'online' ? 'online' : cl.status;
			if (app.secret && phase !== 'issued') {
				// A used or dead claim's key is of no use to anyone (a claim
				// registers one device, once): drop it, and its QR codes, now.
				if (phase === 'consumed' || phase === 'online') {
					usedClaim = cl.claimId;
					say(t('claim.key.used'));
				}
				forgetKey();
				render();
				return;
			}
			state.textContent = t('state.' + phase);
			state.className = 'status ' + phase;
			state.dataset.state = phase;
			const why = cl.reason ? (t('reason.' + cl.reason) !== 'reason.' + cl.reason ? t('reason.' + cl.reason) : t('reason.unknown', { reason: cl.reason })) : '';
			reason.textContent = ['expired', 'revoked', 'rejected'].includes(phase) ? why || t('reason.' + (phase === 'expired' ? 'claim_expired' : 'claim_revoked')) : '';
			const ms = new Date(cl.expiresAt).getTime() - Date.now();
			if (phase === 'issued') {
				const s = Math.max(0, Math.floor(ms / 1000));
				left.textContent = s > 0 ? t('claim.timeLeft', { time: Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0') }) : t('claim.timeLeft.none');
			} else left.textContent = '';
			const order = ['issued', 'consumed', 'online'];
			const at = order.indexOf(phase);
			// Online is the end: every step is done.
			steps.replaceChildren(...['step.issued', 'step.registered', 'step.online'].map((k, i) =>
				h('li', { class: at < 0 ? '' : i < at || phase === 'online' ? 'done' : i === at ? 'current' : '' }, t(k))));
			revoke.hidden = phase !== 'issued' || !confirmRow.hidden;
			if (phase !== 'issued') confirmRow.hidden = true;
		};
		paint();
		const poll = async () => {
			if (app.view !== 'watch') return;
			try {
				const before = app.claim.status + (app.claim.device ? app.claim.device.state : '');
				app.claim = await app.api.getClaim(c.claimId);
				const after = app.claim.status + (app.claim.device ? app.claim.device.state : '');
				if (before !== after) say(state.textContent);
				err.textContent = '';
			} catch (e) {
				if (await ended(e)) return;
				err.textContent = errorText(e);
			}
			paint();
		};
		app.timers.push(setInterval(paint, 1000), setInterval(poll, POLL_MS));
		return out;
	},

	// claims lists the installer's claims, newest first as the API pages
	// them, and the tenant's devices; a claim opens its progress (no key).
};
