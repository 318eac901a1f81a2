package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/fleetclaim/fleetclaim/infra/local/cognito"
	"github.com/fleetclaim/fleetclaim/infra/local/gateway"
	"github.com/fleetclaim/fleetclaim/infra/local/iot"
	"github.com/fleetclaim/fleetclaim/shared/apigw"
	"github.com/fleetclaim/fleetclaim/shared/app"
	"github.com/fleetclaim/fleetclaim/shared/awsenv"
	"github.com/fleetclaim/fleetclaim/shared/boltstore"
	"github.com/fleetclaim/fleetclaim/shared/cognitoadmin"
	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/console"
	"github.com/fleetclaim/fleetclaim/shared/dynamostore"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/iotclaims"
	"github.com/fleetclaim/fleetclaim/shared/iotpresence"
	"github.com/fleetclaim/fleetclaim/shared/metrics"
)

// metricsNamespace labels the local stack's metrics page, as a stage's
// namespace labels a deployment's metrics in CloudWatch.
const metricsNamespace = metrics.DefaultNamespace + "/local"

// region labels the local pool and ARNs. Clients must use it as their SDK
// region; nothing is sent to AWS, whatever it says.
const region = "us-east-1"

// Endpoints is what a client needs to reach the local stack; it is printed
// at start and written to <data-dir>/endpoints.json.
type Endpoints struct {
	APIURL          string `json:"apiUrl"`
	OpenAPIURL      string `json:"openApiUrl"`
	MetricsURL      string `json:"metricsUrl"` // metrics.Page: what the functions would publish, since this start
	CognitoEndpoint string `json:"cognitoEndpoint"`
	Region          string `json:"region"`
	UserPoolID      string `json:"userPoolId"`
	ClientID        string `json:"clientId"`
	Issuer          string `json:"issuer"`
	IoTEndpoint     string `json:"iotEndpoint"`
	MQTTEndpoint    string `json:"mqttEndpoint"`
	CAFile          string `json:"caFile"`
	TemplateName    string `json:"templateName"`
	// CredentialsFile holds the IAM credentials of this run (credentialsJSON),
	// which Cognito's Admin* calls and the AWS IoT control plane require.
	CredentialsFile string `json:"credentialsFile"`
	DataDir         string `json:"dataDir"`
	// DynamoDBEndpoint and TableName are the store, when the stack keeps
	// its records in DynamoDB (-dynamodb-endpoint), for operator tools
	// such as infra/admin; the embedded store is the stack's alone.
	DynamoDBEndpoint string `json:"dynamodbEndpoint,omitempty"`
	TableName        string `json:"tableName,omitempty"`

	// ConsoleURL is the installer and admin console, served by the stack.
	ConsoleURL string `json:"consoleUrl"`

	// PID is the stack's process, for tools on this machine that measure
	// it (fleetclaim-local load reads its CPU time).
	PID int `json:"pid"`

	// operator are the credentials in CredentialsFile, as Start made them
	// or readEndpoints read them; never in endpoints.json.
	operator aws.Credentials
}

// credentialsFile is the name of the operator's credentials in the data
// directory. They are made anew at every start.
const credentialsFile = "credentials.json"

// credentialsJSON is the credentials file, in the names AWS uses.
type credentialsJSON struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

// newOperatorCredentials makes IAM credentials for one run of the stack.
func newOperatorCredentials() aws.Credentials {
	return aws.Credentials{AccessKeyID: "AKIA" + rand.Text()[:16], SecretAccessKey: rand.Text() + rand.Text()}
}

// readEndpoints reads the endpoints.json a running stack wrote, and the
// operator's credentials it names, for the commands that drive the stack
// (demo, load).
func readEndpoints(path string) (Endpoints, error) {
	var e Endpoints
	if err := readJSON(path, &e); err != nil {
		return e, fmt.Errorf("%w (is the stack running? make local)", err)
	}
	var c credentialsJSON
	err := readJSON(e.CredentialsFile, &c)
	if err == nil && (c.AccessKeyID == "" || c.SecretAccessKey == "") {
		err = fmt.Errorf("%s: incomplete", e.CredentialsFile)
	}
	if err != nil {
		return e, fmt.Errorf("operator credentials: %w", err)
	}
	e.operator = aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}
	return e, nil
}

