package cognito

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/fleetclaim/fleetclaim/infra/local/sigv4"
)

// Defaults applied by New to zero Options fields.
const (
	DefaultRegion = "local-1"
	// DefaultAccessTokenLifetime, DefaultIDTokenLifetime and
	// DefaultRefreshTokenLifetime are Cognito's defaults for an app client.
	DefaultAccessTokenLifetime  = time.Hour
	DefaultIDTokenLifetime      = time.Hour
	DefaultRefreshTokenLifetime = 30 * 24 * time.Hour
	// DefaultTriggerTimeout is Cognito's fixed limit for a trigger invocation.
	DefaultTriggerTimeout = 5 * time.Second
)

// confirmationCodeLifetime is how long Cognito accepts a sign-up code.
const confirmationCodeLifetime = 24 * time.Hour

// PostConfirmationFunc is a post-confirmation trigger: the same signature as
// the Lambda handler, so the local stack can pass the handler's method.
type PostConfirmationFunc func(context.Context, events.CognitoEventUserPoolsPostConfirmation) (events.CognitoEventUserPoolsPostConfirmation, error)

// PreTokenGenerationFunc is a pre-token-generation trigger configured for
// event version V2_0 (access-token customization).
type PreTokenGenerationFunc func(context.Context, events.CognitoEventUserPoolsPreTokenGenV2_0) (events.CognitoEventUserPoolsPreTokenGenV2_0, error)

// PasswordPolicy is the pool's password policy.
type PasswordPolicy struct {
	MinLength        int
	RequireUppercase bool
	RequireLowercase bool
	RequireNumbers   bool
	RequireSymbols   bool
}

// DefaultPasswordPolicy asks for at least eight characters with upper case,
// lower case and a digit. The deployed pool is stricter (twelve characters
// and a symbol as well, see infra/auth.go); set Options.PasswordPolicy to
// hold local passwords to that.
var DefaultPasswordPolicy = PasswordPolicy{MinLength: 8, RequireUppercase: true, RequireLowercase: true, RequireNumbers: true}

