// Package gateway is the local stack's stand-in for the deployed API: an
// Amazon API Gateway REST API whose methods are guarded by a Cognito user
// pools authorizer and integrated with one Lambda function through Lambda
// proxy integrations. It does, in order, what API Gateway does before and
// after the function runs, and answers its failures with API Gateway's
// default gateway responses.
//
// # Routing
//
// The API is served under /<stage>, as on an execute-api endpoint: the API
// URL of a gateway listening on addr is http://addr/<stage>. A path outside
// the stage, or a method and path matching no resource and method,
// including a resource's missing method and a preflight when CORS is off,
// answers 403 {"message":"Missing Authentication Token"}. Path parameters
// match one non-empty segment each, a literal segment is preferred over a
// parameter, and parameter values are percent-decoded segment by segment,
// so an encoded "/" stays inside its parameter.
//
// # Authorizer
//
// Like the Cognito user pools authorizer of a REST API:
//
//   - The token is the Authorization header's value, raw or as
//     "Bearer <token>" (the scheme in any case). An absent or empty header,
//     or more than one Authorization header, is refused.
//   - The token must be a compact JWS signed with RS256 by a key of the
//     pool's JWKS, found by kid. Any other alg (none, HS256 keyed with the
//     public key, RS384, PS256...), an unknown kid, a bad signature or a
//     crit header is refused. Parsing, the algorithm pin and the signature
//     are github.com/golang-jwt/jwt/v5's; the JWKS is read by JWKS, whose
//     refetch on an unknown kid is rate-limited by the gateway's clock.
//   - iss must be the pool's issuer and exp in the future; iat and nbf, when
//     present, may be in the future by a small clock skew at most.
//   - A method with an OAuth scope takes access tokens only (token_use
//     "access") whose space-separated scope claim holds that scope; a method
//     without scopes takes ID tokens only (token_use "id").
//   - With Options.ClientIDs set, an access token's client_id or an ID
//     token's aud must be one of them. API Gateway's own authorizer does not
//     check the app client; the stand-in can, as the design asks.
//
// Every refusal, a missing scope included, answers 401
// {"message":"Unauthorized"}: API Gateway answers an access token without
// the method's scope, or an ID token on a scoped method, with its
// UNAUTHORIZED gateway response; ACCESS_DENIED (403) is for explicit denies
// by Lambda authorizers. A JWKS that cannot be read answers 500
// {"message": null}, API Gateway's AUTHORIZER_CONFIGURATION_ERROR.
//
// The verified claims reach the function in requestContext.authorizer.claims
// as API Gateway renders them there: every value is a string; exp, iat and
// nbf are dates in Java's Date.toString() form ("Tue Apr 04 18:39:39 UTC
// 2023"), other numbers keep their decimal text (auth_time "1680629979"),
// booleans are "true" or "false", arrays such as cognito:groups are joined
// with commas ("admins,installers") and objects are their JSON text.
//
// # Integration
//
// A body over Options.MaxBodyBytes answers 413 {"message":"Request Too
// Long"} before the function runs. The function receives an
// events.APIGatewayProxyRequest built as API Gateway builds it: resource
// and requestContext.resourcePath are the route template, path keeps the
// client's percent-encoding while pathParameters and query parameters are
// decoded, the single-value header and query maps hold each name's last
// value, the query and path parameter maps are nil when empty, and a body
// that is not text travels base64-encoded with isBase64Encoded. It gets the
// event after a JSON round trip, as Lambda would decode it, in a context
// carrying a Lambda request ID and the integration timeout as its deadline.
// Its
// events.APIGatewayProxyResponse becomes the HTTP response; an error, a
// panic or a malformed response answers 502 {"message": "Internal server
// error"}, and a function still running at the timeout 504 {"message":
// "Endpoint request timed out"}.
//
// # Gateway responses
//
// The failures above are API Gateway's default gateway responses. With
// Options.Responses set (the local stack passes apigw.GatewayResponses,
// the list the CDK app deploys), each is answered as API Gateway answers
// a customized one: the response for its type, else the DEFAULT_4XX or
// DEFAULT_5XX one, with that response's status (or the default's when it
// has none), headers and body, its mapping template rendered with API
// Gateway's message and the request ID. So a missing token is 401
// application/problem+json with code "unauthenticated", and an unknown
// route 404 "not_found", locally as when deployed.
//
// With Options.ThrottleRate set, requests beyond the stage's token bucket
// (ThrottleRate a second, ThrottleBurst at once) answer 429 THROTTLED
// before anything else is checked, as API Gateway's stage throttling does.
//
// Every answer carries API Gateway's X-Amzn-Requestid, X-Amz-Apigw-Id and
// X-Amzn-Trace-Id headers, and every request is logged as one structured
// access-log line that never holds a token or a body.
package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/fleetclaim/fleetclaim/shared/apigw"
)

