package dynamostore

// The single-table schema, shared with infra/ so the table the CDK app
// creates is the table this adapter expects.
//
// Items (all keys are strings):
//
//	tenant     pk=TENANT#<tenant>             sk=TENANT
//	           gsi2pk=TENANTS                 gsi2sk=<tenant>
//	installer  pk=INSTALLER#<sub>             sk=INSTALLER
//	           gsi2pk=TENANT#<tenant>#INSTALLER gsi2sk=<email>#<sub>
//	claim      pk=CLAIM#<claimId>             sk=CLAIM        ttl=<retain until>
//	           gsi1pk=INSTALLER#<sub>         gsi1sk=<issuedAt>#<claimId>
//	           the binding as issued; once the claim is no longer its
//	           serial's current claim, archived=true and its last state
//	           (status, reason, updatedAt, retainUntil, device); no ttl
//	           from the moment it is consumed (kept for good)
//	serial     pk=TENANT#<tenant>#SERIAL#<serial> sk=SERIAL
//	           the current claim (every claim attribute), device (the live
//	           device, absent when the serial is free), retired (the device
//	           decommissioned last), ver (counts writes); while a device is
//	           live: gsi2pk=TENANT#<tenant>#DEVICE gsi2sk=<serial>
//	history    pk=TENANT#<tenant>#SERIAL#<serial> sk=HISTORY#<provisionedAt>#<certificateId>
//	           a decommissioned device, kept for good
//	quota      pk=QUOTA#<key>#<window end>    sk=QUOTA        ttl=<window end + 1h>
//	audit      pk=TENANT#<tenant>#AUDIT       sk=<time>#<id>  ttl=<time + audit retention>
//
// Both indexes project every attribute (ALL), so listings read whole items
// from an index with no second read. The device index holds one entry per
// serial with a live device. Invariant 9 is one item's: the consuming write
// is an UpdateItem of the serial record conditioned on the claim being
// current (id), issued, unexpired (expiresAtNs) and on no live device.
const (
	AttrPK     = "pk"
	AttrSK     = "sk"
	AttrGSI1PK = "gsi1pk"
	AttrGSI1SK = "gsi1sk"
	AttrGSI2PK = "gsi2pk"
	AttrGSI2SK = "gsi2sk"
	// AttrTTL is the table's TTL attribute (epoch seconds).
	AttrTTL = "ttl"

	// IndexByInstaller lists an installer's claims.
	IndexByInstaller = "gsi1"
	// IndexByTenant lists a tenant's installers and devices, and the tenants.
	IndexByTenant = "gsi2"
)
