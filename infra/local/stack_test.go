package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
)

// A stack that cannot finish starting (here: the admin's password fails the
// pool's policy) says why, and stops what it had started: the same data
// directory opens again at once.
func TestStartFailureStopsWhatStarted(t *testing.T) {
	dir := t.TempDir()
	args := []string{"-data-dir", dir, "-api-port", "0", "-cognito-port", "0", "-iot-port", "0", "-mqtt-port", "0"}
	cfg, err := parseConfig(append(args, "-admin", "admin@acme.example:Passw0rd!:acme"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	s, err := Start(t.Context(), cfg, log)
	if err == nil || !strings.Contains(err.Error(), "InvalidPasswordException") || s != nil {
		t.Fatalf("got %v, %v; want no stack and the pool's password refusal", s, err)
	}

	cfg, err = parseConfig(append(args, "-admin", "admin@acme.example:Local-Admin-1:acme"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	s, err = Start(ctx, cfg, log)
	if err != nil {
		t.Fatalf("restart on the same data directory: %v", err)
	}
	s.Close()
}

// The -admin flag's tenant exists once the stack runs, even without a
// -tenant flag for it: the pre-token trigger grants no scope to a member of a
// missing tenant, so the initial admin would otherwise sign in with nothing.
func TestAdminTenantCreated(t *testing.T) {
	cfg, err := parseConfig([]string{"-data-dir", t.TempDir(), "-api-port", "0", "-cognito-port", "0", "-iot-port", "0", "-mqtt-port", "0",
		"-admin", "ops@operators.example:Local-Admin-1:operators:platform"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if tn, err := s.Store.GetTenant(t.Context(), "operators"); err != nil || tn.Status != fleetclaim.TenantActive {
		t.Fatalf("got tenant %+v (%v), want operators active", tn, err)
	}
}
