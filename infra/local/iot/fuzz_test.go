package iot

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// The fuzz targets call the fleet provisioning operations directly, with
// the request the broker would build from a claim connection's publish, on
// a Core that is not listening. Every iteration starts from an empty
// registry, so that an input's outcome never depends on the ones before it.

// fuzzClaimID is the claim certificate the requests come from.
var fuzzClaimID = strings.Repeat("c1", 32)

// Placeholders in fuzzed payloads, replaced before the call: a live
// ownership token of the request's template, one of the other template,
// and a certificate signing request (as a JSON string).
const (
	tokenPlaceholder      = "@TOKEN@"
	otherTokenPlaceholder = "@OTHER@"
	csrPlaceholder        = "@CSR@"
)

// fuzzCore returns a Core on a fresh data directory with the test templates
// and hook; it is not started.
func fuzzCore(f *testing.F, hook HookFunc) *Core {
	f.Helper()
	c, err := New(Options{DataDir: f.TempDir(), Templates: testTemplates, Hook: hook})
	if err != nil {
		f.Fatalf("New: %v", err)
	}
	f.Cleanup(func() { _ = c.Close() })
	return c
}

// fuzzClaimRequest is a request from a claim certificate of template.
func fuzzClaimRequest(template, topic string, payload []byte) request {
	return request{
		claim:    certRecord{ID: fuzzClaimID, Kind: kindClaim, Status: statusActive, Template: template},
		clientID: "device-1",
		topic:    topic,
		payload:  payload,
	}
}

// fuzzSnapshot returns a copy of the registry.
func fuzzSnapshot(c *Core) *state {
	var s *state
	c.store.view(func(st *state) {
		s = &state{Certificates: maps.Clone(st.Certificates), Things: map[string]thingRecord{}, Tokens: maps.Clone(st.Tokens)}
		for name, th := range st.Things {
			s.Things[name] = th.clone()
		}
	})
	return s
}

// fuzzReset empties the registry.
func fuzzReset(t *testing.T, c *Core) {
	t.Helper()
	if err := c.store.update(func(tx *txn) error {
		for id := range tx.base.Certificates {
			tx.deleteCertificate(id)
		}
		for name := range tx.base.Things {
			record(&tx.ch.Things, name, nil)
		}
		for key := range tx.base.Tokens {
			tx.deleteToken(key)
		}
		return nil
	}); err != nil {
		t.Fatalf("reset registry: %v", err)
	}
}

