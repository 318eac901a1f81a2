package cognito_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/infra/local/cognito"
	"github.com/fleetclaim/fleetclaim/infra/local/sigv4"
)

// fuzzPool is a pool's data directory as FuzzAPI starts every input from:
// one confirmed user signed in, and one user waiting for its sign-up code.
type fuzzPool struct {
	dir, poolID, clientID string
	access, refresh, code string
}

const (
	fuzzUser     = "ana"
	fuzzPending  = "ben"
	fuzzPassword = "Passw0rdFuzz"
	// fuzzBaseURL is never dialled: the pool is served in-process.
	fuzzBaseURL = "http://127.0.0.1:9"
)

// The operations the pool serves; anything else is unknown.
var fuzzOperations = []string{"SignUp", "ConfirmSignUp", "ResendConfirmationCode", "AdminConfirmSignUp", "InitiateAuth", "GetUser",
	"GlobalSignOut", "AdminGetUser", "AdminAddUserToGroup", "AdminRemoveUserFromGroup", "AdminListGroupsForUser", "AdminUserGlobalSignOut",
	"AdminCreateUser", "RespondToAuthChallenge"}

// Cognito exception names the pool may answer with.
var fuzzExceptions = []string{"InvalidParameterException", "InvalidPasswordException", "UsernameExistsException",
	"UserNotFoundException", "UserNotConfirmedException", "NotAuthorizedException", "CodeMismatchException",
	"ExpiredCodeException", "ResourceNotFoundException", "UnknownOperationException", "UnsupportedUserStateException"}

