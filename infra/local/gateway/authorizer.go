package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// clockSkew is how far in the future a token's iat or nbf may be, for
// clocks that disagree a little.
const clockSkew = 30 * time.Second

// maxTokenBytes bounds the work an arbitrary header can cause. Cognito's
// tokens are a few kilobytes even with many groups and custom claims.
const maxTokenBytes = 16 << 10

// errKeySource marks a failure to read the pool's keys, as opposed to a bad
// token: the gateway answers it as an authorizer configuration error.
var errKeySource = errors.New("key source")

// Reasons a token is refused. They name a check, never a token or claim
// value, so that they can be logged.
var (
	errNoToken        = errors.New("no token")
	errManyTokens     = errors.New("more than one Authorization header")
	errMalformed      = errors.New("malformed token")
	errAlgorithm      = errors.New("signing algorithm is not RS256")
	errCritical       = errors.New("token has critical header parameters")
	errUnknownKid     = errors.New("unknown kid")
	errSignature      = errors.New("bad signature")
	errIssuer         = errors.New("wrong issuer")
	errExpired        = errors.New("token expired")
	errNotYetValid    = errors.New("token not yet valid")
	errTokenUse       = errors.New("wrong token_use")
	errClient         = errors.New("app client not allowed")
	errScope          = errors.New("token lacks the method's scope")
	errClaimType      = errors.New("claim of the wrong type")
	errMissingExpires = errors.New("token has no exp")
)

// authorizer verifies Cognito user pool tokens for one pool as the Cognito
// user pools authorizer does; the package documentation lists its checks.
type authorizer struct {
	issuer  string
	clients []string
	keys    KeySource
	now     func() time.Time
}

func newAuthorizer(issuer string, clients []string, keys KeySource, now func() time.Time) *authorizer {
	return &authorizer{issuer: issuer, clients: slices.Clone(clients), keys: keys, now: now}
}

// authorize verifies the token in the Authorization header values for a
// method requiring scope ("" for none) and returns its claims as API
// Gateway passes them in requestContext.authorizer.claims.
func (a *authorizer) authorize(ctx context.Context, header []string, scope string) (map[string]any, error) {
	switch {
	case len(header) == 0:
		return nil, errNoToken
	case len(header) > 1:
		return nil, errManyTokens
	}
	token := header[0]
	if scheme, rest, ok := strings.Cut(token, " "); ok && strings.EqualFold(scheme, "Bearer") {
		token = rest
	}
	if token == "" {
		return nil, errNoToken
	}
	claims, err := a.verify(ctx, token)
	if err != nil {
		return nil, err
	}
	if err := a.checkClaims(claims, scope); err != nil {
		return nil, err
	}
	return renderClaims(claims), nil
}

// parser verifies a token's form, algorithm and signature with a
// maintained JOSE library; the claims are checked by checkClaims, against
// the gateway's clock and Cognito's rules, not by the library's defaults.
// Only RS256 is accepted, whatever the token's header says: none, HS256
// keyed with the public key, RS384 and PS256 are all refused before any key
// is looked up. Segments are strict unpadded base64url.
var parser = jwt.NewParser(
	jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
	jwt.WithJSONNumber(),
	jwt.WithStrictDecoding(),
	jwt.WithoutClaimsValidation(),
)

// verify checks the token's signature and returns its decoded claims.
func (a *authorizer) verify(ctx context.Context, token string) (map[string]any, error) {
	if len(token) > maxTokenBytes {
		return nil, errMalformed
	}
	tok, err := parser.ParseWithClaims(token, jwt.MapClaims{}, func(tok *jwt.Token) (any, error) {
		// RFC 7515: a verifier must refuse critical header parameters it
		// does not understand, and it understands none.
		if _, ok := tok.Header["crit"]; ok {
			return nil, errCritical
		}
		kid, _ := tok.Header["kid"].(string)
		if kid == "" {
			return nil, errUnknownKid
		}
		key, err := a.keys.PublicKey(ctx, kid)
		switch {
		case errors.Is(err, ErrUnknownKey):
			return nil, errUnknownKid
		case err != nil:
			return nil, fmt.Errorf("%w: %w", errKeySource, err)
		}
		return key, nil
	})
	switch {
	case err == nil:
	case errors.Is(err, errKeySource):
		return nil, err
	case errors.Is(err, errCritical):
		return nil, errCritical
	case errors.Is(err, errUnknownKid):
		return nil, errUnknownKid
	case tok != nil && tok.Method != nil && tok.Method.Alg() != jwt.SigningMethodRS256.Alg():
		return nil, errAlgorithm
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return nil, errSignature
	default:
		return nil, errMalformed
	}
	// The library reads the first JSON value of the payload and ignores
	// the rest; a signed payload with more after it is not a JWT, so the
	// claims are read again, strictly.
	var strict map[string]any
	if err := decodeSegment(strings.Split(token, ".")[1], &strict); err != nil || strict == nil {
		return nil, errMalformed
	}
	return strict, nil
}

