// Tenant views. Platform admins list tenants, pick the one the admin pages
// act on, onboard, edit, suspend and reactivate them; a tenant's admins see
// their own tenant and may rename it, as the API allows.
import { app, ended, errorText, field, go, h, header, isPlatformAdmin, say } from '../shell.js';
import { language, t } from '../i18n/index.js';

// editing is the ID of the tenant the edit screen shows.
let editing = '';

// The header says, on every screen, which tenant a platform admin's admin
// pages act on, and leads to the list to pick another.
header.push(() => {
	if (!app.me || !isPlatformAdmin()) return null;
	const picked = app.tenant;
	return h('p', { id: 'acting', class: 'acting', 'data-tenant': picked ? picked.tenantId : '' },
		picked ? t('tenants.acting', { name: picked.name }) : t('tenants.acting.own', { tenant: app.me.tenant }), ' ',
		h('button', { type: 'button', class: 'link', id: 'acting-change', onclick: () => go('tenants') },
			t(picked ? 'tenants.acting.change' : 'tenants.acting.pick')),
		picked ? [' ', h('button', { type: 'button', class: 'link', id: 'acting-clear', onclick: () => {
			app.tenant = null;
			go('tenants', t('tenants.acting.cleared', { tenant: app.me.tenant }));
		} }, t('tenants.acting.clear'))] : null);
});

// pick makes tenant the one the admin pages act on and opens its installers.
function pick(tenant) {
	app.tenant = { tenantId: tenant.tenantId, name: tenant.name };
	go('admin', t('tenants.picked', { name: tenant.name }));
}

function when(ts, dateOnly) {
	if (!ts) return t('tenants.seeded');
	const d = new Date(ts);
	return dateOnly ? d.toLocaleDateString(language()) : d.toLocaleString(language());
}

function statusBadge(tn, id) {
	return h('span', { class: 'status ' + tn.status, id, 'data-status': tn.status }, t('tenants.status.' + tn.status));
}

// list splits what a person typed into a list: commas, spaces or new lines.
function list(s) {
	return String(s || '').split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
}

// problem turns the API's refusal of a tenant change into a sentence: the
// code says what went wrong, the field where.
function problem(e, domains = []) {
	switch (e && e.code) {
	case 'public_mail_domain': {
		// The detail names the domain as a word of its own; the sentence
		// names it in the reader's language.
		const words = String(e.detail || '').toLowerCase().split(/[\s;:,]+/);
		const domain = domains.find((d) => words.includes(d.toLowerCase()));
		return domain ? t('tenants.error.publicMail', { domain }) : t('tenants.error.publicMail.any');
	}
	case 'invalid_request':
	case 'invalid_json': {
		const key = 'tenants.invalid.' + (e.field || 'none');
		const s = t(key);
		return s === key ? errorText(e) : s;
	}
	case 'tenant_exists':
	case 'revision_conflict':
	case 'tenant_status_conflict':
	case 'forbidden':
	case 'not_found':
		return t('tenants.error.' + e.code);
	case 'http_412':
		return t('tenants.error.revision_conflict');
	default:
		return errorText(e);
	}
}

// stale reports whether the API refused a change made from an old
// revision: someone else's change came first.
function stale(e) {
	return Boolean(e && (e.code === 'revision_conflict' || e.status === 412));
}

// staleSentence says so in words and offers the tenant as it is now, to
// change again, rather than merge the two changes.
function staleSentence(reload) {
	return h('span', {}, t('tenants.error.revision_conflict'), ' ',
		h('button', { type: 'button', class: 'secondary', id: 'tenant-reload', onclick: reload }, t('tenants.reload')));
}

// settings draws the fields that creating and editing share, filled from tn.
function settings(tn) {
	return [
		field('tenant-name', t('tenants.field.name'), { type: 'text', required: true, maxlength: '100', autocomplete: 'organization', value: tn.name || '' }),
		field('tenant-domains', t('tenants.field.domains'), { type: 'text', autocomplete: 'off', spellcheck: 'false', value: (tn.autoApproveDomains || []).join(', ') },
			t('tenants.field.domains.hint')),
		field('tenant-quota', t('tenants.field.claimsPerHour'), { type: 'number', min: '0', max: '10000', step: '1', required: true, value: String(tn.claimsPerHour ?? 0) },
			t('tenants.field.claimsPerHour.hint')),
		field('tenant-templates', t('tenants.field.templates'), { type: 'text', autocomplete: 'off', spellcheck: 'false', value: (tn.allowedTemplates || []).join(', ') },
			t('tenants.field.templates.hint')),
		h('label', { class: 'check', for: 'tenant-decommission' },
			h('input', { type: 'checkbox', id: 'tenant-decommission', name: 'tenant-decommission', checked: Boolean(tn.installersMayDecommission) }),
			t('tenants.field.decommission')),
	];
}

