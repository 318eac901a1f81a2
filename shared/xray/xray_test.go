package xray_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/fleetclaim/fleetclaim/shared/awsenv"
	"github.com/fleetclaim/fleetclaim/shared/xray"
)

const (
	root   = "1-5759e988-bd862e3fe1be46a994272793"
	parent = "53995c3f42cd8ad8"
)

// daemon is a UDP listener on loopback standing in for Lambda's X-Ray
// daemon; it returns its address and a function that reads the next
// datagram, or "" when none comes within wait.
func daemon(t *testing.T) (string, func(wait time.Duration) string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen udp: %v", err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc.LocalAddr().String(), func(wait time.Duration) string {
		buf := make([]byte, 64<<10)
		_ = pc.SetReadDeadline(time.Now().Add(wait))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			return ""
		}
		return string(buf[:n])
	}
}

// dynamo is a DynamoDB client of the local configuration, with the X-Ray
// option for addr, against a loopback server answering every call with
// status and body.
func dynamo(t *testing.T, addr string, status int, body string) *dynamodb.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amzn-Requestid", "REQ123")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	cfg := awsenv.Local("local-1")
	cfg.RetryMaxAttempts = 1
	cfg.APIOptions = append(cfg.APIOptions, xray.APIOption(addr))
	return awsenv.DynamoDB(cfg, srv.URL)
}

func getItem(ctx context.Context, c *dynamodb.Client) error {
	_, err := c.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String("claims"),
		Key:       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "secret-claim-code"}},
	})
	return err
}

var hexID = regexp.MustCompile(`^[0-9a-f]{16}$`)

// A GetItem in a sampled invocation reaches the daemon as one datagram: the
// daemon's header line, then the subsegment document naming the call, the
// trace and its parent, with the flags its status calls for and nothing of
// the request's body.
func TestSubsegmentPerCall(t *testing.T) {
	for _, c := range []struct {
		name   string
		status int
		body   string
		flags  string // the document's error, fault and throttle fields
	}{
		{"ok", 200, `{}`, ``},
		{"client error", 400, `{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"no table"}`, `,"error":true`},
		{"throttled", 400, `{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow down"}`, `,"error":true,"throttle":true`},
		{"server error", 500, `{"__type":"com.amazonaws.dynamodb#InternalServerError","message":"oops"}`, `,"fault":true`},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr, next := daemon(t)
			client := dynamo(t, addr, c.status, c.body)
			ctx := xray.WithHeader(context.Background(), "Root="+root+";Parent="+parent+";Sampled=1")
			before := time.Now()
			err := getItem(ctx, client)
			after := time.Now()
			if (err != nil) != (c.status != 200) {
				t.Fatalf("GetItem error = %v with status %d", err, c.status)
			}
			got := next(2 * time.Second)
			head, doc, ok := strings.Cut(got, "\n")
			if !ok || head != `{"format": "json", "version": 1}` {
				t.Fatalf("datagram = %q, want the daemon header line then a document", got)
			}
			var seg xray.Subsegment
			if err := json.Unmarshal([]byte(doc), &seg); err != nil {
				t.Fatalf("document %q: %v", doc, err)
			}
			if !hexID.MatchString(seg.ID) {
				t.Errorf("id = %q, want 16 hex digits", seg.ID)
			}
			if s, e := seg.StartTime, seg.EndTime; s < float64(before.UnixNano())/1e9-0.001 || e < s || e > float64(after.UnixNano())/1e9+0.001 {
				t.Errorf("start, end = %f, %f, want within the call [%d, %d]", s, e, before.UnixNano(), after.UnixNano())
			}
			// Everything else is fixed: compare the document as sent with
			// the id and times it carried.
			want := `{"name":"DynamoDB","id":"` + seg.ID + `","trace_id":"` + root + `","parent_id":"` + parent +
				`","type":"subsegment","start_time":` + num(seg.StartTime) + `,"end_time":` + num(seg.EndTime) +
				`,"namespace":"aws","aws":{"operation":"GetItem","region":"local-1","request_id":"REQ123","table_name":"claims"},` +
				`"http":{"response":{"status":` + itoa(c.status) + `}}` + c.flags + `}`
			if doc != want {
				t.Errorf("document =\n%s\nwant\n%s", doc, want)
			}
			if strings.Contains(got, "secret-claim-code") {
				t.Errorf("document %q carries the request's key", got)
			}
			if extra := next(100 * time.Millisecond); extra != "" {
				t.Errorf("a second datagram %q for one call", extra)
			}
		})
	}
}

// Nothing is sent for a call outside a sampled trace, nor without a daemon
// address, and the call itself goes through either way.
func TestNothingSent(t *testing.T) {
	for _, c := range []struct {
		name   string
		header string // the invocation's trace header; "" for none
		addr   bool   // whether the option is given the daemon's address
	}{
		{"not sampled", "Root=" + root + ";Parent=" + parent + ";Sampled=0", true},
		{"sampling undecided", "Root=" + root + ";Parent=" + parent, true},
		{"no parent", "Root=" + root + ";Sampled=1", true},
		{"no trace", "", true},
		{"no daemon address", "Root=" + root + ";Parent=" + parent + ";Sampled=1", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr, next := daemon(t)
			given := ""
			if c.addr {
				given = addr
			}
			ctx := context.Background()
			if c.header != "" {
				ctx = xray.WithHeader(ctx, c.header)
			}
			if err := getItem(ctx, dynamo(t, given, 200, `{}`)); err != nil {
				t.Fatalf("GetItem: %v", err)
			}
			if got := next(200 * time.Millisecond); got != "" {
				t.Errorf("daemon received %q, want nothing", got)
			}
		})
	}
}

// A daemon that is not there costs the call nothing: the datagram is lost
// and the call returns as it would have.
func TestUnreachableDaemon(t *testing.T) {
	addr, _ := daemon(t)
	closed, _ := net.ResolveUDPAddr("udp", addr)
	ctx := xray.WithHeader(context.Background(), "Root="+root+";Parent="+parent+";Sampled=1")
	for _, a := range []string{"127.0.0.1:9", "not an address", closed.String()} {
		if err := getItem(ctx, dynamo(t, a, 200, `{}`)); err != nil {
			t.Errorf("daemon %q: GetItem: %v, want success", a, err)
		}
	}
}

// A call that gets no answer at all is a fault, with no http object: the
// server took the connection and closed it without a response.
func TestNoAnswerIsAFault(t *testing.T) {
	addr, next := daemon(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	cfg := awsenv.Local("local-1")
	cfg.RetryMaxAttempts = 1
	cfg.APIOptions = append(cfg.APIOptions, xray.APIOption(addr))
	ctx := xray.WithHeader(context.Background(), "Root="+root+";Parent="+parent+";Sampled=1")
	if err := getItem(ctx, awsenv.DynamoDB(cfg, srv.URL)); err == nil {
		t.Fatal("GetItem succeeded against a server that closes every connection")
	}
	_, doc, _ := strings.Cut(next(2*time.Second), "\n")
	var seg xray.Subsegment
	if err := json.Unmarshal([]byte(doc), &seg); err != nil {
		t.Fatalf("document %q: %v", doc, err)
	}
	if !seg.Fault || seg.Error || seg.Throttle || seg.HTTP != nil {
		t.Errorf("fault, error, throttle, http = %v, %v, %v, %v; want true, false, false, none",
			seg.Fault, seg.Error, seg.Throttle, seg.HTTP)
	}
}

func num(f float64) string { b, _ := json.Marshal(f); return string(b) }

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
