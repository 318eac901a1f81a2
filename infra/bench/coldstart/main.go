// Command coldstart measures each function's cold start the way Lambda
// starts it. It builds the real bootstrap (for this machine's architecture,
// with the Makefile's flags), serves a minimal Lambda Runtime API on
// 127.0.0.1, and times, over many starts, process start → first GET
// .../invocation/next (init) and → the first invocation's response (first
// answer). The first invocation takes the function's successful path against
// a DynamoDB-compatible server on loopback, seeded for it.
//
// It prints a Markdown table of medians and 90th percentiles, binary sizes
// (this machine's architecture and arm64, as deployed), peak RSS, and the
// package initialisation time that GODEBUG=inittrace=1 reports; -json also
// writes the medians for the cost model.
//
// Usage: go run ./infra/bench/coldstart -dynamodb http://127.0.0.1:PORT [-n 21] [-json file]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/fleetclaim/fleetclaim/infra/bench/benchid"
	"github.com/fleetclaim/fleetclaim/shared/awsenv"
	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/dynamostore"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// Targets from the performance issue.
const (
	targetInit   = 25 * time.Millisecond
	targetBinary = 15_000_000
)

func main() {
	n := flag.Int("n", 21, "timed starts per function (at least 20 for a p90 worth the name; at most 200)")
	dynamo := flag.String("dynamodb", "", "DynamoDB-compatible endpoint on loopback, e.g. http://127.0.0.1:8000 (required)")
	jsonOut := flag.String("json", "", "also write the medians to this file, as JSON")
	flag.Parse()
	if !strings.HasPrefix(*dynamo, "http://127.") {
		fmt.Fprintln(os.Stderr, "coldstart: -dynamodb must be a loopback URL (http://127.x.x.x:port)")
		os.Exit(2)
	}
	if *n < 1 || *n > 200 {
		fmt.Fprintln(os.Stderr, "coldstart: -n must be between 1 and 200")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	results, err := run(ctx, *n, *dynamo)
	if err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
	report(os.Stdout, results, *n)
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(summaries(results), "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "coldstart:", err)
			os.Exit(1)
		}
	}
}

// result is one function's measurements.
type result struct {
	function          string
	size, arm64Size   int64
	inits, firsts     []time.Duration
	invokes           []time.Duration // first - init: the first invocation itself
	rss               []int64         // KB
	packageInit       time.Duration
	slowestPackage    string
	slowestPackageDur time.Duration
}

func run(ctx context.Context, n int, dynamo string) ([]result, error) {
	api := awsenv.DynamoDB(awsenv.Local("us-east-1"), dynamo)
	table := "coldstart-" + benchid.Hex(4)
	if err := dynamostore.CreateTable(ctx, api, table); err != nil {
		return nil, err
	}
	store := dynamostore.New(api, table)
	if err := seed(ctx, store); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}

	iotL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	iot := &http.Server{Handler: iotStandIn(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = iot.Serve(iotL) }()
	defer iot.Close()

	dir, err := os.MkdirTemp("", "coldstart")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	env := []string{
		// What Lambda sets (credentials: dummies; nothing reaches AWS).
		"AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=coldstart", "AWS_SESSION_TOKEN=coldstart",
		"AWS_LAMBDA_FUNCTION_NAME=fleetclaim-coldstart", "AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256", "TZ=:UTC",
		// What infra/ sets, with every endpoint on loopback.
		config.EnvTableName + "=" + table, config.EnvTemplateName + "=" + template, config.EnvUserPoolID + "=" + userPoolID,
		config.EnvClaimsPerHour + "=1000000", config.EnvIoTDataEndpoint + "=a1b2c3d4e5f6g7-ats.iot.us-east-1.amazonaws.com",
		config.EnvLogLevel + "=info", config.EnvDynamoDBEndpoint + "=" + dynamo,
		config.EnvIoTEndpoint + "=http://" + iotL.Addr().String(),
		// No function calls Cognito on these paths: a closed port.
		config.EnvCognitoEndpoint + "=http://127.0.0.1:9",
	}

	var results []result
	for _, sc := range scenarios {
		fmt.Fprintf(os.Stderr, "coldstart: %s\n", sc.function)
		r, err := measure(ctx, sc, store, env, dir, n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sc.function, err)
		}
		results = append(results, r)
	}
	return results, nil
}

