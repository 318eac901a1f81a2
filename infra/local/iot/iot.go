// Package iot is the local stack's stand-in for AWS IoT Core: just enough of
// it, over the real protocols, for the trusted-user fleet provisioning flow
// to run on one machine with unmodified clients.
//
// It has three faces:
//
//   - a local certificate authority, persisted in a data directory, whose
//     certificate (ca.pem) clients trust instead of Amazon's root CA;
//   - the control-plane operations CreateProvisioningClaim and
//     DescribeEndpoint, as Go methods and as an http.Handler speaking AWS
//     IoT's REST JSON protocol, so an aws-sdk-go-v2 iot client whose
//     BaseEndpoint points at it works unchanged;
//   - an MQTT broker over mutual TLS serving the fleet provisioning MQTT API
//     (CreateKeysAndCertificate, CreateCertificateFromCsr, RegisterThing, JSON
//     payload format) as AWS documents it, calling the pre-provisioning hook
//     with the real event shape. Clients are authorized by their certificate
//     alone, the way the IoT policies of a claim and of a provisioned device
//     would authorize them.
//
// Certificates leave service as in AWS IoT (UpdateCertificate,
// DetachThingPrincipal): an inactive certificate is refused at CONNECT and
// its open connections are dropped. Every accepted connection and every
// disconnection is published as AWS IoT's presence event, and topic rules
// (Options.Rules) hand such messages to a function, as a rule's Lambda
// action does.
//
// All state lives in the data directory and survives a restart. One Core owns
// a data directory; give each Core its own.
package iot

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"

	"github.com/fleetclaim/fleetclaim/infra/local/sigv4"
)

// Defaults, as AWS IoT behaves.
const (
	// DefaultClaimLifetime is how long a claim certificate from
	// CreateProvisioningClaim is valid in AWS IoT.
	DefaultClaimLifetime = 5 * time.Minute
	// DefaultRegion and DefaultAccountID appear in ARNs, as in the template
	// ARN the pre-provisioning hook receives.
	DefaultRegion    = "us-east-1"
	DefaultAccountID = "000000000000"
	// DefaultMQTTAddr listens on a free loopback port.
	DefaultMQTTAddr = "127.0.0.1:0"
	// DefaultThingNameParameter is the template parameter naming the thing.
	DefaultThingNameParameter = "ThingName"
)

const (
	// ownershipTokenLifetime: AWS documents that a certificate ownership
	// token expires after one hour.
	ownershipTokenLifetime = time.Hour
	// hookDeadline: AWS IoT gives the pre-provisioning hook 5 seconds.
	hookDeadline = 5 * time.Second
)

// ErrTemplateNotFound is returned by CreateProvisioningClaim for a template
// that is not configured.
var ErrTemplateNotFound = errors.New("provisioning template not found")

// templateNamePattern is AWS IoT's constraint on provisioning template names.
var templateNamePattern = regexp.MustCompile(`^[0-9A-Za-z_-]{1,36}$`)

// HookFunc is a pre-provisioning hook: the exact signature of the Lambda
// handler that AWS IoT invokes before RegisterThing provisions anything.
type HookFunc func(ctx context.Context, req events.IoTPreProvisionHookRequest) (events.IoTPreProvisionHookResponse, error)

// Template is a fleet provisioning template, reduced to what the local
// stand-in does once the hook allows a RegisterThing: register a thing named
// by one parameter (or take the existing one), set its attributes from
// others (replacing any it had), attach and activate the new certificate,
// and answer with DeviceConfiguration.
type Template struct {
	// Name is the template name, as in
	// $aws/provisioning-templates/<Name>/provision/json.
	Name string
	// ThingNameParameter is the parameter, after the hook's overrides, whose
	// value names the thing. DefaultThingNameParameter when empty.
	ThingNameParameter string
	// Attributes maps thing attribute names to the parameters that supply
	// their values; absent parameters leave the attribute unset.
	Attributes map[string]string
	// DeviceConfiguration is returned in RegisterThing's accepted reply.
	DeviceConfiguration map[string]string
	// NoHook makes a template without a pre-provisioning hook: as in AWS
	// IoT, its RegisterThing runs with no check at all, whatever
	// Options.Hook is. TemplateHooked tells such a template apart.
	NoHook bool
}

