// Command presence receives AWS IoT's presence events, which a topic rule
// delivers, and marks a device online when it first connects with its own
// certificate.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/fleetclaim/fleetclaim/shared/app"
	"github.com/fleetclaim/fleetclaim/shared/config"
)

func main() {
	cfg, sdk, log := app.Boot(config.LoadPresence)
	m := app.Metrics(cfg.Base)
	h := app.Presence(app.Parts{Store: app.DynamoStore(sdk, cfg.Base, m), Log: log, Metrics: m})
	lambda.Start(h.Handle)
}
