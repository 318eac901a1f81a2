package cognito

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/mail"
	"slices"
	"strings"
	"time"
)

// temporaryPasswordLifetime is how long an AdminCreateUser temporary
// password signs in: the pool's TemporaryPasswordValidityDays, 7 by default
// in Cognito and in the deployed stack.
const temporaryPasswordLifetime = 7 * 24 * time.Hour

// challengeLifetime is how long the Session of a NEW_PASSWORD_REQUIRED
// challenge can be answered: Cognito's default of three minutes.
const challengeLifetime = 3 * time.Minute

// Cognito's answers about challenge sessions and temporary passwords.
var (
	errSessionExpired   = newError(codeNotAuthorized, "Invalid session for the user, session is expired.")
	errTemporaryExpired = newError(codeNotAuthorized, "Temporary password has expired and must be reset by an administrator.")
)

// The values AdminCreateUser's MessageAction and DesiredDeliveryMediums
// take.
var (
	messageActions  = []string{"RESEND", "SUPPRESS"}
	deliveryMediums = []string{"SMS", "EMAIL"}
)

// adminCreateUser is AdminCreateUser: an administrator creates a user with
// a temporary password (given, or generated to the pool's password policy),
// in status FORCE_CHANGE_PASSWORD. The user signs in with it once and must
// answer NEW_PASSWORD_REQUIRED. MessageAction RESEND gives an existing
// FORCE_CHANGE_PASSWORD user a new temporary password and validity period;
// SUPPRESS sends nothing. The invitation a real pool would email (when
// EMAIL is a desired medium and the address is verified) is logged instead,
// as confirmation codes are. As in Cognito, the call runs no
// post-confirmation trigger, then or at the first sign-in: whoever creates
// the user records it (infra/admin does), and the pre-token trigger repairs
// a missing record at sign-in.
func (p *Pool) adminCreateUser(_ context.Context, body []byte) (any, error) {
	var in struct {
		UserPoolId             string
		Username               string
		UserAttributes         []attribute
		TemporaryPassword      string
		MessageAction          string
		DesiredDeliveryMediums []string
		ForceAliasCreation     bool
		ClientMetadata         map[string]string
		ValidationData         []attribute
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := p.checkPool(in.UserPoolId); err != nil {
		return nil, err
	}
	if in.MessageAction != "" && !slices.Contains(messageActions, in.MessageAction) {
		return nil, newError(codeInvalidParameter, fmt.Sprintf("1 validation error detected: Value '%s' at 'messageAction' "+
			"failed to satisfy constraint: Member must satisfy enum value set: [RESEND, SUPPRESS]", in.MessageAction))
	}
	for _, m := range in.DesiredDeliveryMediums {
		if !slices.Contains(deliveryMediums, m) {
			return nil, newError(codeInvalidParameter, fmt.Sprintf("1 validation error detected: Value '[%s]' at 'desiredDeliveryMediums' "+
				"failed to satisfy constraint: Member must satisfy enum value set: [SMS, EMAIL]", m))
		}
	}
	if in.Username == "" {
		return nil, newError(codeInvalidParameter, "1 validation error detected: Value at 'username' failed to satisfy constraint: Member must not be null")
	}
	password := in.TemporaryPassword
	if password == "" {
		password = p.policy.generate()
	} else if v := p.policy.violation(password); v != "" {
		return nil, newError(codeInvalidPassword, v)
	}
	hash, err := hashPassword(password)
	if err != nil {
		return nil, newError(codeInternal, "Internal error.")
	}
	now := p.now()
	temporary := &pendingCode{Value: password, Expires: now.Add(temporaryPasswordLifetime)}
	if in.MessageAction == "RESEND" {
		return p.resendInvitation(in.Username, hash, temporary, in.DesiredDeliveryMediums)
	}

	attrs := map[string]string{}
	for _, a := range in.UserAttributes {
		attrs[a.Name] = a.Value
	}
	if p.signInWithEmail {
		if _, err := mail.ParseAddress(in.Username); err != nil {
			return nil, newError(codeInvalidParameter, "Username should be an email.")
		}
		if e, ok := attrs["email"]; ok && !strings.EqualFold(e, in.Username) {
			return nil, newError(codeInvalidParameter, "The email attribute must match the username when email is the username.")
		}
		attrs["email"] = in.Username
	}
	for name, value := range attrs {
		switch {
		case name == "sub" || strings.HasPrefix(name, "cognito:"):
			return nil, newError(codeInvalidParameter, "Cannot modify the non-mutable attribute "+name)
		case name == "email_verified":
			if value != "true" && value != "false" {
				return nil, newError(codeInvalidParameter, "Email verified attribute must be true or false.")
			}
		case !slices.Contains(p.writable, name) && !slices.Contains(p.required, name):
			// An administrator may set any attribute of the schema, which
			// here is the required and the client-writable ones.
			return nil, newError(codeInvalidParameter, "Attributes did not conform to the schema: Type for attribute {"+name+"} could not be determined")
		case len(value) > maxAttributeLength:
			return nil, newError(codeInvalidParameter,
				fmt.Sprintf("Attributes did not conform to the schema: %s: String must be no longer than %d characters", name, maxAttributeLength))
		}
	}
	if email, ok := attrs["email"]; ok {
		if _, err := mail.ParseAddress(email); err != nil {
			return nil, newError(codeInvalidParameter, "Invalid email address format.")
		}
	}
	sub := newUUID()
	name := in.Username
	if p.signInWithEmail {
		name = sub
	}
	u := &user{Sub: sub, Username: name, Password: hash, SRP: newSRPVerifier(p.poolName(), name, password), Attributes: maps.Clone(attrs), Status: statusForceChangePassword,
		Created: now, Modified: now, Temporary: temporary}

	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.signInWithEmail && p.store.emailTaken(in.Username):
		return nil, newError(codeUsernameExists, "An account with the given email already exists.")
	case p.store.find(in.Username, false) != nil:
		return nil, newError(codeUsernameExists, "User account already exists")
	}
	p.store.add(u)
	if err := p.store.save(); err != nil {
		delete(p.store.Users, u.Sub)
		return nil, err
	}
	if in.MessageAction != "SUPPRESS" {
		p.invite(u, in.DesiredDeliveryMediums)
	}
	return map[string]any{"User": userType(u)}, nil
}

