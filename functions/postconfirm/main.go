// Command postconfirm is the Cognito post-confirmation trigger: it records each
// newly confirmed user as a pending (or auto-approved) installer.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/fleetclaim/fleetclaim/shared/app"
	"github.com/fleetclaim/fleetclaim/shared/config"
)

func main() {
	cfg, sdk, log := app.Boot(config.LoadTrigger)
	m := app.Metrics(cfg.Base)
	h := app.PostConfirmation(app.Parts{
		Store:   app.DynamoStore(sdk, cfg.Base, m),
		Log:     log,
		Metrics: m,
	})
	lambda.Start(h.Handle)
}
