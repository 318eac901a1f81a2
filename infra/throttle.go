package main

import "math"

// Sizing the API stage throttle from the cost model (BENCHMARKS.md, "Cost
// model"): a provisioned device costs about apiRequestsPerDevice API
// requests (POST /claims, one GET /claims/{id}, and a share of an
// approval). The stage throttle is shared by every tenant, so it must carry
// the fleet's peak with room to spare, and it is also the ceiling on what a
// flood that gets past the per-installer allowance can cost.
const (
	// apiRequestsPerDevice is the cost model's API Gateway requests per
	// provisioned device.
	apiRequestsPerDevice = 2.005
	// throttleHeadroom covers what the model leaves out: apps polling a
	// claim more than once, listings, admins at work.
	throttleHeadroom = 4
	// minThrottleRate keeps a small deployment usable by a handful of
	// people tapping at once.
	minThrottleRate = 10
	// defaultPeakInstallers is the number of installers at work at the same
	// time that the default throttle is sized for.
	defaultPeakInstallers = 250
)

// stageThrottle is the stage's steady rate (requests per second) and burst
// for peakInstallers each provisioning claimsPerHour devices an hour, the
// most their quota allows: peak × claims/hour × requests/device / 3600 s,
// times the headroom, at least minThrottleRate; the burst is twice the rate.
// With the defaults (250 installers, 60 claims an hour) that is 34 requests a
// second; sustained for a 30-day month it would be 88 million requests,
// about $308 of API Gateway at $3.50 per million: the most a flood that
// reaches the API can cost before the WAF rule or an operator stops it.
func stageThrottle(peakInstallers, claimsPerHour int) (rate float64, burst int) {
	perSecond := float64(peakInstallers) * float64(claimsPerHour) * apiRequestsPerDevice / 3600 * throttleHeadroom
	rate = math.Max(minThrottleRate, math.Ceil(perSecond))
	return rate, int(2 * rate)
}
