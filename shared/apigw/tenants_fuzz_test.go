package apigw_test

import (
	"bytes"
	"context"
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

// tenantRecorder records the UpdateTenant calls that reach the service.
type tenantRecorder struct {
	fuzzRecorder
	id     fleetclaim.TenantID
	change fleetclaim.TenantChange
}

func (r *tenantRecorder) UpdateTenant(_ context.Context, _ fleetclaim.Principal, id fleetclaim.TenantID, c fleetclaim.TenantChange) (fleetclaim.Tenant, error) {
	r.calls, r.id, r.change = r.calls+1, id, c
	return fleetclaim.Tenant{ID: id}, nil
}

var (
	fuzzTenantFields = []string{"revision", "name", "autoApproveDomains", "claimsPerHour", "allowedTemplates", "installersMayDecommission"}
	fuzzInteger      = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)
)

// fuzzStrictTenantChange is the oracle for PATCH /tenants/{id} bodies,
// written apart from the handler's decoder: one JSON object, then only
// white space; members named exactly as in the schema, each at most once;
// revision and claimsPerHour whole numbers, name a string, the lists arrays
// of strings (a null element is an empty string, as encoding/json reads
// it), installersMayDecommission a boolean; null for absent.
func fuzzStrictTenantChange(raw []byte) (c fleetclaim.TenantChange, hasRevision, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return c, false, false
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		name, isName := tok.(string)
		if err != nil || !isName || !slices.Contains(fuzzTenantFields, name) || seen[name] {
			return c, false, false
		}
		seen[name] = true
		var v any
		if err := dec.Decode(&v); err != nil {
			return c, false, false
		}
		if v == nil {
			continue
		}
		switch name {
		case "revision", "claimsPerHour":
			num, isNum := v.(json.Number)
			if !isNum || !fuzzInteger.MatchString(num.String()) {
				return c, false, false
			}
			n, err := strconv.ParseInt(num.String(), 10, 0)
			if err != nil {
				return c, false, false
			}
			if name == "revision" {
				c.Revision, hasRevision = int(n), true
			} else {
				c.ClaimsPerHour = ptrTo(int(n))
			}
		case "name":
			s, isString := v.(string)
			if !isString {
				return c, false, false
			}
			c.Name = &s
		case "autoApproveDomains", "allowedTemplates":
			list, isList := v.([]any)
			if !isList {
				return c, false, false
			}
			strs := []string{}
			for _, e := range list {
				s, isString := e.(string)
				if !isString && e != nil {
					return c, false, false
				}
				strs = append(strs, s)
			}
			if name == "autoApproveDomains" {
				c.AutoApproveDomains = &strs
			} else {
				c.AllowedTemplates = &strs
			}
		case "installersMayDecommission":
			b, isBool := v.(bool)
			if !isBool {
				return c, false, false
			}
			c.InstallersMayDecommission = &b
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return c, false, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return c, false, false
	}
	return c, hasRevision, true
}

func ptrTo[T any](v T) *T { return &v }

// FuzzUpdateTenantBody sends any body to PATCH /tenants/{id}. A body the
// oracle accepts reaches the service with exactly its values, or, without a
// revision, is refused with 400 naming revision; any other is refused before
// the service with 400 invalid_json (413 when too large), naming at most a
// schema member or a short plain name.
func FuzzUpdateTenantBody(f *testing.F) {
	for _, s := range []string{
		`{"revision":0,"name":"Acme"}`, `{"revision":3,"autoApproveDomains":["acme.example"],"claimsPerHour":20}`,
		`{"revision":1,"allowedTemplates":["a","b"],"installersMayDecommission":true}`, `{"name":"Acme"}`, `{"revision":null}`,
		`{"revision":1.5}`, `{"revision":1e2}`, `{"revision":"1"}`, `{"revision":99999999999999999999}`, `{"revision":-0}`,
		`{"revision":1,"autoApproveDomains":["a",null]}`, `{"revision":1,"autoApproveDomains":"a"}`, `{"revision":1,"status":"active"}`,
		`{"revision":1,"revision":2}`, `{"Revision":1}`, `{"revision":1,"installersMayDecommission":"true"}`, `[]`, `null`, ``,
		`{"revision":1} {}`, `{"revision":1,"name":"` + strings.Repeat("N", apigw.MaxBodyBytes) + `"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		rec := &tenantRecorder{}
		h := &apigw.Handler{Service: rec, Log: logging.New(io.Discard, "error")}
		resp, err := h.Handle(context.Background(), events.APIGatewayProxyRequest{Resource: "/tenants/{id}", HTTPMethod: "PATCH",
			Body: body, PathParameters: map[string]string{"id": "acme"},
			RequestContext: events.APIGatewayProxyRequestContext{Authorizer: map[string]any{"claims": asAdmin()}}})
		if err != nil {
			t.Fatalf("Handle returned an error: %v", err)
		}
		want, hasRevision, valid := fuzzStrictTenantChange([]byte(body))
		valid = valid && len(body) <= apigw.MaxBodyBytes
		switch {
		case valid && hasRevision:
			if resp.StatusCode != http.StatusOK || rec.calls != 1 || rec.id != "acme" || !reflect.DeepEqual(rec.change, want) {
				t.Fatalf("body %q: got %d %s and the service saw %+v, want 200 and %+v", body, resp.StatusCode, resp.Body, rec.change, want)
			}
			return
		case rec.calls != 0:
			t.Fatalf("body %q reached the service as %+v", body, rec.change)
		}
		p := fuzzProblemOf(t, resp)
		switch {
		case valid:
			if p.Status != http.StatusBadRequest || p.Field != "revision" {
				t.Fatalf("body %q without a revision: got %d %s %q, want 400 on revision", body, p.Status, p.Code, p.Field)
			}
		case len(body) > apigw.MaxBodyBytes:
			if p.Status != http.StatusRequestEntityTooLarge {
				t.Fatalf("body of %d bytes: got %d, want 413", len(body), p.Status)
			}
		case p.Status != http.StatusBadRequest || p.Code != fleetclaim.CodeInvalidJSON:
			t.Fatalf("body %q: got %d %s, want 400 invalid_json", body, p.Status, p.Code)
		}
		if p.Field != "" && !slices.Contains(fuzzTenantFields, p.Field) && !fuzzPlainName.MatchString(p.Field) {
			t.Fatalf("body %q: refusal names field %q", body, p.Field)
		}
		if strings.Contains(p.Detail, body) && len(body) > 8 {
			t.Fatalf("body %q: the refusal quotes it: %s", body, p.Detail)
		}
	})
}
