package gateway

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/fleetclaim/fleetclaim/shared/apigw"
)

// Fixed identity of the local API, shaped like AWS's: a 12-digit account ID
// and a 10-character API ID.
const (
	accountID = "000000000000"
	apiID     = "fleetclaim"
)

// requestTimeLayout is the Common Log Format time of
// requestContext.requestTime, e.g. "15/May/2020:06:01:09 +0000".
const requestTimeLayout = "02/Jan/2006:15:04:05 -0700"

// proxyRequest builds the Lambda proxy integration event for a request
// routed to route on res, as a REST API builds it:
//
//   - resource and requestContext.resourcePath are the route template;
//     path is the API path as the client encoded it, and
//     requestContext.path the same under the stage;
//   - headers hold the last value of each header and multiValueHeaders all
//     of them, with Host and the X-Forwarded-* and X-Amzn-Trace-Id headers
//     API Gateway adds; names are in Go's canonical form, so handlers must
//     look headers up without regard to case, as they must on AWS;
//   - queryStringParameters hold the last value of each parameter and
//     multiValueQueryStringParameters all of them, decoded; both are nil
//     without a query, and pathParameters is nil without path parameters;
//   - the body is passed as text when its Content-Type is textual (or
//     absent) and it is valid UTF-8, and base64-encoded with
//     isBase64Encoded otherwise, as by an API whose binary media types
//     cover every non-text type.
func (g *Gateway) proxyRequest(x *exchange, res *resource, route apigw.Route, apiPath string, params map[string]string, body []byte, claims map[string]any) events.APIGatewayProxyRequest {
	r := x.r
	ip := sourceIP(r)
	req := events.APIGatewayProxyRequest{
		Resource:       route.Path,
		Path:           apiPath,
		HTTPMethod:     r.Method,
		PathParameters: params,
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID:         accountID,
			ResourceID:        res.id,
			OperationName:     route.Operation,
			Stage:             g.stage,
			DomainName:        r.Host,
			DomainPrefix:      strings.SplitN(hostOnly(r.Host), ".", 2)[0],
			RequestID:         x.ids.request,
			ExtendedRequestID: x.ids.extended,
			Protocol:          r.Proto,
			Identity:          events.APIGatewayRequestIdentity{SourceIP: ip, UserAgent: r.UserAgent()},
			ResourcePath:      route.Path,
			Path:              "/" + g.stage + apiPath,
			Authorizer:        map[string]any{"claims": claims},
			HTTPMethod:        r.Method,
			RequestTime:       x.received.UTC().Format(requestTimeLayout),
			RequestTimeEpoch:  x.received.UnixMilli(),
			APIID:             apiID,
		},
	}

	req.MultiValueHeaders = make(map[string][]string, len(r.Header)+5)
	for name, values := range r.Header {
		req.MultiValueHeaders[name] = slices.Clone(values)
	}
	forwarded := append(slices.Clone(r.Header.Values("X-Forwarded-For")), ip)
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	req.MultiValueHeaders["Host"] = []string{r.Host}
	req.MultiValueHeaders["X-Forwarded-For"] = []string{strings.Join(forwarded, ", ")}
	req.MultiValueHeaders["X-Forwarded-Port"] = []string{localPort(r)}
	req.MultiValueHeaders["X-Forwarded-Proto"] = []string{proto}
	req.MultiValueHeaders["X-Amzn-Trace-Id"] = []string{x.ids.trace}
	req.Headers = lastValues(req.MultiValueHeaders)

	if query := r.URL.Query(); len(query) > 0 {
		req.MultiValueQueryStringParameters = query
		req.QueryStringParameters = lastValues(query)
	}

	if isText(r.Header.Get("Content-Type")) && utf8.Valid(body) {
		req.Body = string(body)
	} else {
		req.Body = base64.StdEncoding.EncodeToString(body)
		req.IsBase64Encoded = true
	}
	return req
}

// lastValues keeps the last value of each key, which is what API Gateway
// puts in its single-value maps.
func lastValues(m map[string][]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, vs := range m {
		if len(vs) > 0 {
			out[k] = vs[len(vs)-1]
		}
	}
	return out
}

// isText reports whether a body of this Content-Type travels as text.
func isText(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	switch mt {
	case "application/json", "application/xml", "application/javascript", "application/x-www-form-urlencoded":
		return true
	}
	return false
}

// sourceIP is the caller's address as API Gateway sees it: the TCP peer,
// never a header the caller could write.
func sourceIP(r *http.Request) string {
	return hostOnly(r.RemoteAddr)
}

// hostOnly strips the port from host:port.
func hostOnly(hostport string) string {
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		return host
	}
	return hostport
}

// localPort is the port the request arrived on.
func localPort(r *http.Request) string {
	if addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, port, err := net.SplitHostPort(addr.String()); err == nil {
			return port
		}
	}
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		return port
	}
	return "80"
}

// requestIDs are the identifiers API Gateway gives a request.
type requestIDs struct {
	request  string // requestContext.requestId, x-amzn-RequestId
	extended string // requestContext.extendedRequestId, x-amz-apigw-id
	trace    string // X-Amzn-Trace-Id
}

func newRequestIDs(received time.Time) requestIDs {
	ext := make([]byte, 11)
	trace := make([]byte, 12)
	rand.Read(ext) // never fails; see crypto/rand.Read
	rand.Read(trace)
	return requestIDs{
		request:  newUUID(),
		extended: base64.StdEncoding.EncodeToString(ext),
		trace:    fmt.Sprintf("Root=1-%08x-%s", received.Unix(), hex.EncodeToString(trace)),
	}
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
