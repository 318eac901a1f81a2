package apigw_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/shared/apigw"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"gopkg.in/yaml.v3"
)

// document is openapi.yaml as plain YAML values, which is all a light
// structural check needs.
type document struct {
	root map[string]any
	// ops are the operations by "METHOD /path".
	ops map[string]operation
}

type operation struct {
	method, path string
	node         map[string]any
	// params are the operation's parameters with path-level ones, resolved.
	params []map[string]any
}

func loadDocument(t *testing.T) document {
	t.Helper()
	var root map[string]any
	if err := yaml.Unmarshal(apigw.OpenAPI, &root); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	d := document{root: root, ops: map[string]operation{}}
	for path, item := range object(root["paths"]) {
		item := object(item)
		for method, node := range item {
			if method == "parameters" {
				continue
			}
			op := operation{method: strings.ToUpper(method), path: path, node: object(node)}
			for _, p := range append(list(item["parameters"]), list(op.node["parameters"])...) {
				op.params = append(op.params, d.resolve(p))
			}
			d.ops[op.method+" "+path] = op
		}
	}
	return d
}

// resolve follows a $ref within the document. Members beside a $ref (a
// description) are kept; they never conflict with the target here.
func (d document) resolve(v any) map[string]any {
	m := object(v)
	ref, ok := m["$ref"].(string)
	if !ok {
		return m
	}
	out := map[string]any{}
	for k, v := range d.resolve(d.target(ref)) {
		out[k] = v
	}
	for k, v := range m {
		if k != "$ref" {
			out[k] = v
		}
	}
	return out
}

// target is what a local reference ("#/components/...") points to, or nil.
func (d document) target(ref string) any {
	var v any = d.root
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		v = object(v)[part]
	}
	return v
}

// schema returns components.schemas[name].
func (d document) schema(name string) map[string]any {
	return d.resolve(map[string]any{"$ref": "#/components/schemas/" + name})
}

// response returns the response an operation documents for status, never
// the default one: the handler must answer with statuses the document names.
func (op operation) response(d document, status int) (map[string]any, bool) {
	r, ok := object(op.node["responses"])[strconv.Itoa(status)]
	if !ok {
		return nil, false
	}
	return d.resolve(r), true
}

func object(v any) map[string]any {
	switch v := v.(type) {
	case map[string]any:
		return v
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[fmt.Sprint(k)] = e
		}
		return out
	}
	return nil
}

func list(v any) []any { l, _ := v.([]any); return l }

func strs(v any) []string {
	var out []string
	for _, e := range list(v) {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

// Every $ref resolves, every operation is fully described, and every
// answer's media type and headers are declared the way the handler writes
// them.
func TestOpenAPIDocumentIsComplete(t *testing.T) {
	d := loadDocument(t)
	if v := fmt.Sprint(d.root["openapi"]); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("got openapi %s, want 3.1.x", v)
	}
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any, map[any]any:
			m := object(v)
			if ref, ok := m["$ref"].(string); ok && d.target(ref) == nil {
				t.Errorf("%s: $ref %s resolves to nothing", at, ref)
			}
			for k, e := range m {
				walk(e, at+"/"+k)
			}
		case []any:
			for i, e := range v {
				walk(e, fmt.Sprintf("%s[%d]", at, i))
			}
		}
	}
	walk(d.root, "#")

	ids := map[string]bool{}
	for key, op := range d.ops {
		id, _ := op.node["operationId"].(string)
		if id == "" || ids[id] {
			t.Errorf("%s: got operationId %q, want a unique one", key, id)
		}
		ids[id] = true
		if op.node["summary"] == nil || len(list(op.node["tags"])) == 0 {
			t.Errorf("%s: want a summary and a tag", key)
		}
		responses := object(op.node["responses"])
		// The handler answers these on every route (no claims, no scope or
		// account not in good standing, a fault, a dependency down), and
		// API Gateway throttles every route.
		for _, status := range []string{"401", "403", "429", "500", "503"} {
			if _, ok := responses[status]; !ok {
				t.Errorf("%s: documents no %s", key, status)
			}
		}
		if _, ok := responses["default"]; !ok {
			t.Errorf("%s: documents no default (API Gateway's own errors)", key)
		}
		for status, r := range responses {
			r := d.resolve(r)
			content := object(r["content"])
			wantType := "application/problem+json"
			if strings.HasPrefix(status, "2") {
				wantType = "application/json"
			}
			if len(content) != 1 || content[wantType] == nil {
				t.Errorf("%s %s: got media types %v, want only %s", key, status, keys(content), wantType)
			}
			headers := object(r["headers"])
			if status != "default" && headers["Cache-Control"] == nil {
				t.Errorf("%s %s: declares no Cache-Control header", key, status)
			}
			// Every 429 and 503 carries Retry-After; a 409 may (claim_open).
			retry := headers["Retry-After"] != nil
			optional := retry && d.resolve(headers["Retry-After"])["required"] == false
			if wantRetry := status == "429" || status == "503"; (retry && !optional) != wantRetry || (optional && status != "409") {
				t.Errorf("%s %s: got Retry-After declared %v (optional %v), want %v", key, status, retry, optional, wantRetry)
			}
		}
	}
}

// The document and apigw.Routes (which the handler serves, the CDK app
// deploys and the local gateway enforces) list the same operations, with
// the same IDs, scopes and parameters.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	d := loadDocument(t)
	// The query parameters each listing reads; tenant only where a
	// platform admin may name another tenant.
	wantQuery := map[string][]string{
		"listClaims":      {"cursor", "limit"},
		"listDevices":     {"cursor", "limit", "tenant"},
		"listInstallers":  {"cursor", "limit", "tenant"},
		"listAuditEvents": {"action", "actor", "cursor", "limit", "serial", "since", "tenant", "until"},
		// A serial's history is always the caller's tenant's.
		"listDeviceHistory": {"cursor", "limit"},
		"listTenants":       {"cursor", "limit"},
	}
	pathParam := regexp.MustCompile(`\{([^}]+)\}`)
	for _, r := range apigw.Routes {
		t.Run(r.Operation, func(t *testing.T) {
			op, ok := d.ops[r.Method+" "+r.Path]
			if !ok {
				t.Fatalf("%s %s is served but not documented", r.Method, r.Path)
			}
			if got := op.node["operationId"]; got != r.Operation {
				t.Errorf("got operationId %v, want %s", got, r.Operation)
			}
			security := list(op.node["security"])
			if len(security) != 1 || !slices.Equal(strs(object(security[0])["cognito"]), []string{r.Scope}) || len(object(security[0])) != 1 {
				t.Errorf("got security %v, want cognito [%s]", security, r.Scope)
			}
			var gotPath, gotQuery, wantPath []string
			for _, p := range op.params {
				switch p["in"] {
				case "path":
					gotPath = append(gotPath, p["name"].(string))
					if p["required"] != true {
						t.Errorf("path parameter %s is not required", p["name"])
					}
				case "query":
					gotQuery = append(gotQuery, p["name"].(string))
				default:
					t.Errorf("got parameter %v in %v, want path or query only", p["name"], p["in"])
				}
			}
			for _, m := range pathParam.FindAllStringSubmatch(r.Path, -1) {
				wantPath = append(wantPath, m[1])
			}
			slices.Sort(gotPath)
			slices.Sort(gotQuery)
			if !slices.Equal(gotPath, wantPath) {
				t.Errorf("got path parameters %v, want %v", gotPath, wantPath)
			}
			if !slices.Equal(gotQuery, wantQuery[r.Operation]) {
				t.Errorf("got query parameters %v, want %v", gotQuery, wantQuery[r.Operation])
			}
			body := object(op.node["requestBody"])
			wantBody := r.Method == "POST" && (r.Path == "/claims" || r.Path == "/tenants" || strings.HasPrefix(r.Path, "/devices/")) || r.Method == "PATCH"
			if (body != nil) != wantBody {
				t.Errorf("got request body %v, want one: %v", body != nil, wantBody)
			}
		})
	}
	for key := range d.ops {
		method, path, _ := strings.Cut(key, " ")
		if !slices.ContainsFunc(apigw.Routes, func(r apigw.Route) bool { return r.Method == method && r.Path == path }) {
			t.Errorf("%s is documented but not served", key)
		}
	}
}

// The document's enumerations are the domain's constants: stable error
// codes, claim, installer and tenant statuses, reasons and audit actions. A constant
// added to the domain without documenting it (or the reverse) fails here.
func TestOpenAPIEnumsMatchDomain(t *testing.T) {
	d := loadDocument(t)
	consts := domainConstants(t)
	tests := []struct {
		name   string
		schema []string // path to the enum under components.schemas
		want   []string
	}{
		{"stable error codes", []string{"Problem", "properties", "code"}, consts.named("Code")},
		{"claim statuses", []string{"ClaimStatus"}, consts.typed("ClaimStatus")},
		{"reasons", []string{"Reason"}, consts.typed("Reason")},
		{"installer statuses", []string{"InstallerStatus"}, consts.typed("InstallerStatus")},
		{"tenant statuses", []string{"TenantStatus"}, consts.typed("TenantStatus")},
		{"audit actions", []string{"AuditAction"}, consts.named("Action")},
		{"audit actions the filter accepts", []string{"AuditAction"}, slices.Clone(fleetclaim.AuditActions)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := d.schema(tt.schema[0])
			for _, k := range tt.schema[1:] {
				s = d.resolve(object(s)[k])
			}
			got := strs(s["enum"])
			slices.Sort(got)
			slices.Sort(tt.want)
			if len(tt.want) == 0 || !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	// Every stable code is documented under the status that carries it.
	documented := map[string]bool{}
	for _, r := range object(object(d.root["components"])["responses"]) {
		for _, part := range list(object(object(object(d.resolve(r)["content"])["application/problem+json"])["schema"])["allOf"]) {
			for _, code := range strs(object(object(object(part)["properties"])["code"])["enum"]) {
				if !slices.Contains(consts.named("Code"), code) {
					t.Errorf("a response documents code %s, which the domain does not have", code)
				}
				documented[code] = true
			}
		}
	}
	for _, code := range consts.named("Code") {
		if !documented[code] {
			t.Errorf("code %s is under no documented status", code)
		}
	}
}

// constants are the string constants declared in shared/fleetclaim's
// types.go, errors.go, admin.go and audit.go, read from the source.
type constants []struct{ name, typ, value string }

func (cs constants) named(prefix string) []string {
	var out []string
	for _, c := range cs {
		if c.typ == "" && strings.HasPrefix(c.name, prefix) {
			out = append(out, c.value)
		}
	}
	return out
}

func (cs constants) typed(typ string) []string {
	var out []string
	for _, c := range cs {
		if c.typ == typ {
			out = append(out, c.value)
		}
	}
	return out
}

func domainConstants(t *testing.T) constants {
	t.Helper()
	var out constants
	fset := token.NewFileSet()
	for _, name := range []string{"types.go", "errors.go", "admin.go", "audit.go"} {
		f, err := parser.ParseFile(fset, filepath.Join("..", "fleetclaim", name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				typ := ""
				if id, ok := vs.Type.(*ast.Ident); ok {
					typ = id.Name
				}
				for i, n := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						out = append(out, struct{ name, typ, value string }{n.Name, typ, v})
					}
				}
			}
		}
	}
	return out
}

// probe is one request to a fresh world and the status it must get.
type probe struct {
	name   string
	opts   []option
	setup  func(w *world)
	req    func() events.APIGatewayProxyRequest
	status int
	code   string
	field  string // the problem's field, for 400
}

// target is a request each route answers with success in a fresh world,
// sent by the given token.
func target(op string, token map[string]any) events.APIGatewayProxyRequest {
	switch op {
	case "issueClaim":
		return issueRequest(`{"serialNumber":"SN-0100","site":"Depot 4, bay 2"}`, token)
	case "listClaims":
		return request("GET", "/claims", nil, token)
	case "getClaim":
		return request("GET", "/claims/{id}", map[string]string{"id": issuedClaim}, token)
	case "revokeClaim":
		return request("DELETE", "/claims/{id}", map[string]string{"id": issuedClaim}, token)
	case "listDevices":
		return request("GET", "/devices", nil, token)
	case "getDevice":
		return request("GET", "/devices/{serial}", map[string]string{"serial": acmeDevice}, token)
	case "decommissionDevice":
		req := request("POST", "/devices/{serial}/decommission", map[string]string{"serial": acmeDevice}, token)
		req.Body = `{"reason":"water damage"}`
		return req
	case "replaceDevice":
		req := request("POST", "/devices/{serial}/replace", map[string]string{"serial": acmeDevice}, token)
		req.Body = `{"site":"Depot 4, bay 2"}`
		return req
	case "listDeviceHistory":
		return request("GET", "/devices/{serial}/history", map[string]string{"serial": acmeDevice}, token)
	case "listInstallers":
		return request("GET", "/installers", nil, token)
	case "getInstaller":
		return request("GET", "/installers/{id}", map[string]string{"id": pendingSub}, token)
	case "approveInstaller":
		return request("POST", "/installers/{id}/approve", map[string]string{"id": pendingSub}, token)
	case "suspendInstaller":
		return request("POST", "/installers/{id}/suspend", map[string]string{"id": installerSub}, token)
	case "reinstateInstaller":
		return request("POST", "/installers/{id}/reinstate", map[string]string{"id": suspendedSub}, token)
	case "listAuditEvents":
		return request("GET", "/audit", nil, token)
	case "createTenant":
		return bodyRequest("POST", "/tenants", nil, `{"tenantId":"initech","name":"Initech","autoApproveDomains":["initech.example"]}`, token)
	case "listTenants":
		return request("GET", "/tenants", nil, token)
	case "getTenant":
		return request("GET", "/tenants/{id}", map[string]string{"id": "acme"}, token)
	case "updateTenant":
		return bodyRequest("PATCH", "/tenants/{id}", map[string]string{"id": "acme"}, `{"revision":0,"name":"Acme Corp"}`, token)
	case "suspendTenant":
		return request("POST", "/tenants/{id}/suspend", map[string]string{"id": "globex"}, token)
	case "reactivateTenant":
		return request("POST", "/tenants/{id}/reactivate", map[string]string{"id": "globex"}, token)
	}
	panic("no target for " + op)
}

// probes are the requests each route is tried with: the ones every route
// answers the same way, and the ones particular to it.
func probes(r apigw.Route) []probe {
	caller := asInstaller
	switch {
	case platformOnly[r.Operation]:
		caller = asOperator
	// Decommissioning is an admin's, unless the tenant lets installers.
	case r.Scope != "fleetclaim/claims" || r.Operation == "decommissionDevice" || r.Operation == "replaceDevice":
		caller = asAdmin
	}
	with := func(edit func(*events.APIGatewayProxyRequest)) func() events.APIGatewayProxyRequest {
		return func() events.APIGatewayProxyRequest {
			req := target(r.Operation, caller())
			edit(&req)
			return req
		}
	}
	param := func(name, value string) func() events.APIGatewayProxyRequest {
		return func() events.APIGatewayProxyRequest {
			req := target(r.Operation, caller())
			req.PathParameters[name] = value
			return bodyRequest(req.HTTPMethod, req.Resource, req.PathParameters, req.Body, caller())
		}
	}
	query := func(q map[string]string) func() events.APIGatewayProxyRequest {
		return with(func(req *events.APIGatewayProxyRequest) { req.QueryStringParameters = q })
	}
	ps := []probe{
		{name: "success", req: with(func(*events.APIGatewayProxyRequest) {}), status: successOf(r)},
		{name: "no authorizer claims", req: with(func(req *events.APIGatewayProxyRequest) { req.RequestContext.Authorizer = nil }),
			status: 401, code: "unauthenticated"},
		{name: "token without the scope", req: with(func(req *events.APIGatewayProxyRequest) {
			req.RequestContext.Authorizer["claims"].(map[string]any)["scope"] = "aws.cognito.signin.user.admin"
		}), status: 403, code: "missing_scope"},
		{name: "token of an installer suspended since", req: func() events.APIGatewayProxyRequest {
			tok := asSuspended()
			tok["scope"] = caller()["scope"]
			tok["cognito:groups"] = caller()["cognito:groups"]
			return target(r.Operation, tok)
		}, status: 403, code: "installer_not_approved"},
		{name: "store down", setup: func(w *world) { w.store.fail("GetInstaller") }, req: with(func(*events.APIGatewayProxyRequest) {}),
			status: 503, code: "dependency_unavailable"},
	}
	if strings.Contains(r.Path, "{id}") {
		missing := unknownClaim
		switch {
		case strings.HasPrefix(r.Path, "/installers"):
			missing = nobodySub
		case strings.HasPrefix(r.Path, "/tenants"):
			missing = "umbrella"
		}
		ps = append(ps,
			probe{name: "malformed id", req: param("id", "../etc/passwd"), status: 400, code: "invalid_request", field: "id"},
			probe{name: "unknown id", req: param("id", missing), status: 404, code: "not_found"})
	}
	if strings.Contains(r.Path, "{serial}") {
		ps = append(ps,
			probe{name: "malformed serial", req: param("serial", "SN 0042"), status: 400, code: "invalid_request", field: "serial"},
			probe{name: "unknown serial", req: param("serial", "SN-9999"), status: 404, code: "not_found"})
	}
	if r.Method == "GET" && !strings.Contains(r.Path, "{") {
		ps = append(ps,
			probe{name: "limit 0", req: query(map[string]string{"limit": "0"}), status: 400, code: "invalid_request", field: "limit"},
			probe{name: "limit not a number", req: query(map[string]string{"limit": "ten"}), status: 400, code: "invalid_request", field: "limit"},
			probe{name: "foreign cursor", req: query(map[string]string{"cursor": "eyJraW5kIjoib3RoZXIifQ"}), status: 400, code: "invalid_request", field: "cursor"},
			probe{name: "one item per page", req: query(map[string]string{"limit": "1"}), status: 200})
	}
	if r.Scope == "fleetclaim/admin" {
		ps = append(ps, probe{name: "admin scope without the admins group", req: func() events.APIGatewayProxyRequest {
			tok := asInstaller()
			tok["scope"] = scopeAdmin
			return target(r.Operation, tok)
		}, status: 403, code: "forbidden"})
	}
	switch r.Operation {
	case "listDevices", "listInstallers", "listAuditEvents":
		ps = append(ps,
			probe{name: "another tenant", req: query(map[string]string{"tenant": "globex"}), status: 404, code: "not_found"},
			probe{name: "malformed tenant", req: query(map[string]string{"tenant": "Globex Inc"}), status: 400, code: "invalid_request", field: "tenant"},
			probe{name: "another tenant, by a platform admin", req: func() events.APIGatewayProxyRequest {
				req := target(r.Operation, asOperator())
				req.QueryStringParameters = map[string]string{"tenant": "globex"}
				return req
			}, status: 200})
	}
	if r.Operation == "listAuditEvents" {
		ps = append(ps,
			probe{name: "every filter", req: query(map[string]string{"since": "2026-01-01T00:00:00Z", "until": "2027-01-01T00:00:00+01:00",
				"action": "claim.issued", "serial": acmeDevice, "actor": installerSub}), status: 200},
			probe{name: "unknown action", req: query(map[string]string{"action": "claim.deleted"}), status: 400, code: "unknown_audit_action", field: "action"},
			probe{name: "since not RFC 3339", req: query(map[string]string{"since": "2026-01-01"}), status: 400, code: "invalid_request", field: "since"},
			probe{name: "until before since", req: query(map[string]string{"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}),
				status: 400, code: "invalid_request", field: "until"},
			probe{name: "malformed serial", req: query(map[string]string{"serial": "SN 0042"}), status: 400, code: "invalid_request", field: "serial"},
			probe{name: "actor not a sub", req: query(map[string]string{"actor": "ada@acme.example"}), status: 400, code: "invalid_request", field: "actor"})
	}
	switch r.Operation {
	case "issueClaim":
		body := func(b string) func() events.APIGatewayProxyRequest {
			return with(func(req *events.APIGatewayProxyRequest) { req.Body = b })
		}
		ps = append(ps,
			probe{name: "every documented field", req: body(`{"serialNumber":"SN-0101","template":"fleetclaim-lab","site":"Hall 3"}`), status: 201},
			probe{name: "undocumented field", req: body(`{"serialNumber":"SN-0101","tenantId":"globex"}`), status: 400, code: "invalid_json", field: "tenantId"},
			probe{name: "template not offered", req: body(`{"serialNumber":"SN-0101","template":"other"}`), status: 400, code: "invalid_request", field: "template"},
			probe{name: "device already provisioned", req: body(`{"serialNumber":"` + acmeDevice + `"}`), status: 409, code: "device_already_provisioned"},
			probe{name: "another installer's open claim", req: func() events.APIGatewayProxyRequest {
				return issueRequest(`{"serialNumber":"SN-0001"}`, asAdmin())
			}, status: 409, code: "claim_open"},
			probe{name: "the caller's own open claim, superseded", req: body(`{"serialNumber":"SN-0001"}`), status: 201},
			probe{name: "body too large", req: body(`{"serialNumber":"` + strings.Repeat("S", apigw.MaxBodyBytes) + `"}`), status: 413, code: "body_too_large"},
			probe{name: "quota used up", opts: []option{withQuota(1)}, setup: func(w *world) {
				if resp := w.handle(target(r.Operation, caller())); resp.StatusCode != 201 {
					w.t.Fatalf("first claim: got %d %s", resp.StatusCode, resp.Body)
				}
			}, req: body(`{"serialNumber":"SN-0101"}`), status: 429, code: "quota_exceeded"})
	case "createTenant", "updateTenant":
		body := func(b string) func() events.APIGatewayProxyRequest {
			return with(func(req *events.APIGatewayProxyRequest) { req.Body = b })
		}
		if r.Operation == "createTenant" {
			ps = append(ps,
				probe{name: "every documented field", req: body(`{"tenantId":"initech","name":"Initech","autoApproveDomains":["initech.example"],` +
					`"claimsPerHour":20,"allowedTemplates":["fleetclaim-lab"],"installersMayDecommission":true}`), status: 201},
				probe{name: "existing tenant", req: body(`{"tenantId":"globex","name":"Globex"}`), status: 409, code: "tenant_exists"},
				probe{name: "malformed tenant", req: body(`{"tenantId":"Initech Inc","name":"Initech"}`), status: 400, code: "invalid_request", field: "tenantId"},
				probe{name: "no name", req: body(`{"tenantId":"initech"}`), status: 400, code: "invalid_request", field: "name"},
				probe{name: "by a tenant admin", req: func() events.APIGatewayProxyRequest {
					return target(r.Operation, asAdmin())
				}, status: 403, code: "forbidden"})
		} else {
			ps = append(ps,
				probe{name: "every documented field, by a platform admin", req: func() events.APIGatewayProxyRequest {
					req := target(r.Operation, asOperator())
					req.Body = `{"revision":0,"name":"Acme","autoApproveDomains":["acme.example"],"claimsPerHour":20,` +
						`"allowedTemplates":["fleetclaim-lab"],"installersMayDecommission":true}`
					return req
				}, status: 200},
				probe{name: "stale revision", req: body(`{"revision":3,"name":"Acme Corp"}`), status: 409, code: "revision_conflict"},
				probe{name: "no revision", req: body(`{"name":"Acme Corp"}`), status: 400, code: "invalid_request", field: "revision"},
				probe{name: "a setting only platform admins change", req: body(`{"revision":0,"autoApproveDomains":["acme.example"]}`),
					status: 403, code: "forbidden"},
				probe{name: "another tenant", req: param("id", "globex"), status: 404, code: "not_found"})
		}
		ps = append(ps,
			probe{name: "undocumented field", req: body(`{"tenantId":"initech","name":"Initech","status":"active","revision":0}`),
				status: 400, code: "invalid_json", field: map[bool]string{true: "tenantId", false: "status"}[r.Operation == "updateTenant"]},
			probe{name: "public mail domain", req: func() events.APIGatewayProxyRequest {
				req := target(r.Operation, asOperator())
				req.Body = strings.Replace(req.Body, `"name"`, `"autoApproveDomains":["gmail.com"],"name"`, 1)
				req.Body = strings.Replace(req.Body, `,"autoApproveDomains":["initech.example"]`, "", 1)
				return req
			}, status: 400, code: "public_mail_domain", field: "autoApproveDomains"},
			probe{name: "body too large", req: body(`{"name":"` + strings.Repeat("N", apigw.MaxBodyBytes) + `"}`), status: 413, code: "body_too_large"})
	case "getTenant":
		ps = append(ps, probe{name: "another tenant", req: param("id", "globex"), status: 404, code: "not_found"},
			probe{name: "another tenant, by a platform admin", req: func() events.APIGatewayProxyRequest {
				req := target(r.Operation, asOperator())
				req.PathParameters["id"] = "globex"
				return bodyRequest(req.HTTPMethod, req.Resource, req.PathParameters, "", asOperator())
			}, status: 200})
	case "suspendTenant":
		ps = append(ps, probe{name: "one's own tenant", req: param("id", "acme"), status: 403, code: "forbidden"},
			probe{name: "by a tenant admin", req: func() events.APIGatewayProxyRequest { return target(r.Operation, asAdmin()) },
				status: 404, code: "not_found"},
			probe{name: "revocation fails partway", setup: func(w *world) { w.store.fail("UpdateClaim") },
				req: with(func(*events.APIGatewayProxyRequest) {}), status: 503, code: "dependency_unavailable"})
	case "reactivateTenant":
		ps = append(ps, probe{name: "a suspended tenant", setup: func(w *world) {
			if resp := w.handle(target("suspendTenant", asOperator())); resp.StatusCode != 200 {
				w.t.Fatalf("suspend: got %d %s", resp.StatusCode, resp.Body)
			}
		}, req: with(func(*events.APIGatewayProxyRequest) {}), status: 200},
			probe{name: "by a tenant admin of the tenant", req: func() events.APIGatewayProxyRequest {
				req := target(r.Operation, asAdmin())
				req.PathParameters["id"] = "acme"
				return bodyRequest(req.HTTPMethod, req.Resource, req.PathParameters, "", asAdmin())
			}, status: 403, code: "forbidden"})
	case "revokeClaim":
		ps = append(ps,
			probe{name: "consumed claim", req: param("id", consumedClaim), status: 409, code: "claim_not_usable"},
			probe{name: "AWS IoT failing to deactivate", setup: func(w *world) { w.revoker.Fail(errors.New("ThrottlingException")) },
				req: with(func(*events.APIGatewayProxyRequest) {}), status: 503, code: "dependency_unavailable"})
	case "decommissionDevice", "replaceDevice":
		byInstaller := func() events.APIGatewayProxyRequest { return target(r.Operation, asInstaller()) }
		body := func(b string) func() events.APIGatewayProxyRequest {
			return with(func(req *events.APIGatewayProxyRequest) { req.Body = b })
		}
		ps = append(ps,
			probe{name: "an installer, where the tenant does not allow it", req: byInstaller, status: 403, code: "forbidden"},
			probe{name: "its installer, where the tenant allows it", setup: func(w *world) { w.allowInstallersToDecommission() },
				req: byInstaller, status: successOf(r)},
			probe{name: "undocumented field", req: with(func(req *events.APIGatewayProxyRequest) { req.Body = `{"serialNumber":"SN-1"}` }),
				status: 400, code: "invalid_json", field: "serialNumber"},
			probe{name: "AWS IoT failing", setup: func(w *world) { w.revoker.Fail(errors.New("ThrottlingException")) },
				req: with(func(*events.APIGatewayProxyRequest) {}), status: 503, code: "dependency_unavailable"},
			probe{name: "a serial without a live device", req: param("serial", "SN-0001"), status: 404, code: "not_found"},
			probe{name: "naming the live device's certificate", req: body(`{"certificateId":"` + deviceCertificate + `"}`),
				status: successOf(r)},
			probe{name: "naming another certificate", req: body(`{"certificateId":"` + strings.Repeat("e5", 32) + `"}`),
				status: 409, code: "device_changed"},
			probe{name: "malformed certificateId", req: body(`{"certificateId":"` + strings.Repeat("D4", 32) + `"}`),
				status: 400, code: "invalid_request", field: "certificateId"},
			probe{name: "certificateId in another case", req: body(`{"certificateID":"` + deviceCertificate + `"}`),
				status: 400, code: "invalid_json", field: "certificateID"})
		if r.Operation == "decommissionDevice" {
			ps = append(ps,
				probe{name: "no body", req: with(func(req *events.APIGatewayProxyRequest) { req.Body = "" }), status: 200},
				probe{name: "reason with a control character", req: with(func(req *events.APIGatewayProxyRequest) { req.Body = `{"reason":"a\nb"}` }),
					status: 400, code: "invalid_request", field: "reason"})
		} else {
			ps = append(ps, probe{name: "template not offered", req: with(func(req *events.APIGatewayProxyRequest) { req.Body = `{"template":"other"}` }),
				status: 400, code: "invalid_request", field: "template"})
		}
	case "getClaim":
		ps = append(ps,
			probe{name: "consumed claim, with its device", req: param("id", consumedClaim), status: 200},
			probe{name: "rejected claim, with its reason", req: param("id", rejectedClaim), status: 200},
			probe{name: "another tenant's claim", req: param("id", globexClaim), status: 404, code: "not_found"})
	case "approveInstaller":
		ps = append(ps, probe{name: "suspended installer", req: param("id", suspendedSub), status: 409, code: "installer_status_conflict"})
	case "reinstateInstaller":
		ps = append(ps, probe{name: "pending installer", req: param("id", pendingSub), status: 409, code: "installer_status_conflict"})
	case "suspendInstaller":
		ps = append(ps,
			probe{name: "oneself", req: param("id", adminSub), status: 403, code: "forbidden"},
			probe{name: "another tenant's installer", req: param("id", globexSub), status: 404, code: "not_found"})
	}
	return ps
}

// fieldOrNil is how a problem's field reads back from JSON: absent when empty.
func fieldOrNil(f string) any {
	if f == "" {
		return nil
	}
	return f
}

// platformOnly are the operations only platform admins succeed at.
var platformOnly = map[string]bool{"createTenant": true, "suspendTenant": true, "reactivateTenant": true}

func successOf(r apigw.Route) int {
	if r.Operation == "issueClaim" || r.Operation == "replaceDevice" || r.Operation == "createTenant" {
		return http.StatusCreated
	}
	return http.StatusOK
}

// Every route answers every probe with the expected status, and that
// status, its media type, headers and body are what the document says for
// the route.
func TestHandlerAnswersAsDocumented(t *testing.T) {
	d := loadDocument(t)
	for _, r := range apigw.Routes {
		op := d.ops[r.Method+" "+r.Path]
		for _, p := range probes(r) {
			t.Run(r.Operation+"/"+p.name, func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, p.opts...)
				if p.setup != nil {
					p.setup(w)
				}
				resp := w.handle(p.req())
				if resp.StatusCode != p.status {
					t.Fatalf("got %d %s, want %d", resp.StatusCode, resp.Body, p.status)
				}
				body := checkDocumented(t, d, op, resp)
				if p.code != "" && (body["code"] != p.code || body["field"] != fieldOrNil(p.field)) {
					t.Errorf("got code %v field %v, want %s %q", body["code"], body["field"], p.code, p.field)
				}
			})
		}
	}
}

