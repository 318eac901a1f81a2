package dynamostore_test

import (
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/dynamostore/dynamotest"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }
