package main

import (
	"io"
	"log/slog"
	"regexp"
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/fleetclaim/fleetclaimtest"
)

// The stack prints each sign-up code as a readable line where the person
// running it looks (the command passes standard output as Config.Codes),
// and that code confirms the sign-up.
func TestStackPrintsSignUpCodes(t *testing.T) {
	cfg, err := parseConfig([]string{"-data-dir", t.TempDir(), "-api-port", "0", "-cognito-port", "0", "-iot-port", "0",
		"-mqtt-port", "0", "-key-pool", "0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	codes := &fleetclaimtest.LogBuffer{}
	cfg.Codes = codes
	s, err := Start(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(s.Close)

	in := newInstaller(s.Endpoints, "jo@acme.example", "Passw0rd-Local-1")
	if err := in.register(t.Context(), "acme"); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^sign-up code for jo@acme\.example: (\d{6})$`).FindStringSubmatch(codes.String())
	if m == nil {
		t.Fatalf("printed %q, want a line %q", codes.String(), "sign-up code for jo@acme.example: <6 digits>")
	}
	if err := in.confirm(t.Context(), m[1]); err != nil {
		t.Errorf("confirm with the printed code %s: %v", m[1], err)
	}
}
