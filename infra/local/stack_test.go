package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A stack that cannot finish starting (here: the admin's password fails the
// pool's policy) says why, and stops what it had started: the same data
// directory opens again at once.
func TestStartFailureStopsWhatStarted(t *testing.T) {
	dir := t.TempDir()
	args := []string{"-data-dir", dir, "-api-port", "0", "-cognito-port", "0", "-iot-port", "0", "-mqtt-port", "0", "-console-port", "0"}
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