// read returns the settings as the form holds them, in the API's names.
function read(form) {
	const q = (sel) => form.querySelector(sel);
	return {
		name: q('#tenant-name').value.trim(),
		autoApproveDomains: list(q('#tenant-domains').value),
		claimsPerHour: Number(q('#tenant-quota').value),
		allowedTemplates: list(q('#tenant-templates').value),
		installersMayDecommission: q('#tenant-decommission').checked,
	};
}

// changed keeps the settings that differ from tn: a PATCH names only what
// the admin changed.
function changed(tn, s) {
	const out = {};
	for (const [k, v] of Object.entries(s)) {
		if (JSON.stringify(v) !== JSON.stringify(tn[k])) out[k] = v;
	}
	return out;
}

// submitting runs save with the form's controls disabled, its error shown.
function submitting(form, err, save) {
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const controls = form.querySelectorAll('input, button');
		controls.forEach((c) => (c.disabled = true));
		err.replaceChildren();
		try {
			await save();
		} catch (e) {
			if (await ended(e)) return;
			err.replaceChildren(e && e.sentence ? e.sentence : errorText(e));
		} finally {
			controls.forEach((c) => (c.disabled = false));
		}
	});
	return form;
}

// facts draws a tenant's settings as a description list.
function facts(tn) {
	const row = (k, v, id) => [h('dt', {}, t(k)), h('dd', { id }, v)];
	const none = (xs, empty) => (xs && xs.length ? xs.join(', ') : t(empty));
	return h('dl', { class: 'facts' },
		row('tenants.col.id', tn.tenantId, 'tenant-id-value'),
		row('tenants.col.name', tn.name, 'tenant-name-value'),
		row('tenants.col.status', statusBadge(tn, 'tenant-status-value')),
		row('tenants.field.domains', none(tn.autoApproveDomains, 'tenants.none.domains')),
		row('tenants.field.claimsPerHour', tn.claimsPerHour ? String(tn.claimsPerHour) : t('tenants.quota.default')),
		row('tenants.field.templates', none(tn.allowedTemplates, 'tenants.none.templates')),
		row('tenants.field.decommission', t(tn.installersMayDecommission ? 'tenants.yes' : 'tenants.no')),
		row('tenants.col.created', when(tn.createdAt)),
		row('tenants.revision', String(tn.revision), 'tenant-revision'));
}

// loading draws into box what load() fetches, or the error in words.
async function loading(box, err, load, draw) {
	box.replaceChildren(h('p', {}, t('busy')));
	try {
		draw(await load());
	} catch (e) {
		box.replaceChildren();
		if (!(await ended(e))) err.textContent = problem(e);
	}
}

export const tenantViews = {
	tenants() {
		return isPlatformAdmin() ? tenantList() : ownTenant();
	},

	tenantNew() {
		const err = h('p', { class: 'error', role: 'alert', id: 'tenant-form-error' });
		const form = h('form', { id: 'tenant-form' },
			field('tenant-id', t('tenants.field.id'), { type: 'text', required: true, pattern: '[a-z0-9\\-]{1,32}', maxlength: '32', autocomplete: 'off', spellcheck: 'false' },
				t('tenants.field.id.hint')),
			...settings({ claimsPerHour: 0 }),
			h('div', { class: 'row' },
				h('button', { type: 'submit', id: 'tenant-create' }, t('tenants.create')),
				h('button', { type: 'button', class: 'secondary', onclick: () => go('tenants') }, t('admin.cancel'))),
			err);
		return [h('h1', {}, t('tenants.new.title')), h('p', {}, t('tenants.new.intro')), submitting(form, err, async () => {
			const s = read(form);
			const body = { tenantId: form.querySelector('#tenant-id').value.trim(), ...s };
			let tn;
			try {
				tn = await app.api.createTenant(body);
			} catch (e) {
				if (e && e.code === 'session') throw e;
				throw { sentence: problem(e, s.autoApproveDomains) };
			}
			go('tenants', t('tenants.created', { name: tn.name, id: tn.tenantId }));
		})];
	},

	tenantEdit() {
		const err = h('p', { class: 'error', role: 'alert', id: 'tenant-error' });
		const box = h('div', { id: 'tenant-edit' });
		const heading = h('h1', {}, t('tenants.edit.title', { id: editing }));
		const draw = (tn) => {
			heading.textContent = t('tenants.edit.title', { id: tn.name });
			err.replaceChildren();
			const formErr = h('div', { class: 'error', role: 'alert', id: 'tenant-form-error' });
			const form = h('form', { id: 'tenant-form' },
				...settings(tn),
				h('p', { class: 'hint' }, t('tenants.revision.note', { revision: tn.revision })),
				h('button', { type: 'submit', id: 'tenant-save' }, t('tenants.save')),
				formErr);
			submitting(form, formErr, async () => {
				const change = changed(tn, read(form));
				if (!Object.keys(change).length) throw { sentence: t('tenants.invalid.none') };
				try {
					const saved = await app.api.updateTenant(tn.tenantId, tn.revision, change);
					if (app.tenant && app.tenant.tenantId === saved.tenantId) app.tenant.name = saved.name;
					go('tenantEdit', t('tenants.saved', { name: saved.name, revision: saved.revision }));
				} catch (e) {
					if (e && e.code === 'session') throw e;
					if (stale(e)) throw { sentence: staleSentence(reload) };
					throw { sentence: problem(e, change.autoApproveDomains || []) };
				}
			});
			box.replaceChildren(
				h('dl', { class: 'facts' },
					h('dt', {}, t('tenants.col.id')), h('dd', {}, tn.tenantId),
					h('dt', {}, t('tenants.col.status')), h('dd', {}, statusBadge(tn, 'tenant-status-value')),
					h('dt', {}, t('tenants.col.created')), h('dd', {}, when(tn.createdAt)),
					h('dt', {}, t('tenants.revision')), h('dd', { id: 'tenant-revision' }, String(tn.revision))),
				h('div', { class: 'row' },
					app.tenant && app.tenant.tenantId === tn.tenantId
						? h('span', { class: 'hint' }, t('tenants.actingHere'))
						: h('button', { type: 'button', class: 'secondary', id: 'tenant-pick', onclick: () => pick(tn) }, t('tenants.pick'))),
				h('h2', {}, t('tenants.settings')),
				form,
				h('h2', {}, t('tenants.access')),
				statusControl(tn, err));
		};
		const reload = () => loading(box, err, () => app.api.getTenant(editing), (tn) => {
			draw(tn);
			say(t('tenants.reloaded', { revision: tn.revision }));
			box.querySelector('#tenant-name').focus();
		});
		loading(box, err, () => app.api.getTenant(editing), draw);
		return [heading,
			h('p', {}, h('button', { type: 'button', class: 'link', id: 'tenant-back', onclick: () => go('tenants') }, t('tenants.back'))),
			box, err];
	},
};

// statusControl offers to suspend an active tenant or reactivate a
// suspended one, each behind a confirmation that says what will happen.
function statusControl(tn, err) {
	const action = tn.status === 'active' ? 'suspend' : 'reactivate';
	const box = h('div', { id: 'tenant-access' });
	const offer = () => {
		box.replaceChildren(
			h('p', {}, t('tenants.' + action + '.what')),
			h('button', { type: 'button', class: action === 'suspend' ? 'danger' : '', id: 'tenant-' + action, onclick: ask },
				t('tenants.' + action, { name: tn.name })));
	};
	const ask = () => {
		const textId = 'tenant-confirm-text';
		box.replaceChildren(h('div', { class: 'card confirm', role: 'group', 'aria-labelledby': textId, id: 'tenant-confirm' },
			h('p', { id: textId }, t('tenants.' + action + '.confirm', { name: tn.name })),
			h('div', { class: 'row' },
				h('button', { type: 'button', class: action === 'suspend' ? 'danger' : '', id: 'tenant-' + action + '-yes', onclick: act },
					t('tenants.' + action + '.yes', { name: tn.name })),
				h('button', { type: 'button', class: 'secondary', id: 'tenant-' + action + '-no', onclick: () => { offer(); box.querySelector('button').focus(); } },
					t('admin.cancel')))));
		box.querySelector('#tenant-' + action + '-no').focus();
	};
	const act = async () => {
		box.querySelectorAll('button').forEach((b) => (b.disabled = true));
		try {
			const out = action === 'suspend' ? await app.api.suspendTenant(tn.tenantId) : await app.api.reactivateTenant(tn.tenantId);
			go('tenantEdit', t('tenants.' + action + '.done', { name: out.name }));
		} catch (e) {
			if (await ended(e)) return;
			err.textContent = problem(e);
			box.querySelectorAll('button').forEach((b) => (b.disabled = false));
		}
	};
	offer();
	return box;
}