// fuzzCall sends one JSON API request to h, signed with the pool's admin
// credentials as an operator's tooling would sign it, so that the input,
// not the signature, decides the answer.
func fuzzCall(h http.Handler, op string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if err := sigv4.Sign(req, body, testCredentials, cognito.DefaultRegion, "cognito-idp", time.Now()); err != nil {
		panic(err) // static credentials always sign
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// fuzzMustCall calls op with in as its body and decodes a 200 answer into out.
func fuzzMustCall(tb testing.TB, h http.Handler, op string, in, out any) {
	tb.Helper()
	body, _ := json.Marshal(in)
	w := fuzzCall(h, op, body)
	if w.Code != http.StatusOK || (out != nil && json.Unmarshal(w.Body.Bytes(), out) != nil) {
		tb.Fatalf("%s: got %d %s", op, w.Code, w.Body)
	}
}

// fuzzOpenPool opens the pool in dir, quietly.
func fuzzOpenPool(tb testing.TB, dir string) *cognito.Pool {
	tb.Helper()
	p, err := cognito.New(cognito.Options{DataDir: dir, BaseURL: fuzzBaseURL, Groups: []string{"installers", "admins", "platform-admins"},
		WriteAttributes: []string{"email", "custom:tenant_id"}, AdminCredentials: testCredentials,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatalf("cognito.New: %v", err)
	}
	return p
}

// newFuzzPool prepares the data directory FuzzAPI copies for every input.
func newFuzzPool(f *testing.F) fuzzPool {
	fp := fuzzPool{dir: f.TempDir()}
	p := fuzzOpenPool(f, fp.dir)
	fp.poolID, fp.clientID = p.PoolID(), p.ClientID()
	if _, err := p.CreateConfirmedUser(context.Background(), cognito.NewUser{Username: fuzzUser, Password: fuzzPassword,
		Attributes: map[string]string{"email": "ana@acme.example", "email_verified": "true", "custom:tenant_id": "acme"},
		Groups:     []string{"installers"}}); err != nil {
		f.Fatal(err)
	}
	h := p.Handler()
	var auth struct {
		AuthenticationResult struct{ AccessToken, RefreshToken string }
	}
	fuzzMustCall(f, h, "InitiateAuth", map[string]any{"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": fp.clientID,
		"AuthParameters": map[string]string{"USERNAME": fuzzUser, "PASSWORD": fuzzPassword}}, &auth)
	fp.access, fp.refresh = auth.AuthenticationResult.AccessToken, auth.AuthenticationResult.RefreshToken
	fuzzMustCall(f, h, "SignUp", map[string]any{"ClientId": fp.clientID, "Username": fuzzPending, "Password": fuzzPassword,
		"UserAttributes": []map[string]string{{"Name": "email", "Value": "ben@acme.example"}}}, nil)
	var ok bool
	if fp.code, ok = p.ConfirmationCode(fuzzPending); !ok {
		f.Fatal("no confirmation code for the pending user")
	}
	return fp
}

// fuzzField decodes the member name of body into a T as the pool reads it:
// encoding/json matches member names regardless of case.
func fuzzField[T any](body []byte, name string) T {
	typ := reflect.StructOf([]reflect.StructField{{Name: "V", Type: reflect.TypeFor[T](), Tag: reflect.StructTag(`json:"` + name + `"`)}})
	v := reflect.New(typ)
	_ = json.Unmarshal(body, v.Interface())
	return v.Elem().Field(0).Interface().(T)
}

// FuzzAPI sends any operation name and body to the pool's JSON API, each
// input on a fresh copy of the same pool. @CLIENT@, @POOL@, @ACCESS@,
// @REFRESH@ and @CODE@ in the body stand for the app client ID, the pool ID,
// the signed-in user's access and refresh tokens and the pending user's
// sign-up code, so that inputs reach past the first check.
//
// Properties: every answer is 200 or a 400 shaped as Cognito's (a known
// exception name in __type and X-Amzn-ErrorType, and a message), never an
// internal error; a body that is not JSON is InvalidParameterException; an
// unknown operation is UnknownOperationException. A 200 needs the
// credentials the operation demands: the app client ID, the pool ID (admin
// operations), the genuine access or refresh token, the user's password, or
// the pending user's code. A sign-up never makes a confirmed user or a
// verified email address, whatever attributes it sends.
func FuzzAPI(f *testing.F) {
	fp := newFuzzPool(f)
	for _, s := range []struct{ op, body string }{
		{"SignUp", `{"ClientId":"@CLIENT@","Username":"cy","Password":"Passw0rdCy","UserAttributes":[{"Name":"email","Value":"cy@acme.example"}]}`},
		{"SignUp", `{"ClientId":"@CLIENT@","Username":"cy","Password":"Passw0rdCy","UserAttributes":[{"Name":"email","Value":"cy@acme.example"},{"Name":"email_verified","Value":"true"}]}`},
		{"SignUp", `{"ClientId":"@CLIENT@","Username":"cy","Password":"Passw0rdCy","UserAttributes":[{"Name":"email","Value":"cy@acme.example"},{"Name":"EMAIL_VERIFIED","Value":"true"}]}`},
		{"SignUp", `{"ClientId":"@CLIENT@","Username":"cy","Password":"Passw0rdCy","UserAttributes":[{"Name":"email","Value":"cy@acme.example"},{"Name":"cognito:user_status","Value":"CONFIRMED"}]}`},
		{"SignUp", `{"ClientId":"@CLIENT@","Username":"ANA","Password":"Passw0rdCy","UserAttributes":[{"Name":"email","Value":"ana@acme.example"}]}`},
		{"SignUp", `{"ClientId":"@CLIENT@","Username":"аna","Password":"Passw0rdCy","UserAttributes":[{"Name":"email","Value":"ana@acme.example"}]}`},
		{"SignUp", `{"clientid":"@CLIENT@","username":"cy","password":"Passw0rdCy","userattributes":[{"name":"email","value":"x@y"}],"Extra":1}`},
		{"SignUp", `{"ClientId":"@CLIENT@","Username":"cy","Password":"short","UserAttributes":[{"Name":"email","Value":"x'; DROP TABLE users;--@y"}]}`},
		{"SignUp", `{"ClientId":"@CLIENT@","Username":"cy\u0000","Password":"Passw0rdCy","UserAttributes":null}`},
		{"SignUp", `{"ClientId":"nope","Username":"cy","Password":"Passw0rdCy"}`},
		{"ConfirmSignUp", `{"ClientId":"@CLIENT@","Username":"ben","ConfirmationCode":"@CODE@"}`},
		{"ConfirmSignUp", `{"ClientId":"@CLIENT@","Username":"BEN","ConfirmationCode":"@CODE@ "}`},
		{"ConfirmSignUp", `{"ClientId":"@CLIENT@","Username":"ben","ConfirmationCode":"000000"}`},
		{"ConfirmSignUp", `{"ClientId":"@CLIENT@","Username":"ana","ConfirmationCode":"@CODE@"}`},
		{"ResendConfirmationCode", `{"ClientId":"@CLIENT@","Username":"ben"}`},
		{"ResendConfirmationCode", `{"ClientId":"@CLIENT@","Username":"nobody"}`},
		{"AdminConfirmSignUp", `{"UserPoolId":"@POOL@","Username":"ben"}`},
		{"AdminConfirmSignUp", `{"UserPoolId":"local-1_other","Username":"ben"}`},
		{"InitiateAuth", `{"AuthFlow":"USER_PASSWORD_AUTH","ClientId":"@CLIENT@","AuthParameters":{"USERNAME":"ana","PASSWORD":"Passw0rdFuzz"}}`},
		{"InitiateAuth", `{"AuthFlow":"USER_PASSWORD_AUTH","ClientId":"@CLIENT@","AuthParameters":{"USERNAME":"ANA","PASSWORD":"passw0rdfuzz"}}`},
		{"InitiateAuth", `{"AuthFlow":"USER_PASSWORD_AUTH","ClientId":"@CLIENT@","AuthParameters":{"USERNAME":"ben","PASSWORD":"Passw0rdFuzz"}}`},
		{"InitiateAuth", `{"AuthFlow":"REFRESH_TOKEN_AUTH","ClientId":"@CLIENT@","AuthParameters":{"REFRESH_TOKEN":"@REFRESH@"}}`},
		{"InitiateAuth", `{"AuthFlow":"REFRESH_TOKEN","ClientId":"@CLIENT@","AuthParameters":{"REFRESH_TOKEN":"@REFRESH@x"}}`},
		{"InitiateAuth", `{"AuthFlow":"ADMIN_NO_SRP_AUTH","ClientId":"@CLIENT@","AuthParameters":{"USERNAME":"ana"}}`},
		{"InitiateAuth", `{"AuthFlow":"USER_PASSWORD_AUTH","ClientId":"@CLIENT@","AuthParameters":{"USERNAME":"ana","PASSWORD":1}}`},
		{"GetUser", `{"AccessToken":"@ACCESS@"}`},
		{"GetUser", `{"AccessToken":"@ACCESS@x"}`},
		{"GetUser", `{"AccessToken":"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4IiwidG9rZW5fdXNlIjoiYWNjZXNzIn0."}`},
		{"GlobalSignOut", `{"AccessToken":"@ACCESS@"}`},
		{"AdminGetUser", `{"UserPoolId":"@POOL@","Username":"ana"}`},
		{"AdminAddUserToGroup", `{"UserPoolId":"@POOL@","Username":"ana","GroupName":"platform-admins"}`},
		{"AdminAddUserToGroup", `{"UserPoolId":"@POOL@","Username":"ana","GroupName":"root"}`},
		{"AdminRemoveUserFromGroup", `{"UserPoolId":"@POOL@","Username":"ana","GroupName":"installers"}`},
		{"AdminListGroupsForUser", `{"UserPoolId":"@POOL@","Username":"ana"}`},
		{"AdminUserGlobalSignOut", `{"UserPoolId":"@POOL@","Username":"ana"}`},
		{"AdminDeleteUser", `{"UserPoolId":"@POOL@","Username":"ana"}`},
		{"AdminCreateUser", `{"UserPoolId":"@POOL@","Username":"dee","UserAttributes":[{"Name":"email","Value":"dee@acme.example"},{"Name":"email_verified","Value":"true"}],"DesiredDeliveryMediums":["EMAIL"]}`},
		{"AdminCreateUser", `{"UserPoolId":"@POOL@","Username":"dee","TemporaryPassword":"Passw0rdDee","MessageAction":"SUPPRESS"}`},
		{"AdminCreateUser", `{"UserPoolId":"@POOL@","Username":"ana"}`},
		{"AdminCreateUser", `{"UserPoolId":"@POOL@","Username":"ben","MessageAction":"RESEND"}`},
		{"AdminCreateUser", `{"UserPoolId":"@POOL@","Username":"dee","UserAttributes":[{"Name":"sub","Value":"x"}]}`},
		{"AdminCreateUser", `{"UserPoolId":"@POOL@","Username":"dee","DesiredDeliveryMediums":"EMAIL"}`},
		{"RespondToAuthChallenge", `{"ClientId":"@CLIENT@","ChallengeName":"NEW_PASSWORD_REQUIRED","Session":"x","ChallengeResponses":{"USERNAME":"ana","NEW_PASSWORD":"Passw0rdNew"}}`},
		{"RespondToAuthChallenge", `{"ClientId":"@CLIENT@","ChallengeName":"SMS_MFA","Session":"x","ChallengeResponses":{"USERNAME":"ana"}}`},
		{"", `{}`}, {"signup", `{}`}, {"SignUp ", `{}`},
		{"GetUser", ``}, {"GetUser", `null`}, {"GetUser", `[]`}, {"GetUser", `{`}, {"GetUser", `"x"`}, {"GetUser", "\xff"},
		{"GetUser", `{"AccessToken":"@ACCESS@"} trailing`}, {"AdminGetUser", `{"UserPoolId":["@POOL@"],"Username":"ana"}`},
	} {
		f.Add(s.op, []byte(s.body))
	}

	placeholders := strings.NewReplacer("@CLIENT@", fp.clientID, "@POOL@", fp.poolID, "@ACCESS@", fp.access,
		"@REFRESH@", fp.refresh, "@CODE@", fp.code)
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		body = []byte(placeholders.Replace(string(body)))
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS(fp.dir)); err != nil {
			t.Fatalf("copy pool data: %v", err)
		}
		h := fuzzOpenPool(t, dir).Handler()

		w := fuzzCall(h, op, body)
		if w.Header().Get("Content-Type") != "application/x-amz-json-1.1" || w.Header().Get("X-Amzn-RequestId") == "" {
			t.Fatalf("%s: answer without Cognito's headers: %v", op, w.Header())
		}
		known := slices.Contains(fuzzOperations, op)
		if w.Code != http.StatusOK {
			var e struct{ Type, Message string }
			var raw map[string]string
			_ = json.Unmarshal(w.Body.Bytes(), &raw)
			e.Type, e.Message = raw["__type"], raw["message"]
			switch {
			case w.Code != http.StatusBadRequest || !slices.Contains(fuzzExceptions, e.Type) || e.Message == "" ||
				w.Header().Get("X-Amzn-ErrorType") != e.Type:
				t.Fatalf("%s %q: got %d %s %s, want a 400 with a known exception", op, body, w.Code, w.Header().Get("X-Amzn-ErrorType"), w.Body)
			case !known && e.Type != "UnknownOperationException":
				t.Fatalf("unknown operation %q answered %s", op, e.Type)
			case known && !json.Valid(body) && (e.Type != "InvalidParameterException" || e.Message != "The request body is not valid JSON."):
				t.Fatalf("%s: body %q is not JSON, got %s %q", op, body, e.Type, e.Message)
			}
			return
		}
		if !known || !json.Valid(body) {
			t.Fatalf("%s %q: got 200", op, body)
		}

		// What a 200 needs, read from the body as the pool reads it.
		str := func(name string) string { return fuzzField[string](body, name) }
		params := fuzzField[map[string]string](body, "AuthParameters")
		switch {
		case strings.HasPrefix(op, "Admin") && str("UserPoolId") != fp.poolID:
			t.Fatalf("%s succeeded for pool %q", op, str("UserPoolId"))
		case slices.Contains([]string{"SignUp", "ConfirmSignUp", "ResendConfirmationCode", "InitiateAuth"}, op) && str("ClientId") != fp.clientID:
			t.Fatalf("%s succeeded for client %q", op, str("ClientId"))
		case (op == "GetUser" || op == "GlobalSignOut") && str("AccessToken") != fp.access:
			t.Fatalf("%s succeeded with access token %q", op, str("AccessToken"))
		case op == "ConfirmSignUp" && (str("ConfirmationCode") != fp.code || strings.ToLower(str("Username")) != fuzzPending):
			t.Fatalf("ConfirmSignUp succeeded for %q with code %q", str("Username"), str("ConfirmationCode"))
		case op == "RespondToAuthChallenge":
			// No user of the seeded pool has a challenge to answer.
			t.Fatalf("RespondToAuthChallenge succeeded with %q", body)
		case op == "InitiateAuth" && params["REFRESH_TOKEN"] != fp.refresh &&
			(params["PASSWORD"] != fuzzPassword || strings.ToLower(params["USERNAME"]) != fuzzUser):
			t.Fatalf("InitiateAuth succeeded with %q", params)
		}
		if op == "AdminCreateUser" {
			var out struct {
				User struct{ Username, UserStatus string }
			}
			if json.Unmarshal(w.Body.Bytes(), &out) != nil || out.User.UserStatus != "FORCE_CHANGE_PASSWORD" {
				t.Fatalf("AdminCreateUser %q answered %s", body, w.Body)
			}
		}
		if op == "SignUp" {
			var out struct {
				UserConfirmed bool
				UserSub       string
			}
			if json.Unmarshal(w.Body.Bytes(), &out) != nil || out.UserConfirmed || out.UserSub == "" {
				t.Fatalf("SignUp answered %s", w.Body)
			}
			var user struct {
				UserStatus     string
				UserAttributes []struct{ Name, Value string }
			}
			fuzzMustCall(t, h, "AdminGetUser", map[string]string{"UserPoolId": fp.poolID, "Username": out.UserSub}, &user)
			for _, a := range user.UserAttributes {
				if a.Name == "email_verified" && a.Value != "false" {
					t.Fatalf("sign-up %q made email_verified %q", body, a.Value)
				}
			}
			if user.UserStatus != "UNCONFIRMED" {
				t.Fatalf("sign-up %q made a %s user", body, user.UserStatus)
			}
		}
	})
}