// Options configure a Core. DataDir and at least one template are required.
type Options struct {
	// DataDir holds the CA (ca.pem, ca-key.pem) and the registry
	// (state.json and the changes since, state.journal). It is created if
	// missing.
	DataDir string
	// MQTTAddr is the MQTT over TLS listen address; DefaultMQTTAddr when empty.
	MQTTAddr string
	// Templates are the provisioning templates that exist.
	Templates []Template
	// ClaimLifetime is the validity of claim certificates;
	// DefaultClaimLifetime when zero.
	ClaimLifetime time.Duration
	// Region and AccountID go into ARNs; DefaultRegion and DefaultAccountID
	// when empty.
	Region    string
	AccountID string
	// Hook is the pre-provisioning hook of every template but those with
	// NoHook. When nil, RegisterThing is allowed without one, as for an AWS
	// template that has no hook.
	Hook HookFunc
	// Credentials are the IAM credentials control-plane calls must be signed
	// with (Signature Version 4, service "iot", Region). With none, every
	// control-plane call is refused.
	Credentials aws.Credentials
	// Rules are the topic rules with a Lambda action, such as the one that
	// sends presence events to the presence function.
	Rules []Rule
	// Logger receives structured logs; nothing is logged when nil. Private
	// keys and ownership tokens are never logged.
	Logger *slog.Logger
	// KeyPool is how many RSA key pairs to keep generated ahead of
	// CreateProvisioningClaim and CreateKeysAndCertificate, by one
	// background goroutine; with zero each pair is generated when asked.
	KeyPool int
	// Now is the clock; time.Now when nil. Certificate validity, including
	// the TLS handshake's, is judged by it, so tests can expire claims.
	Now func() time.Time
}

// Core is the local AWS IoT. Create it with New, serve MQTT with Start, and
// release it with Close. Its methods are safe for concurrent use.
type Core struct {
	dataDir       string
	mqttAddr      string
	templates     map[string]Template
	claimLifetime time.Duration
	region        string
	accountID     string
	hook          HookFunc
	hookDeadline  time.Duration
	iam           sigv4.Verifier
	rules         []Rule
	presence      *presence
	log           *slog.Logger
	now           func() time.Time

	dir   *os.Root // the data directory; every file access stays inside it
	ca    *authority
	store *store
	keys  *keyPool

	mu      sync.Mutex // guards the fields below
	server  *mqtt.Server
	addr    string
	ctx     context.Context // bounds hook calls; canceled by Close
	cancel  context.CancelFunc
	closed  bool
	pending sync.WaitGroup // provisioning requests being answered
}

