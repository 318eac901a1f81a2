// Command postconfirm is the Cognito post-confirmation trigger: it records each
// newly confirmed user as a pending (or auto-approved) installer.
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
	"github.com/fleetclaim/fleetclaim/shared/logging"
)

func main() {
	ctx := context.Background()
	cfg, err := config.LoadTrigger(config.Env())
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
	cognito := awsenv.Cognito(aws, cfg.CognitoEndpoint)
	h := app.PostConfirmation(app.Parts{
		Store:     dynamostore.New(awsenv.DynamoDB(aws, cfg.DynamoDBEndpoint), cfg.TableName),
		GroupsFor: func(pool string) fleetclaim.GroupManager { return cognitoadmin.New(cognito, pool) },
		Log:       log,
	})
	lambda.Start(h.Handle)
}
