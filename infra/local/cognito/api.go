package cognito

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fleetclaim/fleetclaim/infra/local/sigv4"
)

const targetPrefix = "AWSCognitoIdentityProviderService."

// Handler serves the Cognito Identity Provider JSON API at "/" and the
// pool's JWKS and OpenID discovery document under /<poolId>/.well-known/.
func (p *Pool) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /"+p.poolID+"/.well-known/jwks.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(p.keys.jwks())
	})
	// The discovery document covers token verification only: the pool has no
	// hosted UI domain, so the OAuth endpoints Cognito lists for a pool with
	// one are absent.
	mux.HandleFunc("GET /"+p.poolID+"/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": p.issuer, "jwks_uri": p.JWKSURL(),
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"subject_types_supported":               []string{"public"},
			"scopes_supported":                      []string{"openid", "email", "phone", "profile"},
		})
	})
	ops := p.operations()
	mux.HandleFunc("POST /{$}", func(w http.ResponseWriter, r *http.Request) {
		allowBrowsers(w)
		p.serveAPI(w, r, ops)
	})
	mux.HandleFunc("OPTIONS /{$}", func(w http.ResponseWriter, _ *http.Request) {
		allowBrowsers(w)
		w.Header().Set("Access-Control-Allow-Methods", "POST")
		w.Header().Set("Access-Control-Allow-Headers", "Content-Type, X-Amz-Target, X-Amz-User-Agent, Cache-Control")
		w.Header().Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// allowBrowsers lets a page on any origin call the API, as Cognito's public
// endpoint does: the app client's ID is public, and what the calls need is
// proof of a password or a token, never the caller's origin.
func allowBrowsers(w http.ResponseWriter) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Expose-Headers", "X-Amzn-RequestId, X-Amzn-ErrorType")
}

type operation func(ctx context.Context, body []byte) (any, error)

func (p *Pool) operations() map[string]operation {
	return map[string]operation{
		"SignUp":                   p.signUp,
		"ConfirmSignUp":            p.confirmSignUp,
		"ResendConfirmationCode":   p.resendCode,
		"AdminConfirmSignUp":       p.adminConfirmSignUp,
		"InitiateAuth":             p.initiateAuth,
		"RespondToAuthChallenge":   p.respondToAuthChallenge,
		"ForgotPassword":           p.forgotPassword,
		"ConfirmForgotPassword":    p.confirmForgotPassword,
		"GetUser":                  p.getUser,
		"GlobalSignOut":            p.globalSignOut,
		"AdminGetUser":             p.adminGetUser,
		"AdminAddUserToGroup":      p.adminAddUserToGroup,
		"AdminRemoveUserFromGroup": p.adminRemoveUserFromGroup,
		"AdminListGroupsForUser":   p.adminListGroupsForUser,
		"AdminUserGlobalSignOut":   p.adminUserGlobalSignOut,
		"AdminCreateUser":          p.adminCreateUser,
	}
}

// serveAPI answers one JSON 1.1 call, dispatched on X-Amz-Target.
func (p *Pool) serveAPI(w http.ResponseWriter, r *http.Request, ops map[string]operation) {
	// AWS answers every call with a request ID; SDK errors and logs show it.
	requestID := newUUID()
	w.Header().Set("X-Amzn-RequestId", requestID)
	name, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	op := ops[name]
	if !ok || op == nil {
		writeError(w, newError(codeUnknownOperation, "Unknown operation "+r.Header.Get("X-Amz-Target")))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, newError(codeInvalidParameter, "Unreadable request body."))
		return
	}
	if strings.HasPrefix(name, "Admin") {
		// Admin operations are for IAM principals, as in AWS.
		if err := p.iam.Verify(r, body); err != nil {
			p.log.Warn("cognito admin call refused", "operation", name, "requestId", requestID, "reason", err.Error())
			writeError(w, authError(err))
			return
		}
	}
	out, err := op(r.Context(), body)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			p.log.Error("cognito operation failed", "operation", name, "requestId", requestID, "error", err)
			e = newError(codeInternal, "Internal error.")
		}
		p.log.Debug("cognito call", "operation", name, "requestId", requestID, "error", e.Code)
		writeError(w, e)
		return
	}
	p.log.Debug("cognito call", "operation", name, "requestId", requestID)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

// authError is AWS's answer to an Admin* call without, or with a bad,
// signature.
func authError(err error) *Error {
	code, message := sigv4.Refusal(err)
	status := http.StatusBadRequest
	if errors.Is(err, sigv4.ErrUnsigned) {
		status = http.StatusForbidden
	}
	return &Error{Code: code, Message: message, status: status}
}

