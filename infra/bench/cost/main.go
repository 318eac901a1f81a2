// Command cost prices one provisioned device in AWS from what the code
// does. It runs each user-facing flow (installer sign-up and approval,
// sign-in, POST /claims, the pre-provisioning hook, GET /claims/{id})
// through the real handlers and the DynamoDB adapter against a
// DynamoDB-compatible server on loopback, and records for each:
//
//   - the DynamoDB capacity it consumed, as the server reports it for the
//     table plus the global secondary index writes DynamoDB would charge;
//   - how many DynamoDB and Cognito calls it made, and how many bytes of
//     logs it wrote at the deployed level;
//   - its median duration here, over -n runs.
//
// It then prints the cost model as Markdown: list prices, the flows, and
// the cost per 1,000 and per 1,000,000 devices provisioned; -short also
// writes a summary.
//
// Usage: go run ./infra/bench/cost -dynamodb http://127.0.0.1:PORT [-coldstart coldstart.json] [-short file]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/fleetclaim/fleetclaim/infra/bench/benchid"
	"github.com/fleetclaim/fleetclaim/shared/awsenv"
	"github.com/fleetclaim/fleetclaim/shared/dynamostore"
)

func main() {
	endpoint := flag.String("dynamodb", "", "DynamoDB-compatible endpoint on loopback, e.g. http://127.0.0.1:8000 (required)")
	n := flag.Int("n", 31, "timed runs per flow (1 to 500)")
	coldstart := flag.String("coldstart", "", "the JSON that coldstart -json wrote, for the init durations")
	short := flag.String("short", "", "also write a short summary of the model to this file")
	flag.Parse()
	if !strings.HasPrefix(*endpoint, "http://127.") || *n < 1 || *n > 500 {
		fmt.Fprintln(os.Stderr, "cost: -dynamodb must be a loopback URL (http://127.x.x.x:port) and -n between 1 and 500")
		os.Exit(2)
	}
	var inits []coldStart
	if *coldstart != "" {
		b, err := os.ReadFile(*coldstart)
		if err == nil {
			err = json.Unmarshal(b, &inits)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "cost:", err)
			os.Exit(1)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	m, err := measureFlows(ctx, *endpoint, *n)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cost:", err)
		os.Exit(1)
	}
	model := newModel(m, inits)
	model.render(os.Stdout)
	if *short != "" {
		f, err := os.Create(*short)
		if err == nil {
			model.renderShort(f)
			err = f.Close()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "cost:", err)
			os.Exit(1)
		}
	}
}

// coldStart is the part of coldstart's -json output the model reads.
type coldStart struct {
	Function string  `json:"function"`
	InitMs   float64 `json:"initMedianMs"`
}

// measured is what the flows did.
type measured struct {
	flows map[string]flowMeasure
	// claimBytes is a claim item's size, deviceBytes a serial record's
	// with its live device (both kept for good once the claim is
	// consumed); auditBytes an audit event's; on average.
	claimBytes, deviceBytes, auditBytes float64
	runs                                int
}

// flowMeasure is one flow's invocation.
type flowMeasure struct {
	flow
	units        units
	logBytes     int64
	cognitoCalls int64
	median       time.Duration
}

func measureFlows(ctx context.Context, endpoint string, n int) (measured, error) {
	api := awsenv.DynamoDB(awsenv.Local("us-east-1"), endpoint)
	table := "cost-" + benchid.Hex(4)
	if err := dynamostore.CreateTable(ctx, api, table); err != nil {
		return measured{}, err
	}
	plain := dynamostore.New(api, table)
	m := &meter{api: api, table: table}
	if err := seed(ctx, plain); err != nil {
		return measured{}, fmt.Errorf("seed: %w", err)
	}
	logs, g := &byteCounter{}, &groups{}
	timed, counted := newHandlers(plain, io.Discard, g), newHandlers(dynamostore.New(m, table), logs, g)

	out := measured{flows: map[string]flowMeasure{}, runs: n}
	for _, f := range flows {
		fmt.Fprintf(os.Stderr, "cost: %s\n", f.name)
		once := func(h handlers) (time.Duration, error) {
			inv, err := f.prepare(ctx, plain)
			if err != nil {
				return 0, err
			}
			start := time.Now()
			err = inv(ctx, h)
			return time.Since(start), err
		}
		// The first call of a path pays for connections and lazy set-up;
		// the cold starts measure that. These are warm invocations.
		if _, err := once(timed); err != nil {
			return out, fmt.Errorf("%s: %w", f.name, err)
		}
		var ds []time.Duration
		for range n {
			d, err := once(timed)
			if err != nil {
				return out, fmt.Errorf("%s: %w", f.name, err)
			}
			ds = append(ds, d)
		}
		m.take()
		logs.take()
		g.calls.Store(0)
		if _, err := once(counted); err != nil {
			return out, fmt.Errorf("%s: %w", f.name, err)
		}
		slices.Sort(ds)
		out.flows[f.name] = flowMeasure{flow: f, units: m.take(), logBytes: logs.take(), cognitoCalls: g.calls.Load(),
			median: ds[len(ds)/2]}
	}
	var err error
	out.claimBytes, out.deviceBytes, out.auditBytes, err = storedSizes(ctx, api, table)
	return out, err
}

// storedSizes reads back what the flows left in the table: the average
// size of a claim item, of a serial record holding a live device, and of an
// audit event.
func storedSizes(ctx context.Context, api *dynamodb.Client, table string) (claim, device, audit float64, err error) {
	var claims, devices, audits []int
	var start map[string]types.AttributeValue
	for range 1000 {
		out, err := api.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table), ExclusiveStartKey: start})
		if err != nil {
			return 0, 0, 0, err
		}
		for _, it := range out.Items {
			pk := str(it[dynamostore.AttrPK])
			switch {
			case str(it[dynamostore.AttrSK]) == "SERIAL" && it["device"] != nil:
				devices = append(devices, itemSize(it))
			case strings.HasPrefix(pk, "CLAIM#"):
				claims = append(claims, itemSize(it))
			case strings.HasSuffix(pk, "#AUDIT"):
				audits = append(audits, itemSize(it))
			}
		}
		if start = out.LastEvaluatedKey; start == nil {
			break
		}
	}
	if len(claims) == 0 || len(devices) == 0 || len(audits) == 0 {
		return 0, 0, 0, fmt.Errorf("no claim, provisioned device or audit event in the table")
	}
	return mean(claims), mean(devices), mean(audits), nil
}

func mean(xs []int) float64 {
	t := 0
	for _, x := range xs {
		t += x
	}
	return float64(t) / float64(len(xs))
}
