package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/fleetclaim/fleetclaim/infra/local/device"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

const deviceUsage = `fleetclaim-local device plays a device that was handed a claim bundle: the
file the console's "Download the claim bundle" saves (README, "The claim
bundle"). It prints each step and exits non-zero if one fails:

  1. connects to the bundle's iotEndpoint with the claim certificate
  2. gets its own certificate: CreateKeysAndCertificate or, with -csr,
     CreateCertificateFromCsr for a key it makes itself
  3. calls RegisterThing with SerialNumber = the bundle's serialNumber; the
     pre-provisioning hook decides
  4. reconnects with its new certificate as its thing (the console then
     shows the device online) and stays connected until Ctrl-C, or until
     the broker drops it (decommissioned); with -once it exits instead

Usage: fleetclaim-local device [flags] claim-<serial>.json

Flags:
`

// bundleFormat is the claim bundle's format, as the console writes it
// (shared/console/web/src/claimbundle.js).
const bundleFormat = "fleetclaim.claim-bundle/1"

// claimBundle is the file a device is handed: the members a device needs
// (README, "The claim bundle"); unknown members are ignored.
type claimBundle struct {
	Format         string    `json:"format"`
	ClaimID        string    `json:"claimId"`
	SerialNumber   string    `json:"serialNumber"`
	ThingName      string    `json:"thingName"`
	TemplateName   string    `json:"templateName"`
	IoTEndpoint    string    `json:"iotEndpoint"`
	ExpiresAt      time.Time `json:"expiresAt"`
	CertificatePEM string    `json:"certificatePem"`
	PrivateKey     string    `json:"privateKey"`
	CAPEM          string    `json:"caPem"`
}

// readBundle reads and checks a claim bundle, saying in words what is wrong
// with one a device could not use.
func readBundle(path string, now time.Time) (claimBundle, error) {
	data, err := os.ReadFile(path) // #nosec G304 -- the file the user names on the command line
	if err != nil {
		return claimBundle{}, err
	}
	var b claimBundle
	if err := json.Unmarshal(data, &b); err != nil {
		return claimBundle{}, fmt.Errorf("%s is not a claim bundle (JSON): %w", path, err)
	}
	switch {
	case b.Format != bundleFormat:
		return claimBundle{}, fmt.Errorf("%s: format is %q, want %q", path, b.Format, bundleFormat)
	case fleetclaim.ValidateSerial(b.SerialNumber) != nil:
		return claimBundle{}, fmt.Errorf("%s: serialNumber %q is not a serial number", path, b.SerialNumber)
	case b.TemplateName == "" || b.IoTEndpoint == "":
		return claimBundle{}, fmt.Errorf("%s: templateName and iotEndpoint are required", path)
	case !isPEM(b.CertificatePEM, "CERTIFICATE") || !isPEM(b.PrivateKey, "PRIVATE KEY"):
		return claimBundle{}, fmt.Errorf("%s: certificatePem and privateKey must hold a PEM certificate and key "+
			"(a bundle whose key was cleared cannot be used: get a new claim)", path)
	case b.CAPEM != "" && !isPEM(b.CAPEM, "CERTIFICATE"):
		return claimBundle{}, fmt.Errorf("%s: caPem is not a PEM certificate", path)
	case !b.ExpiresAt.IsZero() && !now.Before(b.ExpiresAt):
		return claimBundle{}, fmt.Errorf("%s: the claim expired at %s: get a new one for %s",
			path, b.ExpiresAt.Local().Format(time.TimeOnly), b.SerialNumber)
	}
	return b, nil
}

// isPEM reports whether s holds a PEM block whose type ends with kind
// ("RSA PRIVATE KEY" and "PRIVATE KEY" are both keys).
func isPEM(s, kind string) bool {
	block, _ := pem.Decode([]byte(s))
	return block != nil && strings.HasSuffix(block.Type, kind)
}