// A method or path the document does not have answers 404 with a problem
// document, whoever asks.
func TestUndocumentedRoutesAnswerNotFound(t *testing.T) {
	d := loadDocument(t)
	notFound := d.resolve(map[string]any{"$ref": "#/components/responses/NotFound"})
	tests := []struct{ method, resource string }{
		{"PUT", "/claims"},
		{"PATCH", "/claims/{id}"},
		{"DELETE", "/devices/{serial}"},
		{"DELETE", "/tenants/{id}"},
		{"GET", "/claims/{id}/certificate"},
		{"POST", "/installers/{id}/delete"},
		{"GET", "/{proxy+}"},
		{"OPTIONS", "/claims"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.resource, func(t *testing.T) {
			if _, ok := d.ops[tt.method+" "+tt.resource]; ok {
				t.Fatalf("%s %s is documented; this test needs an undocumented route", tt.method, tt.resource)
			}
			w := newWorld(t)
			resp := w.handle(request(tt.method, tt.resource, map[string]string{"id": issuedClaim, "serial": acmeDevice}, asAdmin()))
			if resp.StatusCode != http.StatusNotFound || resp.Headers["Content-Type"] != "application/problem+json" {
				t.Fatalf("got %d %s %s, want 404 application/problem+json", resp.StatusCode, resp.Headers["Content-Type"], resp.Body)
			}
			var body any
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatalf("got %q: %v", resp.Body, err)
			}
			schema := object(object(notFound["content"])["application/problem+json"])["schema"]
			for _, e := range d.conform(schema, body, "body", true) {
				t.Error(e)
			}
		})
	}
}