func writeError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.Code, "message": e.Message})
}

func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return newError(codeInvalidParameter, "The request body is not valid JSON.")
	}
	return nil
}

// requireParameters answers as Cognito does when one of the named
// parameters is missing or empty: the first such name, in the order given.
func requireParameters(params map[string]string, names ...string) error {
	for _, name := range names {
		if params[name] == "" {
			return newError(codeInvalidParameter, "Missing required parameter "+name)
		}
	}
	return nil
}

type attribute struct {
	Name  string
	Value string
}

func attributeList(m map[string]string) []attribute {
	out := make([]attribute, 0, len(m))
	for k, v := range m {
		out = append(out, attribute{k, v})
	}
	slices.SortFunc(out, func(a, b attribute) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (p *Pool) checkClient(id string) error {
	if id != p.clientID {
		return newError(codeResourceNotFound, "User pool client "+id+" does not exist.")
	}
	return nil
}

// allowsFlow reports whether the app client allows the InitiateAuth flow;
// REFRESH_TOKEN is the older name of REFRESH_TOKEN_AUTH.
func (p *Pool) allowsFlow(flow string) bool {
	if flow == "REFRESH_TOKEN" {
		flow = "REFRESH_TOKEN_AUTH"
	}
	return slices.Contains(p.authFlows, flow)
}

func (p *Pool) checkPool(id string) error {
	if id != p.poolID {
		return newError(codeResourceNotFound, "User pool "+id+" does not exist.")
	}
	return nil
}

// delivery is the CodeDeliveryDetails of a code sent to email, with the
// address masked as Cognito masks it.
func delivery(email string) map[string]string {
	masked := "***"
	if at := strings.IndexByte(email, '@'); at > 0 {
		masked = email[:1] + "***" + email[at:]
	}
	return map[string]string{"Destination": masked, "DeliveryMedium": "EMAIL", "AttributeName": "email"}
}

func (p *Pool) signUp(_ context.Context, body []byte) (any, error) {
	var in struct {
		ClientId       string
		Username       string
		Password       string
		UserAttributes []attribute
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := p.checkClient(in.ClientId); err != nil {
		return nil, err
	}
	attrs := map[string]string{}
	for _, a := range in.UserAttributes {
		attrs[a.Name] = a.Value
	}
	u, code, err := p.register(in.Username, in.Password, attrs)
	if err != nil {
		return nil, err
	}
	p.logCode(in.Username, code)
	return map[string]any{"UserConfirmed": false, "UserSub": u.Sub, "CodeDeliveryDetails": delivery(u.Attributes["email"])}, nil
}

func (p *Pool) confirmSignUp(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ClientId, Username, ConfirmationCode string
		ClientMetadata                       map[string]string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := p.checkClient(in.ClientId); err != nil {
		return nil, err
	}
	mismatch := newError(codeCodeMismatch, "Invalid verification code provided, please try again.")
	now := p.now()
	p.mu.Lock()
	u := p.store.find(in.Username, false)
	key := attemptKey(u, in.Username)
	switch {
	case p.limits.codeLocked(key, now):
		p.mu.Unlock()
		return nil, errAttemptLimitExceeded
	case u == nil:
		// The deployed app client prevents user existence errors, so an
		// unknown user is told what a wrong code is told, limits included.
		p.mu.Unlock()
		if p.limits.codeFailed(key, now) {
			return nil, errAttemptLimitExceeded
		}
		return nil, mismatch
	case u.Status == statusConfirmed:
		p.mu.Unlock()
		return nil, newError(codeNotAuthorized, "User cannot be confirmed. Current status is CONFIRMED")
	case u.Code == nil || u.Code.Value != in.ConfirmationCode:
		defer p.mu.Unlock()
		if !p.limits.codeFailed(key, now) {
			return nil, mismatch
		}
		// The limit invalidates the code: past the lock-out it is
		// answered as expired, and only a new code confirms.
		if u.Code != nil {
			u.Code.Expires = now
			if err := p.store.save(); err != nil {
				return nil, err
			}
		}
		p.log.Warn("confirmation attempts exceeded; code invalidated", "username", in.Username)
		return nil, errAttemptLimitExceeded
	case !now.Before(u.Code.Expires):
		p.mu.Unlock()
		return nil, newError(codeExpiredCode, "Invalid code provided, please request a code again.")
	}
	p.limits.codeSucceeded(key)
	u.confirm(p.now(), true)
	snap := u.clone()
	err := p.store.save()
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return struct{}{}, p.runPostConfirmation(ctx, snap, in.ClientId, sdkVersionUnknown, in.ClientMetadata)
}

// logCode stands in for the confirmation email. Logging a secret is
// deliberate and acceptable only because this pool is local: the code is
// how a developer confirms a sign-up without a mailbox.
func (p *Pool) logCode(username, code string) {
	p.log.Info("sign-up confirmation code (Cognito would email it)", "username", username, "code", code)
	p.printCode("sign-up code", username, code)
}

// printCode writes a code as a readable line where the pool prints codes,
// if anywhere: what, for whom, and the code, with the username kept to one
// line.
func (p *Pool) printCode(what, username, code string) {
	if p.codes != nil {
		_, _ = fmt.Fprintf(p.codes, "%s for %s: %s\n", what, oneLine(username), code)
	}
}

// oneLine replaces the control characters in s, so that a username cannot
// forge or break lines where codes are printed.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

func (p *Pool) resendCode(_ context.Context, body []byte) (any, error) {
	var in struct{ ClientId, Username string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := p.checkClient(in.ClientId); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.store.find(in.Username, false)
	switch {
	case u == nil:
		// The deployed app client prevents user existence errors: Cognito
		// then answers as if it had sent a code to a simulated destination.
		return map[string]any{"CodeDeliveryDetails": delivery(in.Username)}, nil
	case u.Status == statusConfirmed:
		return nil, newError(codeInvalidParameter, "User is already confirmed.")
	}
	u.Code = &pendingCode{Value: randomString(6, digits), Expires: p.now().Add(confirmationCodeLifetime)}
	if err := p.store.save(); err != nil {
		return nil, err
	}
	p.logCode(in.Username, u.Code.Value)
	return map[string]any{"CodeDeliveryDetails": delivery(u.Attributes["email"])}, nil
}

func (p *Pool) adminConfirmSignUp(ctx context.Context, body []byte) (any, error) {
	var in struct {
		adminTarget
		ClientMetadata map[string]string
	}
	var snap *user
	err := p.adminUpdate(body, &in, func(u *user) error {
		if u.Status != statusUnconfirmed {
			return newError(codeNotAuthorized, "User cannot be confirmed. Current status is "+u.Status)
		}
		// An administrator's confirmation does not verify the email address.
		u.confirm(p.now(), false)
		snap = u.clone()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, p.runPostConfirmation(ctx, snap, adminClientID, sdkVersionUnknown, in.ClientMetadata)
}

func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

func (p *Pool) initiateAuth(ctx context.Context, body []byte) (any, error) {
	var in struct {
		AuthFlow       string
		ClientId       string
		AuthParameters map[string]string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := p.checkClient(in.ClientId); err != nil {
		return nil, err
	}
	var required []string
	switch in.AuthFlow {
	case "USER_PASSWORD_AUTH":
		required = []string{"USERNAME", "PASSWORD"}
	case "USER_SRP_AUTH":
		required = []string{"USERNAME", "SRP_A"}
	case "REFRESH_TOKEN_AUTH", "REFRESH_TOKEN":
		required = []string{"REFRESH_TOKEN"}
	default:
		return nil, newError(codeInvalidParameter, "Initiate Auth method not supported.")
	}
	if !p.allowsFlow(in.AuthFlow) {
		return nil, newError(codeInvalidParameter, in.AuthFlow+" flow not enabled for this client")
	}
	if err := requireParameters(in.AuthParameters, required...); err != nil {
		return nil, err
	}
	switch in.AuthFlow {
	case "USER_PASSWORD_AUTH":
		return p.passwordAuth(ctx, in.AuthParameters["USERNAME"], in.AuthParameters["PASSWORD"])
	case "USER_SRP_AUTH":
		return p.srpStart(in.AuthParameters["USERNAME"], in.AuthParameters["SRP_A"])
	}
	return p.refreshAuth(ctx, in.AuthParameters["REFRESH_TOKEN"])
}

func (p *Pool) passwordAuth(ctx context.Context, username, password string) (any, error) {
	bad := newError(codeNotAuthorized, "Incorrect username or password.")
	now := p.now()
	p.mu.Lock()
	u := p.store.find(username, false)
	var snap *user
	if u != nil {
		snap = u.clone()
	}
	p.mu.Unlock()
	key := attemptKey(snap, username)
	if p.limits.signInLocked(key, now) {
		return nil, errPasswordAttemptsExceeded
	}
	if snap == nil {
		decoyHash.matches(password)
		p.limits.signInFailed(key, now)
		return nil, bad
	}
	if !snap.Password.matches(password) {
		p.limits.signInFailed(key, now)
		return nil, bad
	}
	p.limits.signInSucceeded(key)
	if snap.SRP == nil {
		if err := p.addVerifier(snap.Sub, password); err != nil {
			return nil, err
		}
	}
	return p.passwordProven(ctx, snap, now)
}

// passwordProven answers a sign-in whose password is proven, by either flow,
// as the user's status decides: a confirmed user gets a session, a user with
// a temporary password the NEW_PASSWORD_REQUIRED challenge, any other none.
func (p *Pool) passwordProven(ctx context.Context, snap *user, now time.Time) (any, error) {
	switch snap.Status {
	case statusConfirmed:
	case statusForceChangePassword:
		// The temporary password is proven; the new one comes next.
		return p.newPasswordChallenge(snap, now)
	default:
		return nil, newError(codeUserNotConfirmed, "User is not confirmed.")
	}
	return p.startSession(ctx, snap)
}

// startSession signs in a user whose credentials are proven: it runs the
// pre-token trigger, records the refresh token's session and answers with
// the tokens.
func (p *Pool) startSession(ctx context.Context, snap *user) (any, error) {
	raw := make([]byte, 64)
	_, _ = rand.Read(raw)
	refresh := base64.RawURLEncoding.EncodeToString(raw)
	originJTI, eventID, now := newUUID(), newUUID(), p.now()
	t, err := p.issue(ctx, snap, "TokenGeneration_Authentication", originJTI, eventID, now)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.store.addSession(originJTI, &session{Sub: snap.Sub, TokenHash: hashToken(refresh), EventID: eventID,
		AuthTime: now, Expires: now.Add(p.refreshLifetime)}, now)
	err = p.store.save()
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return map[string]any{"ChallengeParameters": map[string]string{}, "AuthenticationResult": map[string]any{
		"AccessToken": t.access, "IdToken": t.id, "RefreshToken": refresh,
		"ExpiresIn": int(p.accessLifetime.Seconds()), "TokenType": "Bearer"}}, nil
}

func (p *Pool) refreshAuth(ctx context.Context, refresh string) (any, error) {
	hash := hashToken(refresh)
	p.mu.Lock()
	jti, sess := p.store.sessionByToken(hash)
	switch {
	case sess == nil:
		p.mu.Unlock()
		return nil, newError(codeNotAuthorized, "Invalid Refresh Token")
	case !p.now().Before(sess.Expires):
		p.mu.Unlock()
		return nil, newError(codeNotAuthorized, "Refresh Token has expired")
	case p.store.Users[sess.Sub] == nil:
		p.mu.Unlock()
		return nil, newError(codeNotAuthorized, "User does not exist.")
	}
	snap := p.store.Users[sess.Sub].clone()
	eventID, authTime := sess.EventID, sess.AuthTime
	p.mu.Unlock()
	t, err := p.issue(ctx, snap, "TokenGeneration_RefreshTokens", jti, eventID, authTime)
	if err != nil {
		return nil, err
	}
	// The trigger ran unlocked; a sign-out meanwhile wins.
	p.mu.Lock()
	_, live := p.store.sessionByToken(hash)
	p.mu.Unlock()
	if live == nil {
		return nil, newError(codeNotAuthorized, "Refresh Token has been revoked")
	}
	return map[string]any{"ChallengeParameters": map[string]string{}, "AuthenticationResult": map[string]any{
		"AccessToken": t.access, "IdToken": t.id, "ExpiresIn": int(p.accessLifetime.Seconds()), "TokenType": "Bearer"}}, nil
}

// accessTokenUser resolves the user of a call that carries an access token
// (GetUser, GlobalSignOut), checking the token the way Cognito's user APIs
// do: signature, expiry, token use, and that its sign-in was not revoked.
func (p *Pool) accessTokenUser(body []byte) (*user, error) {
	var in struct{ AccessToken string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	claims, err := p.keys.verify(in.AccessToken, p.now)
	if errors.Is(err, jwt.ErrTokenExpired) {
		return nil, newError(codeNotAuthorized, "Access Token has expired")
	}
	if err != nil || claims["token_use"] != "access" || claims["iss"] != p.issuer || claims["client_id"] != p.clientID {
		return nil, newError(codeNotAuthorized, "Invalid Access Token")
	}
	jti, _ := claims["origin_jti"].(string)
	sub, _ := claims["sub"].(string)
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.store.Sessions[jti]; !ok {
		return nil, newError(codeNotAuthorized, "Access Token has been revoked")
	}
	u := p.store.Users[sub]
	if u == nil {
		return nil, newError(codeUserNotFound, "User does not exist.")
	}
	return u.clone(), nil
}

func (p *Pool) getUser(_ context.Context, body []byte) (any, error) {
	u, err := p.accessTokenUser(body)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Username": u.Username, "UserAttributes": attributeList(u.allAttributes())}, nil
}

func (p *Pool) globalSignOut(_ context.Context, body []byte) (any, error) {
	u, err := p.accessTokenUser(body)
	if err != nil {
		return nil, err
	}
	return struct{}{}, p.signOut(u.Sub)
}

func (p *Pool) signOut(sub string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.store.signOut(sub)
	return p.store.save()
}

// adminTarget is what every admin operation's input names: the pool, and
// the user by username, email alias or sub.
type adminTarget struct{ UserPoolId, Username string }

func (t *adminTarget) target() *adminTarget { return t }

// adminRequest is an admin operation's input: a struct that embeds
// adminTarget beside the operation's own members.
type adminRequest interface{ target() *adminTarget }

// adminUser runs an admin operation's own part, act, on the user its input
// names, after the checks every admin operation makes first, in this order:
// the body is JSON, the pool exists, the user exists. act runs with the
// pool locked and gets the stored user, so it must not run a trigger (see
// Pool.mu); an operation with a trigger runs it after adminUser returns.
func (p *Pool) adminUser(body []byte, in adminRequest, act func(u *user) error) error {
	if err := decode(body, in); err != nil {
		return err
	}
	t := in.target()
	if err := p.checkPool(t.UserPoolId); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.store.find(t.Username, true)
	if u == nil {
		return newError(codeUserNotFound, "User does not exist.")
	}
	return act(u)
}

// adminView answers an admin operation that only reads the user.
func (p *Pool) adminView(body []byte, in adminRequest, view func(u *user) any) (any, error) {
	var out any
	err := p.adminUser(body, in, func(u *user) error {
		out = view(u)
		return nil
	})
	return out, err
}

// adminUpdate runs an admin operation that changes the pool and saves it,
// still locked, unless update refuses.
func (p *Pool) adminUpdate(body []byte, in adminRequest, update func(u *user) error) error {
	return p.adminUser(body, in, func(u *user) error {
		if err := update(u); err != nil {
			return err
		}
		return p.store.save()
	})
}

// adminInput is the input of the admin operations other than
// AdminConfirmSignUp. Those that take no group still decode GroupName, as
// they always have: a GroupName that is not a string is refused.
type adminInput struct {
	adminTarget
	GroupName string
}

func (p *Pool) adminGetUser(_ context.Context, body []byte) (any, error) {
	var in adminInput
	return p.adminView(body, &in, func(u *user) any {
		return map[string]any{"Username": u.Username, "UserAttributes": attributeList(u.allAttributes()), "UserStatus": u.Status,
			"Enabled": true, "UserCreateDate": u.Created.Unix(), "UserLastModifiedDate": u.Modified.Unix()}
	})
}

func (p *Pool) changeGroup(body []byte, add bool) (any, error) {
	var in adminInput
	return struct{}{}, p.adminUpdate(body, &in, func(u *user) error {
		if _, ok := p.store.Groups[in.GroupName]; !ok {
			return newError(codeResourceNotFound, "Group not found.")
		}
		if add {
			u.Groups = sortedUnion(u.Groups, []string{in.GroupName})
		} else {
			u.Groups = slices.DeleteFunc(u.Groups, func(g string) bool { return g == in.GroupName })
		}
		u.Modified = p.now()
		return nil
	})
}

func (p *Pool) adminAddUserToGroup(_ context.Context, body []byte) (any, error) {
	return p.changeGroup(body, true)
}

func (p *Pool) adminRemoveUserFromGroup(_ context.Context, body []byte) (any, error) {
	return p.changeGroup(body, false)
}

func (p *Pool) adminListGroupsForUser(_ context.Context, body []byte) (any, error) {
	var in adminInput
	return p.adminView(body, &in, func(u *user) any {
		groups := []map[string]any{}
		for _, name := range u.Groups {
			if g := p.store.Groups[name]; g != nil {
				groups = append(groups, map[string]any{"GroupName": g.Name, "UserPoolId": p.poolID,
					"CreationDate": g.Created.Unix(), "LastModifiedDate": g.Modified.Unix()})
			}
		}
		return map[string]any{"Groups": groups}
	})
}

func (p *Pool) adminUserGlobalSignOut(_ context.Context, body []byte) (any, error) {
	var in adminInput
	return struct{}{}, p.adminUpdate(body, &in, func(u *user) error {
		p.store.signOut(u.Sub)
		return nil
	})
}
