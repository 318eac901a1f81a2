package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/fleetclaim/fleetclaim/infra/local/cognito"
	"github.com/fleetclaim/fleetclaim/shared/cognitosrp"
	"github.com/fleetclaim/fleetclaim/shared/cognitotrigger"
	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
)

func TestParseOptions(t *testing.T) {
	deployed := []string{"-email", "ops@example.com", "-tenant", "operators", "-user-pool-id", "eu-west-1_Ab12Cd34E", "-table", "t"}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "a deployment", args: deployed},
		{name: "the local stack", args: []string{"-email", "ops@example.com", "-tenant", "operators", "-local", "e.json"}},
		{name: "no email", args: deployed[2:], wantErr: "-email"},
		{name: "not an email", args: append([]string{"-email", "ops"}, deployed[2:]...), wantErr: "-email"},
		{name: "malformed tenant", args: append(slices.Clone(deployed[:2]), "-tenant", "Ops_1", "-user-pool-id", "p", "-table", "t"), wantErr: "-tenant"},
		{name: "no pool", args: deployed[:6], wantErr: "-user-pool-id and -table are required"},
		{name: "local and a pool", args: append(slices.Clone(deployed), "-local", "e.json"), wantErr: "-local takes"},
		{name: "blank tenant name", args: append(slices.Clone(deployed), "-tenant-name", " "), wantErr: "-tenant-name"},
		{name: "stray argument", args: append(slices.Clone(deployed), "now"), wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseOptions(tt.args, io.Discard)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("got %v, want success", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("got %v, want an error about %s", err, tt.wantErr)
			}
		})
	}
}

