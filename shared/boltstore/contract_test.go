package boltstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/boltstore"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/storetest"
)

func open(t *testing.T, path string) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) fleetclaim.Store {
		s := open(t, filepath.Join(t.TempDir(), "store.db"))
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

// The local stack's state must outlive the process.
func TestReopenKeepsRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	ctx := context.Background()
	s := open(t, path)
	c := storetest.NewClaim("acme", storetest.NewInstallerID(), "SN-1", time.Now())
	if err := s.CreateClaim(ctx, c, ""); err != nil {
		t.Fatalf("create: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	s = open(t, path)
	defer s.Close()
	got, err := s.GetClaim(ctx, c.ID)
	if err != nil || got.Serial != "SN-1" {
		t.Errorf("got %+v, %v after reopening; want the claim", got, err)
	}
	if _, err := s.GetClaim(ctx, storetest.NewClaimID()); !errors.Is(err, fleetclaim.ErrNotFound) {
		t.Errorf("got %v for a missing claim, want ErrNotFound", err)
	}
}
