package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fleetclaim/fleetclaim/infra/local/device"
)

const loadUsage = `fleetclaim-local load measures a running local stack through its real
protocols, on loopback only, and prints Markdown tables:

  claims         POST /claims with a valid access token, as an installer app
  provisionings  a whole device provisioning: POST /claims, then over MQTT
                 with the claim certificate CreateKeysAndCertificate (or, with
                 -csr, CreateCertificateFromCsr) and RegisterThing (the
                 pre-provisioning hook decides), then a reconnect with the new
                 certificate and one publish

Each concurrency level runs its clients in a closed loop: a warm-up, then a
measured window; throughput counts the operations that finished inside the
window, latencies are theirs. Every loop stops by itself at the end of its
window or after -max-ops operations, whichever comes first.

Each client is its own installer, signed up and approved by the admin first,
so start the stack with a quota the run cannot exhaust, e.g.
  fleetclaim-local -claims-per-hour 1000000 ...

Flags:
`

// loadConfig is what runLoad is told on its command line.
type loadConfig struct {
	endpoints     string
	levels        []int
	window        time.Duration
	warmup        time.Duration
	maxOps        int
	workloads     []string
	useCSR        bool
	tenant        string
	adminEmail    string
	adminPassword string
}

// runLoad is the load subcommand; it returns the process's exit code.
func runLoad(args []string) int {
	c := loadConfig{}
	fs := flag.NewFlagSet("fleetclaim-local load", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), loadUsage); fs.PrintDefaults() }
	fs.StringVar(&c.endpoints, "endpoints", filepath.Join(".local", "endpoints.json"), "the running stack's endpoints.json")
	levels := fs.String("c", "1,8,64", "concurrency levels, comma-separated (1 to 256 each)")
	fs.DurationVar(&c.window, "d", 10*time.Second, "measured window per level and workload (at most 1m)")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "warm-up before each window, not measured (at most 30s)")
	fs.IntVar(&c.maxOps, "max-ops", 100000, "stop a level after this many operations even if its window is still open")
	workloads := fs.String("workloads", "claims,provisionings", "which workloads to run, comma-separated")
	fs.BoolVar(&c.useCSR, "csr", false, "devices send a CSR (CreateCertificateFromCsr) instead of asking for keys")
	fs.StringVar(&c.tenant, "tenant", "acme", "tenant the load installers sign up for")
	fs.StringVar(&c.adminEmail, "admin-email", "admin@acme.example", "the stack's admin, who approves the load installers")
	fs.StringVar(&c.adminPassword, "admin-password", "Local-Admin-1", "the admin's password")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var err error
	if c.levels, err = parseLevels(*levels); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		return 2
	}
	for _, w := range strings.Split(*workloads, ",") {
		w = strings.TrimSpace(w)
		if w != "claims" && w != "provisionings" {
			fmt.Fprintf(os.Stderr, "load: unknown workload %q (want claims or provisionings)\n", w)
			return 2
		}
		c.workloads = append(c.workloads, w)
	}
	if c.window <= 0 || c.warmup < 0 || c.maxOps < 1 {
		fmt.Fprintln(os.Stderr, "load: -d must be positive, -warmup not negative, -max-ops at least 1")
		return 2
	}
	c.window, c.warmup = min(c.window, time.Minute), min(c.warmup, 30*time.Second)

	e, err := readEndpoints(c.endpoints)
	if err != nil {
		fmt.Fprintf(os.Stderr, "load: %v\n", err)
		return 1
	}
	// A bound on the whole run: setting up, then every window with its
	// warm-up and the time its last operations may take to finish.
	budget := 5*time.Minute + time.Duration(len(c.levels)*len(c.workloads))*(c.warmup+c.window+loadOpTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	if err := load(ctx, os.Stdout, os.Stderr, e, c); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		return 1
	}
	return 0
}

func parseLevels(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 1 || c > 256 {
			return nil, fmt.Errorf("-c takes levels from 1 to 256, got %q", f)
		}
		out = append(out, c)
	}
	return out, nil
}

// loadOpTimeout bounds one operation; a slower one counts as an error.
const loadOpTimeout = 30 * time.Second

// loadOp is one operation of a workload by one client. It returns the
// durations of its phases, by name, for the breakdown.
type loadOp func(ctx context.Context, in *installer) (map[string]time.Duration, error)

