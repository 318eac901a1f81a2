package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/metrics"
)

// testAlarmTopicARN is the alarm topic of the production stack the tests
// synthesize.
const testAlarmTopicARN = "arn:aws:sns:eu-west-1:123456789012:fleetclaim-oncall"

// alarmMetric is what one alarm watches, read from either of the two shapes
// CloudWatch alarms take: a single metric, or metric math over several.
type alarmMetric struct {
	namespace, name, stat string
	// dimensions as "Name=value", sorted; a Ref is written as its ID.
	dimensions []string
	// expression is the math over the metrics in parts; "" for one metric.
	expression string
	parts      []alarmMetric
}

func dimensionsOf(v any) []string {
	var out []string
	for _, d := range list[map[string]any](v) {
		value, ok := d["Value"].(string)
		if !ok {
			value = asJSON(d["Value"])
		}
		out = append(out, d["Name"].(string)+"="+value)
	}
	sort.Strings(out)
	return out
}

func readAlarmMetric(p map[string]any) alarmMetric {
	if name, ok := p["MetricName"].(string); ok {
		stat, _ := p["Statistic"].(string)
		if ext, ok := p["ExtendedStatistic"].(string); ok {
			stat = ext
		}
		return alarmMetric{namespace: p["Namespace"].(string), name: name, stat: stat, dimensions: dimensionsOf(p["Dimensions"])}
	}
	var m alarmMetric
	for _, q := range list[map[string]any](p["Metrics"]) {
		if e, ok := q["Expression"].(string); ok {
			m.expression = e
			continue
		}
		ms := q["MetricStat"].(map[string]any)
		metric := ms["Metric"].(map[string]any)
		m.parts = append(m.parts, alarmMetric{namespace: metric["Namespace"].(string), name: metric["MetricName"].(string),
			stat: ms["Stat"].(string), dimensions: dimensionsOf(metric["Dimensions"])})
	}
	return m
}