// New validates opts, loads or creates the CA and the registry in
// opts.DataDir, and returns a Core that is not yet listening.
func New(opts Options) (*Core, error) {
	if opts.DataDir == "" {
		return nil, errors.New("iot: DataDir is required")
	}
	if len(opts.Templates) == 0 {
		return nil, errors.New("iot: at least one template is required")
	}
	if opts.ClaimLifetime < 0 {
		return nil, fmt.Errorf("iot: ClaimLifetime %s is negative", opts.ClaimLifetime)
	}
	c := &Core{
		dataDir:       opts.DataDir,
		mqttAddr:      or(opts.MQTTAddr, DefaultMQTTAddr),
		templates:     make(map[string]Template, len(opts.Templates)),
		claimLifetime: opts.ClaimLifetime,
		region:        or(opts.Region, DefaultRegion),
		accountID:     or(opts.AccountID, DefaultAccountID),
		hook:          opts.Hook,
		hookDeadline:  hookDeadline,
		rules:         slices.Clone(opts.Rules),
		presence:      newPresence(),
		log:           opts.Logger,
		now:           opts.Now,
	}
	// Signatures are judged by the wall clock the signer used, not by a
	// test's clock.
	c.iam = sigv4.Verifier{Credentials: opts.Credentials, Region: c.region, Service: "iot"}
	if c.claimLifetime == 0 {
		c.claimLifetime = DefaultClaimLifetime
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	for _, r := range opts.Rules {
		if r.Name == "" || r.TopicFilter == "" || r.Action == nil {
			return nil, fmt.Errorf("iot: topic rule %q needs a name, a topic filter and an action", r.Name)
		}
	}
	for _, t := range opts.Templates {
		if !templateNamePattern.MatchString(t.Name) {
			return nil, fmt.Errorf("iot: template name %q must match %s", t.Name, templateNamePattern)
		}
		if _, dup := c.templates[t.Name]; dup {
			return nil, fmt.Errorf("iot: template %q configured twice", t.Name)
		}
		t.ThingNameParameter = or(t.ThingNameParameter, DefaultThingNameParameter)
		// Copies, so that the caller changing its maps later changes nothing.
		t.Attributes = maps.Clone(t.Attributes)
		t.DeviceConfiguration = maps.Clone(t.DeviceConfiguration)
		c.templates[t.Name] = t
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("iot: data directory: %w", err)
	}
	var err error
	if c.dir, err = os.OpenRoot(opts.DataDir); err != nil {
		return nil, fmt.Errorf("iot: data directory: %w", err)
	}
	if c.ca, err = loadOrCreateAuthority(c.dir, c.now()); err != nil {
		_ = c.dir.Close()
		return nil, fmt.Errorf("iot: %w", err)
	}
	if c.store, err = openStore(c.dir, c.now); err != nil {
		_ = c.dir.Close()
		return nil, fmt.Errorf("iot: %w", err)
	}
	c.keys = newKeyPool(opts.KeyPool, newKeyPair)
	return c, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Start listens for MQTT over TLS and serves it in the background. Hook
// calls run under ctx, and canceling ctx closes the Core as Close does.
// Start may be called once.
func (c *Core) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.server != nil {
		return errors.New("iot: Start called twice or after Close")
	}
	serverCert, err := c.ca.serverCertificate(c.now())
	if err != nil {
		return fmt.Errorf("iot: %w", err)
	}
	tlsConfig := &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    c.ca.pool(),
		MinVersion:   tls.VersionTLS12,
		// The handshake refuses expired certificates by the same clock
		// that set their expiry.
		Time: c.now,
	}

	caps := mqtt.NewDefaultServerCapabilities()
	// AWS IoT keeps a persistent session for an hour by default; mochi's
	// default would keep it for 136 years.
	caps.MaximumSessionExpiryInterval = uint32(time.Hour.Seconds())
	// AWS IoT refuses messages over 128 KB; mochi's default has no bound, so
	// one large publish could hold the whole stack's memory.
	caps.MaximumPacketSize = MaxPacketSize
	// The inline client publishes presence events and carries the topic
	// rules' subscriptions.
	server := mqtt.New(&mqtt.Options{Logger: c.log.With("broker", "mqtt"), Capabilities: caps, InlineClient: true})
	if err := server.AddHook(&brokerHook{core: c}, nil); err != nil {
		return fmt.Errorf("iot: %w", err)
	}
	if err := c.subscribeRules(server); err != nil {
		return fmt.Errorf("iot: %w", err)
	}
	listener := listeners.NewTCP(listeners.Config{ID: "mqtts", Address: c.mqttAddr, TLSConfig: tlsConfig})
	if err := server.AddListener(listener); err != nil {
		_ = server.Close()
		return fmt.Errorf("iot: listen on %s: %w", c.mqttAddr, err)
	}
	if err := server.Serve(); err != nil {
		_ = server.Close()
		return fmt.Errorf("iot: serve MQTT: %w", err)
	}
	c.server = server
	c.addr = listener.Address()
	c.ctx, c.cancel = context.WithCancel(ctx)
	context.AfterFunc(c.ctx, func() { _ = c.Close() })
	c.log.Info("local IoT listening", "mqtt", c.addr, "caFile", c.CAFile())
	return nil
}

// MaxPacketSize bounds an MQTT packet: AWS IoT's 128 KB message size, and a
// kilobyte for the topic and the packet's headers.
const MaxPacketSize = 128*1024 + 1024

// Close stops the broker, waits for provisioning requests in progress to be
// answered or abandoned, and releases the listener and the data directory.
// The Core is unusable afterwards. Close is safe to call more than once.
func (c *Core) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	server, cancel := c.server, c.cancel
	c.mu.Unlock()

	var err error
	if server != nil {
		cancel()
		err = server.Close()
		c.pending.Wait()
	}
	c.keys.close()
	return errors.Join(err, c.store.close(), c.dir.Close())
}