// The documented serial number pattern is the one the API enforces: a
// serial the pattern accepts is issued a claim, one it refuses is a 400.
func TestSerialPatternMatchesHandler(t *testing.T) {
	d := loadDocument(t)
	pattern := regexp.MustCompile(d.schema("SerialNumber")["pattern"].(string))
	w := newWorld(t)
	for _, serial := range []string{"SN-1", "a:b_c-D9", strings.Repeat("S", 64), strings.Repeat("S", 65), "",
		"SN 1", "SN/1", "SN.1", "ＳＮ-1", "SN-1\n", "séri"} {
		t.Run(strconv.Quote(serial), func(t *testing.T) {
			b, _ := json.Marshal(map[string]string{"serialNumber": serial})
			resp := w.handle(issueRequest(string(b), asInstaller()))
			got, want := resp.StatusCode == http.StatusCreated, pattern.MatchString(serial)
			if got != want || (!got && resp.StatusCode != http.StatusBadRequest) {
				t.Errorf("got %d %s; the document's pattern accepts it: %v", resp.StatusCode, resp.Body, want)
			}
		})
	}
}

// checkDocumented checks one answer against what op documents for its
// status and returns its body.
func checkDocumented(t *testing.T, d document, op operation, resp events.APIGatewayProxyResponse) map[string]any {
	t.Helper()
	doc, ok := op.response(d, resp.StatusCode)
	if !ok {
		t.Fatalf("got %d %s, which the document does not list for %s", resp.StatusCode, resp.Body, op.node["operationId"])
	}
	ct := resp.Headers["Content-Type"]
	media := object(object(doc["content"])[ct])
	if media == nil {
		t.Fatalf("got Content-Type %q, want one of %v", ct, keys(object(doc["content"])))
	}
	var body any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("got body %q: %v", resp.Body, err)
	}
	for _, e := range d.conform(media["schema"], body, "body", true) {
		t.Error(e)
	}
	declared := object(doc["headers"])
	for name, h := range declared {
		v, ok := resp.Headers[name]
		if !ok && d.resolve(h)["required"] == false {
			continue
		}
		if !ok {
			t.Errorf("got no %s header, which the document declares", name)
			continue
		}
		var value any = v
		if n, err := strconv.Atoi(v); err == nil {
			value = float64(n)
		}
		for _, e := range d.conform(d.resolve(h)["schema"], value, name, true) {
			t.Error(e)
		}
	}
	if _, ok := resp.Headers["Retry-After"]; ok && declared["Retry-After"] == nil {
		t.Errorf("got Retry-After, which the document does not declare for %d", resp.StatusCode)
	}
	return object(body)
}

