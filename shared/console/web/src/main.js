// The console: one page, views drawn with the DOM API (no HTML strings, so
// nothing the API or a user typed is ever parsed as markup).
import { API } from './api.js';
import { Auth } from './auth.js';
import { SERIAL, claimBundle, download } from './claimbundle.js';
import { language, pick, setLanguage, t } from './i18n/index.js';

const POLL_MS = 2000;

const app = {
	cfg: null,
	auth: null,
	api: null,
	me: null, // claims of the signed-in user's ID token
	view: 'signIn',
	notice: '',
	pendingEmail: '',
	claim: null, // the claim being watched (no key)
	secret: null, // {bundle} with the private key; null once cleared
	timers: [],
};

// h makes an element: h('button', {onclick, class}, 'text', child...).
function h(tag, attrs = {}, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs)) {
		if (v === undefined || v === null || v === false) continue;
		if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
		else if (k === 'class') el.className = v;
		else el.setAttribute(k, v === true ? '' : v);
	}
	for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
	return el;
}

function field(id, label, attrs, hint) {
	const hintId = hint ? id + '-hint' : undefined;
	return h('label', { for: id }, label,
		hint ? h('span', { class: 'hint', id: hintId }, hint) : null,
		h('input', { id, name: id, 'aria-describedby': hintId, ...attrs }));
}

function say(text) {
	document.getElementById('live').textContent = text;
}

function errorText(e) {
	if (!e) return t('error.generic', { message: '?' });
	if (e.code === 'network' || e.name === 'TypeError') return t('error.network');
	if (e.code === 'session') return t('error.session');
	const key = 'error.' + e.code;
	const s = t(key, { message: e.message || e.detail || '' });
	return s === key ? t('error.generic', { message: e.detail || e.message || e.code }) : s;
}

function stopTimers() {
	for (const id of app.timers) clearInterval(id);
	app.timers = [];
}

// forgetKey drops the only reference to the private key.
function forgetKey() {
	if (app.secret) {
		app.secret.bundle.privateKey = '';
		app.secret = null;
	}
}

function go(view, notice = '') {
	stopTimers();
	if (view !== 'watch') forgetKey();
	app.view = view;
	app.notice = notice;
	render();
	// A new screen: keyboard and screen reader users start at its heading.
	const heading = document.querySelector('main h1');
	if (heading) {
		heading.tabIndex = -1;
		heading.focus();
	}
}

function nav() {
	const items = [];
	const link = (view, label) => h('button', { class: 'link', type: 'button', id: 'nav-' + view, 'aria-current': app.view === view ? 'page' : null, onclick: () => go(view) }, label);
	if (!app.me) {
		items.push(link('signIn', t('nav.signIn')), link('signUp', t('nav.signUp')));
	} else {
		if (app.me.status === 'approved') items.push(link('claim', t('nav.claim')), link('claims', t('nav.claims')));
		items.push(link('status', t('nav.status')));
		if (app.me.groups.includes('admins') || app.me.groups.includes('platform-admins')) items.push(link('admin', t('nav.admin')));
		items.push(h('button', { class: 'link', type: 'button', id: 'nav-signOut', onclick: signOut }, t('nav.signOut')));
	}
	return items;
}

function render() {
	// Each drawing of a view starts its own timers.
	stopTimers();
	document.getElementById('lang-label').textContent = t('lang.label');
	document.querySelector('.skip').textContent = t('skip');
	document.getElementById('nav').replaceChildren(...nav());
	const main = document.getElementById('main');
	const view = views[app.view] || views.signIn;
	main.replaceChildren(...[app.notice ? h('p', { class: 'notice', role: 'status' }, app.notice) : null, ...view()].filter(Boolean));
}

// endSession returns to the sign-in page when Cognito no longer honours the
// session; anything else is the caller's to show.
async function ended(e) {
	if (!e || e.code !== 'session') return false;
	await signOut(t('error.session'));
	return true;
}

