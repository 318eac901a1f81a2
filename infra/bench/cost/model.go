package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// pricesAsOf is the date the list prices below are assumed current.
const pricesAsOf = "2026-11-23"

// Prices are AWS list prices in us-east-1 (US East, N. Virginia), on
// demand, first pricing tier, free tiers left out, as the AWS pricing pages
// state them. They change: check them before relying on the result.
var price = struct {
	lambdaGBSecond, lambdaRequest      float64 // arm64
	apiRequest                         float64 // API Gateway REST API
	readUnit, writeUnit                float64 // DynamoDB on demand
	storageGBMonth, pitrGBMonth        float64 // DynamoDB Standard table class
	cognitoMAU                         float64 // Essentials plan
	cognitoFreeMAU                     int
	iotMessage, iotMinute, iotRegistry float64
	iotRule, iotAction                 float64 // rules engine: rules triggered, actions executed
	logsGB                             float64 // CloudWatch Logs ingestion, Standard class
}{
	lambdaGBSecond: 0.0000133334, lambdaRequest: 0.20 / 1e6,
	apiRequest: 3.50 / 1e6,
	readUnit:   0.125 / 1e6, writeUnit: 0.625 / 1e6,
	storageGBMonth: 0.25, pitrGBMonth: 0.20,
	cognitoMAU: 0.015, cognitoFreeMAU: 10_000,
	iotMessage: 1.00 / 1e6, iotMinute: 0.08 / 1e6, iotRegistry: 1.25 / 1e6,
	iotRule: 0.15 / 1e6, iotAction: 0.15 / 1e6,
	logsGB: 0.50,
}

// Assumptions: what the code cannot tell.
const (
	// memoryGB is the functions' memory (infra/functions.go).
	memoryGB = 0.25
	// dynamoRoundTrip is one DynamoDB request from Lambda in the same
	// region, signing and TLS included (single-digit milliseconds).
	dynamoRoundTrip = 5 * time.Millisecond
	// claimMinting is AWS IoT CreateProvisioningClaim, which makes an RSA
	// key pair and a certificate.
	claimMinting = 250 * time.Millisecond
	// cognitoAdminCall is one Cognito admin API call (AdminGetUser, AdminUserGlobalSignOut).
	cognitoAdminCall = 50 * time.Millisecond
	// handlerCPU is the handlers' own work at 256 MB's share of a vCPU:
	// microseconds on a full core (see the hot paths), rounded up.
	handlerCPU = time.Millisecond
	// platformLogBytes are Lambda's own JSON lines per invocation
	// (platform.start and platform.report).
	platformLogBytes = 600
	// lambdaCPUShare is 256 MB's share of a vCPU (a full one at 1,769 MB),
	// used to scale the init measured here on full cores.
	lambdaCPUShare = 256.0 / 1769

	// An installer's month: 20 working days, one sign-in and seven hourly
	// refreshes a day, ten devices a day.
	tokensPerInstallerMonth  = 160
	devicesPerInstallerMonth = 200

	// AWS IoT per device, counted from the MQTT exchange of
	// infra/local/device (MQTT 3.1.1, QoS 1): with the claim certificate,
	// CONNECT, two SUBSCRIBEs, two request PUBLISHes, two replies and the
	// device's PUBACKs for them (each reply under 5 KB); with the new
	// certificate, CONNECT and one PUBLISH. CONNACK, SUBACK, the service's
	// PUBACKs and DISCONNECT are not metered.
	iotMessages = 11
	// Two connections of under a minute each, metered by the minute.
	iotMinutes = 2
	// RegisterThing's CreateThing and AttachThingPrincipal, counted as
	// registry operations (the pricing page does not say whether fleet
	// provisioning's own are; this is the upper bound).
	iotRegistryOps = 2
	// The two connections' connected and disconnected presence events: each
	// triggers the presence rule once and runs its one action (the presence
	// function). The pricing page does not say whether AWS IoT's own
	// lifecycle messages are metered as messaging; they are counted as
	// messages too, the upper bound.
	presenceEvents = 4
	// storageOverhead is DynamoDB's per-item (and per-index-entry) storage
	// overhead.
	storageOverhead = 100
)

// use is how often a flow runs per device provisioned.
type use struct {
	flow  string
	times float64
	why   string
}

