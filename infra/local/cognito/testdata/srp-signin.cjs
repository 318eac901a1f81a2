// Signs in with amazon-cognito-identity-js, the library the console bundles,
// against the pool at COGNITO_ENDPOINT; prints the tokens' payloads as JSON,
// or the library's error. Run by TestSRPWithTheConsoleLibrary.
const path = require('path');
const lib = require(path.join(process.env.CONSOLE_NODE_MODULES, 'amazon-cognito-identity-js'));

const pool = new lib.CognitoUserPool({
	UserPoolId: process.env.POOL_ID,
	ClientId: process.env.CLIENT_ID,
	endpoint: process.env.COGNITO_ENDPOINT,
});
const user = new lib.CognitoUser({ Username: process.env.USERNAME, Pool: pool });
user.authenticateUser(new lib.AuthenticationDetails({ Username: process.env.USERNAME, Password: process.env.PASSWORD }), {
	onSuccess(session) {
		console.log(JSON.stringify({ ok: true, access: session.getAccessToken().decodePayload(), id: session.getIdToken().decodePayload() }));
	},
	onFailure(err) {
		console.log(JSON.stringify({ ok: false, code: err.code, message: err.message }));
	},
});
