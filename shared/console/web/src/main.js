// The console: one page, views drawn with the DOM API (no HTML strings, so
// nothing the API or a user typed is ever parsed as markup). shell.js holds
// the state and the drawing; each file in views/ adds its screens.
import { API } from './api.js';
import { Auth } from './auth.js';
import { app, errorText, forgetKey, h, render, views } from './shell.js';
import { language, pick, setLanguage } from './i18n/index.js';
import { accountViews } from './views/account.js';
import { claimViews } from './views/claim.js';
import { listViews } from './views/lists.js';
import { adminViews } from './views/admin.js';
import { tenantViews } from './views/tenants.js';
import { deviceViews } from './views/devices.js';
import { auditViews } from './views/audit.js';

Object.assign(views, accountViews, claimViews, listViews, adminViews, tenantViews, deviceViews, auditViews);

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
	app.api.scope = () => (app.tenant ? app.tenant.tenantId : '');
	document.body.dataset.ready = 'true';
	render();
}

start().catch((e) => {
	document.getElementById('main').replaceChildren(h('p', { class: 'error', role: 'alert' }, errorText(e)));
});
