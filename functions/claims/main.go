// Command claims is the API Lambda: API Gateway (REST, Cognito authorizer)
// proxies every route of the installer and admin API to it.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/fleetclaim/fleetclaim/shared/app"
	"github.com/fleetclaim/fleetclaim/shared/awsenv"
	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/iotclaims"
)

func main() {
	cfg, sdk, log := app.Boot(config.LoadClaims)
	iot := awsenv.IoT(sdk, cfg.IoTEndpoint)
	m := app.Metrics(cfg.Base)
	h := app.Claims(cfg, app.Parts{
		Store:     app.DynamoStore(sdk, cfg.Base, m),
		Minter:    iotclaims.NewMinter(iot),
		Revoker:   iotclaims.NewRevoker(iot),
		Endpoint:  iotclaims.NewEndpoint(iot, cfg.IoTDataEndpoint).Get,
		GroupsFor: app.CognitoGroups(awsenv.Cognito(sdk, cfg.CognitoEndpoint)),
		Log:       log,
		Metrics:   m,
	})
	lambda.Start(h.Handle)
}
