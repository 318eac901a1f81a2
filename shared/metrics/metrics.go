// Package metrics names every metric fleetclaim publishes and records them:
// as CloudWatch embedded metric format (EMF) documents in AWS, and as an
// in-memory tally that the local stack serves. The one list, All, is what the
// functions record, what the CDK app alarms on and graphs, and what the local
// stack shows, so that no name can drift between them.
//
// AWS publishes EMF client libraries for other languages but not for Go, and
// the community Go ones are unmaintained; the format is a single JSON object
// per log line, which this package writes itself (see EMF).
package metrics

import (
	"context"
	"time"
)

// DefaultNamespace is the CloudWatch namespace when configuration names none.
// Deployed stacks use one namespace per stage (fleetclaim/<stage>), so that
// two stages in one account never add up in a graph or an alarm.
const DefaultNamespace = "fleetclaim"

// Unit is a CloudWatch metric unit.
type Unit string

// The units fleetclaim's metrics use.
const (
	Count        Unit = "Count"
	Seconds      Unit = "Seconds"
	Milliseconds Unit = "Milliseconds"
)

// Metric is one metric: its CloudWatch name and unit, and the dimension its
// values are broken down by, if any.
type Metric struct {
	Name string
	Unit Unit
	// Dimension is the name of the dimension each value is recorded under
	// ("" for none). A metric with a dimension is also published without
	// it, as the total over every value, so that an alarm or a graph can
	// use either without metric math.
	Dimension string
	// Description says what one value is; the dashboard and the local
	// stack's page show it.
	Description string
}

// DimensionReason is the dimension of RegistrationsDenied: the reason code
// recorded on the claim (fleetclaim.Reason).
const DimensionReason = "Reason"

// The metrics. Counts are recorded as 1 per event.
var (
	ClaimsIssued = Metric{Name: "ClaimsIssued", Unit: Count,
		Description: "Provisioning claims issued to installers (POST /claims answered 201)."}
	RegistrationsAllowed = Metric{Name: "RegistrationsAllowed", Unit: Count,
		Description: "Device registrations the pre-provisioning hook allowed."}
	RegistrationsDenied = Metric{Name: "RegistrationsDenied", Unit: Count, Dimension: DimensionReason,
		Description: "Device registrations the pre-provisioning hook denied, by the reason recorded on the claim."}
	ClaimToRegistrationSeconds = Metric{Name: "ClaimToRegistrationSeconds", Unit: Seconds,
		Description: "Seconds from a claim's issue to the registration the hook allowed with it."}
	RegistrationToOnlineSeconds = Metric{Name: "RegistrationToOnlineSeconds", Unit: Seconds,
		Description: "Seconds from a device's registration to its first connection with its own certificate."}
	QuotaRefusals = Metric{Name: "QuotaRefusals", Unit: Count,
		Description: "Claim requests refused because the installer's hourly quota was used up (429)."}
	IoTThrottled = Metric{Name: "IoTThrottled", Unit: Count,
		Description: "Claim requests AWS IoT throttled (CreateProvisioningClaim), answered 503 throttled."}
	StoreErrors = Metric{Name: "StoreErrors", Unit: Count,
		Description: "DynamoDB calls that failed for a reason other than a failed condition (throttling, timeouts, faults)."}
	HookDecisionMilliseconds = Metric{Name: "HookDecisionMilliseconds", Unit: Milliseconds,
		Description: "Time the pre-provisioning hook took to decide; AWS IoT waits 5 s in all."}
)

// All is every metric, in the order the flow meets them.
var All = []Metric{
	ClaimsIssued, RegistrationsAllowed, RegistrationsDenied, ClaimToRegistrationSeconds,
	RegistrationToOnlineSeconds, QuotaRefusals, IoTThrottled, StoreErrors, HookDecisionMilliseconds,
}

// Recorder records metric values.
type Recorder interface {
	// Record records one value of m. dimension is the value of
	// m.Dimension; "" records the value in the total only.
	Record(ctx context.Context, m Metric, value float64, dimension string)
}

// Add records one event of a count metric. A nil recorder records nothing,
// so adapters built without one (as most tests build them) still work.
func Add(ctx context.Context, r Recorder, m Metric, dimension string) {
	if r != nil {
		r.Record(ctx, m, 1, dimension)
	}
}

// Duration records d in m's unit (seconds or milliseconds). A nil recorder
// records nothing; a negative duration (clocks that disagree) records zero.
func Duration(ctx context.Context, r Recorder, m Metric, d time.Duration) {
	if r == nil {
		return
	}
	d = max(d, 0)
	v := d.Seconds()
	if m.Unit == Milliseconds {
		v = float64(d) / float64(time.Millisecond)
	}
	r.Record(ctx, m, v, "")
}

// RegistrationToOnline records the time from a device's registration to the
// first connection with its own certificate: the presence function calls it
// when it marks a device online.
func RegistrationToOnline(ctx context.Context, r Recorder, registeredAt, onlineAt time.Time) {
	Duration(ctx, r, RegistrationToOnlineSeconds, onlineAt.Sub(registeredAt))
}