// deviceConfig is how a device reaches the bundle's endpoint: port 8883
// unless the endpoint names one (AWS IoT's does not; the local stack's
// does), trusting caPem when the bundle has it and the system's roots,
// which Amazon's CAs are among, when it does not.
func (b claimBundle) deviceConfig() (device.Config, error) {
	cfg := device.Config{Endpoint: b.IoTEndpoint, Timeout: 10 * time.Second}
	if _, _, err := net.SplitHostPort(b.IoTEndpoint); err != nil {
		cfg.Endpoint = net.JoinHostPort(b.IoTEndpoint, "8883")
	}
	if b.CAPEM != "" {
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM([]byte(b.CAPEM)) {
			return device.Config{}, errors.New("caPem holds no usable certificate")
		}
	}
	return cfg, nil
}

type deviceCmdConfig struct {
	bundle string
	useCSR bool
	once   bool
}

func runDevice(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return deviceMain(ctx, args, os.Stdout, os.Stderr)
}

// deviceMain is the device subcommand, its output and its exit code: 0 when
// the device provisioned (and, unless -once, then stayed connected until
// ctx ended), 1 when a step failed, 2 for a usage error or a bundle the
// device cannot use.
func deviceMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c deviceCmdConfig
	fs := flag.NewFlagSet("fleetclaim-local device", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), deviceUsage); fs.PrintDefaults() }
	fs.BoolVar(&c.useCSR, "csr", false, "make a key on the device and send a CSR (CreateCertificateFromCsr) instead of asking for keys")
	fs.BoolVar(&c.once, "once", false, "exit once provisioned instead of staying connected")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "fleetclaim-local device: name one claim bundle, e.g. fleetclaim-local device ~/Downloads/claim-SN-1.json")
		return 2
	}
	c.bundle = fs.Arg(0)
	b, err := readBundle(c.bundle, time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "fleetclaim-local device:", err)
		return 2
	}
	cfg, err := b.deviceConfig()
	if err != nil {
		fmt.Fprintf(stderr, "fleetclaim-local device: %s: %v\n", c.bundle, err)
		return 2
	}
	say := func(format string, a ...any) {
		fmt.Fprintf(stdout, "device %s: "+format+"\n", append([]any{b.SerialNumber}, a...)...)
	}

	say("provisioning through %s with template %s (claim %s)", cfg.Endpoint, b.TemplateName, b.ClaimID)
	res, err := device.Provision(ctx, cfg, device.Credentials{CertificatePEM: b.CertificatePEM, PrivateKeyPEM: b.PrivateKey},
		b.TemplateName, b.SerialNumber, c.useCSR)
	if err != nil {
		fmt.Fprintln(stderr, "fleetclaim-local device:", explainProvisionError(err))
		return 1
	}
	how := "CreateKeysAndCertificate"
	if c.useCSR {
		how = "CreateCertificateFromCsr"
	}
	say("certificate %s (%s)", res.Certificate.CertificateID, how)
	say("registered as thing %s; reconnected with its own certificate", res.ThingName)
	if c.once {
		return 0
	}
	deviceCfg := cfg
	deviceCfg.ClientID = res.ThingName
	conn, err := device.Connect(ctx, deviceCfg, device.Credentials{CertificatePEM: res.Certificate.CertificatePEM, PrivateKeyPEM: res.Certificate.PrivateKeyPEM})
	if err != nil {
		fmt.Fprintln(stderr, "fleetclaim-local device:", err)
		return 1
	}
	defer conn.Close()
	say("online as %s; Ctrl-C disconnects", res.ThingName)
	select {
	case <-ctx.Done():
		say("disconnecting")
		return 0
	case <-conn.Done():
		say("the broker ended the connection (%v): the device was decommissioned or its certificate deactivated", conn.Err())
		return 1
	}
}

// explainProvisionError adds what the installer can do to the errors a
// device meets most.
func explainProvisionError(err error) string {
	var rejected *device.RejectedError
	switch {
	case errors.As(err, &rejected):
		return fmt.Sprintf("%v (refused: the console's claim page shows why)", err)
	case errors.Is(err, device.ErrConnectionRefused):
		return fmt.Sprintf("%v (the claim certificate was refused: the claim may be used, revoked or expired)", err)
	}
	return err.Error()
}