// fuzzCSR returns a PEM certificate signing request for key's public key.
func fuzzCSR(tb testing.TB, key crypto.Signer, subject pkix.Name) string {
	tb.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject}, key)
	if err != nil {
		tb.Fatalf("create CSR: %v", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// fuzzJSONString is s as a JSON string literal.
func fuzzJSONString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// fuzzCSRProblems are the reasons a CSR may be refused for, as the device reads them.
var fuzzCSRProblems = []string{
	"it is empty",
	"it is not a PEM certificate request",
	"it cannot be parsed",
	"its signature does not verify",
	"its RSA key is shorter than 2048 bits",
	"its EC key is not on P-256, P-384 or P-521",
	"its key type is not RSA or EC",
}

// FuzzCreateCertificateFromCSR sends any payload to
// $aws/certificates/create-from-csr/json, with @CSR@ standing for a real
// CSR whose common name is fuzzed too. A payload that is not JSON of the
// documented shape gets InvalidPayload; a CSR that is not a correctly signed
// request for an RSA (2048 bits or more) or P-256/384/521 key gets
// InvalidCsr, with one of the fixed reasons, and changes nothing; nothing
// the device sends is an internal failure. An accepted CSR gets a
// certificate from the local CA for exactly the CSR's key, named by its
// SHA-256, pending activation and bound to the claim and its template.
func FuzzCreateCertificateFromCSR(f *testing.F) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024) // #nosec G403 -- too short on purpose: its CSR must be refused
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	valid := fuzzCSR(f, ecKey, pkix.Name{CommonName: "SN-1"})
	block, _ := pem.Decode([]byte(valid))
	tampered := slices.Clone(block.Bytes)
	tampered[len(tampered)-1] ^= 0xff
	for _, s := range []string{
		`{"certificateSigningRequest":` + csrPlaceholder + `}`,
		`{"certificateSigningRequest":` + fuzzJSONString(valid) + `}`,
		`{"certificateSigningRequest":` + fuzzJSONString(valid) + `,"unknown":1}`,
		`{"certificateSigningRequest":` + fuzzJSONString(valid+"trailing") + `}`,
		`{"certificateSigningRequest":` + fuzzJSONString(strings.Replace(valid, "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST", 2)) + `}`,
		`{"certificateSigningRequest":` + fuzzJSONString(fuzzCSR(f, p224, pkix.Name{CommonName: "SN-1"})) + `}`,
		`{"certificateSigningRequest":` + fuzzJSONString(fuzzCSR(f, rsa1024, pkix.Name{CommonName: "SN-1"})) + `}`,
		`{"certificateSigningRequest":` + fuzzJSONString(fuzzCSR(f, edKey, pkix.Name{CommonName: "SN-1"})) + `}`,
		`{"certificateSigningRequest":` + fuzzJSONString(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: tampered}))) + `}`,
		`{"certificateSigningRequest":` + fuzzJSONString(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes}))) + `}`,
		`{"certificateSigningRequest":` + fuzzJSONString(strings.ReplaceAll(valid, "\n", "\r\n")) + `}`,
		`{"certificateSigningRequest":""}`, `{"certificateSigningRequest":null}`, `{"certificateSigningRequest":42}`,
		`{"certificateSigningRequest":"-----BEGIN CERTIFICATE REQUEST-----\n\u0000\n-----END CERTIFICATE REQUEST-----"}`,
		`{}`, `null`, `[]`, `""`, ``, `{`, "\xff", `{"certificateSigningRequest":` + csrPlaceholder + `} {}`,
	} {
		f.Add([]byte(s), "SN-1")
	}
	f.Add([]byte(`{"certificateSigningRequest":`+csrPlaceholder+`}`), "")
	f.Add([]byte(`{"certificateSigningRequest":`+csrPlaceholder+`}`), "ＳＮ-1\x00<script>")
	f.Add([]byte(`{"certificateSigningRequest":`+csrPlaceholder+`}`), strings.Repeat("x", 70000))

	c := fuzzCore(f, nil)
	f.Fuzz(func(t *testing.T, payload []byte, commonName string) {
		if bytes.Contains(payload, []byte(csrPlaceholder)) {
			der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: commonName}}, ecKey)
			if err != nil {
				return // not a name a CSR can carry
			}
			csr := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
			payload = bytes.ReplaceAll(payload, []byte(csrPlaceholder), []byte(fuzzJSONString(string(csr))))
		}
		before := fuzzSnapshot(c)
		reply, rej := c.createCertificateFromCSR(context.Background(), fuzzClaimRequest("widget", topicCreateCertificateFromCSR, payload))

		var in createCertificateFromCSRRequest
		if json.Unmarshal(payload, &in) != nil {
			if rej != errInvalidPayload {
				t.Fatalf("payload %q: got %+v %+v, want InvalidPayload", payload, reply, rej)
			}
			if !reflect.DeepEqual(fuzzSnapshot(c), before) {
				t.Fatal("a refused request changed the registry")
			}
			return
		}
		if rej != nil {
			if rej.StatusCode != http.StatusBadRequest || rej.ErrorCode != ErrorCodeInvalidCSR {
				t.Fatalf("CSR %q: got %+v, want InvalidCsr", in.CertificateSigningRequest, rej)
			}
			problem, ok := strings.CutPrefix(rej.ErrorMessage, "The certificate signing request is not valid: ")
			if !ok || !slices.Contains(fuzzCSRProblems, strings.TrimSuffix(problem, ".")) {
				t.Fatalf("CSR refused with %q, not a fixed reason", rej.ErrorMessage)
			}
			if !reflect.DeepEqual(fuzzSnapshot(c), before) {
				t.Fatal("a refused request changed the registry")
			}
			return
		}
		defer fuzzReset(t, c)

		// Accepted: the CSR really is a signed request for an allowed key.
		block, _ := pem.Decode([]byte(in.CertificateSigningRequest))
		csr, err := x509.ParseCertificateRequest(block.Bytes)
		if err != nil || csr.CheckSignature() != nil {
			t.Fatalf("accepted a CSR that does not parse or verify: %q", in.CertificateSigningRequest)
		}
		switch key := csr.PublicKey.(type) {
		case *rsa.PublicKey:
			if key.N.BitLen() < 2048 {
				t.Fatalf("accepted an RSA key of %d bits", key.N.BitLen())
			}
		case *ecdsa.PublicKey:
			if key.Curve != elliptic.P256() && key.Curve != elliptic.P384() && key.Curve != elliptic.P521() {
				t.Fatalf("accepted an EC key on %s", key.Curve.Params().Name)
			}
		default:
			t.Fatalf("accepted a %T key", key)
		}

		out := reply.(createCertificateFromCSRResponse)
		certBlock, _ := pem.Decode([]byte(out.CertificatePEM))
		if certBlock == nil {
			t.Fatalf("reply holds no certificate: %+v", out)
		}
		cert, err := x509.ParseCertificate(certBlock.Bytes)
		if err != nil {
			t.Fatalf("parse issued certificate: %v", err)
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: c.ca.pool(), CurrentTime: c.now(),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Fatalf("issued certificate does not verify as a client certificate of the CA: %v", err)
		}
		if pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(csr.PublicKey) {
			t.Fatal("issued certificate is not for the CSR's key")
		}
		if out.CertificateID != certificateID(cert.Raw) || out.CertificateOwnershipToken == "" {
			t.Fatalf("reply %+v: want the certificate's SHA-256 as its ID and a token", out)
		}
		rec, ok := c.store.certificate(out.CertificateID)
		if !ok || rec.Kind != kindDevice || rec.Status != statusPendingActivation || rec.ClaimID != fuzzClaimID || rec.Template != "widget" {
			t.Fatalf("recorded %+v, want a pending device certificate of the claim and its template", rec)
		}
	})
}

