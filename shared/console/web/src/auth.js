// Sign-up, sign-in (USER_SRP_AUTH: the password never leaves the browser)
// and sign-out with amazon-cognito-identity-js. Tokens live in memory only:
// a reload signs the user out, and no token sits in localStorage for a
// script on the page to read later.
import {
	AuthenticationDetails,
	CognitoUser,
	CognitoUserAttribute,
	CognitoUserPool,
} from 'amazon-cognito-identity-js';

// MemoryStorage is the Storage the library keeps its tokens in.
class MemoryStorage {
	constructor() { this.items = new Map(); }
	setItem(k, v) { this.items.set(k, String(v)); }
	getItem(k) { return this.items.has(k) ? this.items.get(k) : null; }
	removeItem(k) { this.items.delete(k); }
	clear() { this.items.clear(); }
}

export class Auth {
	constructor(cfg) {
		this.storage = new MemoryStorage();
		const opts = { UserPoolId: cfg.userPoolId, ClientId: cfg.clientId, Storage: this.storage };
		if (cfg.cognitoEndpoint) opts.endpoint = cfg.cognitoEndpoint;
		this.pool = new CognitoUserPool(opts);
		this.user = null;
		this.session = null;
	}

	cognitoUser(email) {
		return new CognitoUser({ Username: email, Pool: this.pool, Storage: this.storage });
	}

	signUp(email, password, tenant) {
		const attrs = [
			new CognitoUserAttribute({ Name: 'email', Value: email }),
			new CognitoUserAttribute({ Name: 'custom:tenant_id', Value: tenant }),
		];
		return new Promise((resolve, reject) =>
			this.pool.signUp(email, password, attrs, [], (err, res) => (err ? reject(err) : resolve(res))));
	}

	confirm(email, code) {
		return new Promise((resolve, reject) =>
			this.cognitoUser(email).confirmRegistration(code, true, (err, res) => (err ? reject(err) : resolve(res))));
	}

	// forgotPassword has Cognito send a reset code to the user's verified email.
	forgotPassword(email) {
		return new Promise((resolve, reject) =>
			this.cognitoUser(email).forgotPassword({ onSuccess: resolve, onFailure: reject, inputVerificationCode: resolve }));
	}

	resetPassword(email, code, password) {
		return new Promise((resolve, reject) =>
			this.cognitoUser(email).confirmPassword(code, password, { onSuccess: resolve, onFailure: reject }));
	}

	signIn(email, password) {
		const user = this.cognitoUser(email);
		const details = new AuthenticationDetails({ Username: email, Password: password });
		return new Promise((resolve, reject) =>
			user.authenticateUser(details, {
				onSuccess: (session) => {
					this.user = user;
					this.session = session;
					resolve(this.claims());
				},
				onFailure: reject,
				// A user an administrator created signs in first with a
				// temporary password and must choose their own.
				newPasswordRequired: () => {
					this.pendingUser = user;
					reject({ code: 'NewPasswordRequired' });
				},
			}));
	}

	// completeNewPassword answers NEW_PASSWORD_REQUIRED for the user whose
	// sign-in asked for it.
	completeNewPassword(password) {
		const user = this.pendingUser;
		if (!user) return Promise.reject({ code: 'session' });
		return new Promise((resolve, reject) =>
			user.completeNewPasswordChallenge(password, {}, {
				onSuccess: (session) => {
					this.pendingUser = null;
					this.user = user;
					this.session = session;
					resolve(this.claims());
				},
				onFailure: reject,
			}));
	}

	// refresh gets new tokens, which carry the installer's status as it is
	// now (the pre-token trigger reads the record).
	refresh() {
		if (!this.user || !this.session) return Promise.reject({ code: 'session' });
		return new Promise((resolve, reject) =>
			this.user.refreshSession(this.session.getRefreshToken(), (err, session) => {
				// A refused refresh token (signed out everywhere, e.g. by a
				// suspension, or expired) ends the session.
				if (err) return reject(err.code === 'NotAuthorizedException' ? { code: 'session', message: err.message } : err);
				this.session = session;
				resolve(this.claims());
			}));
	}

	// accessToken returns a token good for at least another minute.
	async accessToken() {
		if (!this.session) throw { code: 'session' };
		const exp = this.session.getAccessToken().getExpiration();
		if (exp * 1000 < Date.now() + 60000) await this.refresh();
		return this.session.getAccessToken().getJwtToken();
	}

	claims() {
		if (!this.session) return null;
		const id = this.session.getIdToken().decodePayload();
		return {
			email: id.email,
			tenant: id.tenant_id || id['custom:tenant_id'] || '',
			status: id.installer_status || 'unknown',
			// The tenant's status at sign-in (active, suspended, unknown).
			tenantStatus: id.tenant_status || '',
			groups: id['cognito:groups'] || [],
			// The installer ID the API names devices' installers by.
			sub: id.sub,
		};
	}

	async signOut() {
		const user = this.user;
		this.user = null;
		this.session = null;
		if (user) {
			// Revokes the refresh token at Cognito; local state goes either way.
			await new Promise((resolve) => user.globalSignOut({ onSuccess: resolve, onFailure: resolve }));
			user.signOut();
		}
		this.storage.clear();
	}
}