// The local stack's embedded store is the running stack's alone: the
// command says so, and what to do instead, rather than waiting on a lock.
func TestLocalEmbeddedStoreRefused(t *testing.T) {
	dir := t.TempDir()
	endpoints := filepath.Join(dir, "endpoints.json")
	if err := os.WriteFile(endpoints, []byte(`{"cognitoEndpoint":"http://127.0.0.1:1","region":"us-east-1","userPoolId":"us-east-1_x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(t.Context(), []string{"-email", "ops@example.com", "-tenant", "operators", "-local", endpoints}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-dynamodb-endpoint") || !strings.Contains(err.Error(), "-admin") {
		t.Fatalf("got %v, want the way out named", err)
	}
}

var operatorCredentials = aws.Credentials{AccessKeyID: "AKIAOPERATOR000001", SecretAccessKey: "operator-secret"}

// world is the Cognito stand-in, served on loopback and called through the
// SDK with the operator's signature, and an embedded store.
type world struct {
	pool  *cognito.Pool
	api   *cip.Client
	store fleetclaim.Store
	b     *bootstrap
	logs  *fleetclaimtest.LogBuffer // the pool's log
}

func newWorld(t *testing.T) *world {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	store := fleetclaimtest.OpenBolt(t)
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The deployed pool's pre-token trigger, over the same store: what a
	// platform admin's sign-in gets is what the command promises.
	preToken := &cognitotrigger.PreTokenGeneration{Enrollment: &fleetclaim.Enrollment{Installers: store, Tenants: store,
		Quotas: store, Audit: store, Now: time.Now, Log: discard}, Log: discard}
	logs := &fleetclaimtest.LogBuffer{}
	pool, err := cognito.New(cognito.Options{DataDir: t.TempDir(), BaseURL: "http://" + srv.Listener.Addr().String(),
		Groups: fleetclaim.PrivilegedGroups, SignInWithEmail: true, RequiredAttributes: []string{"email", "custom:tenant_id"},
		WriteAttributes: []string{"email", "custom:tenant_id"}, AdminCredentials: operatorCredentials,
		AuthFlows: config.AppClientAuthFlows(), PreTokenGeneration: preToken.Handle, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = pool.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	api := cip.New(cip.Options{Region: pool.Region(), BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.StaticCredentialsProvider{Value: operatorCredentials}, RetryMaxAttempts: 1})
	w := &world{pool: pool, api: api, store: store, logs: logs}
	w.b = &bootstrap{cognito: api, pool: pool.PoolID(), store: store,
		now: func() time.Time { return time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) }}
	return w
}

func (w *world) user(t *testing.T, email, tenant string) fleetclaim.InstallerID {
	t.Helper()
	sub, err := w.pool.CreateConfirmedUser(t.Context(), cognito.NewUser{Username: email, Password: "Operator-Pass-1",
		Attributes: map[string]string{"email": email, "email_verified": "true", "custom:tenant_id": tenant}})
	if err != nil {
		t.Fatal(err)
	}
	return fleetclaim.InstallerID(sub)
}

func (w *world) groups(t *testing.T, email string) []string {
	t.Helper()
	out, err := w.api.AdminListGroupsForUser(t.Context(), &cip.AdminListGroupsForUserInput{
		UserPoolId: aws.String(w.pool.PoolID()), Username: aws.String(email)})
	if err != nil {
		t.Fatal(err)
	}
	var gs []string
	for _, g := range out.Groups {
		gs = append(gs, aws.ToString(g.GroupName))
	}
	slices.Sort(gs)
	return gs
}

var allGroups = []string{fleetclaim.GroupAdmins, fleetclaim.GroupPlatformAdmins}

func TestMakePlatformAdmin(t *testing.T) {
	opts := options{email: "ops@operators.example", tenant: "operators", tenantName: "Platform operators"}
	t.Run("an existing user, twice", func(t *testing.T) {
		w := newWorld(t)
		sub := w.user(t, opts.email, "operators")
		for i := range 2 {
			var out bytes.Buffer
			if err := w.b.makePlatformAdmin(t.Context(), opts, &out); err != nil {
				t.Fatalf("run %d: %v", i+1, err)
			}
			if !strings.Contains(out.String(), "is a platform admin") || strings.Contains(out.String(), "user "+opts.email+" created") {
				t.Errorf("run %d printed %q", i+1, out.String())
			}
		}
		in, err := w.store.GetInstaller(t.Context(), sub)
		if err != nil || in.Status != fleetclaim.InstallerApproved || in.TenantID != "operators" {
			t.Fatalf("got installer %+v (%v), want approved in operators", in, err)
		}
		tn, err := w.store.GetTenant(t.Context(), "operators")
		if err != nil || tn.Status != fleetclaim.TenantActive || tn.Revision != 1 || tn.Name != "Platform operators" {
			t.Fatalf("got tenant %+v (%v), want operators created once", tn, err)
		}
		if got := w.groups(t, opts.email); !slices.Equal(got, allGroups) {
			t.Errorf("got groups %v, want %v", got, allGroups)
		}
	})
	t.Run("a pending installer of the tenant", func(t *testing.T) {
		w := newWorld(t)
		sub := w.user(t, opts.email, "operators")
		if err := w.store.CreateInstaller(t.Context(), fleetclaim.Installer{ID: sub, Username: string(sub), Email: opts.email,
			TenantID: "operators", Status: fleetclaim.InstallerPending, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := w.b.makePlatformAdmin(t.Context(), opts, io.Discard); err != nil {
			t.Fatal(err)
		}
		if in, _ := w.store.GetInstaller(t.Context(), sub); in.Status != fleetclaim.InstallerApproved {
			t.Errorf("got %s, want approved", in.Status)
		}
	})
	refusals := []struct {
		name, want string
		setup      func(t *testing.T, w *world, sub fleetclaim.InstallerID)
	}{
		{"an installer of another tenant", "-tenant acme", func(t *testing.T, w *world, sub fleetclaim.InstallerID) {
			if err := w.store.CreateInstaller(t.Context(), fleetclaim.Installer{ID: sub, Username: string(sub), Email: opts.email,
				TenantID: "acme", Status: fleetclaim.InstallerApproved, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}},
		{"a suspended tenant", "is suspended", func(t *testing.T, w *world, _ fleetclaim.InstallerID) {
			if err := w.store.PutTenant(t.Context(), fleetclaim.Tenant{ID: "operators", Name: "Ops", Status: fleetclaim.TenantSuspended}); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			sub := w.user(t, opts.email, "operators")
			tt.setup(t, w, sub)
			err := w.b.makePlatformAdmin(t.Context(), opts, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error saying %q", err, tt.want)
			}
			if got := w.groups(t, opts.email); len(got) != 0 {
				t.Errorf("a refused run added groups %v", got)
			}
		})
	}
	t.Run("no such user: created, and their first sign-in sets a password and opens the admin scope", func(t *testing.T) {
		w := newWorld(t)
		var out bytes.Buffer
		if err := w.b.makePlatformAdmin(t.Context(), opts, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "user "+opts.email+" created") {
			t.Errorf("printed %q, want it to say the user was created", out.String())
		}
		got, err := w.api.AdminGetUser(t.Context(), &cip.AdminGetUserInput{UserPoolId: aws.String(w.pool.PoolID()), Username: aws.String(opts.email)})
		if err != nil {
			t.Fatal(err)
		}
		attrs := map[string]string{}
		for _, a := range got.UserAttributes {
			attrs[aws.ToString(a.Name)] = aws.ToString(a.Value)
		}
		if got.UserStatus != ciptypes.UserStatusTypeForceChangePassword || attrs["email"] != opts.email ||
			attrs["email_verified"] != "true" || attrs["custom:tenant_id"] != "operators" {
			t.Fatalf("got user %s %v, want FORCE_CHANGE_PASSWORD with the address verified and the tenant", got.UserStatus, attrs)
		}
		// The invitation goes by email, to the verified address.
		if !strings.Contains(w.logs.String(), "Cognito would email the invitation") {
			t.Errorf("no invitation emailed; pool log:\n%s", w.logs.String())
		}
		in, err := w.store.GetInstaller(t.Context(), fleetclaim.InstallerID(attrs["sub"]))
		if err != nil || in.Status != fleetclaim.InstallerApproved || in.TenantID != "operators" {
			t.Fatalf("got installer %+v (%v), want approved in operators", in, err)
		}
		if got := w.groups(t, opts.email); !slices.Equal(got, allGroups) {
			t.Errorf("got groups %v, want %v", got, allGroups)
		}

		// The first sign-in: temporary password, NEW_PASSWORD_REQUIRED,
		// then a token from the pre-token trigger with the admin scope.
		temporary, ok := w.pool.TemporaryPassword(opts.email)
		if !ok {
			t.Fatal("no temporary password")
		}
		first, err := cognitosrp.SignIn(t.Context(), w.api, w.pool.PoolID(), w.pool.ClientID(), opts.email, temporary)
		if err != nil || first.ChallengeName != ciptypes.ChallengeNameTypeNewPasswordRequired {
			t.Fatalf("first sign-in: got %+v, %v; want NEW_PASSWORD_REQUIRED", first, err)
		}
		done, err := cognitosrp.NewPassword(t.Context(), w.api, w.pool.ClientID(), first, "Operator-Pass-2", nil)
		if err != nil {
			t.Fatalf("new password: %v", err)
		}
		claims := tokenClaims(t, aws.ToString(done.AuthenticationResult.AccessToken))
		scopes := strings.Fields(fmt.Sprint(claims["scope"]))
		if !slices.Contains(scopes, fleetclaim.ScopeAdmin) || claims["tenant_id"] != "operators" || claims["tenant_status"] != "active" {
			t.Errorf("got access token claims %v, want the admin scope in the active tenant operators", claims)
		}
	})
	t.Run("Cognito down", func(t *testing.T) {
		w := newWorld(t)
		down := httptest.NewServer(nil)
		down.Close()
		w.b.cognito = cip.New(cip.Options{Region: w.pool.Region(), BaseEndpoint: aws.String(down.URL),
			Credentials: credentials.StaticCredentialsProvider{Value: operatorCredentials}, RetryMaxAttempts: 1})
		if err := w.b.makePlatformAdmin(t.Context(), opts, io.Discard); err == nil || !strings.Contains(err.Error(), "find user") {
			t.Fatalf("got %v, want the failed look-up reported", err)
		}
		if _, err := w.store.GetTenant(t.Context(), "operators"); err != nil {
			t.Errorf("tenant: %v (it is made before Cognito is asked, and stays)", err)
		}
	})
}

// tokenClaims decodes a JWT's claims; the stand-in's own tests check its
// signatures.
func tokenClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("got token %q, want a JWT", token)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}
