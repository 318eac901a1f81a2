// Command fleetclaim-admin makes a platform admin: the first one of a new
// deployment, or another later. With the operator's AWS credentials (the
// SDK's default chain: environment, ~/.aws, SSO, instance role) it
//
//   - creates the platform admins' own tenant if it does not exist (a
//     tenant of their own, so that no customer's admin can suspend them);
//   - finds the Cognito user with the email address, or creates it
//     (AdminCreateUser: Cognito emails a temporary password, which the
//     first sign-in replaces by answering NEW_PASSWORD_REQUIRED);
//   - records the user as an approved installer of that tenant in the
//     table, and adds them to the admins and platform-admins groups (the
//     groups the admin scope comes from; approval is the record).
//
// Running it again changes nothing. Against a deployment:
//
//	go run ./infra/admin -email ops@example.com -tenant operators \
//	    -user-pool-id eu-west-1_Ab12Cd34E -table <TableName output> -region eu-west-1
//
// Against the local stack (started with -dynamodb-endpoint: its embedded
// store is a file the running stack holds open):
//
//	go run ./infra/admin -email ops@example.com -tenant operators -local .local/endpoints.json
//
// It takes the pool, region, table, endpoints and the operator's IAM
// credentials from the stack's endpoints.json and credentials.json, and
// signs its calls with them as it does in AWS.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/fleetclaim/fleetclaim/shared/awsenv"
	"github.com/fleetclaim/fleetclaim/shared/dynamostore"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "fleetclaim-admin:", err)
		}
		os.Exit(2)
	}
}