// readJSON decodes the JSON file at path into v.
func readJSON(path string, v any) error {
	b, err := os.ReadFile(path) // #nosec G304 -- the stack's own files, in the data directory the operator names
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// writeJSON writes v, indented, to path, readable by the owner alone.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err == nil {
		err = os.WriteFile(path, append(b, '\n'), 0o600)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// Stack is a running local fleetclaim.
type Stack struct {
	Endpoints Endpoints
	Store     fleetclaim.Store
	Pool      *cognito.Pool
	IoT       *iot.Core
	// Metrics tallies what the handlers record, as CloudWatch would
	// receive it from the deployed functions; MetricsURL serves it.
	Metrics *metrics.Tally

	// clock is the handlers' clock. It reads the real time unless a test
	// moves it, which ages claims without waiting for them to expire.
	clock *clock

	servers   []*http.Server
	closers   []func() error
	closeOnce sync.Once
}

type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

func (c *clock) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = 0
}

// Start brings the stack up and returns once every endpoint answers.
func Start(ctx context.Context, c Config, log *slog.Logger) (s *Stack, err error) {
	s = &Stack{clock: &clock{}, Metrics: metrics.NewTally(metricsNamespace)}
	// A failed start stops what it started. Failures return a nil stack, so
	// the deferred call keeps its own reference.
	started := s
	defer func() {
		if err != nil {
			started.Close()
		}
	}()
	dir, err := filepath.Abs(c.DataDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if s.Store, err = openStore(ctx, c, dir, s.Metrics); err != nil {
		return nil, err
	}
	// The -tenant flags are a seed, like the deployed stack's tenants
	// setting: a tenant changed through the API since keeps its changes.
	for _, t := range c.Tenants {
		switch err := s.Store.PutTenant(ctx, t); {
		case errors.Is(err, fleetclaim.ErrConflict):
			log.Info("tenant changed through the API; its -tenant flag is not applied", "tenant", t.ID)
		case err != nil:
			return nil, fmt.Errorf("seed tenant %s: %w", t.ID, err)
		}
	}

	// Listen first, so that each part knows the others' addresses.
	apiL, err := s.listen("api-port", c.Host, c.APIPort)
	if err != nil {
		return nil, err
	}
	cognitoL, err := s.listen("cognito-port", c.Host, c.CognitoPort)
	if err != nil {
		return nil, err
	}
	iotL, err := s.listen("iot-port", c.Host, c.IoTPort)
	if err != nil {
		return nil, err
	}
	consoleL, err := s.listen("console-port", c.Host, c.ConsolePort)
	if err != nil {
		return nil, err
	}
	cognitoURL, iotURL := "http://"+cognitoL.Addr().String(), "http://"+iotL.Addr().String()
	consoleURL := "http://" + consoleL.Addr().String()
	// The console is the stack's own web app: the API lets its origin in
	// unless the operator names another app's origin.
	if c.AllowedOrigin == "" {
		c.AllowedOrigin = consoleURL
	}

	// The handlers reach Cognito and AWS IoT through the same SDK adapters
	// as in AWS, pointed at the stand-ins.
	// They sign with IAM credentials made for this run, which the stand-ins
	// require for the calls AWS reserves for IAM principals (Cognito's
	// Admin* calls, the AWS IoT control plane).
	operator := newOperatorCredentials()
	sdk := awsenv.Local(region)
	sdk.Credentials = credentials.StaticCredentialsProvider{Value: operator}
	cognitoClient := awsenv.Cognito(sdk, cognitoURL)
	iotClient := awsenv.IoT(sdk, iotURL)
	parts := app.Parts{
		Store:     s.Store,
		Minter:    iotclaims.NewMinter(iotClient),
		Revoker:   iotclaims.NewRevoker(iotClient),
		Endpoint:  iotclaims.NewEndpoint(iotClient, "").Get,
		GroupsFor: func(pool string) fleetclaim.GroupManager { return cognitoadmin.New(cognitoClient, pool) },
		Metrics:   s.Metrics,
		Now:       s.clock.now,
	}
	templates := append([]string{c.Template}, c.ExtraTemplates...)
	iotTemplates := make([]iot.Template, 0, len(templates))
	for _, name := range templates {
		iotTemplates = append(iotTemplates, iot.Template{
			Name:               name,
			ThingNameParameter: fleetclaim.ParamThingName,
			Attributes: map[string]string{
				"tenant": fleetclaim.ParamTenantID, "installer": fleetclaim.ParamInstallerID, "serial": fleetclaim.ParamSerialNumber},
		})
	}

	hook := app.ProvisioningHook(config.Hook{HookDeadline: config.DefaultHookDeadline}, withLog(parts, log, "provisionhook"))
	// The presence rule, as the CDK app deploys it: AWS IoT's presence
	// events to the presence function, with the same store.
	presence := app.Presence(withLog(parts, log, "presence"))
	s.IoT, err = iot.New(iot.Options{
		DataDir:       filepath.Join(dir, "iot"),
		MQTTAddr:      net.JoinHostPort(c.Host, strconv.Itoa(c.MQTTPort)),
		Templates:     iotTemplates,
		ClaimLifetime: c.ClaimLifetime,
		Region:        region,
		Hook:          hook.Handle,
		Rules:         []iot.Rule{{Name: "presence", TopicFilter: iotpresence.TopicFilter, Action: lambdaEvent(presence.Handle)}},
		Credentials:   operator,
		KeyPool:       c.KeyPool,
		Logger:        log.With("component", "iot"),
	})
	if err != nil {
		return nil, err
	}
	if err := checkTemplatesGuarded(s.IoT, templates); err != nil {
		_ = s.IoT.Close()
		return nil, err
	}
	if err := s.IoT.Start(ctx); err != nil {
		return nil, fmt.Errorf("start local AWS IoT (MQTT on -mqtt-port): %w", err)
	}
	s.closers = append(s.closers, s.IoT.Close)
	s.serve(iotL, s.IoT.ControlPlane())

	s.Pool, err = cognito.New(cognito.Options{
		DataDir:            filepath.Join(dir, "cognito"),
		BaseURL:            cognitoURL,
		Region:             region,
		Groups:             []string{fleetclaim.GroupAdmins, fleetclaim.GroupPlatformAdmins},
		SignInWithEmail:    true,
		RequiredAttributes: []string{"email", "custom:tenant_id"},
		WriteAttributes:    []string{"email", "custom:tenant_id"},
		// The deployed pool's policy (infra/auth.go), so that a password
		// that works locally works there too.
		PasswordPolicy: cognito.PasswordPolicy{MinLength: 12, RequireUppercase: true, RequireLowercase: true,
			RequireNumbers: true, RequireSymbols: true},
		// The deployed client's flows: SRP and refresh, no password flow.
		AuthFlows:          config.AppClientAuthFlows(),
		PostConfirmation:   app.PostConfirmation(withLog(parts, log, "postconfirm")).Handle,
		PreTokenGeneration: app.PreTokenGeneration(withLog(parts, log, "pretoken")).Handle,
		AdminCredentials:   operator,
		Logger:             log.With("component", "cognito"),
		Codes:              c.Codes,

		AccessTokenLifetime:  c.AccessTokenValidity,
		IDTokenLifetime:      c.IDTokenValidity,
		RefreshTokenLifetime: c.RefreshTokenValidity,
	})
	if err != nil {
		return nil, err
	}
	s.serve(cognitoL, s.Pool.Handler())

	claims := app.Claims(config.Claims{
		DefaultTemplate:   c.Template,
		AllowedTemplates:  templates,
		ClaimsPerHour:     c.ClaimsPerHour,
		RequestsPerMinute: c.RequestsPerMinute,
		ClaimRetention:    config.DefaultClaimRetention,
		OnlineWithin:      config.DefaultOnlineWithin,
		UserPoolID:        s.Pool.PoolID(),
		AllowedOrigin:     c.AllowedOrigin,
	}, withLog(parts, log, "claims"))
	gw, err := gateway.New(gateway.Options{
		Routes:          apigw.Routes,
		Handler:         claims.Handle,
		Issuer:          s.Pool.Issuer(),
		ClientIDs:       []string{s.Pool.ClientID()},
		Logger:          log.With("component", "apigateway"),
		CORSAllowOrigin: c.AllowedOrigin,
		// The deployed API's gateway responses, so that an app meets the
		// same problem documents locally.
		Responses: apigw.GatewayResponses,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(apigw.OpenAPI)
	})
	mux.Handle("GET /metrics", s.Metrics)
	mux.Handle("/", gw)
	s.serve(apiL, mux)

	for _, a := range []AdminUser{c.Admin, c.PlatformAdmin} {
		if a.Email == "" {
			continue
		}
		if err := s.ensureAdmin(ctx, a, log); err != nil {
			return nil, err
		}
	}
	apiBase := "http://" + apiL.Addr().String()
	ca, err := os.ReadFile(s.IoT.CAFile())
	if err != nil {
		return nil, fmt.Errorf("read the local AWS IoT CA for the console: %w", err)
	}
	if !console.Built() {
		log.Warn("the console is not built; run `go generate ./shared/console` (make local does)")
	}
	s.serve(consoleL, console.Handler(console.Config{Region: region, UserPoolID: s.Pool.PoolID(), ClientID: s.Pool.ClientID(),
		APIURL: apiBase + "/" + gateway.DefaultStage, CognitoEndpoint: cognitoURL, CAPEM: string(ca),
		DeviceCommand: deviceCommand}))
	s.Endpoints = Endpoints{
		APIURL:          apiBase + "/" + gateway.DefaultStage,
		OpenAPIURL:      apiBase + "/openapi.yaml",
		MetricsURL:      apiBase + "/metrics",
		CognitoEndpoint: cognitoURL,
		Region:          region,
		UserPoolID:      s.Pool.PoolID(),
		ClientID:        s.Pool.ClientID(),
		Issuer:          s.Pool.Issuer(),
		IoTEndpoint:     iotURL,
		MQTTEndpoint:    s.IoT.MQTTAddr(),
		ConsoleURL:      consoleURL + "/",
		PID:             os.Getpid(),
		CAFile:          s.IoT.CAFile(),
		TemplateName:    c.Template,
		CredentialsFile: filepath.Join(dir, credentialsFile),
		DataDir:         dir,
		operator:        operator,
	}
	if c.DynamoDBEndpoint != "" {
		s.Endpoints.DynamoDBEndpoint, s.Endpoints.TableName = c.DynamoDBEndpoint, c.TableName
	}
	// The operator's tooling (demo, load, scripts) reads the credentials
	// from a file only the owner can read; they are never printed.
	if err := writeJSON(s.Endpoints.CredentialsFile,
		credentialsJSON{AccessKeyID: operator.AccessKeyID, SecretAccessKey: operator.SecretAccessKey}); err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(dir, "endpoints.json"), s.Endpoints); err != nil {
		return nil, err
	}
	return s, nil
}

