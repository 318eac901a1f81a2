// Command pretoken is the Cognito pre-token-generation trigger (V2_0 event):
// it writes tenant and status claims and grants scopes to approved installers.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/fleetclaim/fleetclaim/shared/app"
	"github.com/fleetclaim/fleetclaim/shared/config"
)

func main() {
	cfg, sdk, log := app.Boot(config.LoadTrigger)
	m := app.Metrics(cfg.Base)
	h := app.PreTokenGeneration(app.Parts{
		Store:   app.DynamoStore(sdk, cfg.Base, m),
		Log:     log,
		Metrics: m,
	})
	lambda.Start(h)
}