var perDevice = []use{
	{flowIssue, 1, "the installer asks for the device's claim"},
	{flowHook, 1, "AWS IoT asks the hook at RegisterThing"},
	{flowGetClaim, 1, "the app checks the outcome once"},
	{flowPreToken, float64(tokensPerInstallerMonth) / devicesPerInstallerMonth,
		fmt.Sprintf("%d sign-ins and refreshes per installer-month over %d devices", tokensPerInstallerMonth, devicesPerInstallerMonth)},
	{flowPostConfirmation, 1.0 / devicesPerInstallerMonth, "each installer signs up once; counted as if every one were new each month"},
	{flowApprove, 1.0 / devicesPerInstallerMonth, "and is approved once"},
	{flowPresence, 1, "AWS IoT's presence rule delivers the device's first connection with its own certificate"},
	{flowPresenceIgnored, presenceEvents - 1, "the claim certificate's connection and disconnection and the device's disconnection reach the function too, which ignores them"},
}

// model is the priced result.
type model struct {
	m     measured
	inits []coldStart
	lines []costLine
	// perDevice is the sum of lines, in dollars.
	perDevice float64
	// storageMonth is the storage a device's records take each month, in
	// dollars.
	storageMonth   float64
	storageBytes   float64
	cognitoPerUser float64
}

// costLine is one service's cost per device and what it counts.
type costLine struct {
	service, counts string
	dollars         float64
}

// billed estimates a flow's billed duration in AWS.
func billed(f flowMeasure) time.Duration {
	d := handlerCPU + time.Duration(f.units.calls())*dynamoRoundTrip + time.Duration(f.cognitoCalls)*cognitoAdminCall
	if f.name == flowIssue {
		d += claimMinting
	}
	return d.Round(time.Millisecond)
}

func newModel(m measured, inits []coldStart) *model {
	md := &model{m: m, inits: inits}
	var invocations, gbSeconds, api, reads, writes, logBytes float64
	for _, u := range perDevice {
		f := m.flows[u.flow]
		invocations += u.times
		gbSeconds += u.times * billed(f).Seconds() * memoryGB
		if f.api {
			api += u.times
		}
		reads += u.times * f.units.Reads
		writes += u.times * f.units.writes()
		logBytes += u.times * float64(f.logBytes+platformLogBytes)
	}
	md.cognitoPerUser = price.cognitoMAU / devicesPerInstallerMonth
	md.lines = []costLine{
		{"Lambda (arm64, 256 MB)", fmt.Sprintf("%.2f invocations, %.4f GB-s", invocations, gbSeconds),
			invocations*price.lambdaRequest + gbSeconds*price.lambdaGBSecond},
		{"API Gateway (REST)", fmt.Sprintf("%.3f requests", api), api * price.apiRequest},
		{"DynamoDB (on demand)", fmt.Sprintf("%.2f read units, %.2f write units", reads, writes),
			reads*price.readUnit + writes*price.writeUnit},
		{"AWS IoT Core", fmt.Sprintf("%d messages, %d connection-minutes, %d registry operations, %d rules triggered and actions run",
			iotMessages+presenceEvents, iotMinutes, iotRegistryOps, presenceEvents),
			(iotMessages+presenceEvents)*price.iotMessage + iotMinutes*price.iotMinute + iotRegistryOps*price.iotRegistry +
				presenceEvents*(price.iotRule+price.iotAction)},
		{"CloudWatch Logs", fmt.Sprintf("%.0f bytes ingested", logBytes), logBytes / (1 << 30) * price.logsGB},
		{"Cognito (Essentials)", fmt.Sprintf("1/%d of a monthly active installer, free tier left out", devicesPerInstallerMonth), md.cognitoPerUser},
	}
	for _, l := range md.lines {
		md.perDevice += l.dollars
	}
	// A device keeps its claim's item (in the table and the installer
	// index) and its serial record (in the table and the device index);
	// its three audit events (issued, provisioned, online) stay 400 days.
	md.storageBytes = 2*(m.claimBytes+storageOverhead) + 2*(m.deviceBytes+storageOverhead) + 3*(m.auditBytes+storageOverhead)
	md.storageMonth = md.storageBytes / (1 << 30) * (price.storageGBMonth + price.pitrGBMonth)
	return md
}

