package boltstore_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/boltstore"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/storetest"
)

// envKillPath tells TestKilledWriter, run as a child process, where to write.
const envKillPath = "FLEETCLAIM_BOLTSTORE_KILL_PATH"

// TestSurvivesKill writes from a child process, kills it with SIGKILL (no
// Close, no deferred code) once it reports the writes done, and reads them
// back: a write that returned is on disk.
func TestSurvivesKill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), envKillPath+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the writer: %v", err)
	}
	var c fleetclaim.Claim
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if _, err := fmt.Sscanf(lines.Text(), "consumed %s", &c.ID); err == nil {
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("kill the writer: %v", err)
	}
	_ = cmd.Wait()
	if c.ID == "" {
		t.Fatal("the writer exited without reporting its writes")
	}

	s := open(t, path)
	defer s.Close()
	got, err := s.GetClaim(context.Background(), c.ID)
	if err != nil {
		t.Fatalf("GetClaim after kill -9: %v", err)
	}
	if got.Status != fleetclaim.ClaimConsumed || got.Device == nil {
		t.Fatalf("claim after kill -9 = %+v; want it consumed, with its device", got)
	}
	if _, err := s.GetDevice(context.Background(), got.TenantID, got.Serial); err != nil {
		t.Fatalf("GetDevice after kill -9: %v", err)
	}
}

// TestKilledWriter is the child process of TestSurvivesKill.
func TestKilledWriter(t *testing.T) {
	path := os.Getenv(envKillPath)
	if path == "" {
		t.Skip("runs only as the child process of TestSurvivesKill")
	}
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	c := storetest.NewClaim(storetest.NewTenantID(), storetest.NewInstallerID(), "SN-KILL", now)
	if err := s.CreateClaim(ctx, c, ""); err != nil {
		t.Fatal(err)
	}
	d := storetest.NewDevice(c, now)
	u := fleetclaim.ClaimUpdate{ID: c.ID, IfStatus: fleetclaim.ClaimIssued, Status: fleetclaim.ClaimConsumed, At: now, Device: &d}
	if _, err := s.UpdateClaim(ctx, u); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("consumed %s\n", c.ID)
	time.Sleep(time.Minute) // until killed
}
