function page(cursor) {
	const q = new URLSearchParams({ limit: '20' });
	if (cursor) q.set('cursor', cursor);
	return q;
}

// The fleetclaim API: JSON in and out, problem+json errors turned into
// thrown {status, code, detail}.
export class API {
	constructor(baseUrl, auth) {
		this.base = baseUrl.replace(/\/+$/, '');
		this.auth = auth;
	}

	async call(method, path, body) {
		path = this.scoped(method, path);
		const token = await this.auth.accessToken();
		let resp;
		try {
			resp = await fetch(this.base + path, {
				method,
				headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
				body: body === undefined ? undefined : JSON.stringify(body),
				cache: 'no-store',
			});
		} catch (e) {
			throw { code: 'network', detail: String(e) };
		}
		const text = await resp.text();
		let data = null;
		try { data = text ? JSON.parse(text) : null; } catch { data = null; }
		if (!resp.ok) {
			throw { status: resp.status, code: (data && data.code) || 'http_' + resp.status, detail: (data && (data.detail || data.title || data.message)) || text, field: (data && data.field) || '' };
		}
		return data;
	}

	issueClaim(serialNumber) { return this.call('POST', '/claims', { serialNumber }); }
	getClaim(id) { return this.call('GET', '/claims/' + encodeURIComponent(id)); }
	revokeClaim(id) { return this.call('DELETE', '/claims/' + encodeURIComponent(id)); }
	listClaims(cursor) { return this.call('GET', '/claims?' + page(cursor)); }
	listDevices(cursor) { return this.call('GET', '/devices?' + page(cursor)); }
	getDevice(serial) { return this.call('GET', '/devices/' + encodeURIComponent(serial)); }
	deviceHistory(serial, cursor) { return this.call('GET', '/devices/' + encodeURIComponent(serial) + '/history?' + page(cursor)); }
	// The certificateId guard makes the action apply only to the device the
	// page displayed (409 device_changed otherwise).
	decommissionDevice(serial, certificateId, reason) {
		return this.call('POST', '/devices/' + encodeURIComponent(serial) + '/decommission', reason ? { certificateId, reason } : { certificateId });
	}
	replaceDevice(serial, certificateId) { return this.call('POST', '/devices/' + encodeURIComponent(serial) + '/replace', { certificateId }); }
	listInstallers(cursor) {
		const q = new URLSearchParams({ limit: '50' });
		if (cursor) q.set('cursor', cursor);
		return this.call('GET', '/installers?' + q);
	}
	setInstaller(id, action) { return this.call('POST', '/installers/' + encodeURIComponent(id) + '/' + action); }

	// scope returns the tenant a platform admin picked ('' for none); main.js
	// points it at the app's state.
	scope = () => '';

	// scoped names the picked tenant on the tenant-scoped lists, the only
	// routes that take ?tenant= (the API answers 404 to anyone else naming
	// another tenant); routes by ID find their tenant from the resource.
	scoped(method, path) {
		const tenant = this.scope();
		if (!tenant || method !== 'GET' || !/^\/(installers|devices|audit)(\?|$)/.test(path)) return path;
		return path + (path.includes('?') ? '&' : '?') + 'tenant=' + encodeURIComponent(tenant);
	}

	listTenants(cursor) { return this.call('GET', '/tenants?' + page(cursor)); }
	getTenant(id) { return this.call('GET', '/tenants/' + encodeURIComponent(id)); }
	createTenant(tenant) { return this.call('POST', '/tenants', tenant); }
	// updateTenant sends change with the revision the caller read; a tenant
	// changed since is refused (409 revision_conflict), never merged.
	updateTenant(id, revision, change) { return this.call('PATCH', '/tenants/' + encodeURIComponent(id), { revision, ...change }); }
	suspendTenant(id) { return this.call('POST', '/tenants/' + encodeURIComponent(id) + '/suspend'); }
	reactivateTenant(id) { return this.call('POST', '/tenants/' + encodeURIComponent(id) + '/reactivate'); }
	// listAudit reads a page of the audit trail; filters holds the query
	// parameters GET /audit takes (since, until, action, serial, actor).
	listAudit(filters, cursor) {
		const q = new URLSearchParams({ limit: '20', ...filters });
		if (cursor) q.set('cursor', cursor);
		return this.call('GET', '/audit?' + q);
	}
}
