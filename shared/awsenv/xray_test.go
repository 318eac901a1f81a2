package awsenv_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/fleetclaim/fleetclaim/shared/awsenv"
	"github.com/fleetclaim/fleetclaim/shared/xray"
)

// Load's clients report their calls to the X-Ray daemon where Lambda names
// one in AWS_XRAY_DAEMON_ADDRESS, and only there, so the local stack and
// tests, which set none, send nothing.
func TestLoadTracesWhereTheDaemonIs(t *testing.T) {
	for _, c := range []struct {
		name   string
		daemon bool // whether AWS_XRAY_DAEMON_ADDRESS is set
	}{
		{"daemon address set", true},
		{"no daemon address", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatalf("listen udp: %v", err)
			}
			t.Cleanup(func() { _ = pc.Close() })
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/x-amz-json-1.0")
				_, _ = w.Write([]byte("{}"))
			}))
			t.Cleanup(srv.Close)
			// The environment Lambda gives a function, and no files of
			// this machine's.
			none := filepath.Join(t.TempDir(), "none")
			for k, v := range map[string]string{
				"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDLOCAL", "AWS_SECRET_ACCESS_KEY": "local",
				"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none,
				"AWS_EC2_METADATA_DISABLED": "true", xray.DaemonAddressEnv: "",
			} {
				t.Setenv(k, v)
			}
			if c.daemon {
				t.Setenv(xray.DaemonAddressEnv, pc.LocalAddr().String())
			}
			cfg, err := awsenv.Load(context.Background())
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			ctx := xray.WithHeader(context.Background(), "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
			if _, err := awsenv.DynamoDB(cfg, srv.URL).ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
				t.Fatalf("ListTables: %v", err)
			}
			buf := make([]byte, 64<<10)
			_ = pc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			n, _, _ := pc.ReadFrom(buf)
			got := string(buf[:n])
			sent := strings.Contains(got, `"operation":"ListTables"`)
			if sent != c.daemon {
				t.Errorf("daemon received %q; want a ListTables subsegment: %v", got, c.daemon)
			}
		})
	}
}