// load prepares the installers and runs every workload at every level.
func load(ctx context.Context, out, progress io.Writer, e Endpoints, c loadConfig) error {
	fmt.Fprintf(progress, "load: signing up and approving %d installers\n", slices.Max(c.levels))
	installers, err := prepareInstallers(ctx, e, c, slices.Max(c.levels))
	if err != nil {
		return err
	}
	dev := device.Config{Endpoint: e.MQTTEndpoint, CAFile: e.CAFile, Timeout: 10 * time.Second}
	ops := map[string]loadOp{
		"claims": func(ctx context.Context, in *installer) (map[string]time.Duration, error) {
			return nil, in.call(ctx, "POST", "/claims", map[string]string{"serialNumber": "SN-L" + randomSuffix()}, nil)
		},
		"provisionings": func(ctx context.Context, in *installer) (map[string]time.Duration, error) {
			serial := "SN-P" + randomSuffix()
			start := time.Now()
			var claim claimJSON
			if err := in.call(ctx, "POST", "/claims", map[string]string{"serialNumber": serial}, &claim); err != nil {
				return nil, err
			}
			issued := time.Since(start)
			res, err := device.Provision(ctx, dev, device.Credentials{CertificatePEM: claim.CertificatePEM, PrivateKeyPEM: claim.PrivateKey},
				claim.TemplateName, serial, c.useCSR)
			if err != nil {
				return nil, err
			}
			t := res.Timings
			return map[string]time.Duration{"POST /claims": issued, "claim connect": t.ClaimConnect,
				"certificate": t.CreateCertificate, "RegisterThing (hook)": t.RegisterThing,
				"reconnect": t.DeviceConnect, "first publish": t.FirstPublish}, nil
		},
	}
	titles := map[string]string{
		"claims":        "Claims: POST /claims",
		"provisionings": "Provisionings: claim → keys → RegisterThing → reconnect",
	}
	if c.useCSR {
		titles["provisionings"] = "Provisionings: claim → CSR → RegisterThing → reconnect"
	}
	for _, w := range c.workloads {
		fmt.Fprintf(out, "### %s\n\n", titles[w])
		fmt.Fprintln(out, "| clients | per second | × 1 client | median | p99 | operations | errors | CPU per operation: stack + load | CPU ceiling |")
		fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|")
		var base float64
		var last loadResult
		for _, level := range c.levels {
			fmt.Fprintf(progress, "load: %s, %d clients\n", w, level)
			stackBefore, stackOK := processCPU(e.PID)
			loadBefore, loadOK := processCPU(os.Getpid())
			r := runLevel(ctx, level, c, installers[:level], ops[w])
			stackAfter, stackOK2 := processCPU(e.PID)
			loadAfter, loadOK2 := processCPU(os.Getpid())
			cpu, ceiling := "—", "—"
			if stackOK && stackOK2 && loadOK && loadOK2 && r.total > 0 {
				perStack := (stackAfter - stackBefore) / time.Duration(r.total)
				perLoad := (loadAfter - loadBefore) / time.Duration(r.total)
				cpu = ms(perStack) + " + " + ms(perLoad)
				ceiling = fmt.Sprintf("%.1f/s", float64(runtime.NumCPU())/(perStack+perLoad).Seconds())
			}
			rate := float64(len(r.latencies)) / c.window.Seconds()
			if base == 0 {
				base = rate
			}
			ratio := "—"
			if base > 0 {
				ratio = fmt.Sprintf("%.1f×", rate/base)
			}
			fmt.Fprintf(out, "| %d | %.1f | %s | %s | %s | %d | %d | %s | %s |\n", level, rate, ratio,
				ms(pctDur(r.latencies, 50)), ms(pctDur(r.latencies, 99)), len(r.latencies), r.errors, cpu, ceiling)
			if r.firstErr != nil {
				fmt.Fprintf(progress, "load: %s, %d clients: first error: %v\n", w, level, r.firstErr)
			}
			last = r
		}
		if len(last.phases) > 0 {
			fmt.Fprintf(out, "\nMedian per step at %d clients: ", c.levels[len(c.levels)-1])
			var parts []string
			for _, name := range []string{"POST /claims", "claim connect", "certificate", "RegisterThing (hook)", "reconnect", "first publish"} {
				parts = append(parts, fmt.Sprintf("%s %s", name, ms(pctDur(last.phases[name], 50))))
			}
			fmt.Fprintln(out, strings.Join(parts, ", ")+".")
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "Each level: a warm-up of %s or until every client has finished an operation, whichever is longer,\n"+
		"then a %s window; throughput is operations finished in the window ÷ %s.\n", c.warmup, c.window, c.window)
	fmt.Fprintf(out, "CPU per operation is the CPU time (user and system) the stack's process and the load generator's\n"+
		"used during the level, warm-up included, divided by the operations finished in it (a DynamoDB server\n"+
		"is not counted); the CPU ceiling is this machine's %d CPUs divided by it: the most operations a\n"+
		"second they could finish if they did nothing else.\n", runtime.NumCPU())
	median, mean := rsaKeyTime(25)
	fmt.Fprintf(out, "For scale: generating one RSA-2048 key pair, as the AWS IoT stand-in does for each claim and each\n"+
		"CreateKeysAndCertificate, takes %s (median of 25; mean %s, the figure throughput pays, as the search\n"+
		"for primes has a long tail; this machine, measured after the run).\n", ms(median), ms(mean))
	return nil
}

// rsaKeyTime is the median and mean time to generate an RSA-2048 key, the
// work the AWS IoT stand-in does for every claim and every
// CreateKeysAndCertificate.
func rsaKeyTime(n int) (median, mean time.Duration) {
	var ds []time.Duration
	var sum time.Duration
	for range n {
		start := time.Now()
		if _, err := rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return 0, 0
		}
		d := time.Since(start)
		ds = append(ds, d)
		sum += d
	}
	return pctDur(ds, 50), sum / time.Duration(n)
}

