// Admin views: the tenant's installers, pending first.
import { app, errorText, h, say } from '../shell.js';
import { t } from '../i18n/index.js';

export const adminViews = {
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