// The alarms are exactly the ones the deployment needs, each on the metric,
// statistic and threshold it is meant for, over five minutes, quiet when
// there is no data, and notifying the alarm topic when one is given.
func TestAlarms(t *testing.T) {
	for _, s := range []*synthesized{devStack(t), prodStack(t)} {
		t.Run(s.settings.Stage, func(t *testing.T) {
			ns := metricsNamespace(s.settings)
			fnRef := func(construct string) string {
				id, _ := s.resource(t, "AWS::Lambda::Function", construct)
				return asJSON(ref(id))
			}
			tableID, _ := s.resource(t, "AWS::DynamoDB::Table", "Table")
			stageID, _ := s.resource(t, "AWS::ApiGateway::Stage", "Api/DeploymentStage.v1")
			custom := func(m metrics.Metric, reason string) alarmMetric {
				a := alarmMetric{namespace: ns, name: m.Name, stat: "Sum"}
				if reason != "" {
					a.dimensions = []string{m.Dimension + "=" + reason}
				}
				return a
			}
			lambda := func(construct, name, stat string) alarmMetric {
				return alarmMetric{namespace: "AWS/Lambda", name: name, stat: stat, dimensions: []string{"FunctionName=" + fnRef(construct)}}
			}
			perOperation := func(name string) alarmMetric {
				m := alarmMetric{expression: "getitem + putitem + updateitem + query"}
				for _, op := range []string{"GetItem", "PutItem", "UpdateItem", "Query"} {
					m.parts = append(m.parts, alarmMetric{namespace: "AWS/DynamoDB", name: name, stat: "Sum",
						dimensions: []string{"Operation=" + op, "TableName=" + asJSON(ref(tableID))}})
				}
				return m
			}
			type want struct {
				metric    alarmMetric
				threshold float64
			}
			wants := map[string]want{
				"claims-errors":             {lambda("Claims", "Errors", "Sum"), 1},
				"postconfirm-errors":        {lambda("PostConfirm", "Errors", "Sum"), 1},
				"pretoken-errors":           {lambda("PreToken", "Errors", "Sum"), 1},
				"provisionhook-errors":      {lambda("ProvisionHook", "Errors", "Sum"), 1},
				"presence-errors":           {lambda("Presence", "Errors", "Sum"), 1},
				"hook-duration-p99":         {lambda("ProvisionHook", "Duration", "p99"), float64(config.DefaultHookDeadline.Milliseconds())},
				"store-unavailable-denials": {custom(metrics.RegistrationsDenied, string(fleetclaim.ReasonStoreUnavailable)), 1},
				"store-errors":              {custom(metrics.StoreErrors, ""), 1},
				"iot-throttled":             {custom(metrics.IoTThrottled, ""), 1},
				"api-5xx": {alarmMetric{namespace: "AWS/ApiGateway", name: "5XXError", stat: "Sum",
					dimensions: []string{"ApiName=fleetclaim-" + s.settings.Stage, "Stage=" + asJSON(ref(stageID))}}, 1},
				"table-throttles":     {perOperation("ThrottledRequests"), 1},
				"table-system-errors": {perOperation("SystemErrors"), 1},
			}
			for _, r := range spikeReasons {
				wants["denials-"+string(r)] = want{custom(metrics.RegistrationsDenied, string(r)), 10}
			}

			var wantActions any
			if s.settings.AlarmTopicARN != "" {
				wantActions = []any{testAlarmTopicARN}
			}
			seen := map[string]bool{}
			for id, r := range s.resources("AWS::CloudWatch::Alarm") {
				p := props(r)
				name, _ := strings.CutPrefix(p["AlarmName"].(string), "fleetclaim-"+s.settings.Stage+"-")
				w, ok := wants[name]
				if !ok {
					t.Errorf("%s: unexpected alarm %v", id, p["AlarmName"])
					continue
				}
				seen[name] = true
				if got := readAlarmMetric(p); fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", w.metric) {
					t.Errorf("%s watches\n got  %+v\n want %+v", name, got, w.metric)
				}
				if p["Threshold"] != w.threshold || p["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" ||
					p["EvaluationPeriods"] != float64(1) || p["TreatMissingData"] != "notBreaching" {
					t.Errorf("%s: got threshold %v %v over %v periods, missing data %v; want >= %v over 1, notBreaching",
						name, p["ComparisonOperator"], p["Threshold"], p["EvaluationPeriods"], p["TreatMissingData"], w.threshold)
				}
				period, _ := p["Period"].(float64)
				for _, q := range list[map[string]any](p["Metrics"]) {
					if ms, ok := q["MetricStat"].(map[string]any); ok {
						period = ms["Period"].(float64)
					}
				}
				if period != 300 {
					t.Errorf("%s: period %v, want 300 s", name, period)
				}
				if got, want := asJSON(p["AlarmActions"]), asJSON(wantActions); got != want {
					t.Errorf("%s: alarm actions %s, want %s", name, got, want)
				}
				if got, want := asJSON(p["OKActions"]), asJSON(wantActions); got != want {
					t.Errorf("%s: OK actions %s, want %s", name, got, want)
				}
				if d, _ := p["AlarmDescription"].(string); len(d) < 30 {
					t.Errorf("%s: description %q does not say what it means", name, d)
				}
			}
			for name := range wants {
				if !seen[name] {
					t.Errorf("no alarm %s", name)
				}
			}
		})
	}
}

