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
//	           once consumed (the device record; ttl removed):
//	           gsi2pk=TENANT#<tenant>#DEVICE  gsi2sk=<serial>
//	quota      pk=QUOTA#<key>#<window end>    sk=QUOTA        ttl=<window end + 1h>
//	audit      pk=TENANT#<tenant>#AUDIT       sk=<time>#<id>  ttl=<time + audit retention>
//
// Both indexes project every attribute (ALL), so listings and GetDevice read
// whole items from an index with no second read. A serial provisioned more
// than once has one device entry per consumed claim, all with the same
// gsi2sk; readers take the one with the latest provisioning time.
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