// options are the command's flags.
type options struct {
	email, tenant, tenantName string
	userPoolID, table, region string
	local                     string
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("fleetclaim-admin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: fleetclaim-admin -email ADDRESS -tenant ID (-user-pool-id ID -table NAME [-region R] | -local FILE)

Makes ADDRESS a platform admin of the deployment: an approved installer of
tenant ID (created if missing), in the admins and platform-admins
groups. The user is created, with an emailed temporary
password, if the pool has no user with that address. Running it again
changes nothing. AWS credentials come from the SDK's default chain.

`)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.email, "email", "", "the platform admin's email address (their sign-in name)")
	fs.StringVar(&o.tenant, "tenant", "", "the platform admins' own tenant, created if missing (a-z, 0-9, '-')")
	fs.StringVar(&o.tenantName, "tenant-name", "Platform operators", "the display name of a tenant this creates")
	fs.StringVar(&o.userPoolID, "user-pool-id", "", "the UserPoolId output of the deployed stack")
	fs.StringVar(&o.table, "table", "", "the TableName output of the deployed stack")
	fs.StringVar(&o.region, "region", "", "the deployment's AWS Region (default: AWS_REGION or the profile's)")
	fs.StringVar(&o.local, "local", "", "the endpoints.json of a running local stack, instead of a deployment")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	if fleetclaim.EmailDomain(o.email) == "" {
		errs = append(errs, errors.New("-email: want an email address"))
	}
	if err := fleetclaim.ValidateTenantID(fleetclaim.TenantID(o.tenant)); err != nil {
		errs = append(errs, errors.New("-tenant: want 1 to 32 of a-z, 0-9 and '-'"))
	}
	if err := fleetclaim.ValidateTenantName(o.tenantName); err != nil {
		errs = append(errs, fmt.Errorf("-tenant-name: %s", fleetclaim.ErrorOf(err).Message))
	}
	switch {
	case o.local != "" && (o.userPoolID != "" || o.table != "" || o.region != ""):
		errs = append(errs, errors.New("-local takes the pool, table and region from the stack; give none of them"))
	case o.local == "" && (o.userPoolID == "" || o.table == ""):
		errs = append(errs, errors.New("-user-pool-id and -table are required (the stack's UserPoolId and TableName outputs), or -local"))
	}
	return o, errors.Join(errs...)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	b, err := connect(ctx, o)
	if err != nil {
		return err
	}
	return b.makePlatformAdmin(ctx, o, stdout)
}

// cognitoAPI is what the command asks of Cognito.
type cognitoAPI interface {
	AdminAddUserToGroup(ctx context.Context, in *cip.AdminAddUserToGroupInput, opts ...func(*cip.Options)) (*cip.AdminAddUserToGroupOutput, error)
	AdminGetUser(ctx context.Context, in *cip.AdminGetUserInput, opts ...func(*cip.Options)) (*cip.AdminGetUserOutput, error)
	AdminCreateUser(ctx context.Context, in *cip.AdminCreateUserInput, opts ...func(*cip.Options)) (*cip.AdminCreateUserOutput, error)
}

// bootstrap holds the clients of one run.
type bootstrap struct {
	cognito cognitoAPI
	pool    string
	store   fleetclaim.Store
	now     func() time.Time
}

// localEndpoints is the part of the local stack's endpoints.json (and the
// credentials file it names) the command reads.
type localEndpoints struct {
	CognitoEndpoint  string `json:"cognitoEndpoint"`
	Region           string `json:"region"`
	UserPoolID       string `json:"userPoolId"`
	CredentialsFile  string `json:"credentialsFile"`
	DynamoDBEndpoint string `json:"dynamodbEndpoint"`
	TableName        string `json:"tableName"`
}

type localCredentials struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path) // #nosec G304 -- a file the operator names
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// connect builds the clients: the SDK's default chain for a deployment, the
// stack's own files for the local stack.
func connect(ctx context.Context, o options) (*bootstrap, error) {
	b := &bootstrap{now: time.Now}
	if o.local == "" {
		cfg, err := awsenv.Load(ctx)
		if err != nil {
			return nil, err
		}
		if o.region != "" {
			cfg.Region = o.region
		}
		if cfg.Region == "" {
			return nil, errors.New("no AWS Region: give -region or set AWS_REGION")
		}
		b.cognito, b.pool = awsenv.Cognito(cfg, ""), o.userPoolID
		b.store = dynamostore.New(awsenv.DynamoDB(cfg, ""), o.table)
		return b, nil
	}
	var e localEndpoints
	if err := readJSON(o.local, &e); err != nil {
		return nil, fmt.Errorf("%w (is the local stack running?)", err)
	}
	if e.DynamoDBEndpoint == "" || e.TableName == "" {
		return nil, errors.New("the local stack keeps its records in an embedded file that it holds open: " +
			"start it with -dynamodb-endpoint, or make the admin with its own -admin email:password:tenant:platform flag")
	}
	var c localCredentials
	if err := readJSON(e.CredentialsFile, &c); err != nil {
		return nil, fmt.Errorf("operator credentials: %w", err)
	}
	cfg := awsenv.Local(e.Region)
	cfg.Credentials = credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, "")
	b.cognito, b.pool = awsenv.Cognito(cfg, e.CognitoEndpoint), e.UserPoolID
	b.store = dynamostore.New(awsenv.DynamoDB(awsenv.Local(e.Region), e.DynamoDBEndpoint), e.TableName)
	return b, nil
}

// makePlatformAdmin does the command's work; every step is idempotent.
func (b *bootstrap) makePlatformAdmin(ctx context.Context, o options, out io.Writer) error {
	tenant := fleetclaim.TenantID(o.tenant)
	now := b.now().UTC()
	t, err := b.store.GetTenant(ctx, tenant)
	switch {
	case errors.Is(err, fleetclaim.ErrNotFound):
		t = fleetclaim.Tenant{ID: tenant, Name: o.tenantName, Status: fleetclaim.TenantActive, Revision: 1, CreatedAt: now, UpdatedAt: now}
		if err := b.store.CreateTenant(ctx, t); err != nil && !errors.Is(err, fleetclaim.ErrConflict) {
			return fmt.Errorf("create tenant %s: %w", tenant, err)
		}
		fmt.Fprintf(out, "tenant %s created\n", tenant)
	case err != nil:
		return fmt.Errorf("read tenant %s: %w", tenant, err)
	case t.Status != fleetclaim.TenantActive:
		return fmt.Errorf("tenant %s is %s: its members cannot sign in; reactivate it or choose another", tenant, t.Status)
	}

	user, created, err := b.findOrCreateUser(ctx, o.email, tenant)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(out, "user %s created; Cognito emails them a temporary password\n", o.email)
	}

	in, err := b.store.GetInstaller(ctx, user.sub)
	switch {
	case errors.Is(err, fleetclaim.ErrNotFound):
		in = fleetclaim.Installer{ID: user.sub, Username: user.username, Email: o.email, TenantID: tenant,
			Status: fleetclaim.InstallerApproved, CreatedAt: now, UpdatedAt: now}
		if err := b.store.CreateInstaller(ctx, in); err != nil {
			return fmt.Errorf("record installer %s: %w", user.sub, err)
		}
	case err != nil:
		return fmt.Errorf("read installer %s: %w", user.sub, err)
	case in.TenantID != tenant:
		return fmt.Errorf("%s is an installer of tenant %s, not %s: run again with -tenant %s", o.email, in.TenantID, tenant, in.TenantID)
	case in.Status != fleetclaim.InstallerApproved:
		if _, err := b.store.SetInstallerStatus(ctx, in.ID, []fleetclaim.InstallerStatus{fleetclaim.InstallerPending,
			fleetclaim.InstallerSuspended}, fleetclaim.InstallerApproved, now, ""); err != nil {
			return fmt.Errorf("approve installer %s: %w", user.sub, err)
		}
	}
	// Adding a member again is a no-op in Cognito.
	for _, g := range []string{fleetclaim.GroupAdmins, fleetclaim.GroupPlatformAdmins} {
		if _, err := b.cognito.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: aws.String(b.pool),
			Username: aws.String(user.username), GroupName: aws.String(g)}); err != nil {
			return fmt.Errorf("add %s to group %s: %w", o.email, g, err)
		}
	}
	if err := b.store.AppendAudit(ctx, fleetclaim.AuditEvent{TenantID: tenant, ID: eventID(now), At: now,
		Action: fleetclaim.ActionInstallerApproved, Subject: string(user.sub),
		Detail: "made a platform admin by the operator (fleetclaim-admin)"}); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	fmt.Fprintf(out, "%s (%s) is a platform admin, in tenant %s; their next sign-in gets a token with the admin scope\n",
		o.email, user.sub, tenant)
	return nil
}

type cognitoUser struct {
	username string
	sub      fleetclaim.InstallerID
}

func (b *bootstrap) findOrCreateUser(ctx context.Context, email string, tenant fleetclaim.TenantID) (cognitoUser, bool, error) {
	got, err := b.cognito.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(b.pool), Username: aws.String(email)})
	var notFound *ciptypes.UserNotFoundException
	switch {
	case err == nil:
		return userOf(aws.ToString(got.Username), got.UserAttributes)
	case !errors.As(err, &notFound):
		return cognitoUser{}, false, fmt.Errorf("find user %s: %w", email, err)
	}
	made, err := b.cognito.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId: aws.String(b.pool), Username: aws.String(email),
		DesiredDeliveryMediums: []ciptypes.DeliveryMediumType{ciptypes.DeliveryMediumTypeEmail},
		UserAttributes: []ciptypes.AttributeType{
			{Name: aws.String("email"), Value: aws.String(email)},
			{Name: aws.String("email_verified"), Value: aws.String("true")},
			{Name: aws.String("custom:tenant_id"), Value: aws.String(string(tenant))},
		},
	})
	if err != nil {
		return cognitoUser{}, false, fmt.Errorf("create user %s: %w", email, err)
	}
	u, _, err := userOf(aws.ToString(made.User.Username), made.User.Attributes)
	return u, true, err
}

func userOf(username string, attrs []ciptypes.AttributeType) (cognitoUser, bool, error) {
	u := cognitoUser{username: username}
	for _, a := range attrs {
		if aws.ToString(a.Name) == "sub" {
			u.sub = fleetclaim.InstallerID(strings.ToLower(aws.ToString(a.Value)))
		}
	}
	if err := fleetclaim.ValidateInstallerID(u.sub); err != nil {
		return u, false, fmt.Errorf("user %s has no valid sub attribute", username)
	}
	return u, false, nil
}

// eventID is an audit event ID as the domain makes them: the time, then
// random bits.
func eventID(at time.Time) string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return at.UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(b[:])
}
