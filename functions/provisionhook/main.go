// Command provisionhook is the AWS IoT fleet provisioning pre-provisioning
// hook: it allows RegisterThing only for a device presenting a valid,
// unused claim bound to its serial number.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/fleetclaim/fleetclaim/shared/app"
	"github.com/fleetclaim/fleetclaim/shared/awsenv"
	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/dynamostore"
	"github.com/fleetclaim/fleetclaim/shared/logging"
)

func main() {
	ctx := context.Background()
	cfg, err := config.LoadHook(config.Env())
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
	// The SDK's retries would outlive the hook's deadline; the deadline,
	// not a retry, decides (invariant 3).
	aws.RetryMaxAttempts = 1
	h := app.ProvisioningHook(cfg, app.Parts{
		Store: dynamostore.New(awsenv.DynamoDB(aws, cfg.DynamoDBEndpoint), cfg.TableName),
		Log:   log,
	})
	lambda.Start(h.Handle)
}