// resendInvitation is AdminCreateUser with MessageAction RESEND.
func (p *Pool) resendInvitation(username string, hash passwordHash, temporary *pendingCode, mediums []string) (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.store.find(username, true)
	switch {
	case u == nil:
		return nil, newError(codeUserNotFound, "User does not exist.")
	case u.Status != statusForceChangePassword:
		return nil, newError(codeUnsupportedUserState, fmt.Sprintf("Resend not possible. %s status is %s.", username, u.Status))
	}
	u.Password, u.Temporary, u.Challenge, u.Modified = hash, temporary, nil, p.now()
	u.SRP = newSRPVerifier(p.poolName(), u.Username, temporary.Value)
	if err := p.store.save(); err != nil {
		return nil, err
	}
	p.invite(u, mediums)
	return map[string]any{"User": userType(u)}, nil
}

// invite stands in for the invitation message: Cognito sends it by the
// desired mediums (SMS when none is given) to a verified address or number
// only. The pool sends no SMS and has no phone numbers, so only an email
// invitation can go out; it is logged, the temporary password with it, which
// is acceptable only because this pool is local.
func (p *Pool) invite(u *user, mediums []string) {
	if slices.Contains(mediums, "EMAIL") && u.Attributes["email_verified"] == "true" {
		p.log.Info("temporary password (Cognito would email the invitation)", "username", u.Attributes["email"],
			"temporaryPassword", u.Temporary.Value)
		return
	}
	p.log.Warn("no invitation delivered: no desired medium reaches a verified address", "username", u.Username,
		"desiredDeliveryMediums", mediums)
}

// userType is AdminCreateUser's UserType of u.
func userType(u *user) map[string]any {
	return map[string]any{"Username": u.Username, "Attributes": attributeList(u.allAttributes()),
		"UserCreateDate": u.Created.Unix(), "UserLastModifiedDate": u.Modified.Unix(), "Enabled": true, "UserStatus": u.Status}
}

// newPasswordChallenge answers a FORCE_CHANGE_PASSWORD user's sign-in with
// its temporary password: the NEW_PASSWORD_REQUIRED challenge, with a
// Session for RespondToAuthChallenge.
func (p *Pool) newPasswordChallenge(snap *user, now time.Time) (any, error) {
	if snap.Temporary == nil || !now.Before(snap.Temporary.Expires) {
		return nil, errTemporaryExpired
	}
	raw := make([]byte, 96)
	_, _ = rand.Read(raw)
	session := base64.RawURLEncoding.EncodeToString(raw)
	p.mu.Lock()
	u := p.store.Users[snap.Sub]
	if u == nil {
		p.mu.Unlock()
		return nil, newError(codeNotAuthorized, "Incorrect username or password.")
	}
	u.Challenge = &pendingCode{Value: hashToken(session), Expires: now.Add(challengeLifetime)}
	err := p.store.save()
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	shown := snap.allAttributes()
	delete(shown, "sub")
	required := []string{}
	for _, name := range p.required {
		if strings.TrimSpace(shown[name]) == "" {
			required = append(required, "userAttributes."+name)
		}
	}
	attrsJSON, _ := json.Marshal(shown)
	requiredJSON, _ := json.Marshal(required)
	return map[string]any{"ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": session,
		"ChallengeParameters": map[string]string{"USER_ID_FOR_SRP": snap.Username,
			"requiredAttributes": string(requiredJSON), "userAttributes": string(attrsJSON)}}, nil
}

