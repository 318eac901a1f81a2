// Audit view: the tenant's audit trail for admins, filtered by time,
// action, device serial and actor, newest first, paged.
import { app, ended, errorText, h, say } from '../shell.js';
import { language, t } from '../i18n/index.js';

// AUDIT_ACTIONS are the actions the API filters by (fleetclaim.AuditActions;
// the browser test holds the two lists equal), in the order the form offers them.
export const AUDIT_ACTIONS = [
	'claim.issued', 'claim.revoked',
	'device.provisioned', 'device.provisioning_denied', 'device.online',
	'device.decommissioned', 'device.replaced', 'certificate.deactivated',
	'installer.registered', 'installer.approved', 'installer.suspended',
	'installer.reinstated', 'installer.offboarded',
	'tenant.created', 'tenant.updated', 'tenant.suspended', 'tenant.reactivated',
];

// kept holds the filters while the page lives, so that leaving the audit
// trail and coming back finds them as they were. They stay out of the URL:
// nothing here needs sharing, and an actor's email is personal data.
const kept = { since: '', until: '', action: '', serial: '', actor: '' };

// dayStart turns a date input's value (YYYY-MM-DD) into the instant its day
// starts in the user's time zone, plus `days` days, as RFC 3339.
function dayStart(value, days) {
	const [y, m, d] = value.split('-').map(Number);
	return new Date(y, m - 1, d + days).toISOString();
}

// reasonText is a recorded reason in words where the catalogue has it. The
// claim page's reasons speak to the installer ("You revoked…"); the few
// that do have an admin's wording under audit.reason.
function reasonText(reason) {
	if (!reason) return '';
	for (const key of ['audit.reason.' + reason, 'reason.' + reason]) {
		const s = t(key);
		if (s !== key) return s;
	}
	return reason;
}

// short renders a long ID (a claim or certificate ID) by its start, as
// people compare them; the whole ID stays in the cell's title.
function short(id) {
	return id.length > 16 ? id.slice(0, 12) + '…' : id;
}

