package dynamostore

// Actions names, for each Store method, the DynamoDB actions (as IAM spells
// them) its calls use on some path. The CDK app grants each function the
// actions of the store methods it calls, and no others; TestActions proves
// this table against the calls the store makes while the store contract
// runs, so a method that starts calling another action fails it until the
// table (and with it the grants) says so.
var Actions = map[string][]string{
	"AppendAudit":        {"dynamodb:PutItem"},
	"CreateClaim":        {"dynamodb:PutItem"},
	"CreateInstaller":    {"dynamodb:PutItem"},
	"GetClaim":           {"dynamodb:GetItem"},
	"GetDevice":          {"dynamodb:Query"},
	"GetInstaller":       {"dynamodb:GetItem"},
	"GetTenant":          {"dynamodb:GetItem"},
	"ListAudit":          {"dynamodb:Query"},
	"ListClaims":         {"dynamodb:Query"},
	"ListDevices":        {"dynamodb:Query"},
	"ListInstallers":     {"dynamodb:Query"},
	"PutTenant":          {"dynamodb:PutItem"},
	"SetInstallerStatus": {"dynamodb:GetItem", "dynamodb:UpdateItem"},
	"TakeQuota":          {"dynamodb:UpdateItem"},
	"UpdateClaim":        {"dynamodb:GetItem", "dynamodb:UpdateItem"},
}
