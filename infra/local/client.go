package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/fleetclaim/fleetclaim/shared/awsenv"
	"github.com/fleetclaim/fleetclaim/shared/cognitosrp"
)

// installer is an installer app: it signs in with an unmodified Cognito SDK
// client and calls the API with the access token, as a real app would.
type installer struct {
	email, password string
	e               Endpoints
	cognito         *cip.Client
	http            *http.Client
	access, refresh string
}

func newInstaller(e Endpoints, email, password string) *installer {
	return &installer{email: email, password: password, e: e,
		cognito: awsenv.Cognito(awsenv.Local(e.Region), e.CognitoEndpoint),
		http:    &http.Client{Timeout: 15 * time.Second}}
}

// signUp registers the user for tenant and confirms them the way an
// operator's tooling would (AdminConfirmSignUp), which runs the
// post-confirmation trigger. An admin's confirmation does not verify the
// email address, so it never leads to auto-approval.
func (in *installer) signUp(ctx context.Context, tenant string) error {
	if err := in.register(ctx, tenant); err != nil {
		return err
	}
	// AdminConfirmSignUp is for IAM principals: the operator's credentials.
	sdk := awsenv.Local(in.e.Region)
	sdk.Credentials = credentials.StaticCredentialsProvider{Value: in.e.operator}
	_, err := awsenv.Cognito(sdk, in.e.CognitoEndpoint).AdminConfirmSignUp(ctx, &cip.AdminConfirmSignUpInput{
		UserPoolId: aws.String(in.e.UserPoolID), Username: aws.String(in.email)})
	if err != nil {
		return fmt.Errorf("confirm: %w", err)
	}
	return nil
}

// register is Cognito SignUp alone; the user must then confirm.
func (in *installer) register(ctx context.Context, tenant string) error {
	_, err := in.cognito.SignUp(ctx, &cip.SignUpInput{
		ClientId: aws.String(in.e.ClientID), Username: aws.String(in.email), Password: aws.String(in.password),
		UserAttributes: []types.AttributeType{
			{Name: aws.String("email"), Value: aws.String(in.email)},
			{Name: aws.String("custom:tenant_id"), Value: aws.String(tenant)},
		},
	})
	if err != nil {
		return fmt.Errorf("sign up: %w", err)
	}
	return nil
}

// confirm is ConfirmSignUp with the code Cognito emailed (the local stack
// logs it), which verifies the email address.
func (in *installer) confirm(ctx context.Context, code string) error {
	_, err := in.cognito.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{
		ClientId: aws.String(in.e.ClientID), Username: aws.String(in.email), ConfirmationCode: aws.String(code)})
	if err != nil {
		return fmt.Errorf("confirm: %w", err)
	}
	return nil
}

// signIn signs in with SRP, as the console does: the app client allows no
// flow that sends Cognito the password.
func (in *installer) signIn(ctx context.Context) error {
	out, err := cognitosrp.SignIn(ctx, in.cognito, in.e.UserPoolID, in.e.ClientID, in.email, in.password)
	if err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	if out.AuthenticationResult == nil {
		return fmt.Errorf("sign in: got challenge %s, want tokens", out.ChallengeName)
	}
	in.access, in.refresh = aws.ToString(out.AuthenticationResult.AccessToken), aws.ToString(out.AuthenticationResult.RefreshToken)
	return nil
}

// refreshTokens gets a new access token, which the pre-token trigger fills
// from the installer's record as it is now.
func (in *installer) refreshTokens(ctx context.Context) error {
	out, err := in.cognito.InitiateAuth(ctx, &cip.InitiateAuthInput{
		ClientId: aws.String(in.e.ClientID), AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
		AuthParameters: map[string]string{"REFRESH_TOKEN": in.refresh},
	})
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	in.access = aws.ToString(out.AuthenticationResult.AccessToken)
	return nil
}

// tokenClaims decodes the access token's payload for display; the API
// verifies it, this only reads it.
func (in *installer) tokenClaims() map[string]any {
	parts := strings.Split(in.access, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// apiError is a problem document the API answered with.
type apiError struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Detail) }

// call sends one API request and decodes a 2xx answer into out; any other
// answer is an *apiError.
func (in *installer) call(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, in.e.APIURL+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+in.access)
	req.Header.Set("Content-Type", "application/json")
	resp, err := in.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		e := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(b, e) != nil || e.Code == "" {
			e.Detail = strings.TrimSpace(string(b))
		}
		e.Status = resp.StatusCode
		return e
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// The API's JSON, as far as the demo and the tests read it.
type claimJSON struct {
	ClaimID        string          `json:"claimId"`
	Status         string          `json:"status"`
	Reason         string          `json:"reason"`
	SerialNumber   string          `json:"serialNumber"`
	ThingName      string          `json:"thingName"`
	TemplateName   string          `json:"templateName"`
	ExpiresAt      time.Time       `json:"expiresAt"`
	CertificatePEM string          `json:"certificatePem"`
	PrivateKey     string          `json:"privateKey"`
	IoTEndpoint    string          `json:"iotEndpoint"`
	Device         json.RawMessage `json:"device"`
}

type installerJSON struct {
	InstallerID string `json:"installerId"`
	Email       string `json:"email"`
	Status      string `json:"status"`
}

type deviceJSON struct {
	SerialNumber  string    `json:"serialNumber"`
	ThingName     string    `json:"thingName"`
	InstallerID   string    `json:"installerId"`
	CertificateID string    `json:"certificateId"`
	State         string    `json:"state"`
	Overdue       bool      `json:"overdue"`
	OnlineAt      time.Time `json:"onlineAt"`
}

// awaitOnline polls GET /devices/{serial} until the device is online: AWS
// IoT's presence event reaches the API a moment after the connection.
func (in *installer) awaitOnline(ctx context.Context, serial string) (deviceJSON, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var d deviceJSON
		if err := in.call(ctx, "GET", "/devices/"+serial, nil, &d); err != nil {
			return d, err
		}
		if d.State == "online" {
			return d, nil
		}
		select {
		case <-ctx.Done():
			return d, fmt.Errorf("GET /devices/%s: still %s (overdue %v) when the demo timed out, want online", serial, d.State, d.Overdue)
		case <-tick.C:
		}
	}
}

type listJSON[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor"`
}

// findInstaller pages through the tenant's installers for email.
func (in *installer) findInstaller(ctx context.Context, email string) (installerJSON, error) {
	cursor := ""
	for {
		var page listJSON[installerJSON]
		path := "/installers?limit=100"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		if err := in.call(ctx, "GET", path, nil, &page); err != nil {
			return installerJSON{}, err
		}
		for _, it := range page.Items {
			if strings.EqualFold(it.Email, email) {
				return it, nil
			}
		}
		if page.NextCursor == "" {
			return installerJSON{}, fmt.Errorf("installer %s not listed", email)
		}
		cursor = page.NextCursor
	}
}