// Defaults for the zero values of Options.
const (
	DefaultStage = "local"
	// DefaultMaxBodyBytes is API Gateway's payload quota for REST APIs
	// (10 MB), which cannot be raised.
	DefaultMaxBodyBytes = 10 << 20
	// DefaultIntegrationTimeout is API Gateway's default integration
	// timeout for REST APIs.
	DefaultIntegrationTimeout = 29 * time.Second
)

// Options configures a Gateway.
type Options struct {
	// Routes are the API's methods; each route's Scope is the OAuth scope
	// its authorizer requires (AuthorizationScopes). A route with no Scope
	// accepts ID tokens instead, as the Cognito authorizer does for a
	// method without scopes.
	Routes []apigw.Route
	// Handler is the Lambda function behind every route.
	Handler func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)
	// Issuer is the user pool's issuer URL, e.g.
	// "http://127.0.0.1:9229/local-1_abc"; a token's iss must equal it.
	Issuer string
	// ClientIDs are the app clients whose tokens are accepted: an access
	// token's client_id or an ID token's aud must be one of them. Empty
	// accepts every client of the pool, which is what the Cognito authorizer
	// of a REST API does.
	ClientIDs []string
	// Keys gives the pool's signing keys. The default is a JWKS reading
	// <Issuer>/.well-known/jwks.json.
	Keys KeySource
	// Stage is the stage name, the first segment of every API path.
	// Default DefaultStage.
	Stage string
	// Logger receives the access log and integration failures. Default
	// slog.Default().
	Logger *slog.Logger
	// Clock tells the time for token expiry and request times. Default
	// time.Now.
	Clock func() time.Time
	// MaxBodyBytes caps request bodies. Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// IntegrationTimeout caps a handler's run; past it the caller gets 504,
	// as from API Gateway. Default DefaultIntegrationTimeout.
	IntegrationTimeout time.Duration
	// CORSAllowOrigin, when set, makes the gateway answer OPTIONS preflight
	// requests on every resource and add Access-Control-Allow-Origin to its
	// own error answers, like a REST API deployed with CORS preflight
	// options and CORS headers on its DEFAULT_4XX and DEFAULT_5XX gateway
	// responses. Responses from the handler are passed on untouched: with a
	// proxy integration the function sets its own CORS headers.
	CORSAllowOrigin string
	// Responses are the API's customized gateway responses, normally
	// apigw.GatewayResponses. Nil answers with API Gateway's defaults.
	Responses []apigw.GatewayResponse
	// ThrottleRate is the stage's steady request rate a second and
	// ThrottleBurst its bucket size (the CDK's ThrottlingRateLimit and
	// ThrottlingBurstLimit). Zero ThrottleRate throttles nothing; a zero
	// ThrottleBurst means one request.
	ThrottleRate  float64
	ThrottleBurst int
}

// Gateway is an http.Handler serving the API. It is safe for concurrent use.
type Gateway struct {
	routes     *resource
	handler    func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)
	auth       *authorizer
	stage      string
	log        *slog.Logger
	now        func() time.Time
	maxBody    int64
	timeout    time.Duration
	corsOrigin string
	responses  []apigw.GatewayResponse
	throttle   *throttle
}

