package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/fleetclaim/fleetclaim/infra/local/iot"
)

func TestCheckTemplatesGuarded(t *testing.T) {
	deny := func(context.Context, events.IoTPreProvisionHookRequest) (events.IoTPreProvisionHookResponse, error) {
		return events.IoTPreProvisionHookResponse{}, nil
	}
	open := func(hook iot.HookFunc) *iot.Core {
		core, err := iot.New(iot.Options{DataDir: filepath.Join(t.TempDir(), "iot"), MQTTAddr: "127.0.0.1:0",
			Templates: []iot.Template{{Name: "guarded"}, {Name: "bare", NoHook: true}}, Hook: hook})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = core.Close() })
		return core
	}
	withHook, withoutHook := open(deny), open(nil)
	tests := []struct {
		name    string
		core    *iot.Core
		names   []string
		wantErr string // "" for none
	}{
		{"guarded template", withHook, []string{"guarded"}, ""},
		{"template without a hook", withHook, []string{"guarded", "bare"}, "bare has no pre-provisioning hook"},
		{"no hook configured at all", withoutHook, []string{"guarded"}, "guarded has no pre-provisioning hook"},
		{"unknown template", withHook, []string{"missing"}, "template missing"},
	}
	for _, tt := range tests {
		err := checkTemplatesGuarded(tt.core, tt.names)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: got %v, want none", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: got %v, want an error mentioning %q", tt.name, err, tt.wantErr)
		}
	}
}
