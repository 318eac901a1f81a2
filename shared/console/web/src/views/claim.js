// Claim views: request a claim for a serial, then watch it live with the
// one-time private key until the device is online.
import { app, busyForm, ended, errorText, field, forgetKey, go, h, render, say } from '../shell.js';
import { SERIAL, claimBundle, download } from '../claimbundle.js';
import { t } from '../i18n/index.js';

const POLL_MS = 2000;

export const claimViews = {
	claim() {
		const err = h('p', { class: 'error', role: 'alert', id: 'claim-error' });
		const form = h('form', { id: 'claim-form', novalidate: true },
			field('serial', t('claim.serial'), { type: 'text', required: true, autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', maxlength: '64' }, t('claim.serial.hint')),
			h('button', { type: 'submit' }, t('claim.submit')), err);
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
				keyBox));
		} else {
			out.push(h('p', { class: 'hint', id: 'key-gone' }, t('claim.key.gone')));
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
			if (app.secret && ['expired', 'revoked', 'rejected'].includes(phase)) {
				// A dead claim's key is of no use to anyone: drop it now.
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