// FuzzRegisterThing sends any payload to a template's RegisterThing topic,
// with @TOKEN@ standing for a live ownership token of the template and
// @OTHER@ for one of the other template. The hook denies (mode 0), allows
// and lets the device's SerialNumber name the thing (1, template gadget), or
// allows and names the thing itself (2, template widget).
//
// Properties: a payload that is not JSON of the documented shape, or that
// carries no token, or any token but a live one of the template, is refused
// before the hook is called. The hook is called once, with the claim, the
// pending certificate, the template's ARN and exactly the device's
// parameters. A denial reaches the device only as ACCESS_DENIED. A thing is
// registered only when the hook allows, under the name the parameters hold
// after the hook's overrides, which must be a valid thing name; the device
// cannot override the hook. A refused request changes nothing.
func FuzzRegisterThing(f *testing.F) {
	for _, s := range []string{
		`{"certificateOwnershipToken":"@TOKEN@","parameters":{"SerialNumber":"SN-1"}}`,
		`{"certificateOwnershipToken":"@TOKEN@","parameters":{"SerialNumber":"SN-1","ThingName":"globex_SN-9","Site":"Hall 2"}}`,
		`{"certificateOwnershipToken":"@TOKEN@","parameters":{"SerialNumber":"ＳＮ-1"}}`,
		`{"certificateOwnershipToken":"@TOKEN@","parameters":{"SerialNumber":"SN/#"}}`,
		`{"certificateOwnershipToken":"@TOKEN@","parameters":{"SerialNumber":"SN-1\u0000"}}`,
		`{"certificateOwnershipToken":"@TOKEN@","parameters":{"SerialNumber":"` + strings.Repeat("S", 129) + `"}}`,
		`{"certificateOwnershipToken":"@TOKEN@","parameters":{"SerialNumber":"x'; DROP TABLE things;--"}}`,
		`{"certificateOwnershipToken":"@TOKEN@","parameters":null}`,
		`{"certificateOwnershipToken":"@TOKEN@"}`,
		`{"certificateOwnershipToken":"@TOKEN@","parameters":{"SerialNumber":1}}`,
		`{"certificateOwnershipToken":"@TOKEN@","parameters":[]}`,
		`{"certificateOwnershipToken":"@OTHER@","parameters":{"SerialNumber":"SN-1"}}`,
		`{"certificateOwnershipToken":"@TOKEN@x","parameters":{"SerialNumber":"SN-1"}}`,
		`{"certificateOwnershipToken":" @TOKEN@","parameters":{"SerialNumber":"SN-1"}}`,
		`{"certificateOwnershipToken":"","parameters":{"SerialNumber":"SN-1"}}`,
		`{"certificateOwnershipToken":null}`, `{"certificateOwnershipToken":["@TOKEN@"]}`,
		`{"CERTIFICATEOWNERSHIPTOKEN":"@TOKEN@","parameters":{"SerialNumber":"SN-1"}}`,
		`{"certificateOwnershipToken":"@TOKEN@","parameters":{"SerialNumber":"SN-1"}} trailing`,
		`{}`, `null`, `[]`, ``, `{`, "\xff",
	} {
		for mode := range uint8(3) {
			f.Add([]byte(s), mode)
		}
	}

	var (
		allow     bool
		overrides map[string]string
		calls     []events.IoTPreProvisionHookRequest
	)
	hook := func(_ context.Context, req events.IoTPreProvisionHookRequest) (events.IoTPreProvisionHookResponse, error) {
		calls = append(calls, req)
		return events.IoTPreProvisionHookResponse{AllowProvisioning: allow, ParameterOverrides: overrides}, nil
	}
	c := fuzzCore(f, hook)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, payload []byte, mode uint8) {
		template, other := "widget", "gadget"
		allow, overrides, calls = mode%3 != 0, nil, nil
		switch mode % 3 {
		case 1:
			template, other = "gadget", "widget"
		case 2:
			overrides = map[string]string{"ThingName": "widget-hook-chosen"}
		}
		tmpl := c.templates[template]
		topic := registerThingTopic(template)

		// Live tokens, when the payload asks for them.
		var token string
		var pending certRecord
		for placeholder, tpl := range map[string]string{tokenPlaceholder: template, otherTokenPlaceholder: other} {
			if !bytes.Contains(payload, []byte(placeholder)) {
				continue
			}
			rec, tok, err := c.issuePending(fuzzClaimRequest(tpl, topic, nil), &key.PublicKey, nil)
			if err != nil {
				t.Fatalf("issue pending certificate: %v", err)
			}
			payload = bytes.ReplaceAll(payload, []byte(placeholder), []byte(tok))
			if tpl == template {
				token, pending = tok, rec
			}
		}
		defer fuzzReset(t, c)

		before := fuzzSnapshot(c)
		reply, rej := c.registerThing(context.Background(), fuzzClaimRequest(template, topic, payload))
		unchanged := func() {
			t.Helper()
			if !reflect.DeepEqual(fuzzSnapshot(c), before) {
				t.Fatalf("refused with %+v, yet the registry changed", rej)
			}
		}

		var in registerThingRequest
		decodeErr := json.Unmarshal(payload, &in)
		if decodeErr != nil || in.CertificateOwnershipToken == "" || token == "" || in.CertificateOwnershipToken != token {
			want := errInvalidToken
			switch {
			case decodeErr != nil:
				want = errInvalidPayload
			case in.CertificateOwnershipToken == "":
				want = errEmptyToken
			}
			if rej != want || len(calls) != 0 {
				t.Fatalf("payload %q: got %+v %+v after %d hook calls, want %s before the hook", payload, reply, rej, len(calls), want.ErrorCode)
			}
			unchanged()
			return
		}

		params := maps.Clone(in.Parameters)
		if params == nil {
			params = map[string]string{}
		}
		wantEvent := events.IoTPreProvisionHookRequest{ClaimCertificateID: fuzzClaimID, CertificateID: pending.ID, CertificatePEM: pending.PEM,
			TemplateARN: c.templateARN(template), ClientID: "device-1", Parameters: params}
		if len(calls) != 1 || !reflect.DeepEqual(calls[0], wantEvent) {
			t.Fatalf("hook calls %+v, want one with %+v", calls, wantEvent)
		}
		if !allow {
			if rej != errAccessDenied {
				t.Fatalf("hook denied; the device got %+v %+v, want ACCESS_DENIED", reply, rej)
			}
			unchanged()
			return
		}

		final := maps.Clone(params)
		maps.Copy(final, overrides)
		thingName := final[tmpl.ThingNameParameter]
		if !thingNamePattern.MatchString(thingName) {
			if rej == nil || rej.ErrorCode != ErrorCodeInvalidParameters {
				t.Fatalf("thing name %q: got %+v %+v, want InvalidParameters", thingName, reply, rej)
			}
			unchanged()
			return
		}
		if rej != nil {
			t.Fatalf("thing name %q: refused with %+v", thingName, rej)
		}
		if overrides != nil && thingName != overrides["ThingName"] {
			t.Fatalf("the device's parameters overrode the hook: thing %q", thingName)
		}
		if got := reply.(registerThingResponse); got.ThingName != thingName {
			t.Fatalf("reply names thing %q, want %q", got.ThingName, thingName)
		}
		after := fuzzSnapshot(c)
		cert := after.Certificates[pending.ID]
		thing := after.Things[thingName]
		wantAttrs := map[string]string{}
		for attr, param := range tmpl.Attributes {
			if v, ok := final[param]; ok {
				wantAttrs[attr] = v
			}
		}
		switch {
		case len(after.Tokens) >= len(before.Tokens):
			t.Fatal("the ownership token is still live after RegisterThing")
		case cert.Status != statusActive || cert.ThingName != thingName:
			t.Fatalf("certificate %+v, want active for %q", cert, thingName)
		case len(after.Things) != 1 || thing.Template != template || !slices.Equal(thing.CertificateIDs, []string{pending.ID}) ||
			!maps.Equal(thing.Attributes, wantAttrs):
			t.Fatalf("registry holds things %+v, want only %q with %v", after.Things, thingName, wantAttrs)
		}
	})
}