// stageName is what API Gateway accepts as a stage name.
var stageName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// New checks opts and builds a Gateway.
func New(opts Options) (*Gateway, error) {
	if opts.Handler == nil {
		return nil, errors.New("gateway: Handler is required")
	}
	if opts.Issuer == "" {
		return nil, errors.New("gateway: Issuer is required")
	}
	issuer, err := url.Parse(opts.Issuer)
	if err != nil || (issuer.Scheme != "http" && issuer.Scheme != "https") || issuer.Host == "" {
		return nil, fmt.Errorf("gateway: Issuer %q is not an http(s) URL", opts.Issuer)
	}
	if opts.Stage == "" {
		opts.Stage = DefaultStage
	}
	if !stageName.MatchString(opts.Stage) {
		return nil, fmt.Errorf("gateway: Stage %q: want 1 to 128 letters, digits, '-' or '_'", opts.Stage)
	}
	if opts.MaxBodyBytes < 0 || opts.IntegrationTimeout < 0 || opts.ThrottleRate < 0 || opts.ThrottleBurst < 0 {
		return nil, errors.New("gateway: MaxBodyBytes, IntegrationTimeout, ThrottleRate and ThrottleBurst must not be negative")
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.IntegrationTimeout == 0 {
		opts.IntegrationTimeout = DefaultIntegrationTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Keys == nil {
		opts.Keys = NewJWKS(strings.TrimSuffix(opts.Issuer, "/")+"/.well-known/jwks.json", nil, 0, opts.Clock)
	}
	routes, err := newResourceTree(opts.Routes)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	return &Gateway{
		routes:     routes,
		handler:    opts.Handler,
		auth:       newAuthorizer(opts.Issuer, opts.ClientIDs, opts.Keys, opts.Clock),
		stage:      opts.Stage,
		log:        opts.Logger,
		now:        opts.Clock,
		maxBody:    opts.MaxBodyBytes,
		timeout:    opts.IntegrationTimeout,
		corsOrigin: opts.CORSAllowOrigin,
		responses:  slices.Clone(opts.Responses),
		throttle:   newThrottle(opts.ThrottleRate, opts.ThrottleBurst),
	}, nil
}

// gatewayResponse is an answer API Gateway writes itself, without the
// function: one of its default gateway responses.
type gatewayResponse struct {
	// responseType is API Gateway's name for it, which selects a
	// customized response.
	responseType string
	status       int
	// message is API Gateway's $context.error.message; "" for null.
	message string
	// body is the default body as API Gateway sends it; note the space
	// after the colon in the 5XX bodies.
	body string
	// errorType is API Gateway's x-amzn-ErrorType header, where known.
	errorType string
}

var (
	missingAuthenticationToken = gatewayResponse{"MISSING_AUTHENTICATION_TOKEN", http.StatusForbidden, "Missing Authentication Token",
		`{"message":"Missing Authentication Token"}`, "MissingAuthenticationTokenException"}
	unauthorized    = gatewayResponse{"UNAUTHORIZED", http.StatusUnauthorized, "Unauthorized", `{"message":"Unauthorized"}`, "UnauthorizedException"}
	requestTooLarge = gatewayResponse{"REQUEST_TOO_LARGE", http.StatusRequestEntityTooLarge, "Request Too Long", `{"message":"Request Too Long"}`, ""}
	throttled       = gatewayResponse{"THROTTLED", http.StatusTooManyRequests, "Too Many Requests", `{"message":"Too Many Requests"}`,
		"TooManyRequestsException"}
	// An unreadable body is no type of its own: the catch-all answers it.
	badRequest              = gatewayResponse{"DEFAULT_4XX", http.StatusBadRequest, "Bad Request", `{"message": "Bad Request"}`, ""}
	authorizerConfiguration = gatewayResponse{"AUTHORIZER_CONFIGURATION_ERROR", http.StatusInternalServerError, "", `{"message": null}`,
		"AuthorizerConfigurationException"}
	internalServerError = gatewayResponse{"INTEGRATION_FAILURE", http.StatusBadGateway, "Internal server error",
		`{"message": "Internal server error"}`, "InternalServerErrorException"}
	endpointTimedOut = gatewayResponse{"INTEGRATION_TIMEOUT", http.StatusGatewayTimeout, "Endpoint request timed out",
		`{"message": "Endpoint request timed out"}`, ""}
)

// exchange is one request on its way through the gateway, with what the
// access log reports about it.
type exchange struct {
	w        http.ResponseWriter
	r        *http.Request
	ids      requestIDs
	received time.Time

	resourcePath string
	status       int
	// cause says why the gateway answered an error itself. It never holds
	// a token or a request body.
	cause error
}

// ServeHTTP serves one API request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	received := g.now()
	x := &exchange{w: w, r: r, ids: newRequestIDs(received), received: received}
	h := w.Header()
	h.Set("X-Amzn-Requestid", x.ids.request)
	h.Set("X-Amz-Apigw-Id", x.ids.extended)
	h.Set("X-Amzn-Trace-Id", x.ids.trace)

	g.serve(x)

	attrs := []slog.Attr{
		slog.String("requestId", x.ids.request),
		slog.String("method", r.Method),
		slog.String("resourcePath", x.resourcePath),
		slog.Int("status", x.status),
		slog.Duration("latency", time.Since(start)),
		slog.String("sourceIp", sourceIP(r)),
	}
	if x.cause != nil {
		attrs = append(attrs, slog.String("cause", x.cause.Error()))
	}
	g.log.LogAttrs(r.Context(), slog.LevelInfo, "api request", attrs...)
}

// serve runs the request through API Gateway's steps in order: route,
// payload limit, authorizer, integration.
func (g *Gateway) serve(x *exchange) {
	r := x.r
	apiPath, ok := g.stripStage(r.URL.EscapedPath())
	if !ok {
		g.fail(x, missingAuthenticationToken, errors.New("path outside the stage"))
		return
	}
	if !g.throttle.allow(g.now()) {
		g.fail(x, throttled, errors.New("over the stage's request rate"))
		return
	}
	res, params, ok := g.routes.match(apiPath)
	if !ok {
		g.fail(x, missingAuthenticationToken, errors.New("no such resource"))
		return
	}
	route, ok := res.methods[r.Method]
	if !ok && r.Method == http.MethodOptions && g.corsOrigin != "" {
		x.resourcePath = res.path
		g.preflight(x, res)
		return
	}
	if !ok {
		g.fail(x, missingAuthenticationToken, errors.New("no such method on the resource"))
		return
	}
	x.resourcePath = route.Path

	if r.ContentLength > g.maxBody {
		g.fail(x, requestTooLarge, fmt.Errorf("content length %d over %d", r.ContentLength, g.maxBody))
		return
	}
	claims, err := g.auth.authorize(r.Context(), r.Header.Values("Authorization"), route.Scope)
	switch {
	case errors.Is(err, errKeySource):
		g.log.ErrorContext(r.Context(), "authorizer cannot read the user pool's keys", "requestId", x.ids.request, "err", err)
		g.fail(x, authorizerConfiguration, err)
		return
	case err != nil:
		g.fail(x, unauthorized, err)
		return
	}
	// A chunked body has no Content-Length to check up front.
	body, err := io.ReadAll(http.MaxBytesReader(x.w, r.Body, g.maxBody))
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		g.fail(x, requestTooLarge, fmt.Errorf("body over %d bytes", mbe.Limit))
		return
	}
	if err != nil {
		g.fail(x, badRequest, fmt.Errorf("read body: %w", err))
		return
	}

	req := g.proxyRequest(x, res, route, apiPath, params, body, claims)
	resp, err := g.invoke(x, req)
	if err != nil {
		// A Lambda error is the function's business, not the caller's: the
		// caller only ever sees API Gateway's generic answer.
		g.log.ErrorContext(r.Context(), "integration failed", "requestId", x.ids.request, "resourcePath", route.Path, "err", err)
		if errors.Is(err, errIntegrationTimeout) {
			g.fail(x, endpointTimedOut, err)
		} else {
			g.fail(x, internalServerError, err)
		}
		return
	}
	g.writeProxyResponse(x, resp)
}

