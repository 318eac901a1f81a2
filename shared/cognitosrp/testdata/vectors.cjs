// Writes known-answer vectors for package cognitosrp with
// amazon-cognito-identity-js, the library the console bundles, so that the
// Go client is checked against Cognito's own client code rather than
// against itself. Each vector fixes what the library draws at random (the
// client's a, the server's b, the salt, the secret block) and the clock.
//
//	CONSOLE_NODE_MODULES=$PWD/shared/console/web/node_modules \
//	    node shared/cognitosrp/testdata/vectors.cjs > shared/cognitosrp/testdata/vectors.json
const path = require('path');
const crypto = require('crypto');
const lib = require(path.join(process.env.CONSOLE_NODE_MODULES, 'amazon-cognito-identity-js'));

// Deterministic bytes, so the file is the same on every run.
function bytes(label, n) {
	let out = Buffer.alloc(0);
	for (let i = 0; out.length < n; i++) {
		out = Buffer.concat([out, crypto.createHash('sha256').update(label + '/' + i).digest()]);
	}
	return out.subarray(0, n);
}

// nowString is DateHelper.getNowString with the clock at ms.
function nowString(ms) {
	const RealDate = Date;
	global.Date = class extends RealDate {
		constructor(...args) {
			super(...(args.length ? args : [ms]));
		}
	};
	try {
		return new lib.DateHelper().getNowString();
	} finally {
		global.Date = RealDate;
	}
}

// modPow is BigInteger.modPow, which answers through a callback.
function modPow(base, e, n) {
	let out;
	base.modPow(e, n, (err, r) => { if (err) throw err; out = r; });
	return out;
}

function vector(name, poolID, username, password, ms) {
	const poolName = poolID.split('_')[1];
	const helper = new lib.AuthenticationHelper(poolName);
	const BigInteger = helper.N.constructor;
	helper.smallAValue = new BigInteger(bytes(name + '/a', 128).toString('hex'), 16);
	helper.largeAValue = undefined;
	let bigA;
	helper.getLargeAValue((err, v) => { if (err) throw err; bigA = v; });

	// The server's side, as Cognito computes it: v = g^x, B = k·v + g^b.
	const salt = new BigInteger(bytes(name + '/salt', 16).toString('hex'), 16);
	const x = new BigInteger(helper.hexHash(helper.padHex(salt) + helper.hash(poolName + username + ':' + password)), 16);
	const v = modPow(helper.g, x, helper.N);
	const b = new BigInteger(bytes(name + '/b', 32).toString('hex'), 16);
	const bigB = helper.k.multiply(v).add(modPow(helper.g, b, helper.N)).mod(helper.N);
	const secretBlock = bytes(name + '/secret', 64).toString('base64');
	const timestamp = nowString(ms);

	let key;
	helper.getPasswordAuthenticationKey(username, password, bigB, salt, (err, k) => { if (err) throw err; key = k; });
	// As CognitoUser.authenticateUserDefaultAuth signs it.
	const signature = crypto.createHmac('sha256', Buffer.from(key))
		.update(Buffer.concat([Buffer.from(poolName, 'utf8'), Buffer.from(username, 'utf8'),
			Buffer.from(secretBlock, 'base64'), Buffer.from(timestamp, 'utf8')]))
		.digest('base64');
	return {
		name, poolId: poolID, username, password, unixMillis: ms,
		a: helper.smallAValue.toString(16), srpA: bigA.toString(16),
		salt: salt.toString(16), srpB: bigB.toString(16), secretBlock,
		timestamp, key: Buffer.from(key).toString('hex'), signature,
	};
}

const vectors = [
	vector('single-digit day, early hour', 'eu-west-1_Ab12Cd34E', 'jane', 'Passw0rd-Example', Date.UTC(2017, 8, 5, 8, 9, 4)),
	vector('two-digit day, email-like user ID', 'us-east-1_XyZ987', '2f4c8d1e-5b6a-4c3d-9e8f-0a1b2c3d4e5f', 'Another-Pass-9', Date.UTC(2026, 11, 24, 23, 59, 59)),
	vector('non-ASCII password', 'ap-south-1_Q', 'jos\u00e9', 'contrase\u00f1a-\u00dcber-1', Date.UTC(2024, 1, 29, 0, 0, 0)),
];
console.log(JSON.stringify(vectors, null, '\t'));
