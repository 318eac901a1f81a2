// Package apigw adapts API Gateway REST proxy events to the fleetclaim domain:
// it routes requests, reads the Cognito authorizer's claims, decodes and
// validates bodies, and writes JSON and application/problem+json answers.
package apigw

import "github.com/fleetclaim/fleetclaim/shared/fleetclaim"

// Route is one API operation. Routes is the single list that the handler
// serves, the CDK app deploys (with each route's OAuth scope on its
// authorizer) and the local API stand-in enforces; a test checks it against
// the OpenAPI document.
type Route struct {
	Method string
	// Path is the API Gateway resource path, with {param} segments.
	Path string
	// Scope is the OAuth scope the Cognito authorizer requires.
	Scope string
	// Operation is the OpenAPI operationId.
	Operation string
}

// Routes is every route of the API.
var Routes = []Route{
	{"POST", "/claims", fleetclaim.ScopeClaims, "issueClaim"},
	{"GET", "/claims", fleetclaim.ScopeClaims, "listClaims"},
	{"GET", "/claims/{id}", fleetclaim.ScopeClaims, "getClaim"},
	{"DELETE", "/claims/{id}", fleetclaim.ScopeClaims, "revokeClaim"},
	{"GET", "/devices", fleetclaim.ScopeClaims, "listDevices"},
	{"GET", "/devices/{serial}", fleetclaim.ScopeClaims, "getDevice"},
	{"POST", "/devices/{serial}/decommission", fleetclaim.ScopeClaims, "decommissionDevice"},
	{"POST", "/devices/{serial}/replace", fleetclaim.ScopeClaims, "replaceDevice"},
	{"GET", "/devices/{serial}/history", fleetclaim.ScopeClaims, "listDeviceHistory"},
	{"GET", "/installers", fleetclaim.ScopeAdmin, "listInstallers"},
	{"GET", "/installers/{id}", fleetclaim.ScopeAdmin, "getInstaller"},
	{"POST", "/installers/{id}/approve", fleetclaim.ScopeAdmin, "approveInstaller"},
	{"POST", "/installers/{id}/suspend", fleetclaim.ScopeAdmin, "suspendInstaller"},
	{"POST", "/installers/{id}/reinstate", fleetclaim.ScopeAdmin, "reinstateInstaller"},
	{"GET", "/audit", fleetclaim.ScopeAdmin, "listAuditEvents"},
	{"POST", "/tenants", fleetclaim.ScopeAdmin, "createTenant"},
	{"GET", "/tenants", fleetclaim.ScopeAdmin, "listTenants"},
	{"GET", "/tenants/{id}", fleetclaim.ScopeAdmin, "getTenant"},
	{"PATCH", "/tenants/{id}", fleetclaim.ScopeAdmin, "updateTenant"},
	{"POST", "/tenants/{id}/suspend", fleetclaim.ScopeAdmin, "suspendTenant"},
	{"POST", "/tenants/{id}/reactivate", fleetclaim.ScopeAdmin, "reactivateTenant"},
}