// stripStage returns the API path of an escaped request path under the
// stage, e.g. "/claims/x" for "/local/claims/x".
func (g *Gateway) stripStage(escapedPath string) (string, bool) {
	rest, ok := strings.CutPrefix(escapedPath, "/"+g.stage)
	if !ok || (rest != "" && rest[0] != '/') {
		return "", false
	}
	if rest == "" {
		rest = "/"
	}
	return rest, true
}

// fail writes one of API Gateway's own answers: the customized response
// for it if there is one, else API Gateway's default.
func (g *Gateway) fail(x *exchange, resp gatewayResponse, cause error) {
	h := x.w.Header()
	if resp.errorType != "" {
		h.Set("X-Amzn-Errortype", resp.errorType)
	}
	status, body := resp.status, resp.body
	if custom, ok := apigw.GatewayResponseFor(g.responses, resp.responseType, resp.status); ok {
		for name, value := range custom.Headers(g.corsOrigin) {
			h.Set(name, value)
		}
		if custom.Status != 0 {
			status = custom.Status
		}
		body = custom.Body(resp.message, x.ids.request)
	} else {
		h.Set("Content-Type", "application/json")
		if g.corsOrigin != "" {
			h.Set("Access-Control-Allow-Origin", g.corsOrigin)
		}
	}
	x.status, x.cause = status, cause
	x.w.WriteHeader(status)
	_, _ = io.WriteString(x.w, body)
}

