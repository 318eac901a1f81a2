package main

import (
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// tenantAttribute is the custom attribute an installer names their tenant
// with at sign-up; Cognito presents it as "custom:tenant_id".
const tenantAttribute = "tenant_id"

// auth is the user pool and the installer app's client.
type auth struct {
	pool   awscognito.UserPool
	client awscognito.UserPoolClient
}

// newAuth creates the user pool with its groups, resource server, installer
// app client and the two triggers.
func newAuth(stack awscdk.Stack, s Settings, postConfirm, preToken awslambda.Function) auth {
	pool := awscognito.NewUserPool(stack, jsii.String("UserPool"), &awscognito.UserPoolProps{
		UserPoolName:      jsii.String("fleetclaim-" + s.Stage),
		SelfSignUpEnabled: jsii.Bool(true),
		SignInAliases:     &awscognito.SignInAliases{Email: jsii.Bool(true)},
		// Ana@Acme.example and ana@acme.example are one user, not two
		// accounts (and two installer records) for one mailbox. Cognito
		// fixes this when the pool is created: an existing case-sensitive
		// pool must be replaced (DEPLOY.md).
		SignInCaseSensitive: jsii.Bool(false),
		AutoVerify:          &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		// A changed address takes effect only once verified, so nobody can
		// switch to an auto-approved domain they cannot read mail for.
		KeepOriginal: &awscognito.KeepOriginalAttrs{Email: jsii.Bool(true)},
		StandardAttributes: &awscognito.StandardAttributes{
			Email: &awscognito.StandardAttribute{Required: jsii.Bool(true), Mutable: jsii.Bool(true)},
		},
		CustomAttributes: &map[string]awscognito.ICustomAttribute{
			// Chosen once, at sign-up: moving an installer between tenants
			// is a new account, not an attribute edit.
			tenantAttribute: awscognito.NewStringAttribute(&awscognito.StringAttributeProps{
				MinLen:  jsii.Number(1),
				MaxLen:  jsii.Number(fleetclaim.MaxTenantIDLength),
				Mutable: jsii.Bool(false),
			}),
		},
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength:            jsii.Number(12),
			RequireLowercase:     jsii.Bool(true),
			RequireUppercase:     jsii.Bool(true),
			RequireDigits:        jsii.Bool(true),
			RequireSymbols:       jsii.Bool(true),
			PasswordHistorySize:  jsii.Number(5),
			TempPasswordValidity: awscdk.Duration_Days(jsii.Number(3)),
		},
		// App-based TOTP only: installers work on site, often with poor
		// signal, so SMS is out. Required in prod (settings: mfa), because
		// admins approve installers and the pre-token event does not say
		// whether a user has MFA, so the trigger cannot require it of
		// admins alone.
		Mfa:             mfaMode(s),
		MfaSecondFactor: &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		AccountRecovery: awscognito.AccountRecovery_EMAIL_ONLY,
		UserVerification: &awscognito.UserVerificationConfig{
			EmailStyle:   awscognito.VerificationEmailStyle_CODE,
			EmailSubject: jsii.String("Your fleetclaim verification code"),
			EmailBody:    jsii.String("Your fleetclaim verification code is {####}."),
		},
		// Essentials: the V2_0 pre-token event, which customizes access
		// tokens (scopes), needs it; Lite offers only ID-token changes.
		FeaturePlan:        awscognito.FeaturePlan_ESSENTIALS,
		DeletionProtection: jsii.Bool(s.RetainData),
		RemovalPolicy:      removalPolicy(s),
	})
	pool.AddTrigger(awscognito.UserPoolOperation_POST_CONFIRMATION(), postConfirm, awscognito.LambdaVersion_V1_0)
	pool.AddTrigger(awscognito.UserPoolOperation_PRE_TOKEN_GENERATION_CONFIG(), preToken, awscognito.LambdaVersion_V2_0)

	// Neither trigger calls Cognito: approval is the installer record, and
	// no group stands for it, so no role may write group membership.
	for _, g := range []struct {
		name, description string
		precedence        float64
	}{
		{fleetclaim.GroupPlatformAdmins, "Operators: administer every tenant", 0},
		{fleetclaim.GroupAdmins, "Tenant administrators: approve and suspend their tenant's installers", 1},
	} {
		pool.AddGroup(jsii.String("Group-"+g.name), &awscognito.UserPoolGroupOptions{
			GroupName:   jsii.String(g.name),
			Description: jsii.String(g.description),
			Precedence:  jsii.Number(g.precedence),
		})
	}

	claimsScope := resourceServerScope(fleetclaim.ScopeClaims, "Request and manage provisioning claims and devices")
	adminScope := resourceServerScope(fleetclaim.ScopeAdmin, "Administer a tenant's installers and read its audit log")
	server := pool.AddResourceServer(jsii.String("ResourceServer"), &awscognito.UserPoolResourceServerOptions{
		Identifier: jsii.String(fleetclaim.ResourceServer),
		Scopes:     &[]awscognito.ResourceServerScope{claimsScope, adminScope},
	})

	// The installer app is public (a phone or browser app): no secret.
	// Tokens live an hour, so a suspension bites within the hour even
	// without the global sign-out the admin routes also perform.
	client := pool.AddClient(jsii.String("InstallerApp"), &awscognito.UserPoolClientOptions{
		UserPoolClientName: jsii.String("fleetclaim-installer-app"),
		GenerateSecret:     jsii.Bool(false),
		AuthFlows:          appClientAuthFlows(),
		// Revocation rather than rotation: rotation replaces the
		// REFRESH_TOKEN_AUTH flow, which the app and the local stack use.
		EnableTokenRevocation:      jsii.Bool(true),
		PreventUserExistenceErrors: jsii.Bool(true),
		// The local stack's Cognito stand-in defaults to the same values.
		AccessTokenValidity:  awscdk.Duration_Minutes(jsii.Number(fleetclaim.AccessTokenValidity.Minutes())),
		IdTokenValidity:      awscdk.Duration_Minutes(jsii.Number(fleetclaim.IDTokenValidity.Minutes())),
		RefreshTokenValidity: awscdk.Duration_Minutes(jsii.Number(fleetclaim.RefreshTokenValidity.Minutes())),
		// The code grant only (never implicit), for a hosted sign-in page
		// should one be added. Either way the pre-token trigger decides:
		// it adds the custom scopes for approved installers and strips them
		// from everyone else's access tokens.
		OAuth: &awscognito.OAuthSettings{
			Flows: &awscognito.OAuthFlows{AuthorizationCodeGrant: jsii.Bool(true)},
			Scopes: &[]awscognito.OAuthScope{
				awscognito.OAuthScope_OPENID(),
				awscognito.OAuthScope_EMAIL(),
				awscognito.OAuthScope_ResourceServer(server, claimsScope),
				awscognito.OAuthScope_ResourceServer(server, adminScope),
			},
			CallbackUrls: jsii.Strings(s.AllowedOrigin + "/"),
			LogoutUrls:   jsii.Strings(s.AllowedOrigin + "/"),
		},
		ReadAttributes: awscognito.NewClientAttributes().
			WithStandardAttributes(&awscognito.StandardAttributesMask{Email: jsii.Bool(true), EmailVerified: jsii.Bool(true)}).
			WithCustomAttributes(jsii.String(tenantAttribute)),
		// email_verified is deliberately not writable: only Cognito's code
		// check may set it, and auto-approval trusts it.
		WriteAttributes: awscognito.NewClientAttributes().
			WithStandardAttributes(&awscognito.StandardAttributesMask{Email: jsii.Bool(true)}).
			WithCustomAttributes(jsii.String(tenantAttribute)),
	})

	if s.MFA != mfaRequired {
		cdknag.NagSuppressions_AddResourceSuppressions(pool, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-COG2"),
			Reason: jsii.String("MFA is optional (TOTP) in this stage by its settings (mfa); prod requires it. " +
				"Installers' tokens only allow claims for their own tenant, bound to one serial and valid minutes"),
		}}, jsii.Bool(false))
	}
	cdknag.NagSuppressions_AddResourceSuppressions(pool, &[]*cdknag.NagPackSuppression{
		{
			Id: jsii.String("AwsSolutions-COG3"),
			Reason: jsii.String("Threat protection (advanced security) needs the Plus feature plan, billed per " +
				"active user; Essentials is what the V2_0 pre-token trigger requires. Enable Plus per deployment if wanted"),
		},
	}, jsii.Bool(false))
	return auth{pool: pool, client: client}
}