func measure(ctx context.Context, sc scenario, store fleetclaim.Store, env []string, dir string, n int) (result, error) {
	r := result{function: sc.function}
	bin := filepath.Join(dir, sc.function+"-"+runtime.GOARCH)
	if err := build(sc.function, runtime.GOARCH, bin); err != nil {
		return r, err
	}
	var err error
	if r.size, err = fileSize(bin); err != nil {
		return r, err
	}
	r.arm64Size = r.size
	if runtime.GOARCH != "arm64" {
		arm := filepath.Join(dir, sc.function+"-arm64")
		if err := build(sc.function, "arm64", arm); err != nil {
			return r, err
		}
		if r.arm64Size, err = fileSize(arm); err != nil {
			return r, err
		}
	}

	once := func(extraEnv ...string) (sample, error) {
		ev, err := sc.eventFor(ctx, store)
		if err != nil {
			return sample{}, err
		}
		s, err := start(bin, append(slices.Clone(env), extraEnv...), ev)
		if err != nil {
			return s, err
		}
		if err := sc.check(s.response); err != nil || sc.confirm == nil {
			return s, err
		}
		return s, sc.confirm(ctx, store)
	}
	// One untimed start first, so that every timed one finds the binary in
	// the page cache, as each of Lambda's does in its own sandbox.
	if _, err := once(); err != nil {
		return r, err
	}
	for range n {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		s, err := once()
		if err != nil {
			return r, err
		}
		r.inits, r.firsts, r.invokes = append(r.inits, s.init), append(r.firsts, s.first), append(r.invokes, s.first-s.init)
		r.rss = append(r.rss, s.maxRSSKB)
	}
	s, err := once("GODEBUG=inittrace=1")
	if err != nil {
		return r, err
	}
	r.packageInit, r.slowestPackage, r.slowestPackageDur = parseInitTrace(s.stderr)
	return r, nil
}

// build compiles a function as the Makefile's build-% rule does, for arch.
func build(function, arch, out string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-tags", "lambda.norpc", "-o", out, "./functions/"+function) // #nosec G204 -- our own functions, named in the fixed scenario list
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s for %s: %w\n%s", function, arch, err, b)
	}
	return nil
}

func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// parseInitTrace sums the clock time of GODEBUG=inittrace=1's lines,
//
//	init github.com/aws/smithy-go/... @1.2 ms, 0.031 ms clock, 1234 bytes, 12 allocs
//
// and names the slowest package.
func parseInitTrace(stderr []byte) (total time.Duration, slowest string, slowestDur time.Duration) {
	for _, line := range strings.Split(string(stderr), "\n") {
		var pkg string
		var at, clock float64
		if _, err := fmt.Sscanf(line, "init %s @%f ms, %f ms clock", &pkg, &at, &clock); err != nil {
			continue
		}
		d := time.Duration(clock * float64(time.Millisecond))
		total += d
		if d > slowestDur {
			slowest, slowestDur = pkg, d
		}
	}
	return total, slowest, slowestDur
}

func report(w io.Writer, results []result, n int) {
	fmt.Fprintf(w, "| function | binary (%s here / arm64 deployed) | init, median | init, p90 | first answer, median | first answer, p90 | first invocation, median | peak RSS, median | package init (inittrace) |\n", runtime.GOARCH)
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	var missed []string
	for _, r := range results {
		fmt.Fprintf(w, "| %s | %s / %s | %s | %s | %s | %s | %s | %.1f MB | %s (slowest: %s, %s) |\n", r.function,
			mb(r.size), mb(r.arm64Size), ms(pct(r.inits, 50)), ms(pct(r.inits, 90)), ms(pct(r.firsts, 50)), ms(pct(r.firsts, 90)),
			ms(pct(r.invokes, 50)), float64(pct(r.rss, 50))/1024, ms(r.packageInit), r.slowestPackage, ms(r.slowestPackageDur))
		if pct(r.inits, 50) >= targetInit {
			missed = append(missed, r.function+" init")
		}
		if r.size >= targetBinary || r.arm64Size >= targetBinary {
			missed = append(missed, r.function+" binary size")
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%d timed starts per function after one untimed one; %s, %d CPUs, %s/%s.\n", n, runtime.Version(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	if len(missed) == 0 {
		fmt.Fprintf(w, "Every function meets the targets (init under %s median, binary under %s).\n", ms(targetInit), mb(targetBinary))
	} else {
		fmt.Fprintf(w, "Targets missed: %s.\n", strings.Join(missed, ", "))
	}
}

// Summary is one function's medians, as -json writes them.
type Summary struct {
	Function      string  `json:"function"`
	BinaryBytes   int64   `json:"binaryBytes"`
	Arm64Bytes    int64   `json:"arm64BinaryBytes"`
	InitMs        float64 `json:"initMedianMs"`
	FirstAnswerMs float64 `json:"firstAnswerMedianMs"`
	FirstInvokeMs float64 `json:"firstInvocationMedianMs"`
	PeakRSSMB     float64 `json:"peakRSSMedianMB"`
}

func summaries(results []result) []Summary {
	var out []Summary
	for _, r := range results {
		out = append(out, Summary{Function: r.function, BinaryBytes: r.size, Arm64Bytes: r.arm64Size,
			InitMs: msf(pct(r.inits, 50)), FirstAnswerMs: msf(pct(r.firsts, 50)), FirstInvokeMs: msf(pct(r.invokes, 50)),
			PeakRSSMB: float64(pct(r.rss, 50)) / 1024})
	}
	return out
}

// pct is the p-th percentile by the nearest-rank method on a sorted copy.
func pct[T int64 | time.Duration](xs []T, p int) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100 // ceil(p% of n), 1-based
	return s[max(i, 1)-1]
}

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
func ms(d time.Duration) string   { return fmt.Sprintf("%.1f ms", msf(d)) }
func mb(n int64) string           { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
