package dynamostore

// Actions names, for each Store method, the DynamoDB actions (as IAM spells
// them) its calls use on some path. The CDK app grants each function the
// actions of the store methods it calls, and no others; TestActions proves
// this table against the calls the store makes while the store contract
// runs, so a method that starts calling another action fails it until the
// table (and with it the grants) says so.
var Actions = map[string][]string{
	"AppendAudit": {"dynamodb:PutItem"},
	// A claim item whose serial another claim took meanwhile is deleted at
	// once; the serial record is read, then written on its version.
	"CreateClaim":        {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
	"CreateInstaller":    {"dynamodb:PutItem"},
	"CreateTenant":       {"dynamodb:PutItem"},
	"DecommissionDevice": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
	"GetClaim":           {"dynamodb:GetItem"},
	"GetDevice":          {"dynamodb:GetItem"},
	"GetInstaller":       {"dynamodb:GetItem"},
	"GetSerial":          {"dynamodb:GetItem"},
	"GetTenant":          {"dynamodb:GetItem"},
	"ListAudit":          {"dynamodb:Query"},
	// The claims' serial records, for their latest state, in one batch.
	"ListClaims":         {"dynamodb:BatchGetItem", "dynamodb:Query"},
	"ListDeviceHistory":  {"dynamodb:GetItem", "dynamodb:Query"},
	"ListDevices":        {"dynamodb:Query"},
	"ListInstallers":     {"dynamodb:Query"},
	"ListTenants":        {"dynamodb:Query"},
	"MarkDeviceOnline":   {"dynamodb:GetItem", "dynamodb:UpdateItem"},
	"PutTenant":          {"dynamodb:PutItem"},
	"SetInstallerStatus": {"dynamodb:GetItem", "dynamodb:UpdateItem"},
	"SetTenantStatus":    {"dynamodb:GetItem", "dynamodb:UpdateItem"},
	"TakeQuota":          {"dynamodb:UpdateItem"},
	"UpdateClaim":        {"dynamodb:GetItem", "dynamodb:UpdateItem"},
	"UpdateTenant":       {"dynamodb:GetItem", "dynamodb:UpdateItem"},
}