// respondNewPassword is RespondToAuthChallenge for NEW_PASSWORD_REQUIRED:
// the user's new password (and any
// required attribute still missing, as userAttributes.<name>) replaces the
// temporary one, the user is CONFIRMED, and the answer is a sign-in's
// tokens.
func (p *Pool) respondNewPassword(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ClientId           string
		ChallengeName      string
		Session            string
		ChallengeResponses map[string]string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := p.checkClient(in.ClientId); err != nil {
		return nil, err
	}
	if in.ChallengeName != "NEW_PASSWORD_REQUIRED" {
		return nil, newError(codeInvalidParameter, "Unsupported challenge name "+in.ChallengeName+".")
	}
	if err := requireParameters(in.ChallengeResponses, "USERNAME", "NEW_PASSWORD"); err != nil {
		return nil, err
	}
	newPassword := in.ChallengeResponses["NEW_PASSWORD"]
	attrs := map[string]string{}
	for k, v := range in.ChallengeResponses {
		if name, ok := strings.CutPrefix(k, "userAttributes."); ok {
			attrs[name] = v
		}
	}
	for name, value := range attrs {
		switch {
		case name == "sub" || name == "email_verified" || strings.HasPrefix(name, "cognito:"):
			return nil, newError(codeInvalidParameter, "Cannot modify the non-mutable attribute "+name)
		case !slices.Contains(p.writable, name):
			return nil, newError(codeNotAuthorized, "A client attempted to write unauthorized attribute")
		case name == "email":
			// Changing the address would need its verification again,
			// which this challenge does not model.
			return nil, newError(codeInvalidParameter, "The stand-in does not change email in NEW_PASSWORD_REQUIRED.")
		case len(value) > maxAttributeLength:
			return nil, newError(codeInvalidParameter,
				fmt.Sprintf("Attributes did not conform to the schema: %s: String must be no longer than %d characters", name, maxAttributeLength))
		}
	}
	if v := p.policy.violation(newPassword); v != "" {
		return nil, newError(codeInvalidPassword, v)
	}
	hash, err := hashPassword(newPassword)
	if err != nil {
		return nil, newError(codeInternal, "Internal error.")
	}
	now := p.now()
	p.mu.Lock()
	u := p.store.find(in.ChallengeResponses["USERNAME"], false)
	switch {
	case u == nil || u.Challenge == nil || u.Challenge.Value != hashToken(in.Session) || !now.Before(u.Challenge.Expires):
		p.mu.Unlock()
		return nil, errSessionExpired
	case u.Status != statusForceChangePassword:
		p.mu.Unlock()
		return nil, errSessionExpired
	}
	for _, name := range p.required {
		if strings.TrimSpace(u.Attributes[name]) == "" && strings.TrimSpace(attrs[name]) == "" {
			p.mu.Unlock()
			return nil, newError(codeInvalidParameter, "Invalid attributes given, "+name+" is missing")
		}
	}
	maps.Copy(u.Attributes, attrs)
	u.Password, u.Status, u.Temporary, u.Challenge, u.Modified = hash, statusConfirmed, nil, nil, now
	u.SRP = newSRPVerifier(p.poolName(), u.Username, newPassword)
	snap := u.clone()
	err = p.store.save()
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return p.startSession(ctx, snap)
}

// TemporaryPassword returns the temporary password of a user made by
// AdminCreateUser, as the logs show it; it lets tests and tooling answer the
// first sign-in without reading logs.
func (p *Pool) TemporaryPassword(username string) (string, bool) {
	return p.pending(username, true, func(u *user) *pendingCode { return u.Temporary })
}

// generate makes a temporary password that the policy accepts, as Cognito
// does when AdminCreateUser is given none: one character of each class, then
// random letters and digits up to the policy's length (at least 12).
func (pp PasswordPolicy) generate() string {
	const upper, lower = "ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz"
	out := randomString(1, upper) + randomString(1, lower) + randomString(1, digits) + randomString(1, "!#%&*+-=?^_~")
	n := max(pp.MinLength, 12) - len(out)
	return out + randomString(n, upper+lower+digits)
}