func (md *model) render(w io.Writer) {
	fmt.Fprintf(w, "## Cost model\n\n")
	fmt.Fprintf(w, "What one provisioned device costs in AWS, from what the code does: `go run ./infra/bench/cost` ran each\n"+
		"flow through the real handlers and the DynamoDB adapter against dynalite and counted its DynamoDB\n"+
		"capacity (as the server reports it for the table, plus the index writes DynamoDB charges for the\n"+
		"two indexes, which project all attributes), its calls and its log bytes at the deployed level.\n\n")

	fmt.Fprintf(w, "### Prices\n\nList prices in us-east-1, assumed current on %s (check them before relying on this):\n\n", pricesAsOf)
	fmt.Fprintln(w, "| service | price |")
	fmt.Fprintln(w, "|---|---|")
	fmt.Fprintf(w, "| Lambda, arm64 | $%.10f per GB-second, $%.2f per million requests; since August 2025 the init phase is billed too |\n", price.lambdaGBSecond, price.lambdaRequest*1e6)
	fmt.Fprintf(w, "| API Gateway, REST API | $%.2f per million requests (first 333 million a month) |\n", price.apiRequest*1e6)
	fmt.Fprintf(w, "| DynamoDB, on demand | $%.3f per million write request units (1 KB each), $%.3f per million read request units (4 KB, strongly consistent; half for eventually consistent); storage $%.2f and point-in-time recovery $%.2f per GB-month |\n",
		price.writeUnit*1e6, price.readUnit*1e6, price.storageGBMonth, price.pitrGBMonth)
	fmt.Fprintf(w, "| Cognito user pools, Essentials | $%.3f per monthly active user beyond %s free a month; a user is active in a month if they sign up, sign in or refresh a token |\n", price.cognitoMAU, thousands(price.cognitoFreeMAU))
	fmt.Fprintf(w, "| AWS IoT Core | messaging $%.2f per million (5 KB each), connectivity $%.2f per million connection-minutes (by the minute), registry $%.2f per million operations, rules engine $%.2f per million rules triggered and $%.2f per million actions run; CreateProvisioningClaim and fleet provisioning carry no price of their own |\n",
		price.iotMessage*1e6, price.iotMinute*1e6, price.iotRegistry*1e6, price.iotRule*1e6, price.iotAction*1e6)
	fmt.Fprintf(w, "| CloudWatch Logs | $%.2f per GB ingested (Standard class, first tier) |\n\n", price.logsGB)

	fmt.Fprintf(w, "### Flows, as measured\n\n")
	fmt.Fprintln(w, "| flow | function | DynamoDB calls | read units | write units (table + indexes) | Cognito admin calls | log bytes | median here (dynalite) | billed in AWS (estimate) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, f := range flows {
		fm := md.m.flows[f.name]
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s (%s + %s) | %d | %d | %s | %s |\n", f.name, f.function, callList(fm.units),
			num(fm.units.Reads), num(fm.units.writes()), num(fm.units.TableWrites), num(fm.units.IndexWrites),
			fm.cognitoCalls, fm.logBytes, msStr(fm.median), fmt.Sprintf("%d ms", billed(fm).Milliseconds()))
	}
	fmt.Fprintf(w, "\nMedians of %d warm invocations each, in process, against dynalite on loopback. The AWS estimate is\n"+
		"%s of handler work (the handlers take microseconds of CPU; see the hot paths) plus %s per DynamoDB\n"+
		"call, %s per Cognito admin call and, for POST /claims, %s for AWS IoT CreateProvisioningClaim:\n"+
		"assumed latencies, not measured ones. The hook stays far inside its 5 s limit either way.\n\n",
		md.m.runs, msStr(handlerCPU), msStr(dynamoRoundTrip), msStr(cognitoAdminCall), msStr(claimMinting))

	fmt.Fprintf(w, "### Per device provisioned\n\nHow often each flow runs per device:\n\n")
	for _, u := range perDevice {
		fmt.Fprintf(w, "- %s: %s (%s)\n", u.flow, num(u.times), u.why)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| service | per device | per 1,000 devices | per 1,000,000 devices |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, l := range md.lines {
		fmt.Fprintf(w, "| %s: %s | $%.7f | %s | %s |\n", l.service, l.counts, l.dollars, usd(l.dollars*1e3), usd(l.dollars*1e6))
	}
	fmt.Fprintf(w, "| **total** | **$%.6f** | **%s** | **%s** |\n", md.perDevice, usd(md.perDevice*1e3), usd(md.perDevice*1e6))
	noCognito := md.perDevice - md.cognitoPerUser
	fmt.Fprintf(w, "| **total, Cognito inside its free tier** | **$%.6f** | **%s** | **%s** |\n", noCognito, usd(noCognito*1e3), usd(noCognito*1e6))
	fmt.Fprintf(w, "| then, each month: DynamoDB storage and point-in-time recovery (%.1f KB a device: its claim's item and its serial record, each in the table and an index, and its three audit events) | $%.8f | %s | %s |\n\n",
		md.storageBytes/1024, md.storageMonth, usd(md.storageMonth*1e3), usd(md.storageMonth*1e6))

	fmt.Fprintf(w, "Shares of the total: %s.\n\n", md.shares())
	fmt.Fprintf(w, "A serial record holding its live device (where the claim is consumed) is %.0f bytes here, for the\n"+
		"sample tenant `acme` and site `Depot 4, bay 2`; DynamoDB bills writes per started KB, so with long tenant\n"+
		"IDs, serials or site names its consuming write and its device index write cost 2 units each instead of 1:\n"+
		"2 more write units, $%.2f more per 1,000,000 devices.\n\n", md.m.deviceBytes, 2*price.writeUnit*1e6)
	fmt.Fprintf(w, "Cognito is priced per monthly active *installer*, not per device: at %d devices per installer-month,\n"+
		"1,000 devices take %d installers and 1,000,000 take %s, inside the %s free monthly active users a month\n"+
		"if the account has no other users; the table prices them anyway ($%.3f each). A deployment with\n"+
		"installers who provision few devices pays more per device: at 20 devices per installer-month the\n"+
		"Cognito line is ten times larger.\n\n",
		devicesPerInstallerMonth, 1000/devicesPerInstallerMonth, thousands(1_000_000/devicesPerInstallerMonth), thousands(price.cognitoFreeMAU), price.cognitoMAU)
	fmt.Fprintf(w, "Cold starts: Lambda bills the init phase. %s If every invocation were a cold start, at %.0f%% of a vCPU\n"+
		"(256 MB) that would add about %s a time, %s per million devices; in practice most invocations are warm.\n",
		md.initSentence(), lambdaCPUShare*100, msStr(md.worstInit()), usd(md.coldStartPerMillion()))
}

