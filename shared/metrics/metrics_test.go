package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

var fixedNow = time.Date(2026, 11, 22, 10, 0, 0, 123e6, time.UTC)

func newTestEMF(buf *bytes.Buffer) *EMF {
	e := NewEMF(buf, "fleetclaim/test")
	e.now = func() time.Time { return fixedNow }
	return e
}

// The documents are compared byte for byte against the EMF specification's
// structure: _aws.Timestamp in milliseconds, one MetricDirective with the
// namespace, the dimension sets and the metric's name and unit, and the
// value and dimension as top-level members.
func TestEMFDocuments(t *testing.T) {
	lambdaCtx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	tests := []struct {
		name      string
		ctx       context.Context
		metric    Metric
		value     float64
		dimension string
		want      string
	}{
		{
			name: "count without dimension", ctx: context.Background(), metric: ClaimsIssued, value: 1,
			want: `{"ClaimsIssued":1,"_aws":{"Timestamp":1795341600123,"CloudWatchMetrics":[{"Namespace":"fleetclaim/test","Dimensions":[[]],"Metrics":[{"Name":"ClaimsIssued","Unit":"Count"}]}]}}`,
		},
		{
			name: "count with its dimension, published with and without it", ctx: context.Background(),
			metric: RegistrationsDenied, value: 1, dimension: "store_unavailable",
			want: `{"Reason":"store_unavailable","RegistrationsDenied":1,"_aws":{"Timestamp":1795341600123,"CloudWatchMetrics":[{"Namespace":"fleetclaim/test","Dimensions":[["Reason"],[]],"Metrics":[{"Name":"RegistrationsDenied","Unit":"Count"}]}]}}`,
		},
		{
			name: "dimension value missing: total only", ctx: context.Background(),
			metric: RegistrationsDenied, value: 1,
			want: `{"RegistrationsDenied":1,"_aws":{"Timestamp":1795341600123,"CloudWatchMetrics":[{"Namespace":"fleetclaim/test","Dimensions":[[]],"Metrics":[{"Name":"RegistrationsDenied","Unit":"Count"}]}]}}`,
		},
		{
			name: "request ID as a plain member", ctx: lambdaCtx, metric: HookDecisionMilliseconds, value: 12.5,
			want: `{"HookDecisionMilliseconds":12.5,"_aws":{"Timestamp":1795341600123,"CloudWatchMetrics":[{"Namespace":"fleetclaim/test","Dimensions":[[]],"Metrics":[{"Name":"HookDecisionMilliseconds","Unit":"Milliseconds"}]}]},"requestId":"req-1"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			newTestEMF(&buf).Record(tt.ctx, tt.metric, tt.value, tt.dimension)
			if got, want := buf.String(), tt.want+"\n"; got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestEMFOneLinePerValue(t *testing.T) {
	var buf bytes.Buffer
	e := newTestEMF(&buf)
	e.Record(context.Background(), ClaimsIssued, 1, "")
	e.Record(context.Background(), RegistrationsDenied, 1, strings.Repeat("x", 2000))
	e.Record(context.Background(), ClaimToRegistrationSeconds, math.NaN(), "")
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2 (the NaN dropped): %q", len(lines), buf.String())
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &doc); err != nil {
		t.Fatalf("line 2 is not one JSON object: %v", err)
	}
	if got := len(doc[DimensionReason].(string)); got != maxDimensionValue {
		t.Errorf("dimension value length: got %d, want %d", got, maxDimensionValue)
	}
}

func TestEMFDefaultNamespace(t *testing.T) {
	var buf bytes.Buffer
	NewEMF(&buf, "").Record(context.Background(), StoreErrors, 1, "")
	if !strings.Contains(buf.String(), `"Namespace":"fleetclaim"`) {
		t.Errorf("got %s, want namespace %q", buf.String(), DefaultNamespace)
	}
}

func TestDurationUnits(t *testing.T) {
	tests := []struct {
		name   string
		metric Metric
		d      time.Duration
		want   float64
	}{
		{"seconds", ClaimToRegistrationSeconds, 90 * time.Second, 90},
		{"milliseconds", HookDecisionMilliseconds, 1500 * time.Microsecond, 1.5},
		{"negative is zero", ClaimToRegistrationSeconds, -time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tally := NewTally("")
			Duration(context.Background(), tally, tt.metric, tt.d)
			if got := tally.Get(tt.metric, ""); got.Count != 1 || got.Sum != tt.want {
				t.Errorf("got %+v, want one value %v", got, tt.want)
			}
		})
	}
}

func TestRegistrationToOnline(t *testing.T) {
	tally := NewTally("")
	RegistrationToOnline(context.Background(), tally, fixedNow, fixedNow.Add(42*time.Second))
	if got := tally.Get(RegistrationToOnlineSeconds, ""); got.Sum != 42 {
		t.Errorf("got %+v, want 42 s", got)
	}
}

func TestNilRecorderRecordsNothing(t *testing.T) {
	// Must not panic: adapters built without a recorder call these.
	Add(context.Background(), nil, ClaimsIssued, "")
	Duration(context.Background(), nil, HookDecisionMilliseconds, time.Second)
}

// Names must be unique and must not collide with a dimension or with the
// members EMF documents carry besides values.
func TestAllNamesAreDistinct(t *testing.T) {
	seen := map[string]bool{"_aws": true, "requestId": true, DimensionReason: true}
	for _, m := range All {
		if m.Name == "" || m.Description == "" || seen[m.Name] {
			t.Errorf("%+v: empty, undescribed or repeated name", m)
		}
		seen[m.Name] = true
		switch m.Unit {
		case Count, Seconds, Milliseconds:
		default:
			t.Errorf("%s: unit %q is not a CloudWatch unit this package converts", m.Name, m.Unit)
		}
	}
}

// The page lists every metric of All through a real HTTP server, with what
// was recorded.
func TestTallyPage(t *testing.T) {
	tally := NewTally("fleetclaim/local")
	ctx := context.Background()
	Add(ctx, tally, ClaimsIssued, "")
	Add(ctx, tally, ClaimsIssued, "")
	Add(ctx, tally, RegistrationsDenied, "serial_mismatch")
	Add(ctx, tally, RegistrationsDenied, "store_unavailable")
	Add(ctx, tally, RegistrationsDenied, "store_unavailable")
	Duration(ctx, tally, HookDecisionMilliseconds, 30*time.Millisecond)
	Duration(ctx, tally, HookDecisionMilliseconds, 10*time.Millisecond)
	srv := httptest.NewServer(tally)
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || got != "application/json" {
		t.Fatalf("got %d %s, want 200 application/json", resp.StatusCode, got)
	}
	var page Page
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	if page.Namespace != "fleetclaim/local" || len(page.Metrics) != len(All) {
		t.Fatalf("got namespace %q and %d metrics, want fleetclaim/local and %d", page.Namespace, len(page.Metrics), len(All))
	}
	byName := map[string]PageMetric{}
	for i, m := range page.Metrics {
		if m.Name != All[i].Name {
			t.Errorf("metric %d: got %s, want %s (All's order)", i, m.Name, All[i].Name)
		}
		byName[m.Name] = m
	}
	tests := []struct {
		name string
		got  Stats
		want Stats
	}{
		{"ClaimsIssued", byName["ClaimsIssued"].Total, Stats{Count: 2, Sum: 2, Min: 1, Max: 1}},
		{"RegistrationsDenied total", byName["RegistrationsDenied"].Total, Stats{Count: 3, Sum: 3, Min: 1, Max: 1}},
		{"RegistrationsDenied store_unavailable", byName["RegistrationsDenied"].Values["store_unavailable"], Stats{Count: 2, Sum: 2, Min: 1, Max: 1}},
		{"RegistrationsDenied serial_mismatch", byName["RegistrationsDenied"].Values["serial_mismatch"], Stats{Count: 1, Sum: 1, Min: 1, Max: 1}},
		{"HookDecisionMilliseconds", byName["HookDecisionMilliseconds"].Total, Stats{Count: 2, Sum: 40, Min: 10, Max: 30}},
		{"StoreErrors never recorded", byName["StoreErrors"].Total, Stats{}},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, tt.got, tt.want)
		}
	}
	if got := byName["RegistrationsDenied"].Dimension; got != DimensionReason {
		t.Errorf("RegistrationsDenied dimension: got %q, want %q", got, DimensionReason)
	}

	post, err := http.Post(srv.URL, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: got %d, want 405", post.StatusCode)
	}
}
