// Package fleetclaim is the domain of the trusted-installer provisioning
// backend: tenants, installers, provisioning claims and the devices they
// provision, the rules that govern them, and the error codes those rules
// produce.
//
// It imports no AWS package. Storage, AWS IoT and Cognito are reached through
// the small interfaces declared here (ports.go); adapters in sibling packages
// implement them, and the Lambda handlers translate events into calls on the
// services below:
//
//   - Issuer: claim issuance, status and revocation (API routes);
//   - Directory: installer administration, devices and audit (API routes);
//   - Gatekeeper: the pre-provisioning hook decision;
//   - Enrollment: the Cognito post-confirmation and pre-token rules.
package fleetclaim
