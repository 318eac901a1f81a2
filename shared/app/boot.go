package app

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/fleetclaim/fleetclaim/shared/awsenv"
	"github.com/fleetclaim/fleetclaim/shared/cognitoadmin"
	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/dynamostore"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/logging"
	"github.com/fleetclaim/fleetclaim/shared/metrics"
)

// Config is a function's configuration: config.Claims, config.Trigger or
// config.Hook.
type Config interface{ Common() config.Base }

// Boot is how every Lambda main begins. It reads the function's
// configuration with load, builds the JSON logger at the configured level
// and loads the AWS SDK configuration that Lambda's environment provides.
// If any of that fails it logs one line saying why and exits, which Lambda
// reports as an init error: a function never serves on a guess.
func Boot[C Config](load func(config.Lookup) (C, error)) (C, aws.Config, *slog.Logger) {
	cfg, err := load(config.Env())
	log := logging.New(os.Stdout, cfg.Common().LogLevel)
	var sdk aws.Config
	if err == nil {
		sdk, err = awsenv.Load(context.Background())
	}
	if err != nil {
		log.Error("cannot start", "error", err)
		os.Exit(1)
	}
	return cfg, sdk, log
}

// Metrics is a function's recorder in Lambda: embedded metric format lines
// on stdout, in the configured namespace, which CloudWatch Logs turns into
// metrics.
func Metrics(b config.Base) *metrics.EMF {
	return metrics.NewEMF(os.Stdout, b.MetricsNamespace)
}

// DynamoStore is the store in the configured table. Every call that fails
// for a reason other than a failed condition counts in metrics.StoreErrors.
func DynamoStore(sdk aws.Config, b config.Base, m metrics.Recorder) *dynamostore.Store {
	faults := awsenv.CountFaults(func(ctx context.Context) { metrics.Add(ctx, m, metrics.StoreErrors, "") })
	return dynamostore.New(awsenv.DynamoDB(sdk, b.DynamoDBEndpoint, faults), b.TableName)
}

// CognitoGroups is Parts.GroupsFor over the Cognito user pools API.
func CognitoGroups(c *cip.Client) func(userPoolID string) fleetclaim.GroupManager {
	return func(pool string) fleetclaim.GroupManager { return cognitoadmin.New(c, pool) }
}