// processCPU is the CPU time, user and system, that a process on this
// machine has used so far, from /proc/<pid>/stat (Linux); ok is false where
// that cannot be read, e.g. a stack started by an older fleetclaim-local,
// whose endpoints.json has no pid.
func processCPU(pid int) (used time.Duration, ok bool) {
	if pid <= 0 {
		return 0, false
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name, in parentheses, may hold spaces: count the
	// fields from after it. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	// /proc counts in USER_HZ, 100 a second on x86 and arm64.
	return time.Duration(utime+stime) * (time.Second / 100), true
}

// prepareInstallers signs up n installers and has the admin approve them,
// as in the demo, a few at a time.
func prepareInstallers(ctx context.Context, e Endpoints, c loadConfig, n int) ([]*installer, error) {
	admin := newInstaller(e, c.adminEmail, c.adminPassword)
	if err := admin.signIn(ctx); err != nil {
		return nil, fmt.Errorf("admin %s: %w", c.adminEmail, err)
	}
	installers := make([]*installer, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range installers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			suffix := randomSuffix()
			in := newInstaller(e, "load-"+suffix+"@installers.example", "Load-Passw0rd-"+suffix)
			errs[i] = func() error {
				if err := in.signUp(ctx, c.tenant); err != nil {
					return err
				}
				rec, err := admin.findInstaller(ctx, in.email)
				if err != nil {
					return err
				}
				if err := admin.call(ctx, "POST", "/installers/"+rec.InstallerID+"/approve", nil, nil); err != nil {
					return fmt.Errorf("approve %s: %w", in.email, err)
				}
				return in.signIn(ctx)
			}()
			installers[i] = in
		}()
	}
	wg.Wait()
	return installers, errors.Join(errs...)
}

// loadResult is what one level measured.
type loadResult struct {
	total     int // operations finished without error in the whole level, warm-up included
	latencies []time.Duration
	phases    map[string][]time.Duration
	errors    int
	firstErr  error
}

// runLevel runs op from one goroutine per installer in a closed loop: a
// warm-up, then the measured window. The warm-up lasts c.warmup and, if that
// is longer, until every client has finished its first operation: at many
// clients an operation can take longer than a fixed warm-up, and a window
// opened before the clients' first operations had finished counted a start-up
// wave, not a steady state, which made more clients look slower. An
// operation counts if it finished inside the window, whenever it started.
// Clients stop issuing at the end of the window, or once maxOps operations
// have started, and the level ends when their last operations have finished
// or timed out.
func runLevel(ctx context.Context, clients int, c loadConfig, installers []*installer, op loadOp) loadResult {
	begin := time.Now()
	type done struct {
		at, took time.Duration // since begin
		phases   map[string]time.Duration
		err      error
	}
	var (
		mu       sync.Mutex
		started  int
		warm     int           // clients that have finished an operation
		from     time.Duration // window start since begin, once every client is warm
		until    time.Duration // window end since begin; 0 until known
		finished []done
	)
	// open reports whether clients should keep issuing operations.
	open := func() bool {
		mu.Lock()
		defer mu.Unlock()
		if until != 0 && time.Since(begin) >= until || started >= c.maxOps {
			return false
		}
		started++
		return true
	}
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			for ctx.Err() == nil && open() {
				opCtx, cancel := context.WithTimeout(ctx, loadOpTimeout)
				t0 := time.Since(begin)
				phases, err := op(opCtx, installers[i])
				t1 := time.Since(begin)
				cancel()
				mu.Lock()
				finished = append(finished, done{at: t1, took: t1 - t0, phases: phases, err: err})
				if first {
					first = false
					if warm++; warm == clients {
						from = max(c.warmup, t1)
						until = from + c.window
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	r := loadResult{phases: map[string][]time.Duration{}}
	for _, d := range finished {
		if d.err == nil {
			r.total++
		}
		if until == 0 || d.at <= from || d.at > until {
			continue
		}
		if d.err != nil {
			r.errors++
			if r.firstErr == nil {
				r.firstErr = d.err
			}
			continue
		}
		r.latencies = append(r.latencies, d.took)
		for name, p := range d.phases {
			r.phases[name] = append(r.phases[name], p)
		}
	}
	return r
}

// pctDur is the p-th percentile by the nearest-rank method; 0 for none.
func pctDur(xs []time.Duration, p int) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(i, 1)-1]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
