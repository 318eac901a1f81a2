// List views: the installer's claims, paged. The tenant's devices have
// their own view (views/devices.js).
import { app, go, h, pager } from '../shell.js';
import { language, t } from '../i18n/index.js';

export const listViews = {
	claims() {
		const err = h('p', { class: 'error', role: 'alert', id: 'claims-error' });
		const claimRows = h('tbody', { id: 'claims' });
		const claimRow = (c) => {
			const phase = c.status === 'consumed' && c.device && c.device.state === 'online' ? 'online' : c.status;
			return h('tr', { 'data-claim': c.claimId, 'data-state': phase },
				h('td', {}, h('button', { type: 'button', class: 'link', onclick: () => { app.claim = c; go('watch'); } }, c.serialNumber)),
				h('td', {}, h('span', { class: 'status ' + phase }, t('state.' + phase))),
				h('td', {}, new Date(c.issuedAt).toLocaleString(language())));
		};
		const table = (caption, heads, body) => h('table', {}, h('caption', {}, caption),
			h('thead', {}, h('tr', {}, ...heads.map((k) => h('th', { scope: 'col' }, t(k))))), body);
		return [h('h1', {}, t('claims.title')),
			table(t('claims.mine'), ['claim.serial', 'admin.col.status', 'claims.issuedAt'], claimRows),
			pager((c) => app.api.listClaims(c), claimRows, claimRow, t('claims.none'), 3, err),
			err];
	},

};
