package app

// Function names, as under functions/ (and infra's asset directory).
const (
	FnClaims        = "claims"
	FnPostConfirm   = "postconfirm"
	FnPreToken      = "pretoken"
	FnProvisionHook = "provisionhook"
	FnPresence      = "presence"
)

// StoreCalls lists, for each function, the store methods (fleetclaim.Store)
// its handler calls on some path. The CDK app grants each function the
// DynamoDB actions of exactly these methods (dynamostore.Actions); the
// events tests record the calls every fixture makes and hold this list to
// them, both ways, so neither a missing nor an unused grant goes unseen.
var StoreCalls = map[string][]string{
	// fleetclaim.Service (claims, devices, installers, audit, the claim
	// quota) and fleetclaim.RateLimiter.
	FnClaims: {"AppendAudit", "CreateClaim", "DecommissionDevice", "GetClaim", "GetDevice", "GetInstaller", "GetSerial",
		"GetTenant", "ListAudit", "ListClaims", "ListDeviceHistory", "ListDevices", "ListInstallers", "SetInstallerStatus",
		"TakeQuota", "UpdateClaim",
		// fleetclaim tenant administration (tenants.go).
		"CreateTenant", "ListTenants", "SetTenantStatus", "UpdateTenant"},
	// fleetclaim.Enrollment.Register: the record, the tenant, the daily
	// auto-approval cap, the audit event.
	FnPostConfirm: {"AppendAudit", "CreateInstaller", "GetInstaller", "GetTenant", "TakeQuota"},
	// fleetclaim.Enrollment.SignIn: the record, and Register when it is
	// missing (post-confirmation repair).
	FnPreToken: {"AppendAudit", "CreateInstaller", "GetInstaller", "GetTenant", "TakeQuota"},
	// fleetclaim.Gatekeeper.Decide.
	FnProvisionHook: {"AppendAudit", "GetClaim", "GetInstaller", "GetTenant", "UpdateClaim"},
	// fleetclaim.Lifecycle.Observe: the live device, its first connection,
	// the audit event.
	FnPresence: {"AppendAudit", "GetDevice", "MarkDeviceOnline"},
}