// lambdaEvent makes a Lambda handler a local topic rule's action: the
// message is decoded into the handler's event type, as the Lambda runtime
// (lambda.Start) decodes an invocation's payload.
func lambdaEvent[E any](handle func(context.Context, E) error) func(context.Context, json.RawMessage) error {
	return func(ctx context.Context, payload json.RawMessage) error {
		var e E
		if err := json.Unmarshal(payload, &e); err != nil {
			return fmt.Errorf("decode %T event: %w", e, err)
		}
		return handle(ctx, e)
	}
}

func withLog(p app.Parts, log *slog.Logger, function string) app.Parts {
	p.Log = log.With("function", function)
	return p
}

// deviceCommand is what the console shows for playing a device with a
// downloaded bundle ({file}, in the browser's usual download folder). The
// device reads everything it needs from the bundle, so the command is the
// same whatever the stack's data directory.
const deviceCommand = "make device BUNDLE=~/Downloads/{file}"

// openStore opens the embedded store, or the table at the DynamoDB endpoint,
// whose faults count in m as the deployed functions' do.
func openStore(ctx context.Context, c Config, dir string, m metrics.Recorder) (fleetclaim.Store, error) {
	if c.DynamoDBEndpoint == "" {
		return boltstore.Open(filepath.Join(dir, "fleetclaim.db"))
	}
	faults := awsenv.CountFaults(func(ctx context.Context) { metrics.Add(ctx, m, metrics.StoreErrors, "") })
	api := awsenv.DynamoDB(awsenv.Local(region), c.DynamoDBEndpoint, faults)
	if err := dynamostore.CreateTable(ctx, api, c.TableName); err != nil && !errors.Is(err, dynamostore.ErrTableExists) {
		return nil, fmt.Errorf("create table %s: %w", c.TableName, err)
	}
	return dynamostore.New(api, c.TableName), nil
}

