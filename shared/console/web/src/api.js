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
			throw { status: resp.status, code: (data && data.code) || 'http_' + resp.status, detail: (data && (data.detail || data.title || data.message)) || text };
		}
		return data;
	}

	issueClaim(serialNumber) { return this.call('POST', '/claims', { serialNumber }); }
	getClaim(id) { return this.call('GET', '/claims/' + encodeURIComponent(id)); }
	revokeClaim(id) { return this.call('DELETE', '/claims/' + encodeURIComponent(id)); }
	listClaims(cursor) { return this.call('GET', '/claims?' + page(cursor)); }
	listDevices(cursor) { return this.call('GET', '/devices?' + page(cursor)); }
	listInstallers(cursor) {
		const q = new URLSearchParams({ limit: '50' });
		if (cursor) q.set('cursor', cursor);
		return this.call('GET', '/installers?' + q);
	}
	setInstaller(id, action) { return this.call('POST', '/installers/' + encodeURIComponent(id) + '/' + action); }
	// listAudit reads a page of the audit trail; filters holds the query
	// parameters GET /audit takes (since, until, action, serial, actor).
	listAudit(filters, cursor) {
		const q = new URLSearchParams({ limit: '20', ...filters });
		if (cursor) q.set('cursor', cursor);
		return this.call('GET', '/audit?' + q);
	}
}
