package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/infra/local/device"
)

// TestKillNineKeepsCommittedRecords runs the stack as a real process, kills
// it with SIGKILL while claims are being issued, restarts it on the same data
// directory, and checks that every claim whose issuance was answered is still
// there and still works for its device.
func TestKillNineKeepsCommittedRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the stack binary")
	}
	bin := filepath.Join(t.TempDir(), "fleetclaim-local")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir := t.TempDir()

	proc, e := runStack(t, bin, dir)
	ctx := t.Context()
	in := newInstaller(e, "crash-"+randomSuffix()+"@installers.example", "Passw0rd-"+randomSuffix())
	admin := newInstaller(e, testAdmin, testAdminPassword)
	if err := in.signUp(ctx, "acme"); err != nil {
		t.Fatalf("sign up: %v", err)
	}
	if err := admin.signIn(ctx); err != nil {
		t.Fatalf("admin sign in: %v", err)
	}
	rec, err := admin.findInstaller(ctx, in.email)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.call(ctx, "POST", "/installers/"+rec.InstallerID+"/approve", nil, nil); err != nil {
		t.Fatalf("approve: %v", err)
	}
	if err := in.signIn(ctx); err != nil {
		t.Fatalf("sign in: %v", err)
	}

	// Issue claims from several goroutines and kill the process while they run.
	var mu sync.Mutex
	answered := map[string]claimJSON{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				serial := fmt.Sprintf("SN-CRASH-%d-%d", w, i)
				var c claimJSON
				if err := in.call(ctx, "POST", "/claims", map[string]string{"serialNumber": serial}, &c); err != nil {
					continue // refused or cut off by the kill: not committed as far as the caller knows
				}
				mu.Lock()
				answered[serial] = c
				mu.Unlock()
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(answered)
		mu.Unlock()
		if n >= 8 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill: %v", err)
	}
	_ = proc.Wait()
	close(stop)
	wg.Wait()
	if len(answered) == 0 {
		t.Fatal("no claim was issued before the kill; the test proves nothing")
	}

	_, e = runStack(t, bin, dir)
	in = newInstaller(e, in.email, in.password)
	if err := in.signIn(ctx); err != nil {
		t.Fatalf("sign in after restart: %v", err)
	}
	for serial, c := range answered {
		var got claimJSON
		if err := in.call(ctx, "GET", "/claims/"+c.ClaimID, nil, &got); err != nil || got.SerialNumber != serial || got.Status != "issued" {
			t.Errorf("claim for %s after the kill: got %+v, %v; want it issued", serial, got, err)
		}
	}
	// One device is enough to show that the CA and the claim certificates
	// survived with the records.
	serial := slices.Min(slices.Collect(maps.Keys(answered)))
	c := answered[serial]
	res, err := device.Provision(ctx, device.Config{Endpoint: e.MQTTEndpoint, CAFile: e.CAFile, Timeout: 10 * time.Second},
		device.Credentials{CertificatePEM: c.CertificatePEM, PrivateKeyPEM: c.PrivateKey}, c.TemplateName, serial, false)
	if err != nil || res.ThingName != "acme_"+serial {
		t.Errorf("provision %s with a claim issued before the kill: %+v, %v", serial, res, err)
	}
}

// runStack starts the stack binary on free ports and waits for its endpoints.
func runStack(t *testing.T, bin, dir string) (*exec.Cmd, Endpoints) {
	t.Helper()
	endpoints := filepath.Join(dir, "endpoints.json")
	_ = os.Remove(endpoints)
	cmd := exec.Command(bin, "-data-dir", dir, "-api-port", "0", "-cognito-port", "0", "-iot-port", "0", "-mqtt-port", "0", "-console-port", "0",
		"-tenant", "acme:Acme:acme.example", "-admin", testAdmin+":"+testAdminPassword+":acme", "-log-level", "warn")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start stack: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	up := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if len(sc.Text()) > 0 {
				up <- nil
				for sc.Scan() {
				}
				return
			}
		}
		up <- errors.New("the stack exited before printing its endpoints")
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	select {
	case err := <-up:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("the stack did not start within 60s")
	}
	e, err := readEndpoints(endpoints)
	if err != nil {
		t.Fatal(err)
	}
	return cmd, e
}