// The dashboard shows every metric of shared/metrics from the namespace the
// functions publish to, the denials by reason, every alarm, and the API's,
// the hook's and the table's own metrics.
func TestDashboard(t *testing.T) {
	s := prodStack(t)
	_, d := s.resource(t, "AWS::CloudWatch::Dashboard", "Dashboard")
	if got := props(d)["DashboardName"]; got != "fleetclaim-prod" {
		t.Errorf("dashboard name %v, want fleetclaim-prod", got)
	}
	body := asJSON(props(d)["DashboardBody"])
	ns := metricsNamespace(s.settings)
	for _, m := range metrics.All {
		if !strings.Contains(body, `[\"`+ns+`\",\"`+m.Name+`\"`) && !strings.Contains(body, `MetricName=\\\"`+m.Name) {
			t.Errorf("metric %s of %s is not on the dashboard", m.Name, ns)
		}
	}
	for _, want := range []string{
		`SEARCH('{` + ns + `,Reason} MetricName=\\\"RegistrationsDenied\\\"', 'Sum', 300)`,
		`\"AWS/ApiGateway\",\"4XXError\"`, `\"AWS/ApiGateway\",\"5XXError\"`, `\"AWS/ApiGateway\",\"Latency\"`,
		`\"AWS/Lambda\",\"Duration\"`, `\"AWS/Lambda\",\"Throttles\"`,
		`\"AWS/DynamoDB\",\"ThrottledRequests\"`, `\"AWS/DynamoDB\",\"SystemErrors\"`, `\"AWS/DynamoDB\",\"UserErrors\"`,
		`\"AWS/DynamoDB\",\"ConsumedWriteCapacityUnits\"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %s", want)
		}
	}
	for id := range s.resources("AWS::CloudWatch::Alarm") {
		if !strings.Contains(body, asJSON(getAtt(id, "Arn"))) {
			t.Errorf("alarm %s is not on the dashboard", id)
		}
	}
}

// X-Ray traces the API stage and every function; every function publishes
// its metrics into the stage's namespace, the one the alarms watch.
func TestTracingAndMetricsNamespace(t *testing.T) {
	for _, s := range []*synthesized{devStack(t), prodStack(t)} {
		_, stage := s.resource(t, "AWS::ApiGateway::Stage", "Api/DeploymentStage.v1")
		if got := props(stage)["TracingEnabled"]; got != true {
			t.Errorf("%s: API stage tracing %v, want true", s.settings.Stage, got)
		}
		for _, construct := range []string{"Claims", "PostConfirm", "PreToken", "ProvisionHook"} {
			_, fn := s.resource(t, "AWS::Lambda::Function", construct)
			p := props(fn)
			if got := asJSON(p["TracingConfig"]); got != `{"Mode":"Active"}` {
				t.Errorf("%s %s: tracing %s, want Active", s.settings.Stage, construct, got)
			}
			env := p["Environment"].(map[string]any)["Variables"].(map[string]any)
			if got, want := env[config.EnvMetricsNamespace], "fleetclaim/"+s.settings.Stage; got != want {
				t.Errorf("%s %s: %s=%v, want %s", s.settings.Stage, construct, config.EnvMetricsNamespace, got, want)
			}
		}
	}
}

func TestAlarmTopicSetting(t *testing.T) {
	tests := []struct {
		name    string
		value   any
		want    string
		wantErr bool
	}{
		{name: "unset"},
		{name: "topic", value: testAlarmTopicARN, want: testAlarmTopicARN},
		{name: "other partition", value: "arn:aws-us-gov:sns:us-gov-west-1:123456789012:ops", want: "arn:aws-us-gov:sns:us-gov-west-1:123456789012:ops"},
		{name: "not an ARN", value: "fleetclaim-oncall", wantErr: true},
		{name: "another service", value: "arn:aws:sqs:eu-west-1:123456789012:ops", wantErr: true},
		{name: "not a string", value: float64(3), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := SettingsFromContext(func(key string) any {
				if key == ctxAlarmTopicARN {
					return tt.value
				}
				return nil
			})
			if (err != nil) != tt.wantErr || (err != nil && !strings.Contains(err.Error(), ctxAlarmTopicARN)) {
				t.Fatalf("got error %v, want one naming %s: %v", err, ctxAlarmTopicARN, tt.wantErr)
			}
			if err == nil && s.AlarmTopicARN != tt.want {
				t.Errorf("got %q, want %q", s.AlarmTopicARN, tt.want)
			}
		})
	}
}

// Every reason alarmed on as a spike is one the hook can record.
func TestSpikeReasonsAreDenialReasons(t *testing.T) {
	if slices.Contains(spikeReasons, fleetclaim.ReasonStoreUnavailable) {
		t.Error("store_unavailable has its own alarm at the first occurrence")
	}
	for _, r := range spikeReasons {
		if !strings.Contains(string(r), "_") {
			t.Errorf("%q does not look like a reason code", r)
		}
	}
}