// busyForm runs submit with the form's controls disabled and shows its error.
function busyForm(form, errEl, submit) {
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		// Read the form before disabling it: disabled controls are not part
		// of a form's data.
		const data = new FormData(form);
		const controls = form.querySelectorAll('input, button');
		controls.forEach((c) => (c.disabled = true));
		errEl.textContent = '';
		try {
			await submit(data);
		} catch (e) {
			if (await ended(e)) return;
			errEl.textContent = errorText(e);
			controls.forEach((c) => (c.disabled = false));
		}
	});
	return form;
}

const views = {
	signIn() {
		const err = h('p', { class: 'error', role: 'alert', id: 'signin-error' });
		const form = h('form', { id: 'signin-form' },
			field('email', t('field.email'), { type: 'email', autocomplete: 'username', required: true, value: app.pendingEmail }),
			field('password', t('field.password'), { type: 'password', autocomplete: 'current-password', required: true }),
			h('button', { type: 'submit' }, t('signIn.submit')), err);
		const forgot = h('button', { type: 'button', class: 'link', id: 'forgot-link', onclick: () => {
			app.pendingEmail = form.querySelector('#email').value.trim();
			go('forgot');
		} }, t('forgot.link'));
		return [h('h1', {}, t('signIn.title')), busyForm(form, err, async (d) => {
			try {
				app.me = await app.auth.signIn(String(d.get('email')).trim(), String(d.get('password')));
			} catch (e) {
				if (e && e.code === 'NewPasswordRequired') return go('newPassword');
				throw e;
			}
			go(app.me.status === 'approved' ? 'claim' : 'status');
		}), h('p', {}, forgot)];
	},

	newPassword() {
		const err = h('p', { class: 'error', role: 'alert', id: 'newpassword-error' });
		const form = h('form', { id: 'newpassword-form' },
			field('password', t('forgot.newPassword'), { type: 'password', autocomplete: 'new-password', required: true, minlength: '12' }, t('field.password.hint')),
			h('button', { type: 'submit' }, t('forgot.reset')), err);
		return [h('h1', {}, t('newPassword.title')), h('p', {}, t('newPassword.intro')), busyForm(form, err, async (d) => {
			app.me = await app.auth.completeNewPassword(String(d.get('password')));
			go(app.me.status === 'approved' ? 'claim' : 'status');
		})];
	},

	forgot() {
		const err = h('p', { class: 'error', role: 'alert', id: 'forgot-error' });
		const form = h('form', { id: 'forgot-form' },
			field('email', t('field.email'), { type: 'email', autocomplete: 'username', required: true, value: app.pendingEmail }),
			h('button', { type: 'submit' }, t('forgot.submit')), err);
		return [h('h1', {}, t('forgot.title')), h('p', {}, t('forgot.intro')), busyForm(form, err, async (d) => {
			app.pendingEmail = String(d.get('email')).trim();
			await app.auth.forgotPassword(app.pendingEmail);
			go('reset');
		})];
	},

	reset() {
		const err = h('p', { class: 'error', role: 'alert', id: 'reset-error' });
		const form = h('form', { id: 'reset-form' },
			field('code', t('field.code'), { type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', required: true }, t('field.code.hint', { email: app.pendingEmail })),
			field('password', t('forgot.newPassword'), { type: 'password', autocomplete: 'new-password', required: true, minlength: '12' }, t('field.password.hint')),
			h('button', { type: 'submit' }, t('forgot.reset')), err);
		return [h('h1', {}, t('forgot.title')), busyForm(form, err, async (d) => {
			await app.auth.resetPassword(app.pendingEmail, String(d.get('code')).trim(), String(d.get('password')));
			go('signIn', t('forgot.done'));
		})];
	},

	signUp() {
		const err = h('p', { class: 'error', role: 'alert', id: 'signup-error' });
		const form = h('form', { id: 'signup-form' },
			field('email', t('field.email'), { type: 'email', autocomplete: 'email', required: true }),
			field('tenant', t('field.tenant'), { type: 'text', required: true, autocomplete: 'organization', pattern: '[a-z0-9-]{1,64}' }, t('field.tenant.hint')),
			field('password', t('field.password'), { type: 'password', autocomplete: 'new-password', required: true, minlength: '12' }, t('field.password.hint')),
			h('button', { type: 'submit' }, t('signUp.submit')), err);
		return [h('h1', {}, t('signUp.title')), busyForm(form, err, async (d) => {
			const email = String(d.get('email')).trim();
			await app.auth.signUp(email, String(d.get('password')), String(d.get('tenant')).trim());
			app.pendingEmail = email;
			go('confirm');
		})];
	},

	confirm() {
		const err = h('p', { class: 'error', role: 'alert', id: 'confirm-error' });
		const form = h('form', { id: 'confirm-form' },
			field('code', t('field.code'), { type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', required: true }, t('field.code.hint', { email: app.pendingEmail })),
			h('button', { type: 'submit' }, t('confirm.submit')), err);
		return [h('h1', {}, t('confirm.title')), busyForm(form, err, async (d) => {
			await app.auth.confirm(app.pendingEmail, String(d.get('code')).trim());
			go('signIn', t('confirm.done'));
		})];
	},

	status() {
		const s = app.me.status;
		const known = ['pending', 'approved', 'suspended'].includes(s) ? s : 'unknown';
		const err = h('p', { class: 'error', role: 'alert' });
		return [
			h('h1', {}, t('status.title')),
			h('p', {}, t('status.who', { email: app.me.email, tenant: app.me.tenant })),
			h('div', { class: 'card' },
				h('p', { class: 'status ' + known, id: 'installer-status', 'data-status': known }, t('status.' + known)),
				h('p', {}, t('status.' + known + '.todo'))),
			h('button', { type: 'button', id: 'status-refresh', onclick: async () => {
				try {
					app.me = await app.auth.refresh();
					go(app.me.status === 'approved' ? 'claim' : 'status');
				} catch (e) {
					if (!(await ended(e))) err.textContent = errorText(e);
				}
			} }, t('status.refresh')),
			err,
		];
	},

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
	claims() {
		const err = h('p', { class: 'error', role: 'alert', id: 'claims-error' });
		const claimRows = h('tbody', { id: 'claims' });
		const deviceRows = h('tbody', { id: 'devices' });
		const pager = (fetchPage, body, row, empty, cols) => {
			let cursor = '';
			let count = 0;
			const more = h('button', { type: 'button', class: 'secondary', hidden: true }, t('admin.more'));
			const load = async () => {
				try {
					const page = await fetchPage(cursor);
					const items = page.items || [];
					count += items.length;
					body.append(...items.map(row));
					cursor = page.nextCursor || '';
					more.hidden = !cursor;
					if (!count) body.replaceChildren(h('tr', {}, h('td', { colspan: String(cols) }, empty)));
				} catch (e) {
					if (!(await ended(e))) err.textContent = errorText(e);
				}
			};
			more.addEventListener('click', load);
			load();
			return more;
		};
		const claimRow = (c) => {
			const phase = c.status === 'consumed' && c.device && c.device.state === 'online' ? 'online' : c.status;
			return h('tr', { 'data-claim': c.claimId, 'data-state': phase },
				h('td', {}, h('button', { type: 'button', class: 'link', onclick: () => { app.claim = c; go('watch'); } }, c.serialNumber)),
				h('td', {}, h('span', { class: 'status ' + phase }, t('state.' + phase))),
				h('td', {}, new Date(c.issuedAt).toLocaleString(language())));
		};
		const deviceRow = (d) => h('tr', { 'data-serial': d.serialNumber },
			h('td', {}, d.serialNumber), h('td', {}, d.thingName), h('td', {}, new Date(d.provisionedAt).toLocaleString(language())));
		const table = (caption, heads, body) => h('table', {}, h('caption', {}, caption),
			h('thead', {}, h('tr', {}, ...heads.map((k) => h('th', { scope: 'col' }, t(k))))), body);
		return [h('h1', {}, t('claims.title')),
			table(t('claims.mine'), ['claim.serial', 'admin.col.status', 'claims.issuedAt'], claimRows),
			pager((c) => app.api.listClaims(c), claimRows, claimRow, t('claims.none'), 3),
			table(t('claims.devices'), ['claim.serial', 'claims.thing', 'claims.provisionedAt'], deviceRows),
			pager((c) => app.api.listDevices(c), deviceRows, deviceRow, t('claims.noDevices'), 3),
			err];
	},

	admin() {
		const err = h('p', { class: 'error', role: 'alert', id: 'admin-error' });
		const body = h('tbody', { id: 'installers' });
		const more = h('button', { type: 'button', class: 'secondary', hidden: true }, t('admin.more'));
		let rows = [];
		let cursor = '';
		const order = { pending: 0, suspended: 1, approved: 2 };
		const draw = () => {
			rows.sort((a, b) => (order[a.status] ?? 3) - (order[b.status] ?? 3) || a.email.localeCompare(b.email));
			body.replaceChildren(...rows.map(row));
		};
		const act = async (inst, action) => {
			try {
				const updated = await app.api.setInstaller(inst.installerId, action);
				rows = rows.map((r) => (r.installerId === updated.installerId ? updated : r));
				draw();
				say(t('admin.done', { email: updated.email, status: t('status.' + updated.status) }));
			} catch (e) { err.textContent = errorText(e); }
		};
		const row = (inst) => {
			const action = { pending: 'approve', approved: 'suspend', suspended: 'reinstate' }[inst.status];
			const cell = h('td', {});
			const ask = () => {
				const verb = t('admin.' + action).toLowerCase();
				cell.replaceChildren(h('span', {}, t('admin.confirm', { action: verb, email: inst.email }) + ' '),
					h('button', { type: 'button', class: action === 'suspend' ? 'danger' : '', 'data-confirm': action, onclick: () => act(inst, action) }, t('admin.yes', { action: verb })),
					' ', h('button', { type: 'button', class: 'secondary', onclick: () => draw() }, t('admin.cancel')));
				cell.querySelector('button').focus();
			};
			if (action) cell.append(h('button', { type: 'button', class: action === 'suspend' ? 'danger' : '', 'data-action': action, 'aria-label': t('admin.' + action) + ' ' + inst.email, onclick: ask }, t('admin.' + action)));
			return h('tr', { 'data-email': inst.email, 'data-status': inst.status },
				h('td', {}, inst.email), h('td', {}, h('span', { class: 'status ' + inst.status }, t('status.' + inst.status))), cell);
		};
		const load = async () => {
			try {
				const page = await app.api.listInstallers(cursor);
				rows = rows.concat(page.items || []);
				cursor = page.nextCursor || '';
				more.hidden = !cursor;
				draw();
				if (!rows.length) body.replaceChildren(h('tr', {}, h('td', { colspan: '3' }, t('admin.empty'))));
			} catch (e) { err.textContent = errorText(e); }
		};
		more.addEventListener('click', load);
		load();
		return [h('h1', {}, t('admin.title')),
			h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('admin.col.email')), h('th', { scope: 'col' }, t('admin.col.status')), h('th', { scope: 'col' }, t('admin.col.actions')))), body),
			more, err];
	},
};

async function signOut(notice) {
	stopTimers();
	forgetKey();
	app.claim = null;
	await app.auth.signOut();
	app.me = null;
	go('signIn', typeof notice === 'string' ? notice : t('signedOut'));
}

async function start() {
	setLanguage(pick(navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language]));
	const select = document.getElementById('lang');
	select.value = language();
	select.addEventListener('change', () => { setLanguage(select.value); render(); });
	// Leaving the page takes the key with it.
	window.addEventListener('pagehide', forgetKey);
	const resp = await fetch('config.json', { cache: 'no-store' });
	app.cfg = await resp.json();
	app.auth = new Auth(app.cfg);
	app.api = new API(app.cfg.apiUrl, app.auth);
	document.body.dataset.ready = 'true';
	render();
}

start().catch((e) => {
	document.getElementById('main').replaceChildren(h('p', { class: 'error', role: 'alert' }, errorText(e)));
});