// ensureAdmin creates the initial admin once: a confirmed Cognito user in the
// admins group (and platform-admins if asked) with an approved record, in a
// tenant that exists (created active if missing, as infra/admin does): the
// pre-token trigger grants nothing to a member of a missing tenant.
func (s *Stack) ensureAdmin(ctx context.Context, a AdminUser, log *slog.Logger) error {
	switch _, err := s.Store.GetTenant(ctx, a.Tenant); {
	case errors.Is(err, fleetclaim.ErrNotFound):
		if err := s.Store.PutTenant(ctx, fleetclaim.Tenant{ID: a.Tenant, Name: string(a.Tenant), Status: fleetclaim.TenantActive}); err != nil {
			return fmt.Errorf("create the admin's tenant %s: %w", a.Tenant, err)
		}
		log.Info("the admin's tenant did not exist; created", "tenant", a.Tenant)
	case err != nil:
		return fmt.Errorf("read the admin's tenant %s: %w", a.Tenant, err)
	}
	groups := []string{fleetclaim.GroupAdmins}
	if a.Platform {
		groups = append(groups, fleetclaim.GroupPlatformAdmins)
	}
	sub, err := s.Pool.CreateConfirmedUser(ctx, cognito.NewUser{
		Username: a.Email, Password: a.Password, Groups: groups,
		Attributes: map[string]string{"email": a.Email, "email_verified": "true", "custom:tenant_id": string(a.Tenant)},
	})
	var ce *cognito.Error
	switch {
	case errors.As(err, &ce) && ce.Code == "UsernameExistsException":
		return nil
	case err != nil:
		return fmt.Errorf("create admin %s: %w", a.Email, err)
	}
	// The post-confirmation trigger recorded the admin (pending unless the
	// domain auto-approves); the operator vouches for this one.
	_, err = s.Store.SetInstallerStatus(ctx, fleetclaim.InstallerID(sub),
		[]fleetclaim.InstallerStatus{fleetclaim.InstallerPending, fleetclaim.InstallerApproved}, fleetclaim.InstallerApproved, time.Now(), "")
	if err != nil {
		return fmt.Errorf("approve admin %s: %w", a.Email, err)
	}
	log.Info("initial admin created", "email", a.Email, "tenant", a.Tenant, "platform", a.Platform)
	return nil
}

// listen opens the port a flag names; an error names the flag to change.
func (s *Stack) listen(flag, host string, port int) (net.Listener, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("-%s: %w (choose another port, or 0 for any free one)", flag, err)
	}
	s.closers = append(s.closers, func() error { _ = l.Close(); return nil })
	return l, nil
}

func (s *Stack) serve(l net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(l) }()
}

// Close stops every part; state stays on disk. It may be called again.
func (s *Stack) Close() { s.closeOnce.Do(s.close) }

func (s *Stack) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range s.servers {
		_ = srv.Shutdown(ctx)
	}
	for i := len(s.closers) - 1; i >= 0; i-- {
		_ = s.closers[i]()
	}
	if c, ok := s.Store.(interface{ Close() error }); ok {
		_ = c.Close()
	}
}