export const auditViews = {
	audit() {
		const err = h('p', { class: 'error', role: 'alert', id: 'audit-error' });
		const body = h('tbody', { id: 'audit-events' });
		const more = h('button', { type: 'button', class: 'secondary', id: 'audit-more', hidden: true }, t('admin.more'));
		const emails = new Map(); // installer ID → email, for the actor column
		const ids = new Map(); // email → installer ID, for the actor filter
		let cursor = '';
		let count = 0;
		let query = null;

		const actionLabel = (a) => {
			const key = 'audit.action.' + a;
			const s = t(key);
			return s === key ? a : s;
		};
		const actorCell = (e) => {
			if (!e.actor) return h('td', {}, t('audit.system'));
			const who = emails.get(e.actor) || e.actor;
			return h('td', {}, h('button', { type: 'button', class: 'link', 'data-actor': e.actor, 'aria-label': t('audit.onlyActor', { who }),
				onclick: () => { kept.actor = emails.get(e.actor) || e.actor; form.querySelector('#audit-actor').value = kept.actor; search(); } }, who));
		};
		const row = (e) => h('tr', { 'data-action': e.action, 'data-serial': e.serial || '', 'data-subject': e.subject },
			h('td', {}, h('time', { datetime: e.at }, new Date(e.at).toLocaleString(language()))),
			h('td', {}, actionLabel(e.action)),
			actorCell(e),
			h('td', { title: e.subject, class: 'subject' }, e.serial ? h('span', {}, e.serial, e.subject !== e.serial ? ' · ' + short(e.subject) : '') : emails.get(e.subject) || short(e.subject)),
			h('td', {}, [reasonText(e.reason), e.detail].filter(Boolean).join(' — ')));

		const load = async () => {
			more.disabled = true;
			try {
				const page = await app.api.listAudit(query, cursor);
				const items = page.items || [];
				count += items.length;
				body.append(...items.map(row));
				cursor = page.nextCursor || '';
				more.hidden = !cursor;
				if (!count) {
					const filtered = Object.values(kept).some(Boolean);
					body.replaceChildren(h('tr', {}, h('td', { colspan: '5', id: 'audit-empty' }, t(filtered ? 'audit.none' : 'audit.empty'))));
				}
				say(t('audit.shown', { count }));
			} catch (e) {
				if (!(await ended(e))) err.textContent = errorText(e);
			} finally {
				more.disabled = false;
			}
		};

		// search starts the listing again from its first page with the kept
		// filters: a cursor belongs to the filters it was made with.
		const search = async () => {
			err.textContent = '';
			const q = {};
			if (kept.since) q.since = dayStart(kept.since, 0);
			if (kept.until) q.until = dayStart(kept.until, 1); // the whole "to" day
			if (kept.action) q.action = kept.action;
			if (kept.serial) q.serial = kept.serial.trim();
			const actor = kept.actor.trim();
			if (actor) {
				if (actor.includes('@')) {
					await installers();
					if (!ids.has(actor.toLowerCase())) {
						err.textContent = t('audit.noSuchActor', { email: actor });
						return;
					}
					q.actor = ids.get(actor.toLowerCase());
				} else {
					q.actor = actor;
				}
			}
			query = q;
			cursor = '';
			count = 0;
			body.replaceChildren();
			await load();
		};

		// installers reads the tenant's installers once per drawing, to show
		// actors by email and to let an admin filter by one.
		let directory = null;
		const installers = () => {
			directory = directory || (async () => {
				let next = '';
				for (let pages = 0; pages < 20; pages++) {
					const page = await app.api.listInstallers(next);
					for (const i of page.items || []) { emails.set(i.installerId, i.email); ids.set(i.email.toLowerCase(), i.installerId); }
					next = page.nextCursor || '';
					if (!next) break;
				}
			})().catch(() => {}); // without it actors show by ID, and an email cannot be looked up
			return directory;
		};

		const input = (name, attrs) => h('input', { id: 'audit-' + name, name, value: kept[name], ...attrs });
		const labelled = (name, text, control, hint) => h('label', { for: 'audit-' + name }, text,
			hint ? h('span', { class: 'hint', id: 'audit-' + name + '-hint' }, hint) : null, control);
		const action = h('select', { id: 'audit-action', name: 'action' },
			h('option', { value: '' }, t('audit.anyAction')),
			...AUDIT_ACTIONS.map((a) => h('option', { value: a, selected: kept.action === a }, actionLabel(a))));
		const form = h('form', { id: 'audit-form', class: 'filters', 'aria-labelledby': 'audit-filters-title' },
			h('h2', { id: 'audit-filters-title', class: 'visually-hidden' }, t('audit.filters')),
			h('div', { class: 'row' },
				labelled('since', t('audit.since'), input('since', { type: 'date' })),
				labelled('until', t('audit.until'), input('until', { type: 'date' }))),
			labelled('action', t('audit.action'), action),
			labelled('serial', t('claim.serial'), input('serial', { type: 'text', autocomplete: 'off', spellcheck: 'false', maxlength: '64' })),
			labelled('actor', t('audit.actor'), input('actor', { type: 'text', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'audit-actor-hint' }), t('audit.actor.hint')),
			h('div', { class: 'row' },
				h('button', { type: 'submit' }, t('audit.apply')),
				h('button', { type: 'button', class: 'secondary', id: 'audit-clear', onclick: () => {
					for (const k of Object.keys(kept)) kept[k] = '';
					form.reset();
					for (const el of form.querySelectorAll('input, select')) el.value = '';
					search();
				} }, t('audit.clear'))));
		form.addEventListener('submit', (ev) => {
			ev.preventDefault();
			for (const k of Object.keys(kept)) kept[k] = form.elements[k].value;
			search();
		});
		more.addEventListener('click', load);
		installers().then(() => {
			// Redraw the actor cells already shown with the emails now known.
			for (const b of body.querySelectorAll('button[data-actor]')) b.textContent = emails.get(b.dataset.actor) || b.dataset.actor;
			for (const c of body.querySelectorAll('td.subject')) if (emails.has(c.title)) c.textContent = emails.get(c.title);
		});
		search();
		return [h('h1', {}, t('audit.title')), form,
			h('table', { id: 'audit-table' }, h('caption', {}, t('audit.caption')),
				h('thead', {}, h('tr', {}, ...['audit.col.at', 'audit.col.action', 'audit.col.actor', 'audit.col.subject', 'audit.col.detail']
					.map((k) => h('th', { scope: 'col' }, t(k))))), body),
			more, err];
	},
};
