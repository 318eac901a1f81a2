package apigw_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/shared/apigw"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/logging"
)

// The fuzz targets drive the exported Handler, as API Gateway does, with a
// recording service: what reaches the service is what the handler decoded.

// fuzzRecorder is a Service that records the calls the fuzz targets make and
// answers each with an empty success. Other operations are never routed to
// by these targets; the nil embedded interface would panic if they were.
type fuzzRecorder struct {
	apigw.Service
	calls     int
	principal fleetclaim.Principal
	issue     fleetclaim.IssueRequest
	tenant    fleetclaim.TenantID
	page      fleetclaim.Page
}

func (r *fuzzRecorder) IssueClaim(_ context.Context, p fleetclaim.Principal, req fleetclaim.IssueRequest) (fleetclaim.IssuedClaim, error) {
	r.calls, r.principal, r.issue = r.calls+1, p, req
	return fleetclaim.IssuedClaim{}, nil
}

func (r *fuzzRecorder) ListClaims(_ context.Context, p fleetclaim.Principal, pg fleetclaim.Page) ([]fleetclaim.Claim, string, error) {
	r.calls, r.principal, r.page = r.calls+1, p, pg
	return nil, "", nil
}

func (r *fuzzRecorder) ListDevices(_ context.Context, p fleetclaim.Principal, t fleetclaim.TenantID, pg fleetclaim.Page) ([]fleetclaim.Device, string, error) {
	r.calls, r.principal, r.tenant, r.page = r.calls+1, p, t, pg
	return nil, "", nil
}

func (r *fuzzRecorder) ListInstallers(_ context.Context, p fleetclaim.Principal, t fleetclaim.TenantID, pg fleetclaim.Page) ([]fleetclaim.Installer, string, error) {
	r.calls, r.principal, r.tenant, r.page = r.calls+1, p, t, pg
	return nil, "", nil
}

// fuzzSub is a well-formed Cognito sub.
const fuzzSub = "4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"

// fuzzServe sends req through a new Handler over rec.
func fuzzServe(t *testing.T, rec *fuzzRecorder, req events.APIGatewayProxyRequest) events.APIGatewayProxyResponse {
	t.Helper()
	h := &apigw.Handler{Service: rec, Log: logging.New(io.Discard, "error")}
	resp, err := h.Handle(context.Background(), req)
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	return resp
}

// fuzzProblem is the part of a problem document the properties look at.
type fuzzProblem struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Field  string `json:"field"`
}

// fuzzProblemOf decodes resp as a problem document and checks that its status
// agrees with the response's.
func fuzzProblemOf(t *testing.T, resp events.APIGatewayProxyResponse) fuzzProblem {
	t.Helper()
	var p fuzzProblem
	if resp.Headers["Content-Type"] != "application/problem+json" || json.Unmarshal([]byte(resp.Body), &p) != nil || p.Status != resp.StatusCode {
		t.Fatalf("got %d %q %s, want a problem document", resp.StatusCode, resp.Headers["Content-Type"], resp.Body)
	}
	return p
}

// message is a problem's detail without the field it names.
func (p fuzzProblem) message() string {
	if p.Field == "" {
		return p.Detail
	}
	return strings.TrimPrefix(p.Detail, p.Field+" ")
}

// fuzzPlainName is an unknown member name a refusal may repeat.
var fuzzPlainName = regexp.MustCompile(`^[A-Za-z0-9_.$-]{1,64}$`)

// fuzzBodyFields are the members of an issue-claim body.
var fuzzBodyFields = []string{"serialNumber", "template", "site"}

// fuzzBodyMessages are every message a body refusal may carry: fixed text that
// never quotes the body.
var fuzzBodyMessages = []string{
	"The body is not valid base64.",
	"The body must be at most " + strconv.Itoa(apigw.MaxBodyBytes) + " bytes.",
	"is not a known field",
	"is given more than once",
	"The body is not valid JSON.",
	"has the wrong type; expected string",
	"The body must be a JSON object.",
	"A JSON body is required.",
	"The body must be a single JSON object.",
	"The body has a member that is not one of: serialNumber, site, template.",
	"The body has a member that is not a known field.",
}

