// Account views: sign-in, sign-up and its confirmation, forgotten and new
// passwords, and the installer's own status.
import { app, busyForm, ended, errorText, field, go, h, home } from '../shell.js';
import { t } from '../i18n/index.js';

export const accountViews = {
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
			go(home());
		}), h('p', {}, forgot)];
	},

	newPassword() {
		const err = h('p', { class: 'error', role: 'alert', id: 'newpassword-error' });
		const form = h('form', { id: 'newpassword-form' },
			field('password', t('forgot.newPassword'), { type: 'password', autocomplete: 'new-password', required: true, minlength: '12' }, t('field.password.hint')),
			h('button', { type: 'submit' }, t('forgot.reset')), err);
		return [h('h1', {}, t('newPassword.title')), h('p', {}, t('newPassword.intro')), busyForm(form, err, async (d) => {
			app.me = await app.auth.completeNewPassword(String(d.get('password')));
			go(home());
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
				// A suspended organisation, not the installer, is what stops them.
				app.me.tenantStatus === 'suspended' ? null : h('p', {}, t('status.' + known + '.todo'))),
			app.me.tenantStatus === 'suspended' ? h('div', { class: 'card' },
				h('p', { class: 'status suspended', id: 'tenant-status', 'data-status': 'suspended' }, t('status.tenantSuspended')),
				h('p', {}, t('status.tenantSuspended.todo'))) : null,
			h('button', { type: 'button', id: 'status-refresh', onclick: async () => {
				try {
					app.me = await app.auth.refresh();
					go(home());
				} catch (e) {
					if (!(await ended(e))) err.textContent = errorText(e);
				}
			} }, t('status.refresh')),
			err,
		];
	},

};
