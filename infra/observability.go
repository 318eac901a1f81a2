package main

import (
	"fmt"
	"regexp"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/jsii-runtime-go"

	"github.com/fleetclaim/fleetclaim/shared/config"
	"github.com/fleetclaim/fleetclaim/shared/fleetclaim"
	"github.com/fleetclaim/fleetclaim/shared/metrics"
)

// ctxAlarmTopicARN names an existing SNS topic that every alarm notifies,
// going into ALARM and back to OK.
//
// No topic is created when it is absent: a topic the stack made would have
// no subscribers, so it would notify nobody while looking as if it did, and
// an alarm topic usually belongs to the team's on-call setup (its
// subscriptions, and the KMS key policy an encrypted topic needs to let
// CloudWatch publish). Without it the alarms still change state, show on
// the dashboard and in the console, and synthesis warns.
const ctxAlarmTopicARN = "alarmTopicArn"

// snsTopicARN is an SNS topic ARN in any partition.
var snsTopicARN = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`)

// checkAlarmTopic refuses a value that is not an SNS topic ARN.
func checkAlarmTopic(r *contextReader, arn string) {
	if arn != "" && !snsTopicARN.MatchString(arn) {
		r.fail(ctxAlarmTopicARN, "must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>), got %q", arn)
	}
}

// metricsNamespace is the stage's CloudWatch namespace for the functions'
// own metrics: one per stage, so two stages in one account never add up.
func metricsNamespace(s Settings) string {
	return metrics.DefaultNamespace + "/" + s.Stage
}

// Alarm thresholds. Every alarm looks at 5-minute periods and treats a
// period without data as fine: the custom metrics are published only when
// something happens, and Lambda's only when a function runs.
const (
	alarmPeriodMinutes = 5
	// denialSpikeThreshold is how many denials for one reason in a period
	// count as a spike. Denials are rare and bursty (a batch of devices
	// with the wrong serial, a leaked claim retried): a fixed threshold
	// says plainly what it means, where an anomaly band needs weeks of
	// steady traffic to learn and sees nothing in a series that is mostly
	// empty.
	denialSpikeThreshold = 10
)

// hookDurationThreshold is the p99 hook duration, in milliseconds, to alarm
// on. AWS IoT waits 5 s for the hook, but the function times out at 3 s and
// its store calls stop at the hook deadline, so a p99 at the deadline
// already means more than one registration in a hundred is being denied for
// slowness: the last point at which to act.
var hookDurationThreshold = float64(config.DefaultHookDeadline.Milliseconds())

// spikeReasons are the denial reasons alarmed on when they spike: each
// points at misuse (a leaked or replayed claim, a device presenting another
// serial) or at a broken rollout. store_unavailable has an alarm of its own
// at the first occurrence; expired claims and invalid requests are the
// device's or installer's slowness or noise, shown on the dashboard only.
var spikeReasons = []fleetclaim.Reason{
	fleetclaim.ReasonUnknownClaim, fleetclaim.ReasonAlreadyUsed, fleetclaim.ReasonRevoked, fleetclaim.ReasonRejected,
	fleetclaim.ReasonSerialMismatch, fleetclaim.ReasonTemplateMismatch, fleetclaim.ReasonInstallerNotApproved,
	fleetclaim.ReasonTenantInactive,
}

// tableOperations are the DynamoDB operations the store calls: the ones
// whose throttles and system errors are alarmed on.
var tableOperations = []awsdynamodb.Operation{
	awsdynamodb.Operation_GET_ITEM, awsdynamodb.Operation_PUT_ITEM,
	awsdynamodb.Operation_UPDATE_ITEM, awsdynamodb.Operation_QUERY,
}

// observed is what the alarms and the dashboard watch.
type observed struct {
	api   awsapigateway.RestApi
	table awsdynamodb.Table
	hook  awslambda.Function
	// functions are every function, by name: all of FunctionNames.
	functions map[string]awslambda.Function
}

// newObservability creates the alarms, each notifying the alarm topic when
// one is set, and the dashboard of the provisioning flow.
func newObservability(stack awscdk.Stack, s Settings, o observed) {
	w := watcher{stack: stack, s: s, period: awscdk.Duration_Minutes(jsii.Number(alarmPeriodMinutes))}
	if s.AlarmTopicARN != "" {
		w.topic = awssns.Topic_FromTopicArn(stack, jsii.String("AlarmTopic"), jsii.String(s.AlarmTopicARN))
	} else {
		awscdk.Annotations_Of(stack).AddWarningV2(jsii.String("fleetclaim:noAlarmTopic"), jsii.String(
			"No "+ctxAlarmTopicARN+" is set: the alarms notify nobody (see DEPLOY.md)."))
	}
	stage := o.api.DeploymentStage()

	for _, name := range FunctionNames {
		fn, ok := o.functions[name]
		if !ok {
			// A function added to FunctionNames must be watched too.
			panic("observability: function " + name + " is missing from observed.functions")
		}
		w.alarm(name+"-errors", "The "+name+" function failed (an error, a crash or a timeout).",
			fn.MetricErrors(w.sum()), 1)
	}
	w.alarm("hook-duration-p99", fmt.Sprintf("The pre-provisioning hook's p99 duration reached its %v store deadline: "+
		"registrations are being denied for slowness (AWS IoT waits 5 s).", config.DefaultHookDeadline),
		o.hook.MetricDuration(&awscloudwatch.MetricOptions{Period: w.period, Statistic: jsii.String("p99")}), hookDurationThreshold)
	w.alarm("store-unavailable-denials", "The hook denied registrations because the table did not answer in time "+
		"(reason store_unavailable); those claims stay usable.",
		w.custom(metrics.RegistrationsDenied, string(fleetclaim.ReasonStoreUnavailable), "Sum"), 1)
	w.alarm("store-errors", "DynamoDB calls failed for a reason other than a failed condition (throttling, "+
		"timeouts, access denied, faults), in any function.", w.custom(metrics.StoreErrors, "", "Sum"), 1)
	w.alarm("iot-throttled", "AWS IoT throttled CreateProvisioningClaim; installers got 503 throttled.",
		w.custom(metrics.IoTThrottled, "", "Sum"), 1)
	w.alarm("api-5xx", "The API answered 5xx: every one is an installer whose request failed.",
		stage.MetricServerError(w.sum()), 1)
	w.alarm("table-throttles", "DynamoDB throttled requests to the table.",
		o.table.MetricThrottledRequestsForOperations(&awsdynamodb.OperationsMetricOptions{
			Operations: &tableOperations, Period: w.period, Statistic: jsii.String("Sum")}), 1)
	w.alarm("table-system-errors", "DynamoDB answered requests to the table with server errors.",
		o.table.MetricSystemErrorsForOperations(&awsdynamodb.SystemErrorsForOperationsMetricOptions{
			Operations: &tableOperations, Period: w.period, Statistic: jsii.String("Sum")}), 1)
	for _, r := range spikeReasons {
		w.alarm("denials-"+string(r), fmt.Sprintf("At least %d registrations were denied for %s in %d minutes.",
			denialSpikeThreshold, r, alarmPeriodMinutes),
			w.custom(metrics.RegistrationsDenied, string(r), "Sum"), denialSpikeThreshold)
	}

	newDashboard(w, o, stage)
}

// watcher builds the alarms of one stack.
type watcher struct {
	stack  awscdk.Stack
	s      Settings
	period awscdk.Duration
	topic  awssns.ITopic
	alarms []awscloudwatch.Alarm
}

// alarmName is the name CloudWatch shows: fleetclaim-<stage>-<name>.
func alarmName(s Settings, name string) string { return "fleetclaim-" + s.Stage + "-" + name }

// alarm fires when one period's value reaches threshold.
func (w *watcher) alarm(name, description string, m awscloudwatch.IMetric, threshold float64) {
	a := awscloudwatch.NewAlarm(w.stack, jsii.String("Alarm-"+name), &awscloudwatch.AlarmProps{
		AlarmName:          jsii.String(alarmName(w.s, name)),
		AlarmDescription:   jsii.String(description),
		Metric:             m,
		Threshold:          jsii.Number(threshold),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	if w.topic != nil {
		action := awscloudwatchactions.NewSnsAction(w.topic)
		a.AddAlarmAction(action)
		a.AddOkAction(action)
	}
	w.alarms = append(w.alarms, a)
}

func (w *watcher) sum() *awscloudwatch.MetricOptions {
	return &awscloudwatch.MetricOptions{Period: w.period, Statistic: jsii.String("Sum")}
}

// custom is one of the functions' own metrics (shared/metrics) in the
// stage's namespace: its total, or one value of its dimension.
func (w *watcher) custom(m metrics.Metric, dimension, statistic string) awscloudwatch.Metric {
	props := &awscloudwatch.MetricProps{
		Namespace:  jsii.String(metricsNamespace(w.s)),
		MetricName: jsii.String(m.Name),
		Period:     w.period,
		Statistic:  jsii.String(statistic),
	}
	if dimension != "" {
		props.DimensionsMap = &map[string]*string{m.Dimension: jsii.String(dimension)}
	}
	return awscloudwatch.NewMetric(props)
}

// newDashboard lays out the provisioning flow from top to bottom: alarms;
// claims issued → registrations allowed or denied → devices online; how
// long each step takes; the hook's latency against AWS IoT's limit; the
// API's answers; the table.
func newDashboard(w watcher, o observed, stage awsapigateway.Stage) {
	const full, half, third = 24, 12, 8
	graph := func(title string, width float64, left []awscloudwatch.IMetric, right []awscloudwatch.IMetric,
		annotations ...*awscloudwatch.HorizontalAnnotation) awscloudwatch.IWidget {
		p := &awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Width: jsii.Number(width), Height: jsii.Number(6),
			Left: &left, Period: w.period}
		if len(right) > 0 {
			p.Right = &right
		}
		if len(annotations) > 0 {
			p.LeftAnnotations = &annotations
		}
		return awscloudwatch.NewGraphWidget(p)
	}
	alarms := make([]interfacesawscloudwatch.IAlarmRef, 0, len(w.alarms))
	for _, a := range w.alarms {
		alarms = append(alarms, a)
	}
	ns := metricsNamespace(w.s)
	deniedByReason := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String(fmt.Sprintf(`SEARCH('{%s,%s} MetricName="%s"', 'Sum', %d)`,
			ns, metrics.DimensionReason, metrics.RegistrationsDenied.Name, alarmPeriodMinutes*60)),
		// A dynamic label: each series is named by its reason.
		Label:        jsii.String("${PROP('Dim." + metrics.DimensionReason + "')}"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{},
		Period:       w.period,
	})
	online := w.custom(metrics.RegistrationToOnlineSeconds, "", "SampleCount")
	online = online.With(&awscloudwatch.MetricOptions{Label: jsii.String("DevicesOnline")})
	pct := func(m metrics.Metric, p string) awscloudwatch.IMetric {
		return w.custom(m, "", p).With(&awscloudwatch.MetricOptions{Label: jsii.String(m.Name + " " + p)})
	}
	var lambdaErrors, lambdaThrottles []awscloudwatch.IMetric
	for _, name := range FunctionNames {
		fn := o.functions[name]
		lambdaErrors = append(lambdaErrors, fn.MetricErrors(&awscloudwatch.MetricOptions{Label: jsii.String(name), Statistic: jsii.String("Sum")}))
		lambdaThrottles = append(lambdaThrottles, fn.MetricThrottles(&awscloudwatch.MetricOptions{Label: jsii.String(name), Statistic: jsii.String("Sum")}))
	}
	rows := [][]awscloudwatch.IWidget{
		{awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{Width: jsii.Number(full), Height: jsii.Number(2), Markdown: jsii.String(
			"# fleetclaim " + w.s.Stage + "\nClaims issued → registrations allowed or denied (by reason) → devices online. " +
				"Custom metrics are in `" + ns + "` (shared/metrics); 5-minute sums unless marked.")})},
		{awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{Title: jsii.String("Alarms"),
			Alarms: &alarms, Width: jsii.Number(full), Height: jsii.Number(4)})},
		{
			graph("Provisioning flow", half, []awscloudwatch.IMetric{
				w.custom(metrics.ClaimsIssued, "", "Sum"), w.custom(metrics.RegistrationsAllowed, "", "Sum"),
				w.custom(metrics.RegistrationsDenied, "", "Sum"), online}, nil),
			graph("Registrations denied, by reason", half, []awscloudwatch.IMetric{deniedByReason}, nil,
				&awscloudwatch.HorizontalAnnotation{Value: jsii.Number(denialSpikeThreshold), Label: jsii.String("spike alarm")}),
		},
		{
			graph("Claim → registration → online (seconds)", half, []awscloudwatch.IMetric{
				pct(metrics.ClaimToRegistrationSeconds, "p50"), pct(metrics.ClaimToRegistrationSeconds, "p90"),
				pct(metrics.RegistrationToOnlineSeconds, "p50"), pct(metrics.RegistrationToOnlineSeconds, "p90")}, nil),
			graph("Hook latency (ms)", half, []awscloudwatch.IMetric{
				pct(metrics.HookDecisionMilliseconds, "p50"), pct(metrics.HookDecisionMilliseconds, "p99"),
				o.hook.MetricDuration(&awscloudwatch.MetricOptions{Statistic: jsii.String("p99"), Label: jsii.String("Lambda Duration p99")})}, nil,
				&awscloudwatch.HorizontalAnnotation{Value: jsii.Number(hookDurationThreshold), Label: jsii.String("store deadline")},
				&awscloudwatch.HorizontalAnnotation{Value: jsii.Number(5000), Label: jsii.String("AWS IoT gives up")}),
		},
		{
			graph("API answers", half, []awscloudwatch.IMetric{
				stage.MetricCount(&awscloudwatch.MetricOptions{Label: jsii.String("requests"), Statistic: jsii.String("Sum")}),
				stage.MetricClientError(&awscloudwatch.MetricOptions{Label: jsii.String("4xx"), Statistic: jsii.String("Sum")}),
				stage.MetricServerError(&awscloudwatch.MetricOptions{Label: jsii.String("5xx"), Statistic: jsii.String("Sum")})},
				[]awscloudwatch.IMetric{stage.MetricLatency(&awscloudwatch.MetricOptions{Label: jsii.String("latency p99 (ms)"), Statistic: jsii.String("p99")})}),
			graph("Refusals and dependencies", half, []awscloudwatch.IMetric{
				w.custom(metrics.QuotaRefusals, "", "Sum"), w.custom(metrics.IoTThrottled, "", "Sum"),
				w.custom(metrics.StoreErrors, "", "Sum")}, nil),
		},
		{
			// The two sums over operations name their metrics alike, so
			// each has a graph of its own.
			graph("DynamoDB throttled requests", third, []awscloudwatch.IMetric{
				o.table.MetricThrottledRequestsForOperations(&awsdynamodb.OperationsMetricOptions{Operations: &tableOperations,
					Label: jsii.String("throttled requests"), Statistic: jsii.String("Sum")}),
				// UserErrors has no table dimension: it counts every table
				// of the account in this Region.
				o.table.MetricUserErrors(&awscloudwatch.MetricOptions{Label: jsii.String("user errors (account-wide)"), Statistic: jsii.String("Sum")})}, nil),
			graph("DynamoDB system errors", third, []awscloudwatch.IMetric{
				o.table.MetricSystemErrorsForOperations(&awsdynamodb.SystemErrorsForOperationsMetricOptions{Operations: &tableOperations,
					Label: jsii.String("system errors"), Statistic: jsii.String("Sum")})}, nil),
			graph("DynamoDB capacity used", third, []awscloudwatch.IMetric{
				o.table.MetricConsumedReadCapacityUnits(&awscloudwatch.MetricOptions{Label: jsii.String("read units"), Statistic: jsii.String("Sum")}),
				o.table.MetricConsumedWriteCapacityUnits(&awscloudwatch.MetricOptions{Label: jsii.String("write units"), Statistic: jsii.String("Sum")})}, nil),
		},
		{graph("Lambda errors (left) and throttles (right)", full, lambdaErrors, lambdaThrottles)},
	}
	widgets := make([]*[]awscloudwatch.IWidget, len(rows))
	for i := range rows {
		widgets[i] = &rows[i]
	}
	dashboard := awscloudwatch.NewDashboard(w.stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String("fleetclaim-" + w.s.Stage),
		Widgets:       &widgets,
	})
	// CloudFormation takes Tags on a dashboard (the stack's app and stage
	// tags reach it), but cfn-lint releases whose resource schemas predate
	// that report them as E3002; the finding is silenced on this resource
	// alone, so the check stays in force everywhere else.
	dashboard.Node().DefaultChild().(awscdk.CfnResource).AddMetadata(jsii.String("cfn-lint"),
		map[string]any{"config": map[string]any{"ignore_checks": []string{"E3002"}}})
}
