// Command claims is the API Lambda: API Gateway (REST, Cognito authorizer)
// proxies every route of the installer and admin API to it.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/fleetclaim/fleetclaim/shared/app"
	"github.com/fleetclaim/fleetclaim/shared/awsenv"
	"github.com/fleetclaim/fleetclaim/shared/cognitoadmin"
	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/dynamostore"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/iotclaims"
	"github.com/fleetclaim/fleetclaim/shared/logging"
)

func main() {
	ctx := context.Background()
	cfg, err := config.LoadClaims(config.Env())
	log := logging.New(os.Stdout, cfg.LogLevel)
	if err != nil {
		log.Error("cannot start", "error", err)
		os.Exit(1)
	}
	aws, err := awsenv.Load(ctx)
	if err != nil {
		log.Error("cannot start", "error", err)
		os.Exit(1)
	}
	iot := awsenv.IoT(aws, cfg.IoTEndpoint)
	cognito := awsenv.Cognito(aws, cfg.CognitoEndpoint)
	h := app.Claims(cfg, app.Parts{
		Store:     dynamostore.New(awsenv.DynamoDB(aws, cfg.DynamoDBEndpoint), cfg.TableName),
		Minter:    iotclaims.NewMinter(iot),
		Endpoint:  iotclaims.NewEndpoint(iot, cfg.IoTDataEndpoint).Get,
		GroupsFor: func(pool string) fleetclaim.GroupManager { return cognitoadmin.New(cognito, pool) },
		Log:       log,
	})
	lambda.Start(h.Handle)
}
