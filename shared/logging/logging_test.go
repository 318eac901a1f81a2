package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name          string
		level         string
		ctx           context.Context
		logDebug      bool
		wantRequestID string
		wantLines     int
	}{
		{name: "request ID from the Lambda context", level: "info",
			ctx:           lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"}),
			wantRequestID: "req-1", wantLines: 1},
		{name: "no Lambda context, no request ID", level: "info", ctx: context.Background(), wantLines: 1},
		{name: "debug suppressed at info", level: "info", ctx: context.Background(), logDebug: true, wantLines: 0},
		{name: "debug shown at debug", level: "DEBUG", ctx: context.Background(), logDebug: true, wantLines: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := New(&buf, tt.level).With("fn", "test")
			if tt.logDebug {
				log.DebugContext(tt.ctx, "hello")
			} else {
				log.InfoContext(tt.ctx, "hello")
			}
			lines := bytes.Count(buf.Bytes(), []byte("\n"))
			if lines != tt.wantLines {
				t.Fatalf("got %d lines, want %d: %s", lines, tt.wantLines, buf.String())
			}
			if lines == 0 {
				return
			}
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("line is not JSON: %v", err)
			}
			if got := rec["message"]; got != "hello" {
				t.Errorf("got message %v, want hello", got)
			}
			if _, ok := rec["timestamp"]; !ok {
				t.Errorf("got no timestamp field in %v", rec)
			}
			got, _ := rec["requestId"].(string)
			if got != tt.wantRequestID {
				t.Errorf("got requestId %q, want %q", got, tt.wantRequestID)
			}
		})
	}
}
