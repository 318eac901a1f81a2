// Package xray records each AWS SDK call made inside a sampled Lambda
// invocation as an X-Ray subsegment, sent over UDP to the X-Ray daemon that
// Lambda runs beside a function with active tracing. It is a single SDK
// middleware instead of the X-Ray SDK or ADOT, which would add a module and
// a layer for what one JSON datagram per call does.
//
// Sending never blocks or fails a call: a datagram that cannot be sent is
// dropped, as the daemon itself drops what it cannot forward.
package xray

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// DaemonAddressEnv names the environment variable in which Lambda gives the
// X-Ray daemon's UDP address, host:port.
const DaemonAddressEnv = "AWS_XRAY_DAEMON_ADDRESS"

// traceContextKey is the context key under which aws-lambda-go puts the
// invocation's trace header (lambda/invoke_loop.go, a plain string key).
const traceContextKey = "x-amzn-trace-id"

// header is the daemon's datagram header; the segment document follows it
// after a newline.
const header = `{"format": "json", "version": 1}` + "\n"

// Trace is the part of an invocation's trace header a subsegment needs.
type Trace struct {
	Root   string // the trace ID, 1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx
	Parent string // the ID of the invocation's segment
}

// ParseHeader reads a trace header, Root=...;Parent=...;Sampled=1. It
// reports false unless the trace is sampled and names both its root and its
// parent: a subsegment of an unsampled trace would be thrown away, and one
// without either could not be attached to anything.
func ParseHeader(h string) (Trace, bool) {
	var t Trace
	sampled := false
	for _, field := range strings.Split(h, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(field), "=")
		switch k {
		case "Root":
			t.Root = v
		case "Parent":
			t.Parent = v
		case "Sampled":
			sampled = v == "1"
		}
	}
	return t, sampled && t.Root != "" && t.Parent != ""
}

// FromContext is the trace of the invocation ctx belongs to, as
// aws-lambda-go puts it there. The process-wide _X_AMZN_TRACE_ID is not
// read: it still holds the last invocation's trace during init and in
// goroutines that outlive an invocation, whose calls would be misfiled.
func FromContext(ctx context.Context) (Trace, bool) {
	h, _ := ctx.Value(traceContextKey).(string)
	return ParseHeader(h)
}

// WithHeader returns ctx carrying the trace header h as aws-lambda-go
// carries an invocation's, for calls made outside an invocation's context.
func WithHeader(ctx context.Context, h string) context.Context {
	//lint:ignore SA1029 the key is aws-lambda-go's, a plain string.
	return context.WithValue(ctx, traceContextKey, h)
}

// Subsegment is the segment document sent for one SDK call, in the fields
// of AWS's segment document schema that an SDK call fills. It holds no
// request or response body, nothing but names, IDs, times and a status.
type Subsegment struct {
	Name      string  `json:"name"`
	ID        string  `json:"id"`
	TraceID   string  `json:"trace_id"`
	ParentID  string  `json:"parent_id"`
	Type      string  `json:"type"`
	StartTime float64 `json:"start_time"`
	EndTime   float64 `json:"end_time"`
	Namespace string  `json:"namespace"`
	AWS       AWS     `json:"aws"`
	HTTP      *HTTP   `json:"http,omitempty"`
	Error     bool    `json:"error,omitempty"`
	Fault     bool    `json:"fault,omitempty"`
	Throttle  bool    `json:"throttle,omitempty"`
}

// AWS is a subsegment's aws object: which call it was.
type AWS struct {
	Operation string `json:"operation"`
	Region    string `json:"region,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	TableName string `json:"table_name,omitempty"`
}

// HTTP is a subsegment's http object; only the response status is kept.
type HTTP struct {
	Response Response `json:"response"`
}

// Response is the http object's response.
type Response struct {
	Status int `json:"status"`
}

// APIOption is an SDK API option (aws.Config.APIOptions) that sends a
// subsegment to the daemon at addr for every call made in a sampled
// invocation. An empty addr adds nothing.
func APIOption(addr string) func(*middleware.Stack) error {
	if addr == "" {
		return func(*middleware.Stack) error { return nil }
	}
	s := &sender{addr: addr}
	return func(st *middleware.Stack) error {
		// After the other initialize steps, so the subsegment spans the
		// whole call, retries included, and sees its input.
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("fleetclaimXRay", s.handle), middleware.After)
	}
}

// sender owns the one UDP socket every client in the process shares.
type sender struct {
	addr string
	once sync.Once
	conn net.Conn
}

func (s *sender) handle(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
	middleware.InitializeOutput, middleware.Metadata, error) {
	trace, ok := FromContext(ctx)
	if !ok {
		return next.HandleInitialize(ctx, in)
	}
	start := time.Now()
	out, md, err := next.HandleInitialize(ctx, in)
	seg := Subsegment{
		Name:      awsmiddleware.GetServiceID(ctx),
		ID:        newID(),
		TraceID:   trace.Root,
		ParentID:  trace.Parent,
		Type:      "subsegment",
		StartTime: seconds(start),
		EndTime:   seconds(time.Now()),
		Namespace: "aws",
		AWS: AWS{
			Operation: awsmiddleware.GetOperationName(ctx),
			Region:    awsmiddleware.GetRegion(ctx),
			TableName: tableName(in.Parameters),
		},
	}
	seg.AWS.RequestID, _ = awsmiddleware.GetRequestIDMetadata(md)
	status := 0
	// A call that got no answer still carries an empty response here.
	if r, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); ok && r != nil && r.Response != nil && r.StatusCode != 0 {
		status = r.StatusCode
		seg.HTTP = &HTTP{Response: Response{Status: status}}
	}
	seg.Error, seg.Fault, seg.Throttle = classify(status, err)
	s.send(seg)
	return out, md, err
}

// classify sets the segment flags as X-Ray reads them: error for a client
// error (4xx), fault for a server error (5xx) or a call that got no answer,
// throttle (with error) for 429 or a throttling error code, which DynamoDB
// returns with a 400.
func classify(status int, err error) (isError, fault, throttle bool) {
	var api smithy.APIError
	if errors.As(err, &api) && strings.Contains(api.ErrorCode(), "Throttl") {
		return true, false, true
	}
	switch {
	case status == http.StatusTooManyRequests:
		return true, false, true
	case status >= 500:
		return false, true, false
	case status >= 400:
		return true, false, false
	case err != nil && status == 0:
		return false, true, false
	}
	return false, false, false
}

// send writes one datagram; every failure is ignored (see the package doc).
func (s *sender) send(seg Subsegment) {
	s.once.Do(func() { s.conn, _ = net.Dial("udp", s.addr) })
	if s.conn == nil {
		return
	}
	doc, err := json.Marshal(seg)
	if err != nil {
		return
	}
	_, _ = s.conn.Write(append([]byte(header), doc...))
}

// tableName is the input's TableName, for operations that name one table.
func tableName(params any) string {
	v := reflect.ValueOf(params)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return ""
	}
	f := v.Elem().FieldByName("TableName")
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() || f.Elem().Kind() != reflect.String {
		return ""
	}
	return f.Elem().String()
}

// newID is a random 64-bit subsegment ID in 16 hex digits.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func seconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
