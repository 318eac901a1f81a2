package iothook

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

const templateMarker = ":provisioningtemplate/"

// FuzzTemplateName checks TemplateName on any text, and on ARNs built from
// any region, account and name. It returns what follows the first
// ":provisioningtemplate/" of a string that starts with "arn:", and ""
// for anything else; the Gatekeeper then compares it byte for byte with the
// claim's template, which passed ValidateTemplateName, so whatever trails a
// crafted ARN can only fail to match.
func FuzzTemplateName(f *testing.F) {
	for _, s := range []struct{ arn, region, account, name string }{
		{"arn:aws:iot:eu-west-1:123456789012:provisioningtemplate/fleet", "eu-west-1", "123456789012", "fleet"},
		{"", "", "", ""},
		{"fleet", "us-east-1", "000000000000", "fleet_v2-x"},
		{"arn:aws:iot:eu-west-1:1:provisioningtemplate/", "eu-west-1", "1", ""},
		{"xarn:aws:iot::1:provisioningtemplate/a", "", "", "a"},
		{"arn:aws:iot:r:a:thing/x", "r", "a", "x"},
		{"arn:aws:iot:r:a:provisioningtemplate/a:provisioningtemplate/b", "r:a:provisioningtemplate/a", "1", "b"},
		{"arn:aws:iot:r:a:provisioningtemplate/fleet/../other", "r", "a", "fleet/../other"},
		{"arn:aws:iot:r:a:provisioningtemplate/ｆｌｅｅｔ", "r", "a", "ｆｌｅｅｔ"},
		{"arn:aws:iot:r:a:provisioningtemplate/fleet\x00", "r\x00", "a", "fleet\x00"},
		{"ARN:aws:iot:r:a:provisioningtemplate/fleet", "r", "a", strings.Repeat("f", 37)},
	} {
		f.Add(s.arn, s.region, s.account, s.name)
	}
	f.Fuzz(func(t *testing.T, arn, region, account, name string) {
		got := TemplateName(arn)
		i := strings.Index(arn, templateMarker)
		switch {
		case !strings.HasPrefix(arn, "arn:") || i < 0:
			if got != "" {
				t.Fatalf("TemplateName(%q) = %q, want \"\"", arn, got)
			}
		case got != arn[i+len(templateMarker):]:
			t.Fatalf("TemplateName(%q) = %q, want the text after the first marker", arn, got)
		}

		// An ARN as AWS IoT builds it gives back its name, whatever the
		// region and account, as long as the marker first appears where
		// the name begins.
		prefix := "arn:aws:iot:" + region + ":" + account
		built := prefix + templateMarker + name
		if fleetclaim.ValidateTemplateName(name) != nil || strings.Index(built, templateMarker) != len(prefix) {
			return
		}
		if got := TemplateName(built); got != name {
			t.Fatalf("TemplateName(%q) = %q, want %q", built, got, name)
		}
	})
}

// decider records the request it is asked about and answers with allow.
type decider struct {
	got   fleetclaim.ProvisionRequest
	calls int
	allow bool
}

func (d *decider) Decide(_ context.Context, r fleetclaim.ProvisionRequest) fleetclaim.Decision {
	d.got, d.calls = r, d.calls+1
	if !d.allow {
		return fleetclaim.Decision{Reason: fleetclaim.ReasonSerialMismatch}
	}
	return fleetclaim.Decision{Allow: true, Overrides: map[string]string{fleetclaim.ParamThingName: "acme_SN-1"}}
}

// FuzzHandle decodes any JSON as the pre-provisioning hook event, as the
// Lambda runtime does, and answers it. The device chooses the parameters, so
// the Decider must see them unchanged and exactly one request per event; the
// answer allows only when the Decider does, and a denial carries no
// parameter overrides and nothing of the Decider's reason.
func FuzzHandle(f *testing.F) {
	claimID := strings.Repeat("ab", 32)
	for _, s := range []string{
		`{"claimCertificateId":"` + claimID + `","certificateId":"` + strings.Repeat("cd", 32) + `","certificatePem":"-----BEGIN CERTIFICATE-----",` +
			`"templateArn":"arn:aws:iot:eu-west-1:123456789012:provisioningtemplate/fleet","clientId":"SN-1","parameters":{"SerialNumber":"SN-1"}}`,
		`{"claimCertificateId":"` + claimID + `","parameters":{"SerialNumber":"ＳＮ-1","ThingName":"globex_SN-1","TenantId":"globex"}}`,
		`{"claimCertificateId":"` + claimID + `","parameters":{"SerialNumber":"SN-1\u0000","InstallerId":"x"}}`,
		`{"claimCertificateId":"` + claimID + `","templateArn":"arn:aws:iot:r:a:provisioningtemplate/fleet:provisioningtemplate/other"}`,
		`{"claimCertificateId":"../../x","parameters":null}`, `{"parameters":{"SerialNumber":1}}`, `{"parameters":[]}`,
		`{"claimCertificateId":42}`, `{"unknown":"field"}`, `{}`, `null`, `[]`, `"x"`, `{`, ``, `{"clientId":"a"} trailing`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, payload []byte, allow bool) {
		var ev events.IoTPreProvisionHookRequest
		if json.Unmarshal(payload, &ev) != nil {
			return // the Lambda runtime refuses it before the handler
		}
		sent := maps.Clone(ev.Parameters)
		d := &decider{allow: allow}
		h := &Handler{Decider: d, Deadline: time.Second, Log: log}
		resp, err := h.Handle(context.Background(), ev)
		if err != nil {
			t.Fatalf("Handle returned an error: %v", err)
		}
		want := fleetclaim.ProvisionRequest{ClaimID: fleetclaim.ClaimID(ev.ClaimCertificateID), DeviceCertificateID: ev.CertificateID,
			Template: TemplateName(ev.TemplateARN), Serial: sent[fleetclaim.ParamSerialNumber], ClientID: ev.ClientID}
		if d.calls != 1 || d.got != want {
			t.Fatalf("event %s: the Decider was called %d times with %+v, want once with %+v", payload, d.calls, d.got, want)
		}
		if !maps.Equal(ev.Parameters, sent) {
			t.Fatalf("the event's parameters changed from %q to %q", sent, ev.Parameters)
		}
		switch {
		case resp.AllowProvisioning != allow:
			t.Fatalf("allowProvisioning = %v, the Decider said %v", resp.AllowProvisioning, allow)
		case !allow && (resp.ParameterOverrides == nil || len(resp.ParameterOverrides) != 0):
			t.Fatalf("a denial carries overrides %v; want an empty object", resp.ParameterOverrides)
		}
		out, err := json.Marshal(resp)
		if err != nil || (!allow && string(out) != `{"allowProvisioning":false,"parameterOverrides":{}}`) {
			t.Fatalf("answer %s (%v)", out, err)
		}
	})
}
