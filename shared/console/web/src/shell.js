// The console's shell: its state, the DOM helpers every view uses, the
// navigation and the drawing of the current view. Views live in views/ and
// register themselves in main.js; nothing here knows their contents.
import { t } from './i18n/index.js';

export const app = {
	cfg: null,
	auth: null,
	api: null,
	me: null, // claims of the signed-in user's ID token
	// tenant is the tenant a platform admin picked for the admin pages to act
	// on ({tenantId, name}); null acts on their own. In memory only, like the
	// session, so a reload or a sign-out forgets it.
	tenant: null,
	view: 'signIn',
	notice: '',
	pendingEmail: '',
	claim: null, // the claim being watched (no key)
	secret: null, // {bundle} with the private key; null once cleared
	timers: [],
};

// views maps a view's name to the function that draws it (a list of nodes).
export const views = {};

// h makes an element: h('button', {onclick, class}, 'text', child...).
export function h(tag, attrs = {}, ...children) {
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

export function field(id, label, attrs, hint) {
	const hintId = hint ? id + '-hint' : undefined;
	return h('label', { for: id }, label,
		hint ? h('span', { class: 'hint', id: hintId }, hint) : null,
		h('input', { id, name: id, 'aria-describedby': hintId, ...attrs }));
}

export function say(text) {
	document.getElementById('live').textContent = text;
}

export function errorText(e) {
	if (!e) return t('error.generic', { message: '?' });
	if (e.code === 'network' || e.name === 'TypeError') return t('error.network');
	if (e.code === 'session') return t('error.session');
	const key = 'error.' + e.code;
	const s = t(key, { message: e.message || e.detail || '' });
	return s === key ? t('error.generic', { message: e.detail || e.message || e.code }) : s;
}

export function stopTimers() {
	for (const id of app.timers) clearInterval(id);
	app.timers = [];
}

// forgetKey drops the only reference to the private key.
export function forgetKey() {
	if (app.secret) {
		app.secret.bundle.privateKey = '';
		app.secret = null;
	}
}

export function go(view, notice = '') {
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
		if (app.me.status === 'approved') items.push(link('devices', t('nav.devices')));
		items.push(link('status', t('nav.status')));
		if (app.me.groups.includes('admins') || app.me.groups.includes('platform-admins')) items.push(link('admin', t('nav.admin')));
		if (app.me.groups.includes('admins') || isPlatformAdmin()) items.push(link('tenants', t(isPlatformAdmin() ? 'nav.tenants' : 'nav.myTenant')));
		if (app.me.groups.includes('admins') || app.me.groups.includes('platform-admins')) items.push(link('audit', t('nav.audit')));
		items.push(h('button', { class: 'link', type: 'button', id: 'nav-signOut', onclick: signOut }, t('nav.signOut')));
	}
	return items;
}

export function render() {
	// Each drawing of a view starts its own timers.
	stopTimers();
	document.getElementById('lang-label').textContent = t('lang.label');
	document.querySelector('.skip').textContent = t('skip');
	document.getElementById('nav').replaceChildren(...nav());
	drawHeader();
	const main = document.getElementById('main');
	const view = views[app.view] || views.signIn;
	main.replaceChildren(...[app.notice ? h('p', { class: 'notice', role: 'status' }, app.notice) : null, ...view()].filter(Boolean));
}

// endSession returns to the sign-in page when Cognito no longer honours the
// session; anything else is the caller's to show.
export async function ended(e) {
	if (!e || e.code !== 'session') return false;
	await signOut(t('error.session'));
	return true;
}

// busyForm runs submit with the form's controls disabled and shows its error.
export function busyForm(form, errEl, submit) {
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

export async function signOut(notice) {
	stopTimers();
	forgetKey();
	app.claim = null;
	app.tenant = null;
	await app.auth.signOut();
	app.me = null;
	go('signIn', typeof notice === 'string' ? notice : t('signedOut'));
}


// isPlatformAdmin reports whether the signed-in user administers every
// tenant (the platform-admins group; the API checks the same group).
export function isPlatformAdmin() {
	return Boolean(app.me && app.me.groups.includes('platform-admins'));
}

// header holds functions that draw parts of the page header beside the
// navigation (views/tenants.js: the tenant a platform admin acts on); each
// returns a node or null, and runs at every drawing.
export const header = [];

function drawHeader() {
	let host = document.getElementById('header-extra');
	if (!host) {
		host = h('div', { id: 'header-extra', class: 'header-extra' });
		document.querySelector('header').append(host);
	}
	host.replaceChildren(...header.map((draw) => draw()).filter(Boolean));
	host.hidden = !host.childElementCount;
}

// home is the screen a user starts on: getting claims for an approved
// installer of an active tenant, their status (and what to do) otherwise.
export function home() {
	return app.me.status === 'approved' && app.me.tenantStatus !== 'suspended' ? 'claim' : 'status';
}

// pager loads pages of rows into body, with a "Load more" button while the
// API has more. A failed page is shown in err; id names the button.
export function pager(fetchPage, body, row, empty, cols, err, id) {
	let cursor = '';
	let count = 0;
	const more = h('button', { type: 'button', class: 'secondary', id, hidden: true }, t('admin.more'));
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
}
