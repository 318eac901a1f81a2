package cognito_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/fleetclaim/fleetclaim/infra/local/cognito"
)

// The files in testdata follow the example events of the Cognito developer
// guide (pre token generation, event version V2_0; post confirmation): AWS's
// field names with placeholder values.

// freeForm are objects whose keys are data, not part of the event's shape.
var freeForm = []string{"userAttributes", "clientMetadata", "claimsToAddOrOverride"}

// fieldPaths lists every object key of a JSON document as a dotted path,
// leaving out the top-level response and the inside of free-form maps.
func fieldPaths(t *testing.T, doc []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("decode: %v", err)
	}
	var paths []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		obj, ok := v.(map[string]any)
		if !ok {
			return
		}
		for k, child := range obj {
			if prefix == "" && k == "response" {
				continue
			}
			paths = append(paths, prefix+k)
			if !slices.Contains(freeForm, k) {
				walk(prefix+k+".", child)
			}
		}
	}
	walk("", v)
	slices.Sort(paths)
	return paths
}

// decodeStrict decodes a documented JSON file into the aws-lambda-go type,
// refusing fields the type does not know.
func decodeStrict(t *testing.T, name string, v any) []byte {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s does not decode into %T: %v", name, v, err)
	}
	return doc
}

func TestEventShapes(t *testing.T) {
	var pre recorder[preToken]
	var post recorder[postConfirmation]
	s := newStack(t, cognito.Options{PreTokenGeneration: pre.handle, PostConfirmation: post.handle})
	s.register(t, "jane")
	s.login(t, "jane")

	tests := []struct {
		name  string
		file  string
		typed any
		sent  func() any
	}{
		{"pre token generation V2_0", "pretokengen-v2_0-request.json", new(preToken), func() any { return pre.invocations()[0].event }},
		{"post confirmation", "postconfirmation-request.json", new(postConfirmation), func() any { return post.invocations()[0].event }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := decodeStrict(t, tt.file, tt.typed)
			sent, err := json.Marshal(tt.sent())
			if err != nil {
				t.Fatalf("encode the event the pool sent: %v", err)
			}
			if got, want := fieldPaths(t, sent), fieldPaths(t, doc); !slices.Equal(got, want) {
				t.Errorf("got event fields\n%v\nwant the documented\n%v", got, want)
			}
		})
	}
}

func TestDocumentedPreTokenResponse(t *testing.T) {
	var resp events.CognitoEventUserPoolsPreTokenGenResponseV2_0
	decodeStrict(t, "pretokengen-v2_0-response.json", &resp)
	s := newStack(t, cognito.Options{PreTokenGeneration: func(_ context.Context, ev preToken) (preToken, error) {
		ev.Response = resp
		return ev, nil
	}})
	s.register(t, "jane")
	auth := s.login(t, "jane")
	id, access := s.verify(t, aws.ToString(auth.IdToken)), s.verify(t, aws.ToString(auth.AccessToken))

	for name, c := range map[string]map[string]any{"ID": id, "access": access} {
		wantClaims(t, name, c, map[string]any{"family_name": "xyz", "favorite_number": float64(2), "email": nil})
	}
	wantGroups(t, id, access, []string{"group-A", "group-B"})
	wantScope(t, access, "aws.cognito.signin.user.admin scope1 scope2")
	if got, want := stringsOf(id["cognito:roles"]), resp.ClaimsAndScopeOverrideDetails.GroupOverrideDetails.IAMRolesToOverride; !slices.Equal(got, want) {
		t.Errorf("got cognito:roles %v, want %v", got, want)
	}
	if got, want := id["cognito:preferred_role"], "arn:aws:iam::123456789012:role/sns_caller"; got != want {
		t.Errorf("got cognito:preferred_role %v, want %v", got, want)
	}
}
