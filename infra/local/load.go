package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fleetclaim/fleetclaim/infra/local/device"
)

const loadUsage = `fleetclaim-local load measures a running local stack through its real
protocols, on loopback only: claims per second through POST /claims with valid
tokens, then complete device provisionings per second over MQTT (claim, keys,
RegisterThing, reconnect), at each concurrency level for a bounded time. Each
client is its own approved installer, so start the stack with a quota that
the run cannot exhaust (-claims-per-hour).

Flags:
`

func runLoad(args []string) int {
	fs := flag.NewFlagSet("fleetclaim-local load", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), loadUsage); fs.PrintDefaults() }
	endpoints := fs.String("endpoints", filepath.Join(".local", "endpoints.json"), "the running stack's endpoints.json")
	levels := fs.String("c", "1,8,64", "concurrency levels")
	duration := fs.Duration("d", 5*time.Second, "measuring time per level and workload (at most 1m)")
	adminEmail := fs.String("admin-email", "admin@acme.example", "the stack's admin")
	adminPassword := fs.String("admin-password", "Local-Admin-1", "the admin's password")
	tenant := fs.String("tenant", "acme", "tenant the load installers sign up for")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	b, err := os.ReadFile(*endpoints)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		return 1
	}
	var e Endpoints
	if err := json.Unmarshal(b, &e); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		return 1
	}
	var cs []int
	for _, f := range strings.Split(*levels, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 1 || c > 256 {
			fmt.Fprintln(os.Stderr, "load: -c takes levels from 1 to 256")
			return 2
		}
		cs = append(cs, c)
	}
	d := min(*duration, time.Minute)
	if err := load(context.Background(), os.Stdout, e, cs, d, *tenant, *adminEmail, *adminPassword); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		return 1
	}
	return 0
}

func load(ctx context.Context, out io.Writer, e Endpoints, levels []int, d time.Duration, tenant, adminEmail, adminPassword string) error {
	admin := newInstaller(e, adminEmail, adminPassword)
	if err := admin.signIn(ctx); err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	installers := make([]*installer, slices.Max(levels))
	for i := range installers {
		in := newInstaller(e, "load-"+randomSuffix()+"@installers.example", "Load-Passw0rd-"+randomSuffix())
		if err := in.signUp(ctx, tenant); err != nil {
			return err
		}
		rec, err := admin.findInstaller(ctx, in.email)
		if err != nil {
			return err
		}
		if err := admin.call(ctx, "POST", "/installers/"+rec.InstallerID+"/approve", nil, nil); err != nil {
			return err
		}
		if err := in.signIn(ctx); err != nil {
			return err
		}
		installers[i] = in
	}
	dev := device.Config{Endpoint: e.MQTTEndpoint, CAFile: e.CAFile, Timeout: 10 * time.Second}
	workloads := []struct {
		name string
		op   func(in *installer) error
	}{
		{"claims (POST /claims)", func(in *installer) error {
			return in.call(ctx, "POST", "/claims", map[string]string{"serialNumber": "SN-L" + randomSuffix()}, nil)
		}},
		{"provisionings (claim → keys → RegisterThing → reconnect)", func(in *installer) error {
			serial := "SN-P" + randomSuffix()
			var c claimJSON
			if err := in.call(ctx, "POST", "/claims", map[string]string{"serialNumber": serial}, &c); err != nil {
				return err
			}
			_, err := device.Provision(ctx, dev, device.Credentials{CertificatePEM: c.CertificatePEM, PrivateKeyPEM: c.PrivateKey},
				c.TemplateName, serial, false)
			return err
		}},
	}
	fmt.Fprintf(out, "| workload | clients | per second | median | p99 | errors |\n|---|---|---|---|---|---|\n")
	for _, w := range workloads {
		for _, c := range levels {
			r := measure(c, d, installers, w.op)
			fmt.Fprintf(out, "| %s | %d | %.1f | %s | %s | %d |\n", w.name, c, float64(len(r.latencies))/d.Seconds(),
				ms(r.pct(50)), ms(r.pct(99)), r.errors)
		}
	}
	return nil
}

type result struct {
	latencies []time.Duration
	errors    int
}

func (r result) pct(p int) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.latencies)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

// measure runs op from c clients until d has passed; every loop stops by
// itself at the deadline.
func measure(c int, d time.Duration, installers []*installer, op func(in *installer) error) result {
	var mu sync.Mutex
	var r result
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				start := time.Now()
				err := op(installers[i])
				mu.Lock()
				if err != nil {
					r.errors++
				} else {
					r.latencies = append(r.latencies, time.Since(start))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return r
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