// b64 is the strict unpadded base64url of JWS segments.
var b64 = base64.RawURLEncoding.Strict()

// decodeSegment decodes one base64url JSON segment into v, keeping numbers
// as written and refusing anything after the JSON value.
func decodeSegment(seg string, v any) error {
	raw, err := b64.DecodeString(seg)
	if err != nil {
		return errMalformed
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return errMalformed
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errMalformed
	}
	return nil
}

// checkClaims checks a verified token's claims for a method requiring scope.
func (a *authorizer) checkClaims(claims map[string]any, scope string) error {
	now := a.now()
	if iss, _ := claims["iss"].(string); iss != a.issuer {
		return errIssuer
	}
	exp, ok, err := numericDate(claims, "exp")
	switch {
	case err != nil:
		return err
	case !ok:
		return errMissingExpires
	case !now.Before(exp):
		return errExpired
	}
	for _, name := range []string{"iat", "nbf"} {
		t, ok, err := numericDate(claims, name)
		if err != nil {
			return err
		}
		if ok && t.After(now.Add(clockSkew)) {
			return errNotYetValid
		}
	}

	wantUse, clientClaim := "id", "aud"
	if scope != "" {
		wantUse, clientClaim = "access", "client_id"
	}
	if use, _ := claims["token_use"].(string); use != wantUse {
		return errTokenUse
	}
	if len(a.clients) > 0 {
		if client, _ := claims[clientClaim].(string); !slices.Contains(a.clients, client) {
			return errClient
		}
	}
	if scope != "" {
		granted, _ := claims["scope"].(string)
		if !slices.Contains(strings.Fields(granted), scope) {
			return errScope
		}
	}
	return nil
}

// numericDate reads the JWT NumericDate claim name; ok is false if the
// claim is absent.
func numericDate(claims map[string]any, name string) (t time.Time, ok bool, err error) {
	v, present := claims[name]
	if !present {
		return time.Time{}, false, nil
	}
	n, isNumber := v.(json.Number)
	if !isNumber {
		return time.Time{}, false, errClaimType
	}
	f, err := n.Float64()
	// Beyond ±2^53 seconds the value is no date any clock will reach, and
	// the conversion below would overflow.
	if err != nil || math.Abs(f) > 1<<53 {
		return time.Time{}, false, errClaimType
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, nil
}

// javaDateLayout is how API Gateway writes the exp, iat and nbf claims: the
// Java Date.toString() form, in UTC, e.g. "Tue Apr 04 18:39:39 UTC 2023".
const javaDateLayout = "Mon Jan 02 15:04:05 UTC 2006"

// renderClaims converts a token's claims into the strings the Cognito
// authorizer of a REST API passes in requestContext.authorizer.claims, as
// the package documentation describes.
func renderClaims(claims map[string]any) map[string]any {
	out := make(map[string]any, len(claims))
	for name, v := range claims {
		out[name] = renderClaim(name, v)
	}
	return out
}

func renderClaim(name string, v any) string {
	switch name {
	case "exp", "iat", "nbf":
		if t, ok, err := numericDate(map[string]any{name: v}, name); ok && err == nil {
			return t.UTC().Format(javaDateLayout)
		}
	}
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case []any:
		items := make([]string, len(v))
		for i, item := range v {
			items[i] = renderClaim("", item)
		}
		return strings.Join(items, ",")
	default:
		// Objects and null: JSON text, which never fails for values that
		// came out of JSON.
		b, _ := json.Marshal(v)
		return string(b)
	}
}