// MQTTAddr is the host:port of the MQTT over TLS listener, once started.
func (c *Core) MQTTAddr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addr
}

// CAFile is the path of the PEM file holding the CA certificate that MQTT
// clients must trust.
func (c *Core) CAFile() string {
	return filepath.Join(c.dataDir, caCertFile)
}

// templateARN is the ARN AWS IoT gives a provisioning template.
func (c *Core) templateARN(name string) string {
	return fmt.Sprintf("arn:aws:iot:%s:%s:provisioningtemplate/%s", c.region, c.accountID, name)
}

// track runs fn in the background unless the Core is closing, so that Close
// can wait for it.
func (c *Core) track(fn func(ctx context.Context)) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.pending.Add(1)
	ctx := c.ctx
	go func() {
		defer c.pending.Done()
		fn(ctx)
	}()
	return true
}

// Core mints claims for the domain directly, without the SDK, when wired so.
var _ fleetclaim.ClaimMinter = (*Core)(nil)

// mintedClaim is a new claim certificate with its key pair.
type mintedClaim struct {
	fleetclaim.MintedClaim
	PublicKey string
}

// CreateProvisioningClaim issues a claim certificate for the template, as
// AWS IoT's CreateProvisioningClaim does: a new RSA key pair and a
// certificate signed by the local CA, valid for the claim lifetime, that may
// only be used for the fleet provisioning API of that template. It returns an
// error wrapping ErrTemplateNotFound for a template that is not configured.
func (c *Core) CreateProvisioningClaim(ctx context.Context, templateName string) (fleetclaim.MintedClaim, error) {
	m, err := c.createProvisioningClaim(ctx, templateName)
	return m.MintedClaim, err
}

func (c *Core) createProvisioningClaim(ctx context.Context, templateName string) (mintedClaim, error) {
	if err := ctx.Err(); err != nil {
		return mintedClaim{}, err
	}
	if _, ok := c.templates[templateName]; !ok {
		return mintedClaim{}, fmt.Errorf("create provisioning claim for %q: %w", templateName, ErrTemplateNotFound)
	}
	keys, err := c.keys.take()
	if err != nil {
		return mintedClaim{}, fmt.Errorf("create provisioning claim: %w", err)
	}
	now := c.now()
	notAfter := now.Add(c.claimLifetime)
	// A minute's grace before now tolerates a device clock slightly behind.
	der, err := c.ca.issueClient(&keys.key.PublicKey, nil, now.Add(-time.Minute), notAfter)
	if err != nil {
		return mintedClaim{}, fmt.Errorf("create provisioning claim: %w", err)
	}
	rec := certRecord{
		ID:        certificateID(der),
		PEM:       certificatePEM(der),
		Kind:      kindClaim,
		Status:    statusActive,
		Template:  templateName,
		CreatedAt: now,
		NotAfter:  notAfter,
	}
	if err := c.store.update(func(tx *txn) error {
		tx.putCertificate(rec)
		return nil
	}); err != nil {
		return mintedClaim{}, fmt.Errorf("create provisioning claim: %w", err)
	}
	c.log.Info("provisioning claim issued", "certificateId", rec.ID, "template", templateName, "expiration", notAfter)
	return mintedClaim{
		MintedClaim: fleetclaim.MintedClaim{
			CertificateID:  rec.ID,
			CertificatePEM: rec.PEM,
			PrivateKey:     fleetclaim.NewSecret(keys.privateKeyPEM),
			Expiration:     notAfter,
		},
		PublicKey: keys.publicKeyPEM,
	}, nil
}

// TemplateHooked reports whether the template has a pre-provisioning hook,
// as DescribeProvisioningTemplate's preProvisioningHook does in AWS IoT:
// callers that issue claims for a template check it first, since a claim
// for a template without a hook registers any device unchecked.
func (c *Core) TemplateHooked(name string) (bool, error) {
	t, ok := c.templates[name]
	if !ok {
		return false, fmt.Errorf("describe provisioning template %q: %w", name, ErrTemplateNotFound)
	}
	return c.hook != nil && !t.NoHook, nil
}