// resourceServerScope is a fleetclaim scope as the resource server declares
// it: by its name after the "<server>/" prefix.
func resourceServerScope(scope, description string) awscognito.ResourceServerScope {
	return awscognito.NewResourceServerScope(&awscognito.ResourceServerScopeProps{
		ScopeName:        jsii.String(strings.TrimPrefix(scope, fleetclaim.ResourceServer+"/")),
		ScopeDescription: jsii.String(description),
	})
}

// appClientAuthFlows is config.AppClientAuthFlows, the list the local
// stack's Cognito stand-in also allows, in the CDK's terms; the CDK adds
// ALLOW_REFRESH_TOKEN_AUTH to any client itself. The synth test checks that
// the client allows exactly the list, so a flow added to it without a case
// here fails there.
func appClientAuthFlows() *awscognito.AuthFlow {
	flows := config.AppClientAuthFlows()
	return &awscognito.AuthFlow{
		UserSrp:      jsii.Bool(slices.Contains(flows, "USER_SRP_AUTH")),
		UserPassword: jsii.Bool(slices.Contains(flows, "USER_PASSWORD_AUTH")),
	}
}

// mfaMode is the pool's MFA setting for the stage.
func mfaMode(s Settings) awscognito.Mfa {
	if s.MFA == mfaRequired {
		return awscognito.Mfa_REQUIRED
	}
	return awscognito.Mfa_OPTIONAL
}