// FuzzTopicPolicy checks the MQTT policies on any topic or filter. A claim
// certificate may publish only the fleet provisioning requests of the JSON
// format, for configured templates, and read only their replies: no
// wildcard, no other format, no other topic. A device may only use topics
// under its own thing name, so no topic is open to two different things.
func FuzzTopicPolicy(f *testing.F) {
	for _, s := range []string{
		topicCreateKeysAndCertificate, topicCreateCertificateFromCSR, registerThingTopic("widget"), registerThingTopic("gadget"),
		topicCreateKeysAndCertificate + suffixAccepted, registerThingTopic("widget") + suffixRejected, registerThingTopic("other"),
		"$aws/certificates/create/cbor", "$aws/certificates/create/json/+", "$aws/certificates/#", "#", "+", "+/accepted",
		"$aws/provisioning-templates/+/provision/json", "$aws/provisioning-templates/widget/provision/json/#",
		"$aws/provisioning-templates/../widget/provision/json", "$aws/provisioning-templates/wid%67et/provision/json",
		"$aws/provisioning-templates/ｗｉｄｇｅｔ/provision/json", "$aws/provisioning-templates/widget/provision/json\x00",
		"cmd/acme_SN-1/reboot", "cmd/acme_SN-1/#", "cmd/+/reboot", "cmd/#", "dt/acme_SN-1/temp", "dt/acme_SN-1",
		"$aws/things/acme_SN-1/shadow/update", "$aws/things/acme_SN-1/shadow/#", "$aws/things/+/shadow/get",
		"cmd/acme_SN-1:x/a", "cmd/acme_SN-1/../acme_SN-2/x",
	} {
		f.Add(s, true, "acme_SN-1", "acme_SN-2")
		f.Add(s, false, "acme_SN-1", "acme_SN-1:x")
	}
	f.Add("cmd/a/b", false, "a", "a/b")
	f.Add("cmd/+/b", false, "+", "a")

	c := &Core{templates: map[string]Template{}}
	for _, t := range testTemplates {
		c.templates[t.Name] = t
	}
	var requests []string
	for _, t := range testTemplates {
		requests = append(requests, registerThingTopic(t.Name))
	}
	requests = append(requests, topicCreateKeysAndCertificate, topicCreateCertificateFromCSR)

	f.Fuzz(func(t *testing.T, topic string, write bool, thing, other string) {
		want := slices.Contains(requests, topic)
		if !write {
			want = false
			for _, r := range requests {
				want = want || topic == r+suffixAccepted || topic == r+suffixRejected
			}
		}
		if got := c.claimMay(topic, write); got != want {
			t.Fatalf("claim may %s %q: got %v, want %v", fuzzVerb(write), topic, got, want)
		}

		if !thingNamePattern.MatchString(thing) || !deviceMay(thing, topic, write) {
			return
		}
		own := "cmd/" + thing + "/"
		if write {
			own = "dt/" + thing + "/"
		}
		if !strings.HasPrefix(topic, own) && !strings.HasPrefix(topic, "$aws/things/"+thing+"/shadow/") {
			t.Fatalf("device %q may %s %q, outside its own topics", thing, fuzzVerb(write), topic)
		}
		if thingNamePattern.MatchString(other) && other != thing && deviceMay(other, topic, write) {
			t.Fatalf("devices %q and %q may both %s %q", thing, other, fuzzVerb(write), topic)
		}
	})
}

func fuzzVerb(write bool) string {
	if write {
		return "publish"
	}
	return "read"
}
