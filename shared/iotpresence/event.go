// Package iotpresence adapts AWS IoT's presence (lifecycle) events, which a
// topic rule delivers to the presence function, to the fleetclaim
// Lifecycle: a device is online once it connects with its own certificate.
package iotpresence

// TopicFilter is where AWS IoT publishes presence events:
// $aws/events/presence/connected/<clientId> and
// $aws/events/presence/disconnected/<clientId>. The deployed topic rule
// (RuleSQL) and the local stack's rule both select it.
const TopicFilter = "$aws/events/presence/+/+"

// RuleSQL is the topic rule's statement: every presence event, as AWS IoT
// publishes it, becomes the function's event unchanged.
const RuleSQL = "SELECT * FROM '" + TopicFilter + "'"

// RuleSQLVersion is the rules engine's SQL version the rule is written in.
const RuleSQLVersion = "2016-03-23"

// Event types of a presence event.
const (
	EventConnected    = "connected"
	EventDisconnected = "disconnected"
)

// Event is a presence event as AWS IoT publishes it and as a topic rule's
// Lambda action delivers it; aws-lambda-go has no type for it. Members follow
// AWS IoT's documentation of lifecycle events.
type Event struct {
	// ClientID is the MQTT client ID; a fleetclaim device connects with its
	// thing name.
	ClientID string `json:"clientId"`
	// ThingName is present only for connections that use the exclusive
	// thing feature.
	ThingName string `json:"thingName,omitempty"`
	// Timestamp is when the event happened, in milliseconds since the epoch.
	Timestamp int64 `json:"timestamp"`
	// EventType is EventConnected or EventDisconnected.
	EventType string `json:"eventType"`
	// SessionIdentifier identifies the MQTT session; a disconnected event
	// carries its connected event's.
	SessionIdentifier string `json:"sessionIdentifier"`
	// PrincipalIdentifier is the credential the client authenticated with:
	// for an X.509 client certificate, the certificate ID.
	PrincipalIdentifier string `json:"principalIdentifier"`
	// ClientInitiatedDisconnect and DisconnectReason are in disconnected
	// events only.
	ClientInitiatedDisconnect *bool  `json:"clientInitiatedDisconnect,omitempty"`
	DisconnectReason          string `json:"disconnectReason,omitempty"`
	// IPAddress is the client's address, when AWS IoT knows it.
	IPAddress string `json:"ipAddress,omitempty"`
	// VersionNumber grows with each connection of a client ID, so that
	// events delivered out of order can be put back in order.
	VersionNumber int64 `json:"versionNumber"`
}
