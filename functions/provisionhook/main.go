// Command provisionhook is the AWS IoT fleet provisioning pre-provisioning
// hook: it allows RegisterThing only for a device presenting a valid,
// unused claim bound to its serial number.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/fleetclaim/fleetclaim/shared/app"
	"github.com/fleetclaim/fleetclaim/shared/awsenv"
	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/iotclaims"
)

func main() {
	cfg, sdk, log := app.Boot(config.LoadHook)
	// The SDK's retries would outlive the hook's deadline; the deadline,
	// not a retry, decides (invariant 3).
	sdk.RetryMaxAttempts = 1
	m := app.Metrics(cfg.Base)
	h := app.ProvisioningHook(cfg, app.Parts{
		Store: app.DynamoStore(sdk, cfg.Base, m),
		// Deactivates the certificates of the claims a denial burns.
		Revoker: iotclaims.NewRevoker(awsenv.IoT(sdk, "")),
		Log:     log,
		Metrics: m,
	})
	lambda.Start(h.Handle)
}
