// Command coldstart measures each function's cold start the way Lambda
// starts it: it builds the real bootstrap (for this machine's architecture,
// with the Makefile's flags), serves a minimal Lambda Runtime API on
// 127.0.0.1, and times process start → first /next request (init) and →
// first answered invocation, over many starts. It prints a Markdown table
// of medians and 90th percentiles, binary sizes and peak RSS.
//
// Usage: go run ./infra/bench/coldstart -dynamodb http://127.0.0.1:PORT [-n 21]
package main

import (
	"context"
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
	"sync"
	"syscall"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/awsenv"
	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/dynamostore"
)

// functions and the sample event each is started with; each event makes the
// function read the store, so the first invocation includes a round trip.
var functions = []struct{ name, event string }{
	{"claims", "events/claims/get-claim.json"},
	{"postconfirm", "events/postconfirm/confirm-signup-pending.json"},
	{"pretoken", "events/pretoken/unknown-user.json"},
	{"provisionhook", "events/provisionhook/unknown-claim.json"},
}

func main() {
	n := flag.Int("n", 21, "starts per function")
	dynamo := flag.String("dynamodb", "", "DynamoDB-compatible endpoint on loopback (required)")
	flag.Parse()
	if !strings.HasPrefix(*dynamo, "http://127.") {
		fmt.Fprintln(os.Stderr, "coldstart: -dynamodb must be a loopback URL")
		os.Exit(2)
	}
	if err := run(*n, *dynamo); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

func run(n int, dynamo string) error {
	ctx := context.Background()
	table := fmt.Sprintf("coldstart-%d", time.Now().UnixNano())
	if err := dynamostore.CreateTable(ctx, awsenv.DynamoDB(awsenv.Local("us-east-1"), dynamo), table); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "coldstart")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	fmt.Printf("| function | binary | init, median | init, p90 | first answer, median | first answer, p90 | peak RSS, median |\n")
	fmt.Printf("|---|---|---|---|---|---|---|\n")
	for _, f := range functions {
		bin := filepath.Join(dir, f.name)
		build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-tags", "lambda.norpc", "-o", bin, "./functions/"+f.name) // #nosec G204 -- our own functions, from the fixed list above
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %v\n%s", f.name, err, out)
		}
		info, err := os.Stat(bin)
		if err != nil {
			return err
		}
		event, err := os.ReadFile(f.event)
		if err != nil {
			return err
		}
		var inits, firsts []time.Duration
		var rss []int64
		for range n {
			s, err := start(bin, event, table, dynamo)
			if err != nil {
				return fmt.Errorf("%s: %w", f.name, err)
			}
			inits, firsts, rss = append(inits, s.init), append(firsts, s.first), append(rss, s.maxRSSKB)
		}
		fmt.Printf("| %s | %.1f MB | %s | %s | %s | %s | %.1f MB |\n", f.name, float64(info.Size())/1e6,
			ms(pct(inits, 50)), ms(pct(inits, 90)), ms(pct(firsts, 50)), ms(pct(firsts, 90)), float64(pct(rss, 50))/1024)
	}
	fmt.Printf("\n%d starts per function; %s, %d CPUs, %s.\n", n, runtime.Version(), runtime.NumCPU(), runtime.GOARCH)
	return nil
}

type sample struct {
	init, first time.Duration
	maxRSSKB    int64
}

// start runs one cold start: the process's first GET .../invocation/next
// ends init; its POST .../response ends the first invocation; then it is
// stopped, as Lambda freezes it.
func start(bin string, event []byte, table, dynamo string) (sample, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return sample{}, err
	}
	var mu sync.Mutex
	var began, initDone, answered time.Time
	failed := ""
	done := make(chan struct{})
	var once sync.Once
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		first := initDone.IsZero()
		if first {
			initDone = time.Now()
		}
		mu.Unlock()
		if !first { // the next invocation never comes; the process is stopped
			<-r.Context().Done()
			return
		}
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", "coldstart-1")
		w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(5*time.Second).UnixMilli()))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:bench")
		_, _ = w.Write(event)
	})
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		answered = time.Now()
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		once.Do(func() { close(done) })
	})
	fail := func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		failed = string(b)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		once.Do(func() { close(done) })
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", fail)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", fail)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()

	cmd := exec.Command(bin)
	cmd.Env = []string{
		"AWS_LAMBDA_RUNTIME_API=" + l.Addr().String(), "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=bench",
		"AWS_SECRET_ACCESS_KEY=bench", "AWS_LAMBDA_FUNCTION_NAME=bench", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		config.EnvTableName + "=" + table, config.EnvTemplateName + "=fleetclaim-prod", config.EnvUserPoolID + "=eu-west-1_Ab12Cd34E",
		config.EnvDynamoDBEndpoint + "=" + dynamo, config.EnvIoTDataEndpoint + "=iot.example",
		config.EnvIoTEndpoint + "=http://127.0.0.1:9", config.EnvCognitoEndpoint + "=http://127.0.0.1:9", config.EnvLogLevel + "=error",
	}
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	mu.Lock()
	began = time.Now()
	mu.Unlock()
	if err := cmd.Start(); err != nil {
		return sample{}, err
	}
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return sample{}, fmt.Errorf("no answer within 15s")
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	mu.Lock()
	defer mu.Unlock()
	if failed != "" {
		return sample{}, fmt.Errorf("the function failed: %s", failed)
	}
	var maxRSS int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		maxRSS = ru.Maxrss
	}
	return sample{init: initDone.Sub(began), first: answered.Sub(began), maxRSSKB: maxRSS}, nil
}

func pct[T int64 | time.Duration](xs []T, p int) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
