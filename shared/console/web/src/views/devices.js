// Device views: the tenant's devices, paged, and one device's page with its
// details, its serial's history and, for those who may, decommission and
// replace behind a confirmation.
import { app, ended, errorText, go, h, pager, say } from '../shell.js';
import { claimBundle } from '../claimbundle.js';
import { language, t } from '../i18n/index.js';

// selected is the serial the device page shows, set by the list.
let selected = '';

// phase is what the page calls a device's state: overdue is a registered
// device that did not come online in time (the API's overdue flag).
function phase(d) {
	return d.state === 'registered' && d.overdue ? 'overdue' : d.state;
}

function when(ts) {
	return ts ? new Date(ts).toLocaleString(language(), { dateStyle: 'short', timeStyle: 'short' }) : t('device.never');
}

// stateCell shows the state's name and, under it, what it means in words.
function stateCell(d, id) {
	const p = phase(d);
	return [h('span', { class: 'status ' + p, id, tabindex: id ? '-1' : null, 'data-state': p }, t('device.state.' + p)),
		h('span', { class: 'hint meaning' }, t('device.state.' + p + '.meaning'))];
}

// reasonText is a decommission's reason as recorded, the one the API
// records for a replacement in words.
function reasonText(d) {
	if (d.decommissionReason === 'replaced') return t('device.reason.replaced');
	return d.decommissionReason || t('device.reason.none');
}

// mayAct says whether to offer decommission and replace. Admins always may.
// An installer may only for a device they provisioned and only where the
// tenant allows it; the token does not say the latter, so their own devices
// show the buttons and the API's refusal explains.
function mayAct(d) {
	if (!app.me || d.state === 'decommissioned') return false;
	const groups = app.me.groups || [];
	if (groups.includes('admins') || groups.includes('platform-admins')) return true;
	return !app.me.sub || d.installerId === app.me.sub;
}

// actionError puts an action's refusal in the words of this page: the API's
// bare "forbidden" does not say what the rule is.
function actionError(e) {
	return e && e.code === 'forbidden' ? t('device.error.forbidden') : errorText(e);
}

function table(caption, heads, body, id) {
	return h('table', { id }, h('caption', {}, caption),
		h('thead', {}, h('tr', {}, ...heads.map((k) => h('th', { scope: 'col' }, t(k))))), body);
}