// Options configures a Pool. DataDir and BaseURL are required.
type Options struct {
	// DataDir holds the pool's state files; it is created if missing.
	DataDir string
	// BaseURL is where the pool is served, e.g. "http://127.0.0.1:9229". Token
	// issuers are BaseURL + "/" + pool ID, as Cognito's are
	// "https://cognito-idp.<region>.amazonaws.com/<poolId>".
	BaseURL string
	// Region is the pool's region; it prefixes the pool ID.
	Region string
	// PoolID looks like "<region>_<alphanumerics>". When empty the ID saved in
	// DataDir is used, or a new one is generated and saved.
	PoolID string
	// ClientID is the app client's ID (Cognito's are 26 lower-case
	// alphanumerics). When empty the saved or a generated one is used.
	ClientID string
	// Groups are created if they do not exist yet.
	Groups []string
	// SignInWithEmail mirrors a pool whose username attribute is email (CDK
	// signInAliases {email: true}): SignUp takes an email address as the
	// username, the user's real username is its sub, and sign-in and admin
	// calls accept the email address.
	SignInWithEmail bool
	// RequiredAttributes must be given at sign-up; nil means ["email"].
	RequiredAttributes []string
	// WriteAttributes are the attributes the app client may write, as its
	// WriteAttributes setting in the deployed pool (infra/auth.go): a sign-up
	// naming any other is refused, so no attribute can carry a claim name
	// (token_use, scope, iss...) into a token. nil means RequiredAttributes.
	WriteAttributes []string
	// PasswordPolicy is enforced at sign-up; the zero value means
	// DefaultPasswordPolicy.
	PasswordPolicy PasswordPolicy
	// AuthFlows are the InitiateAuth flows the app client allows, as its
	// ExplicitAuthFlows without the "ALLOW_" prefix: any of
	// USER_PASSWORD_AUTH, USER_SRP_AUTH and REFRESH_TOKEN_AUTH (which
	// covers REFRESH_TOKEN too). Cognito answers any other flow with
	// InvalidParameterException "<flow> flow not enabled for this client",
	// and so does the pool. Nil allows all three.
	AuthFlows []string
	// AccessTokenLifetime, IDTokenLifetime and RefreshTokenLifetime are the
	// app client's token validities (AccessTokenValidity, IdTokenValidity
	// and RefreshTokenValidity in the CDK). Cognito allows 5 minutes to a
	// day for access and ID tokens and 60 minutes to 10 years for refresh
	// tokens; the stand-in takes any positive duration, so that apps can
	// watch a token expire in a test. Zero means Cognito's default.
	AccessTokenLifetime  time.Duration
	IDTokenLifetime      time.Duration
	RefreshTokenLifetime time.Duration
	// AdminCredentials are the IAM credentials Admin* calls must be signed
	// with (Signature Version 4, service "cognito-idp", the pool's region).
	// With none, every Admin* call is refused.
	AdminCredentials aws.Credentials
	// TriggerTimeout bounds each trigger invocation.
	TriggerTimeout     time.Duration
	PostConfirmation   PostConfirmationFunc
	PreTokenGeneration PreTokenGenerationFunc
	// Logger receives operational logs, including the sign-up confirmation
	// codes that Cognito would email. Nil means slog.Default().
	Logger *slog.Logger
	// Codes, when not nil, also gets each sign-up confirmation code and
	// each password reset code as one readable line ("sign-up code for
	// <username>: <code>", "password reset code for <username>: <code>"),
	// for the person running the pool to find without reading JSON logs.
	Codes io.Writer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// servedAuthFlows are the InitiateAuth flows the pool can run.
var servedAuthFlows = []string{"USER_PASSWORD_AUTH", "USER_SRP_AUTH", "REFRESH_TOKEN_AUTH"}

var (
	poolIDPattern   = regexp.MustCompile(`^[\w-]+_[0-9a-zA-Z]+$`)
	clientIDPattern = regexp.MustCompile(`^[\w+]{1,128}$`)
	// Custom attribute names are 1 to 20 characters after "custom:".
	customAttributePattern = regexp.MustCompile(`^custom:[\w-]{1,20}$`)
)

// standardAttributes are the OpenID Connect attributes a Cognito user pool
// can write; email_verified and phone_number_verified are set by Cognito.
var standardAttributes = []string{"address", "birthdate", "email", "family_name", "gender", "given_name", "locale",
	"middle_name", "name", "nickname", "phone_number", "picture", "preferred_username", "profile", "updated_at",
	"website", "zoneinfo"}

// Pool is a local Cognito user pool with a single app client. It is safe for
// concurrent use.
type Pool struct {
	region, poolID, clientID string
	issuer                   string
	signInWithEmail          bool
	authFlows                []string
	required, writable       []string
	policy                   PasswordPolicy
	accessLifetime           time.Duration
	idLifetime               time.Duration
	refreshLifetime          time.Duration
	triggerTimeout           time.Duration
	postConfirmation         PostConfirmationFunc
	preTokenGeneration       PreTokenGenerationFunc
	log                      *slog.Logger
	codes                    io.Writer
	now                      func() time.Time
	keys                     keySet
	iam                      sigv4.Verifier
	limits                   *attemptLimits

	// mu guards store. It is never held while a trigger runs: triggers call
	// back into the pool over HTTP (the post-confirmation handler adds users
	// to groups), and those calls need it.
	mu    sync.Mutex
	store *store
	// srpChallenges are the USER_SRP_AUTH sign-ins awaiting their
	// PASSWORD_VERIFIER answer, by SECRET_BLOCK; memory only, as a restart
	// ends them in Cognito's terms (the client starts again).
	srpChallenges map[string]*srpChallenge
}

// New opens (or creates) the pool whose state is in opts.DataDir.
func New(opts Options) (*Pool, error) {
	if opts.DataDir == "" {
		return nil, errors.New("cognito: DataDir is required")
	}
	base, err := url.Parse(opts.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("cognito: BaseURL %q is not an absolute http(s) URL", opts.BaseURL)
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("cognito: create data dir: %w", err)
	}
	p := &Pool{
		region:             cmp.Or(opts.Region, DefaultRegion),
		signInWithEmail:    opts.SignInWithEmail,
		required:           opts.RequiredAttributes,
		policy:             opts.PasswordPolicy,
		accessLifetime:     cmp.Or(opts.AccessTokenLifetime, DefaultAccessTokenLifetime),
		idLifetime:         cmp.Or(opts.IDTokenLifetime, DefaultIDTokenLifetime),
		refreshLifetime:    cmp.Or(opts.RefreshTokenLifetime, DefaultRefreshTokenLifetime),
		triggerTimeout:     cmp.Or(opts.TriggerTimeout, DefaultTriggerTimeout),
		postConfirmation:   opts.PostConfirmation,
		preTokenGeneration: opts.PreTokenGeneration,
		log:                opts.Logger,
		codes:              opts.Codes,
		now:                opts.Now,
		limits:             newAttemptLimits(),
	}
	if p.accessLifetime < 0 || p.idLifetime < 0 || p.refreshLifetime < 0 {
		return nil, errors.New("cognito: token lifetimes must not be negative")
	}
	if p.required == nil {
		p.required = []string{"email"}
	}
	p.authFlows = slices.Clone(opts.AuthFlows)
	if p.authFlows == nil {
		p.authFlows = servedAuthFlows
	}
	for _, flow := range p.authFlows {
		if !slices.Contains(servedAuthFlows, flow) {
			return nil, fmt.Errorf("cognito: auth flow %q is none of %v", flow, servedAuthFlows)
		}
	}
	// Signatures are judged by the wall clock the signer used, not by a
	// test's clock.
	p.iam = sigv4.Verifier{Credentials: opts.AdminCredentials, Region: p.region, Service: "cognito-idp"}
	p.writable = opts.WriteAttributes
	if p.writable == nil {
		p.writable = p.required
	}
	for _, name := range p.writable {
		if !slices.Contains(standardAttributes, name) && !customAttributePattern.MatchString(name) {
			return nil, fmt.Errorf("cognito: write attribute %q is neither a standard attribute nor custom:<name>", name)
		}
	}
	if p.policy == (PasswordPolicy{}) {
		p.policy = DefaultPasswordPolicy
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.now == nil {
		p.now = time.Now
	}

	p.keys, err = loadOrCreateKeys(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("cognito: signing keys: %w", err)
	}
	p.store, err = openStore(opts.DataDir, opts.SignInWithEmail)
	if err != nil {
		return nil, fmt.Errorf("cognito: %w", err)
	}
	if err := p.settleIDs(opts.PoolID, opts.ClientID); err != nil {
		return nil, err
	}
	p.issuer = strings.TrimRight(base.String(), "/") + "/" + p.poolID

	now := p.now()
	for _, name := range opts.Groups {
		if _, ok := p.store.Groups[name]; !ok {
			p.store.Groups[name] = &group{Name: name, Created: now, Modified: now}
		}
	}
	if err := p.store.save(); err != nil {
		return nil, fmt.Errorf("cognito: %w", err)
	}
	return p, nil
}

// settleIDs picks the pool and client IDs: the configured ones, else the
// saved ones, else new ones, so that a stack restarted without flags keeps
// issuing tokens for the same pool and client.
func (p *Pool) settleIDs(poolID, clientID string) error {
	p.poolID = cmp.Or(poolID, p.store.PoolID)
	if p.poolID == "" {
		p.poolID = p.region + "_" + randomString(9, alphanumerics)
	}
	if !poolIDPattern.MatchString(p.poolID) || !strings.HasPrefix(p.poolID, p.region+"_") {
		return fmt.Errorf("cognito: pool ID %q must look like %s_<alphanumerics>", p.poolID, p.region)
	}
	p.clientID = cmp.Or(clientID, p.store.ClientID)
	if p.clientID == "" {
		p.clientID = randomString(26, lowerAlphanumerics)
	}
	if !clientIDPattern.MatchString(p.clientID) {
		return fmt.Errorf("cognito: client ID %q is not a valid Cognito client ID", p.clientID)
	}
	p.store.PoolID, p.store.ClientID = p.poolID, p.clientID
	return nil
}

// PoolID is the user pool ID, e.g. "local-1_AbC123xyz".
func (p *Pool) PoolID() string { return p.poolID }

// ClientID is the app client ID.
func (p *Pool) ClientID() string { return p.clientID }

// Region is the pool's region.
func (p *Pool) Region() string { return p.region }

// Issuer is the iss claim of every token the pool issues.
func (p *Pool) Issuer() string { return p.issuer }

// JWKSURL is where the pool publishes its token-signing keys.
func (p *Pool) JWKSURL() string { return p.issuer + "/.well-known/jwks.json" }

// NewUser describes a user for CreateConfirmedUser.
type NewUser struct {
	// Username signs the user in; with SignInWithEmail it must be the email
	// address (and the stored username becomes the user's sub).
	Username string
	Password string
	// Attributes are standard or "custom:" attributes. AdminConfirmSignUp
	// does not verify the email address, so pass "email_verified": "true" for
	// an address the operator vouches for.
	Attributes map[string]string
	Groups     []string
}

// CreateConfirmedUser adds a confirmed user, puts it in groups and runs the
// post-confirmation trigger as AdminConfirmSignUp would, so the local stack
// can seed an administrator. It returns the user's sub. A user that exists
// already is an *Error with Code "UsernameExistsException"; a trigger failure
// leaves the user confirmed, as in Cognito.
func (p *Pool) CreateConfirmedUser(ctx context.Context, nu NewUser) (string, error) {
	attrs := make(map[string]string, len(nu.Attributes))
	for k, v := range nu.Attributes {
		attrs[k] = v
	}
	verified := attrs["email_verified"] == "true"
	delete(attrs, "email_verified")
	p.mu.Lock()
	for _, g := range nu.Groups {
		if _, ok := p.store.Groups[g]; !ok {
			p.mu.Unlock()
			return "", newError(codeResourceNotFound, "Group not found.")
		}
	}
	p.mu.Unlock()

	u, _, err := p.register(nu.Username, nu.Password, attrs)
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	u = p.store.Users[u.Sub]
	u.confirm(p.now(), verified)
	u.Groups = sortedUnion(u.Groups, nu.Groups)
	snap := u.clone()
	err = p.store.save()
	p.mu.Unlock()
	if err != nil {
		return "", err
	}
	return snap.Sub, p.runPostConfirmation(ctx, snap, adminClientID, sdkVersionUnknown, nil)
}

// ConfirmationCode returns the sign-up code pending for a user, as the logs
// show it; it lets tests and tooling confirm without reading logs.
func (p *Pool) ConfirmationCode(username string) (string, bool) {
	return p.pending(username, false, func(u *user) *pendingCode { return u.Code })
}

// pending returns the value of one of a user's pending codes, picked by
// which, and whether the user and the code exist; orSub is as for find.
func (p *Pool) pending(username string, orSub bool, which func(*user) *pendingCode) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.store.find(username, orSub)
	if u == nil {
		return "", false
	}
	c := which(u)
	if c == nil {
		return "", false
	}
	return c.Value, true
}