// renderShort writes the summary that the README links to.
func (md *model) renderShort(w io.Writer) {
	noCognito := md.perDevice - md.cognitoPerUser
	fmt.Fprintf(w, "# Cost per device, in short\n\n")
	fmt.Fprintf(w, "At AWS list prices in us-east-1 (assumed current on %s), provisioning devices costs about\n"+
		"**%s per 1,000** and **%s per 1,000,000** while the installers stay inside Cognito's free tier\n"+
		"(%s monthly active users), and %s per 1,000,000 if every installer is paid for, at %d devices per\n"+
		"installer a month. The devices' records then cost %s a month per 1,000,000 in DynamoDB.\n\n",
		pricesAsOf, usd(noCognito*1e3), usd(noCognito*1e6), thousands(price.cognitoFreeMAU), usd(md.perDevice*1e6),
		devicesPerInstallerMonth, usd(md.storageMonth*1e6))
	fmt.Fprintf(w, "| service | per 1,000,000 devices |\n|---|---|\n")
	for _, l := range md.lines {
		fmt.Fprintf(w, "| %s | %s |\n", l.service, usd(l.dollars*1e6))
	}
	fmt.Fprintf(w, "\nThe DynamoDB capacity, calls and log bytes behind it are measured by running each flow through the\n"+
		"real handlers (`make bench`); latencies in AWS, the metering of the MQTT exchange and how installers\n"+
		"use the app (%d devices and %d sign-ins and token refreshes per installer a month) are assumptions.\n"+
		"Cognito is priced per monthly active installer, not per device. The model, its assumptions and the\n"+
		"measurements: [BENCHMARKS.md](../../BENCHMARKS.md#cost-model).\n",
		devicesPerInstallerMonth, tokensPerInstallerMonth)
}

func (md *model) shares() string {
	var parts []string
	for _, l := range md.lines {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", strings.SplitN(l.service, " (", 2)[0], 100*l.dollars/md.perDevice))
	}
	return strings.Join(parts, ", ")
}

func (md *model) initSentence() string {
	if len(md.inits) == 0 {
		return "(Run with -coldstart for the measured init durations.)"
	}
	var parts []string
	for _, c := range md.inits {
		parts = append(parts, fmt.Sprintf("%s %.1f ms", c.Function, c.InitMs))
	}
	return "Measured here on full cores (cold starts above): " + strings.Join(parts, ", ") + "."
}

// worstInit is the slowest function's init scaled to 256 MB's CPU share.
func (md *model) worstInit() time.Duration {
	worst := 4.0 // ms, when no measurement is given
	for _, c := range md.inits {
		worst = math.Max(worst, c.InitMs)
	}
	return time.Duration(worst / lambdaCPUShare * float64(time.Millisecond)).Round(time.Millisecond)
}

func (md *model) coldStartPerMillion() float64 {
	invocations := 0.0
	for _, u := range perDevice {
		invocations += u.times
	}
	return invocations * md.worstInit().Seconds() * memoryGB * price.lambdaGBSecond * 1e6
}

func callList(u units) string {
	var parts []string
	for _, op := range []string{"GetItem", "Query", "PutItem", "UpdateItem"} {
		if n := u.Calls[op]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, op))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func num(f float64) string {
	if f == math.Trunc(f) {
		return fmt.Sprintf("%.0f", f)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", f), "0"), ".")
}

func usd(f float64) string {
	switch {
	case f >= 100:
		return "$" + thousands(int(math.Round(f)))
	case f >= 1:
		return fmt.Sprintf("$%.2f", f)
	default:
		return fmt.Sprintf("$%.4f", f)
	}
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func msStr(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
