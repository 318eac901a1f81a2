package app_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/app"
	"github.com/fleetclaim/fleetclaim/shared/awsenv"
	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/metrics"
)

// isolateAWS keeps the SDK from reading this machine's AWS files or asking
// an instance metadata service: the tests never leave the process.
func isolateAWS(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_REGION", "eu-west-1")
}

func TestBoot(t *testing.T) {
	isolateAWS(t)
	t.Setenv(config.EnvTableName, "fleetclaim-test")
	t.Setenv(config.EnvHookDeadline, "1500ms")
	t.Setenv(config.EnvLogLevel, "debug")
	cfg, sdk, log := app.Boot(config.LoadHook)
	if cfg.TableName != "fleetclaim-test" || cfg.HookDeadline.Milliseconds() != 1500 || cfg.LogLevel != "debug" {
		t.Errorf("got config %+v", cfg)
	}
	if sdk.Region != "eu-west-1" || log == nil {
		t.Errorf("got region %q and logger %v", sdk.Region, log)
	}
	if store := app.DynamoStore(sdk, cfg.Base, app.Metrics(cfg.Base)); store == nil {
		t.Error("no store")
	}
}

// The store Lambda functions use counts its faults in StoreErrors: here a
// table that answers every call with a server error, over real HTTP.
func TestDynamoStoreCountsFaults(t *testing.T) {
	isolateAWS(t)
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amzn-ErrorType", "InternalServerError")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"m"}`))
	}))
	t.Cleanup(srv.Close)
	sdk := awsenv.Local("eu-west-1")
	sdk.RetryMaxAttempts = 1
	tally := metrics.NewTally("")
	store := app.DynamoStore(sdk, config.Base{TableName: "t", DynamoDBEndpoint: srv.URL}, tally)

	_, err := store.GetClaim(t.Context(), fleetclaim.ClaimID(strings.Repeat("a", 64)))

	if err == nil || calls.Load() != 1 {
		t.Fatalf("got %v after %d calls, want one failed call", err, calls.Load())
	}
	if got := tally.Get(metrics.StoreErrors, "").Count; got != 1 {
		t.Errorf("StoreErrors: got %d, want 1", got)
	}
}

// A function whose configuration is wrong does not start: Boot logs one JSON
// line naming the variable and exits non-zero, which Lambda reports as an
// init error. It runs in a child process because it exits.
func TestBootRefusesBadConfiguration(t *testing.T) {
	if os.Getenv("FLEETCLAIM_BOOT_CHILD") == "1" {
		app.Boot(config.LoadHook)
		os.Exit(0) // not reached when Boot refuses
	}
	for _, tt := range []struct {
		name string
		env  []string
		want string
	}{
		{"table missing", []string{config.EnvHookDeadline + "=2s"}, config.EnvTableName},
		{"hook deadline too long", []string{config.EnvTableName + "=t", config.EnvHookDeadline + "=5s"}, config.EnvHookDeadline},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBootRefusesBadConfiguration$") // #nosec G204 -- this test binary
			cmd.Env = append([]string{"FLEETCLAIM_BOOT_CHILD=1", "AWS_EC2_METADATA_DISABLED=true", "AWS_REGION=eu-west-1",
				"PATH=" + os.Getenv("PATH")}, tt.env...)
			var stdout bytes.Buffer
			cmd.Stdout = &stdout
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("got %v, want exit status 1; output:\n%s", err, stdout.String())
			}
			var line map[string]any
			if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &line); err != nil {
				t.Fatalf("want one JSON log line, got %q: %v", stdout.String(), err)
			}
			if line["message"] != "cannot start" || line["level"] != "ERROR" || !strings.Contains(line["error"].(string), tt.want) {
				t.Errorf("got %v, want an error line naming %s", line, tt.want)
			}
		})
	}
}