// fuzzStrictBody is the oracle for issue-claim bodies, written apart from the
// handler's decoder: one JSON object, then only white space; members named
// exactly (case included) as in the schema, each at most once; each value a
// string, or null for absent. It returns the members' values.
func fuzzStrictBody(raw []byte) (map[string]string, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	got := map[string]string{}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		name, isName := tok.(string)
		if err != nil || !isName || !slices.Contains(fuzzBodyFields, name) || seen[name] {
			return nil, false
		}
		seen[name] = true
		var v *string
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		if v != nil {
			got[name] = *v
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false
	}
	return got, true
}

// FuzzIssueClaimBody sends any body, plain or base64-encoded, to POST
// /claims. A body the oracle accepts reaches the service with exactly its
// values (201); any other is refused before the service with 400
// invalid_json, or 413 body_too_large when it is too large, and a message
// from the fixed set, so the refusal never quotes the body. The one part of
// the body a refusal names is the member it refuses, as the problem's field.
func FuzzIssueClaimBody(f *testing.F) {
	for _, s := range []string{
		`{"serialNumber":"SN-1"}`, `{"serialNumber":"SN-1","template":"fleet","site":"Hall 2"}`, ` {"serialNumber":"SN-1"}` + "\n",
		`{"serialNumber":null}`, `{}`, `{"serialNumber":"ＳＮ-1"}`, `{"serialNumber":"SN-1\u0000"}`, `{"serialNumber":"\ud800"}`,
		`{"serialNumber":42}`, `{"serialNumber":["SN-1"]}`, `{"serialNumber":{"$ne":null}}`, `{"serialNumber":true}`,
		`[]`, `null`, `"SN-1"`, `42`, `{`, ``, ` `, `{"serialNumber":"SN-1"`, `{"serialNumber":"SN-1",}`,
		`{"serialNumber":"SN-1"} {}`, `{"serialNumber":"SN-1"}x`, `{"serialNumber":"SN-1"}]`, `{"serialNumber":"SN-1"}` + "\x00",
		`{"serialNumber":"SN-1","tenantId":"globex"}`, `{"serialNumber":"SN-1","sub":"x"}`, `{"serialNumber":"SN-1","serialNumber":"SN-2"}`,
		`{"SERIALNUMBER":"SN-1"}`, `{"serialnumber":"SN-1"}`, `{"ſerialNumber":"SN-1"}`, `{"serialNumber\u0000":"SN-1"}`,
		`{"serialNumber":"x'; DROP TABLE claims;--"}`, `{"site":"<script>alert(1)</script>","serialNumber":"SN-1"}`,
		"{\"serialNumber\":\"SN-1\"}\xff", `{"serialNumber":"` + strings.Repeat("A", apigw.MaxBodyBytes) + `"}`,
		strings.Repeat("[", 10000), `{"a":` + strings.Repeat(`{"a":`, 1000) + `1` + strings.Repeat("}", 1001),
	} {
		f.Add(s, false)
		f.Add(base64.StdEncoding.EncodeToString([]byte(s)), true)
	}
	f.Add("eyJzZXJpYWxOdW1iZXIiOiJTTi0xIn0", true) // unpadded
	f.Add("!!!", true)
	f.Fuzz(func(t *testing.T, body string, isBase64 bool) {
		rec := &fuzzRecorder{}
		resp := fuzzServe(t, rec, events.APIGatewayProxyRequest{Resource: "/claims", HTTPMethod: "POST", Body: body, IsBase64Encoded: isBase64,
			RequestContext: events.APIGatewayProxyRequestContext{Authorizer: map[string]any{"claims": installerClaims()}}})

		raw, decoded := []byte(body), true
		if isBase64 {
			var err error
			raw, err = base64.StdEncoding.DecodeString(body)
			decoded = err == nil
		}
		want, valid := fuzzStrictBody(raw)
		valid = valid && decoded && len(raw) <= apigw.MaxBodyBytes

		if valid {
			got := fleetclaim.IssueRequest{Serial: want["serialNumber"], Template: want["template"], Site: want["site"]}
			if resp.StatusCode != http.StatusCreated || rec.calls != 1 || rec.issue != got {
				t.Fatalf("body %q: got %d %s and the service saw %+v, want 201 and %+v", body, resp.StatusCode, resp.Body, rec.issue, got)
			}
			return
		}
		if rec.calls != 0 {
			t.Fatalf("body %q reached the service as %+v", body, rec.issue)
		}
		p := fuzzProblemOf(t, resp)
		switch {
		case decoded && len(raw) > apigw.MaxBodyBytes:
			if p.Status != http.StatusRequestEntityTooLarge || p.Code != fleetclaim.CodeBodyTooLarge {
				t.Fatalf("body of %d bytes: got %d %s, want 413 body_too_large", len(raw), p.Status, p.Code)
			}
		case p.Status != http.StatusBadRequest || p.Code != fleetclaim.CodeInvalidJSON:
			t.Fatalf("body %q: got %d %s, want 400 invalid_json", body, p.Status, p.Code)
		}
		if !slices.Contains(fuzzBodyMessages, p.message()) {
			t.Fatalf("body %q: refused with %q, which is not a fixed message", body, p.Detail)
		}
		// The only part of a body a refusal repeats is a member's name,
		// and only a short plain one.
		if p.Field != "" && !slices.Contains(fuzzBodyFields, p.Field) &&
			(p.message() != "is not a known field" || !fuzzPlainName.MatchString(p.Field)) {
			t.Fatalf("body %q: refusal names field %q", body, p.Field)
		}
	})
}