// tenantList is the platform admin's screen: every tenant, paged, each to
// act on or edit.
function tenantList() {
	const err = h('p', { class: 'error', role: 'alert', id: 'tenants-error' });
	const body = h('tbody', { id: 'tenants' });
	const more = h('button', { type: 'button', class: 'secondary', hidden: true, id: 'tenants-more' }, t('admin.more'));
	let cursor = '';
	let count = 0;
	const row = (tn) => {
		const current = app.tenant && app.tenant.tenantId === tn.tenantId;
		return h('tr', { 'data-tenant': tn.tenantId, 'data-status': tn.status },
			h('td', {}, tn.tenantId),
			h('td', {}, tn.name),
			h('td', {}, statusBadge(tn)),
			h('td', {}, when(tn.createdAt, true)),
			h('td', {}, h('div', { class: 'row' },
				current ? h('strong', {}, t('tenants.actingHere'))
					: h('button', { type: 'button', 'data-pick': tn.tenantId, 'aria-label': t('tenants.pick.named', { name: tn.name }), onclick: () => pick(tn) }, t('tenants.pick.short')),
				h('button', { type: 'button', class: 'secondary', 'data-edit': tn.tenantId, 'aria-label': t('tenants.edit.named', { name: tn.name }),
					onclick: () => { editing = tn.tenantId; go('tenantEdit'); } }, t('tenants.edit')))));
	};
	const load = async () => {
		try {
			const page = await app.api.listTenants(cursor);
			const items = page.items || [];
			count += items.length;
			body.append(...items.map(row));
			cursor = page.nextCursor || '';
			more.hidden = !cursor;
			if (!count) body.replaceChildren(h('tr', {}, h('td', { colspan: '5' }, t('tenants.empty'))));
		} catch (e) {
			if (!(await ended(e))) err.textContent = problem(e);
		}
	};
	more.addEventListener('click', load);
	load();
	return [h('h1', {}, t('tenants.title')),
		h('p', {}, t('tenants.intro')),
		h('p', {}, h('button', { type: 'button', id: 'tenant-new', onclick: () => go('tenantNew') }, t('tenants.new'))),
		h('table', { class: 'tenants' }, h('caption', {}, t('tenants.caption')),
			h('thead', {}, h('tr', {}, ...['tenants.col.id', 'tenants.col.name', 'tenants.col.status', 'tenants.col.created', 'admin.col.actions']
				.map((k) => h('th', { scope: 'col' }, t(k))))), body),
		more, err];
}

// ownTenant is a tenant admin's screen: their tenant, read-only but for its
// name (the API refuses them any other setting).
function ownTenant() {
	const err = h('p', { class: 'error', role: 'alert', id: 'tenant-error' });
	const box = h('div', { id: 'own-tenant' });
	loading(box, err, () => app.api.getTenant(app.me.tenant), (tn) => {
		const formErr = h('div', { class: 'error', role: 'alert', id: 'tenant-form-error' });
		const form = h('form', { id: 'rename-form' },
			field('tenant-name', t('tenants.field.rename'), { type: 'text', required: true, maxlength: '100', autocomplete: 'organization', value: tn.name }),
			h('button', { type: 'submit', id: 'tenant-save' }, t('tenants.rename')),
			formErr);
		submitting(form, formErr, async () => {
			const name = form.querySelector('#tenant-name').value.trim();
			if (name === tn.name) throw { sentence: t('tenants.invalid.none') };
			try {
				const saved = await app.api.updateTenant(tn.tenantId, tn.revision, { name });
				go('tenants', t('tenants.saved', { name: saved.name, revision: saved.revision }));
			} catch (e) {
				if (e && e.code === 'session') throw e;
				if (stale(e)) throw { sentence: staleSentence(() => go('tenants', t('tenants.reloaded.short'))) };
				throw { sentence: problem(e) };
			}
		});
		box.replaceChildren(facts(tn), h('p', { class: 'hint' }, t('tenants.own.note')), form);
	});
	return [h('h1', {}, t('tenants.own.title')), box, err];
}
