package device

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// SerialNumberParameter is the provisioning template parameter Provision
// sends the serial number in; the stack's template and pre-provisioning
// hook read it.
const SerialNumberParameter = "SerialNumber"

// Result is a provisioned device.
type Result struct {
	// ThingName is the thing the device was provisioned as.
	ThingName string
	// DeviceConfiguration is the template's device configuration.
	DeviceConfiguration map[string]string
	// Certificate is the device's certificate, with its private key.
	Certificate Certificate
	// Timings are how long each step took, as the device saw it.
	Timings Timings
}

// Timings are the durations of Provision's steps.
type Timings struct {
	// ClaimConnect is connecting with the claim certificate.
	ClaimConnect time.Duration
	// CreateCertificate is CreateKeysAndCertificate, or generating a key
	// and CreateCertificateFromCsr.
	CreateCertificate time.Duration
	// RegisterThing is RegisterThing, the pre-provisioning hook included.
	RegisterThing time.Duration
	// DeviceConnect is disconnecting the claim and connecting as the thing.
	DeviceConnect time.Duration
	// FirstPublish is the thing's first publish, until its PUBACK.
	FirstPublish time.Duration
	// Total is the whole of Provision.
	Total time.Duration
}

// provisionedMessage is what a device publishes on dt/<thing>/provisioned
// to show that its new certificate works.
type provisionedMessage struct {
	SerialNumber  string `json:"serialNumber"`
	CertificateID string `json:"certificateId"`
}

// Provision plays a device's whole fleet provisioning by claim:
//
//  1. connect with the claim certificate, as cfg.ClientID or else serial;
//  2. get a certificate: CreateKeysAndCertificate, or with useCSR,
//     CreateCertificateFromCsr for a new P-256 key made on the device;
//  3. RegisterThing on template with the SerialNumber parameter;
//  4. disconnect, and connect with the new certificate as the thing name;
//  5. publish one message on dt/<thing>/provisioned and wait for its PUBACK;
//  6. disconnect.
//
// Each step is bounded by cfg.Timeout and ctx. The error of a rejected step
// wraps a *RejectedError, and that of a refused connection
// ErrConnectionRefused.
func Provision(ctx context.Context, cfg Config, claim Credentials, template, serial string, useCSR bool) (Result, error) {
	res, err := provision(ctx, cfg, claim, template, serial, useCSR)
	if err != nil {
		return Result{}, fmt.Errorf("provision %s: %w", serial, err)
	}
	return res, nil
}

func provision(ctx context.Context, cfg Config, claim Credentials, template, serial string, useCSR bool) (Result, error) {
	start := time.Now()
	last := start
	lap := func() time.Duration {
		now := time.Now()
		d := now.Sub(last)
		last = now
		return d
	}
	var res Result

	claimCfg := cfg
	if claimCfg.ClientID == "" {
		claimCfg.ClientID = serial
	}
	claimConn, err := Connect(ctx, claimCfg, claim)
	if err != nil {
		return Result{}, err
	}
	defer claimConn.Close()
	res.Timings.ClaimConnect = lap()

	if useCSR {
		csrPEM, keyPEM, err := NewCSR(serial)
		if err != nil {
			return Result{}, err
		}
		if res.Certificate, err = claimConn.CreateCertificateFromCSR(ctx, csrPEM); err != nil {
			return Result{}, err
		}
		res.Certificate.PrivateKeyPEM = keyPEM
	} else if res.Certificate, err = claimConn.CreateKeysAndCertificate(ctx); err != nil {
		return Result{}, err
	}
	res.Timings.CreateCertificate = lap()

	reg, err := claimConn.RegisterThing(ctx, template, res.Certificate.OwnershipToken, map[string]string{SerialNumberParameter: serial})
	if err != nil {
		return Result{}, err
	}
	res.ThingName, res.DeviceConfiguration = reg.ThingName, reg.DeviceConfiguration
	res.Timings.RegisterThing = lap()

	claimConn.Close()
	deviceCfg := cfg
	deviceCfg.ClientID = reg.ThingName
	deviceConn, err := Connect(ctx, deviceCfg, Credentials{CertificatePEM: res.Certificate.CertificatePEM, PrivateKeyPEM: res.Certificate.PrivateKeyPEM})
	if err != nil {
		return Result{}, err
	}
	defer deviceConn.Close()
	res.Timings.DeviceConnect = lap()

	payload, err := json.Marshal(provisionedMessage{SerialNumber: serial, CertificateID: res.Certificate.CertificateID})
	if err != nil {
		return Result{}, err
	}
	if err := deviceConn.Publish(ctx, "dt/"+reg.ThingName+"/provisioned", payload); err != nil {
		return Result{}, err
	}
	res.Timings.FirstPublish = lap()
	deviceConn.Close()
	res.Timings.Total = time.Since(start)
	return res, nil
}