// conform reports where v breaks schema s, in the subset of JSON Schema the
// document uses: type, required, properties (an undocumented one is an
// error where closed), items, allOf, enum, const, pattern, maxLength,
// minimum, maximum and the date-time, uuid and email formats.
func (d document) conform(s, v any, at string, closed bool) []string {
	sc := d.resolve(s)
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	for _, part := range list(sc["allOf"]) {
		errs = append(errs, d.conform(part, v, at, false)...)
	}
	if typ, ok := sc["type"].(string); ok && !hasType(v, typ) {
		fail("got %s, want a JSON %s", show(v), typ)
		return errs
	}
	if enum, ok := sc["enum"]; ok && !slices.ContainsFunc(list(enum), func(e any) bool { return same(e, v) }) {
		fail("got %s, want one of %v", show(v), enum)
	}
	if c, ok := sc["const"]; ok && !same(c, v) {
		fail("got %s, want %v", show(v), c)
	}
	if s, ok := v.(string); ok {
		if p, ok := sc["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(s) {
			fail("got %q, which does not match %s", s, p)
		}
		if n, ok := sc["maxLength"].(int); ok && utf8.RuneCountInString(s) > n {
			fail("got %d characters, want at most %d", utf8.RuneCountInString(s), n)
		}
		if !hasFormat(s, sc["format"]) {
			fail("got %q, which is not a %v", s, sc["format"])
		}
	}
	if n, ok := v.(float64); ok {
		if m, ok := sc["minimum"].(int); ok && n < float64(m) {
			fail("got %v, want at least %d", n, m)
		}
		if m, ok := sc["maximum"].(int); ok && n > float64(m) {
			fail("got %v, want at most %d", n, m)
		}
	}
	switch v := v.(type) {
	case map[string]any:
		for _, r := range strs(sc["required"]) {
			if _, ok := v[r]; !ok {
				fail("got no %s, which the document requires", r)
			}
		}
		props := object(sc["properties"])
		known := d.properties(sc)
		for k, e := range v {
			if p, ok := props[k]; ok {
				errs = append(errs, d.conform(p, e, at+"."+k, true)...)
			} else if closed && !known[k] {
				fail("got %s, which the document does not have", k)
			}
		}
	case []any:
		if items, ok := sc["items"]; ok {
			for i, e := range v {
				errs = append(errs, d.conform(items, e, fmt.Sprintf("%s[%d]", at, i), true)...)
			}
		}
	}
	return errs
}

// properties names every property s and its allOf parts document.
func (d document) properties(s map[string]any) map[string]bool {
	out := map[string]bool{}
	for k := range object(s["properties"]) {
		out[k] = true
	}
	for _, part := range list(s["allOf"]) {
		for k := range d.properties(d.resolve(part)) {
			out[k] = true
		}
	}
	return out
}

func hasType(v any, typ string) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "integer":
		n, ok := v.(float64)
		return ok && n == math.Trunc(n)
	case "number":
		_, ok := v.(float64)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	}
	return false
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func hasFormat(s string, format any) bool {
	switch format {
	case "date-time":
		_, err := time.Parse(time.RFC3339Nano, s)
		return err == nil
	case "uuid":
		return uuidPattern.MatchString(s)
	case "email":
		at := strings.LastIndexByte(s, '@')
		return at > 0 && at < len(s)-1
	}
	return true
}

// same compares a YAML value with a JSON one: YAML integers are ints, JSON
// numbers float64.
func same(yamlValue, jsonValue any) bool {
	if n, ok := yamlValue.(int); ok {
		f, ok := jsonValue.(float64)
		return ok && f == float64(n)
	}
	return yamlValue == jsonValue
}

func show(v any) string { b, _ := json.Marshal(v); return string(b) }

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