// corsAllowHeaders are the request headers the CDK's default preflight
// options allow (Cors.DEFAULT_HEADERS).
const corsAllowHeaders = "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token,X-Amz-User-Agent"

// preflight answers a CORS preflight request the way the mock integration
// of a CDK-generated OPTIONS method does: 204 and static headers, with no
// authorizer.
func (g *Gateway) preflight(x *exchange, res *resource) {
	h := x.w.Header()
	h.Set("Access-Control-Allow-Origin", g.corsOrigin)
	h.Set("Access-Control-Allow-Methods", res.allowMethods())
	h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	if g.corsOrigin != "*" {
		h.Set("Vary", "Origin")
	}
	x.status = http.StatusNoContent
	x.w.WriteHeader(http.StatusNoContent)
}

// errIntegrationTimeout marks a handler that outran the integration timeout,
// as opposed to one that returned a deadline error of its own.
var errIntegrationTimeout = errors.New("integration timed out")

// invoke runs the handler the way Lambda would: it sees the request after a
// JSON round trip, in a context carrying a Lambda request ID and a
// deadline, and API Gateway stops waiting at the integration timeout.
func (g *Gateway) invoke(x *exchange, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	// The handler sees exactly what the Lambda runtime would decode from
	// API Gateway's JSON, not Go values that JSON could never carry.
	req, err := jsonRoundTrip(req)
	if err != nil {
		return events.APIGatewayProxyResponse{}, fmt.Errorf("encode event: %w", err)
	}
	// A caller hanging up does not stop a Lambda invocation, so the
	// handler's context outlives the HTTP request; only the timeout ends it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(x.r.Context()), g.timeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: newUUID()})

	type result struct {
		resp events.APIGatewayProxyResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("handler panicked: %v", p)}
			}
		}()
		resp, err := g.handler(ctx, req)
		done <- result{resp, err}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			return events.APIGatewayProxyResponse{}, fmt.Errorf("handler: %w", res.err)
		}
		resp, err := jsonRoundTrip(res.resp)
		if err != nil {
			return events.APIGatewayProxyResponse{}, fmt.Errorf("encode response: %w", err)
		}
		return resp, nil
	case <-ctx.Done():
		return events.APIGatewayProxyResponse{}, fmt.Errorf("handler still running after %s: %w", g.timeout, errIntegrationTimeout)
	}
}

// jsonRoundTrip encodes v as JSON and decodes it again, as v would travel
// between API Gateway and Lambda.
func jsonRoundTrip[T any](v T) (T, error) {
	var out T
	b, err := json.Marshal(v)
	if err != nil {
		return out, err
	}
	err = json.Unmarshal(b, &out)
	return out, err
}

// writeProxyResponse writes a Lambda proxy response as API Gateway does, or
// 502 if API Gateway would find it malformed.
func (g *Gateway) writeProxyResponse(x *exchange, resp events.APIGatewayProxyResponse) {
	if resp.StatusCode < 200 || resp.StatusCode > 599 {
		g.fail(x, internalServerError, fmt.Errorf("malformed Lambda proxy response: statusCode %d", resp.StatusCode))
		return
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			g.fail(x, internalServerError, fmt.Errorf("malformed Lambda proxy response: body: %w", err))
			return
		}
	}
	h := x.w.Header()
	// Where headers and multiValueHeaders name the same header, API Gateway
	// keeps only the multiValueHeaders values.
	multi := make(map[string]bool, len(resp.MultiValueHeaders))
	for name, values := range resp.MultiValueHeaders {
		multi[http.CanonicalHeaderKey(name)] = true
		for _, v := range values {
			h.Add(name, v)
		}
	}
	for name, v := range resp.Headers {
		if !multi[http.CanonicalHeaderKey(name)] {
			h.Set(name, v)
		}
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	// API Gateway frames the body itself; a stale length from the function
	// would corrupt the connection.
	h.Del("Content-Length")
	x.status = resp.StatusCode
	x.w.WriteHeader(resp.StatusCode)
	_, _ = x.w.Write(body)
}