// FuzzPrincipal checks that the caller is read from the authorizer's claims
// and from nothing else: the same request with hostile copies of a tenant,
// groups, scopes and a subject planted in headers, query and path parameters,
// stage variables, the body, the caller's identity and the authorizer's
// context outside the claims is answered exactly as the request without them,
// and the service sees the claims' values.
func FuzzPrincipal(f *testing.F) {
	for _, s := range []struct {
		sub, tenant, groups string
		list                bool
		scope, decoy        string
		admin               bool
	}{
		{fuzzSub, "acme", "[installers]", false, fleetclaim.ScopeClaims, "globex", false},
		{fuzzSub, "acme", "[installers admins]", false, "openid " + fleetclaim.ScopeAdmin, "platform-admins", true},
		{fuzzSub, "acme", `["installers","admins"]`, false, fleetclaim.ScopeAdmin + " " + fleetclaim.ScopeClaims, fleetclaim.ScopeAdmin, true},
		{fuzzSub, "acme", "installers,platform-admins", true, fleetclaim.ScopeAdmin, "globex", true},
		{fuzzSub, "", "", false, fleetclaim.ScopeClaims, "acme", false},
		{"", "acme", "[installers]", false, fleetclaim.ScopeClaims, fuzzSub, false},
		{fuzzSub, "acme", "[installers]", false, "", fleetclaim.ScopeClaims, false},
		{fuzzSub, "acme", "[installers]", false, "fleetclaim/сlaims", "fleetclaim/claims", false},
		{fuzzSub, "acme", "[installers]", false, "ＦＬＥＥＴＣＬＡＩＭ/claims", "fleetclaim/claims", false},
		{fuzzSub, "acme\x00globex", "[platform-admins\x00]", false, fleetclaim.ScopeClaims + "\x00", "globex", false},
		{fuzzSub, "globex", "[installers", false, fleetclaim.ScopeClaims + "\t" + fleetclaim.ScopeAdmin, "acme", true},
		{fuzzSub, "acme", "[]", false, "fleetclaim/claims fleetclaim/claims", `{"tenant_id":"globex"}`, false},
	} {
		f.Add(s.sub, s.tenant, s.groups, s.list, s.scope, s.decoy, s.admin)
	}
	f.Fuzz(func(t *testing.T, sub, tenant, groups string, list bool, scope, decoy string, admin bool) {
		var groupsClaim any = groups
		if list {
			var elems []any
			for _, g := range strings.Split(groups, ",") {
				elems = append(elems, g)
			}
			groupsClaim = elems
		}
		claims := func() map[string]any {
			return map[string]any{"sub": sub, "cognito:username": "ana", "tenant_id": tenant,
				"cognito:groups": groupsClaim, "scope": scope, "token_use": "access"}
		}
		route := apigw.Route{Method: "GET", Path: "/claims", Scope: fleetclaim.ScopeClaims}
		if admin {
			route = apigw.Route{Method: "GET", Path: "/installers", Scope: fleetclaim.ScopeAdmin}
		}
		clean := events.APIGatewayProxyRequest{Resource: route.Path, Path: route.Path, HTTPMethod: route.Method,
			RequestContext: events.APIGatewayProxyRequestContext{Authorizer: map[string]any{"claims": claims()}}}

		planted := map[string]string{"tenant_id": decoy, "tenantId": decoy, "X-Tenant-Id": decoy, "sub": decoy,
			"cognito:groups": decoy, "scope": decoy, "X-Amzn-Oidc-Identity": decoy, "Authorization": "Bearer " + decoy}
		hostile := clean
		hostile.Headers = planted
		hostile.MultiValueHeaders = map[string][]string{"X-Tenant-Id": {decoy, decoy}}
		hostile.QueryStringParameters = planted
		hostile.MultiValueQueryStringParameters = map[string][]string{"tenant_id": {decoy}}
		hostile.PathParameters = planted
		hostile.StageVariables = planted
		body, _ := json.Marshal(map[string]any{"tenant_id": decoy, "sub": decoy, "scope": decoy, "cognito:groups": []string{decoy}})
		hostile.Body = string(body)
		hostile.RequestContext.Identity = events.APIGatewayRequestIdentity{CognitoIdentityID: decoy, User: decoy, UserArn: decoy,
			CognitoAuthenticationProvider: decoy, AccountID: decoy}
		hostile.RequestContext.Authorizer = map[string]any{"claims": claims(), "tenant_id": decoy, "principalId": decoy,
			"scope": decoy, "cognito:groups": decoy, "sub": decoy}

		cleanRec, hostileRec := &fuzzRecorder{}, &fuzzRecorder{}
		cleanResp, hostileResp := fuzzServe(t, cleanRec, clean), fuzzServe(t, hostileRec, hostile)
		if hostileResp.StatusCode != cleanResp.StatusCode || hostileRec.calls != cleanRec.calls ||
			!reflect.DeepEqual(hostileRec.principal, cleanRec.principal) {
			t.Fatalf("planted %q changed the answer: %d %+v, want %d %+v",
				decoy, hostileResp.StatusCode, hostileRec.principal, cleanResp.StatusCode, cleanRec.principal)
		}

		scopes := strings.Fields(scope)
		switch {
		case sub == "":
			if p := fuzzProblemOf(t, cleanResp); p.Status != http.StatusUnauthorized || cleanRec.calls != 0 {
				t.Fatalf("no subject: got %d, service called %d times; want 401 and no call", p.Status, cleanRec.calls)
			}
		case !slices.Contains(scopes, route.Scope):
			if p := fuzzProblemOf(t, cleanResp); p.Status != http.StatusForbidden || p.Code != fleetclaim.CodeMissingScope || cleanRec.calls != 0 {
				t.Fatalf("scopes %q on %s: got %d %s, service called %d times; want 403 missing_scope and no call",
					scope, route.Path, p.Status, p.Code, cleanRec.calls)
			}
		default:
			p := cleanRec.principal
			if cleanResp.StatusCode != http.StatusOK || cleanRec.calls != 1 {
				t.Fatalf("got %d %s, want 200", cleanResp.StatusCode, cleanResp.Body)
			}
			if string(p.Subject) != sub || string(p.TenantID) != tenant || p.Username != "ana" || !slices.Equal(p.Scopes, scopes) {
				t.Fatalf("got principal %+v, want subject %q, tenant %q, scopes %q", p, sub, tenant, scopes)
			}
			// A group is a piece of the claim, or an element of it read as
			// a JSON array (whose escapes make it differ from the text).
			var elems []string
			_ = json.Unmarshal([]byte(strings.TrimSpace(groups)), &elems)
			for _, g := range p.Groups {
				if !strings.Contains(groups, g) && !slices.Contains(elems, g) {
					t.Fatalf("group %q is not in the groups claim %q", g, groups)
				}
			}
		}
	})
}

// fuzzLimitPattern is the oracle for ?limit=: a decimal whole number, with an
// optional "+" and leading zeros, from 1 to MaxPageSize.
var fuzzLimitPattern = regexp.MustCompile(`^\+?0*([1-9][0-9]{0,2})$`)

// FuzzListQuery sends any limit, cursor and tenant to GET /devices. A limit
// the oracle refuses is a 400 naming "limit", before the service; otherwise
// the service gets the limit's value and the cursor and tenant as sent (it
// validates them itself).
func FuzzListQuery(f *testing.F) {
	for _, s := range []struct {
		limit  string
		has    bool
		cursor string
		tenant string
	}{
		{"", false, "", ""}, {"10", true, "", ""}, {"100", true, "", "acme"}, {"101", true, "", ""}, {"0", true, "", ""},
		{"-1", true, "", ""}, {"+5", true, "", ""}, {"007", true, "", ""}, {"1e2", true, "", ""}, {"0x10", true, "", ""},
		{" 5", true, "", ""}, {"5 ", true, "", ""}, {"５", true, "", ""}, {"5\x00", true, "", ""}, {"", true, "", ""},
		{"99999999999999999999", true, "", ""}, {"10", true, "eyJwayI6IngifQ", "globex"}, {"10", true, "' OR 1=1 --", "аcme"},
		{"10", true, strings.Repeat("c", 2000), "acme\x00globex"},
	} {
		f.Add(s.limit, s.has, s.cursor, s.tenant)
	}
	f.Fuzz(func(t *testing.T, limit string, hasLimit bool, cursor, tenant string) {
		query := map[string]string{"cursor": cursor, "tenant": tenant}
		if hasLimit {
			query["limit"] = limit
		}
		rec := &fuzzRecorder{}
		resp := fuzzServe(t, rec, events.APIGatewayProxyRequest{Resource: "/devices", Path: "/devices", HTTPMethod: "GET",
			QueryStringParameters: query,
			RequestContext:        events.APIGatewayProxyRequestContext{Authorizer: map[string]any{"claims": installerClaims()}}})

		want := fleetclaim.Page{Cursor: cursor}
		if hasLimit {
			m := fuzzLimitPattern.FindStringSubmatch(limit)
			n := 0
			if m != nil {
				n, _ = strconv.Atoi(m[1])
			}
			if n < 1 || n > fleetclaim.MaxPageSize {
				p := fuzzProblemOf(t, resp)
				if p.Status != http.StatusBadRequest || p.Field != "limit" || rec.calls != 0 ||
					p.message() != "must be a whole number from 1 to "+strconv.Itoa(fleetclaim.MaxPageSize) {
					t.Fatalf("limit %q: got %d %s %q, service called %d times; want 400 naming limit", limit, p.Status, p.Field, p.Detail, rec.calls)
				}
				return
			}
			want.Limit = n
		}
		if resp.StatusCode != http.StatusOK || rec.calls != 1 || rec.page != want || string(rec.tenant) != tenant {
			t.Fatalf("limit %q, cursor %q, tenant %q: got %d %s, service saw %+v %q", limit, cursor, tenant,
				resp.StatusCode, resp.Body, rec.page, rec.tenant)
		}
	})
}