export const deviceViews = {
	devices() {
		const err = h('p', { class: 'error', role: 'alert', id: 'devices-error' });
		const rows = h('tbody', { id: 'devices' });
		// A platform admin acting on another tenant sees its list only: the
		// device routes act in the caller's own tenant, so a device page or
		// an action from here would reach a device of the same serial there.
		const elsewhere = Boolean(app.tenant);
		const row = (d) => h('tr', { 'data-serial': d.serialNumber, 'data-state': phase(d) },
			h('td', {}, elsewhere ? d.serialNumber : h('button', { type: 'button', class: 'link', 'aria-label': t('device.open', { serial: d.serialNumber }),
				onclick: () => { selected = d.serialNumber; go('device'); } }, d.serialNumber)),
			h('td', {}, d.thingName),
			h('td', {}, ...stateCell(d)),
			h('td', {}, when(d.provisionedAt)),
			h('td', {}, when(d.onlineAt)));
		return [h('h1', {}, t('devices.title')), h('p', { id: 'devices-intro' }, t(elsewhere ? 'devices.intro.elsewhere' : 'devices.intro')),
			table(t('claims.devices'), ['claim.serial', 'claims.thing', 'device.col.state', 'claims.provisionedAt', 'device.col.onlineAt'], rows, 'devices-table'),
			pager((c) => app.api.listDevices(c), rows, row, t('claims.noDevices'), 5, err, 'devices-more'),
			err];
	},

	device() {
		const serial = selected;
		if (!serial) return deviceViews.devices();
		const err = h('p', { class: 'error', role: 'alert', id: 'device-error' });
		const details = h('dl', { class: 'details', id: 'device-details', 'aria-busy': 'true' });
		const actions = h('div', { class: 'row', id: 'device-actions' });
		const confirm = h('div', { class: 'card confirm', id: 'device-confirm', hidden: true });
		const history = h('tbody', { id: 'device-history' });
		const historyBox = h('div', {});
		const historyRow = (d) => h('tr', { 'data-cert': d.certificateId },
			h('td', {}, when(d.decommissionedAt)),
			h('td', {}, h('code', {}, d.certificateId)),
			h('td', {}, reasonText(d)),
			h('td', {}, d.decommissionedBy && d.decommissionedBy === app.me.sub ? t('device.by.you') : d.decommissionedBy || ''));
		const drawHistory = () => {
			history.replaceChildren();
			historyBox.replaceChildren(
				table(t('device.history'), ['device.col.decommissionedAt', 'device.field.certificate', 'device.field.reason', 'device.field.decommissionedBy'], history, 'device-history-table'),
				pager((c) => app.api.deviceHistory(serial, c), history, historyRow, t('device.history.none'), 4, err, 'history-more'));
		};

		let shown = null; // the device as displayed: its certificate guards the actions
		const drawDetails = (d) => {
			shown = d;
			const item = (key, value) => [h('dt', {}, t(key)), h('dd', {}, value)];
			details.replaceChildren(
				...item('device.col.state', stateCell(d, 'device-state')),
				...item('claims.thing', d.thingName),
				...item('device.field.certificate', h('code', { id: 'device-cert' }, d.certificateId)),
				...item('device.field.template', d.templateName),
				...(d.site ? item('device.field.site', d.site) : []),
				...item('claims.provisionedAt', when(d.provisionedAt)),
				...item('device.col.onlineAt', when(d.onlineAt)),
				...item('device.field.lastConnectedAt', when(d.lastConnectedAt)),
				...(d.state === 'decommissioned' ? [
					...item('device.col.decommissionedAt', when(d.decommissionedAt)),
					...item('device.field.reason', reasonText(d)),
				] : []));
			details.removeAttribute('aria-busy');
			actions.replaceChildren();
			confirm.hidden = true;
			if (!mayAct(d)) return;
			for (const action of ['decommission', 'replace']) {
				actions.append(h('button', { type: 'button', class: 'danger', id: action,
					onclick: (ev) => ask(action, ev.currentTarget) }, t('device.' + action)));
			}
		};

		const load = async () => {
			try {
				drawDetails(await app.api.getDevice(serial));
			} catch (e) {
				if (!(await ended(e))) err.textContent = errorText(e);
			}
			drawHistory();
		};

		// ask shows the confirmation for action: it names the serial and says
		// what happens, and sends the displayed device's certificate so a page
		// gone stale cannot retire a replacement unit.
		const ask = (action, trigger) => {
			const d = shown;
			const textId = 'device-confirm-text';
			const reasonInput = h('input', { id: 'decommission-reason', name: 'reason', type: 'text', maxlength: '200', autocomplete: 'off' });
			const yes = h('button', { type: 'button', class: 'danger', id: 'confirm-yes', 'aria-describedby': textId }, t('device.' + action + '.yes', { serial: d.serialNumber }));
			const cancel = () => {
				confirm.hidden = true;
				confirm.replaceChildren();
				actions.querySelectorAll('button').forEach((b) => (b.disabled = false));
				trigger.focus();
			};
			yes.addEventListener('click', async () => {
				confirm.querySelectorAll('button, input').forEach((c) => (c.disabled = true));
				err.textContent = '';
				try {
					if (action === 'replace') {
						const issued = await app.api.replaceDevice(d.serialNumber, d.certificateId);
						// As the claim view: the key goes only into the bundle
						// the watch view offers, and is never stored.
						app.secret = { bundle: claimBundle(issued, app.cfg.caPem) };
						const { privateKey, certificatePem, ...claim } = issued;
						app.claim = claim;
						go('watch');
						return;
					}
					const out = await app.api.decommissionDevice(d.serialNumber, d.certificateId, reasonInput.value.trim());
					drawDetails(out);
					drawHistory();
					say(t('device.decommissioned', { serial: d.serialNumber }));
					document.getElementById('device-state').focus();
				} catch (e) {
					if (await ended(e)) return;
					err.textContent = actionError(e);
					if (e && e.code === 'device_changed') {
						// The page was stale: show the serial as it is now.
						await load();
						err.focus();
					} else cancel();
				}
			});
			actions.querySelectorAll('button').forEach((b) => (b.disabled = true));
			confirm.replaceChildren(
				h('h2', { id: 'device-confirm-title' }, t('device.' + action)),
				h('p', { id: textId }, t('device.' + action + '.confirm', { serial: d.serialNumber })),
				action === 'decommission' ? h('label', { for: 'decommission-reason' }, t('device.reason.label'), reasonInput) : null,
				h('div', { class: 'row' }, yes, h('button', { type: 'button', class: 'secondary', id: 'confirm-cancel', onclick: cancel }, t('admin.cancel'))));
			confirm.setAttribute('role', 'group');
			confirm.setAttribute('aria-labelledby', 'device-confirm-title');
			confirm.dataset.action = action;
			confirm.hidden = false;
			yes.focus();
		};

		err.tabIndex = -1;
		load();
		return [h('h1', {}, t('device.title', { serial })),
			h('p', {}, h('button', { type: 'button', class: 'link', id: 'back-to-devices', onclick: () => go('devices') }, t('device.back'))),
			h('section', { class: 'card', 'aria-labelledby': 'device-details-title' },
				h('h2', { id: 'device-details-title' }, t('device.details')), details, actions, confirm),
			err,
			historyBox];
	},
};
