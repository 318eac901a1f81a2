// Command fleetclaim-local runs the whole fleetclaim system on one machine,
// with no AWS account and no network beyond loopback, and plays an installer
// and a device against it (the demo subcommand). Run it with -h.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/fleetclaim/fleetclaim/shared/logging"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "demo":
			os.Exit(runDemo(os.Args[2:]))
		case "load":
			os.Exit(runLoad(os.Args[2:]))
		case "device":
			os.Exit(runDevice(os.Args[2:]))
		}
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cfg, err := parseConfig(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleetclaim-local:", err)
		return 2
	}
	cfg.Codes = os.Stdout
	log := logging.New(os.Stderr, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := Start(ctx, cfg, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleetclaim-local:", err)
		return 1
	}
	defer s.Close()
	e := s.Endpoints
	fmt.Printf(`fleetclaim local stack is up (state in %s)

  Console (open this)   %s
  API (installer app)   %s
  OpenAPI document      %s
  Metrics               %s   (as CloudWatch would receive them)
  Cognito endpoint      %s   region %s
    user pool ID        %s
    app client ID       %s
    issuer / JWKS       %s/.well-known/jwks.json
  AWS IoT control plane %s
  MQTT over TLS         %s   (client certificates; trust %s)
  provisioning template %s

The same, for scripts: %s/endpoints.json
IAM credentials for Admin* and control-plane calls: %s (yours alone, new at every start)
`, e.DataDir, e.ConsoleURL, e.APIURL, e.OpenAPIURL, e.MetricsURL, e.CognitoEndpoint, e.Region, e.UserPoolID, e.ClientID, e.Issuer,
		e.IoTEndpoint, e.MQTTEndpoint, e.CAFile, e.TemplateName, e.DataDir, e.CredentialsFile)
	fmt.Print(adminLines(cfg))
	fmt.Print(`Sign-up codes appear below as "sign-up code for <email>: <code>".
Try it: make demo (in another terminal). Stop with Ctrl-C.
`)
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "fleetclaim-local: stopping")
	return 0
}
