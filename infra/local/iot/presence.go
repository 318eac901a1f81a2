package iot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Presence (lifecycle) events, as AWS IoT publishes them on
// $aws/events/presence/<eventType>/<clientId> for every connection it
// accepts and every one that ends.
const (
	PresenceConnected    = "connected"
	PresenceDisconnected = "disconnected"
	presenceTopicPrefix  = "$aws/events/presence/"
)

// Disconnect reasons of a disconnected event: the ones AWS IoT documents
// that the local broker can tell apart.
const (
	disconnectClientInitiated = "CLIENT_INITIATED_DISCONNECT"
	disconnectDuplicateClient = "DUPLICATE_CLIENTID"
	disconnectAuthError       = "AUTH_ERROR"
	disconnectKeepAlive       = "MQTT_KEEP_ALIVE_TIMEOUT"
	disconnectServerInitiated = "SERVER_INITIATED_DISCONNECT"
	disconnectClientError     = "CLIENT_ERROR"
	disconnectConnectionLost  = "CONNECTION_LOST"
)

// presenceEvent is the payload of a presence event, member for member as AWS
// IoT documents it. timestamp is in milliseconds since the epoch.
type presenceEvent struct {
	ClientID                  string `json:"clientId"`
	Timestamp                 int64  `json:"timestamp"`
	EventType                 string `json:"eventType"`
	SessionIdentifier         string `json:"sessionIdentifier"`
	PrincipalIdentifier       string `json:"principalIdentifier"`
	ClientInitiatedDisconnect *bool  `json:"clientInitiatedDisconnect,omitempty"`
	DisconnectReason          string `json:"disconnectReason,omitempty"`
	IPAddress                 string `json:"ipAddress,omitempty"`
	VersionNumber             int64  `json:"versionNumber"`
}

// session is one accepted connection, as its presence events describe it.
type session struct {
	id            string
	certificateID string
	version       int64
	// authError is set when the broker ends the connection because its
	// certificate left ACTIVE.
	authError atomic.Bool

	// inflight counts the connection's fleet provisioning requests not yet
	// answered, and dropWhenIdle asks the last of them to end the
	// connection; both are guarded by presence.mu.
	inflight     int
	dropWhenIdle bool
}

// presence tracks the open sessions, so that a disconnected event carries
// its connected event's session identifier and version number.
type presence struct {
	mu       sync.Mutex
	sessions map[*mqtt.Client]*session
	// versions counts connections per client ID: AWS IoT's versionNumber
	// grows with each connection of a client ID, so that a consumer can
	// order events that arrive out of order.
	versions map[string]int64
}

func newPresence() *presence {
	return &presence{sessions: map[*mqtt.Client]*session{}, versions: map[string]int64{}}
}

func (p *presence) open(cl *mqtt.Client, certificateID string) *session {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := &session{id: newRequestID(), certificateID: certificateID, version: p.versions[cl.ID]}
	p.versions[cl.ID]++
	p.sessions[cl] = s
	return s
}

func (p *presence) close(cl *mqtt.Client) (*session, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.sessions[cl]
	delete(p.sessions, cl)
	return s, ok
}

// drop marks the connection as ended for its certificate, and reports
// whether it may be closed now. A connection with requests in progress is
// closed once they are answered (see finish): AWS IoT drops connections
// "within a few minutes" of a deactivation, so the reply to a request that
// caused it, such as a RegisterThing the hook denied and whose claim it
// burnt, reaches the device first.
func (p *presence) drop(cl *mqtt.Client) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.sessions[cl]
	if !ok {
		return true
	}
	s.authError.Store(true)
	if s.inflight > 0 {
		s.dropWhenIdle = true
		return false
	}
	return true
}

// begin counts a request of the connection in progress.
func (p *presence) begin(cl *mqtt.Client) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.sessions[cl]; ok {
		s.inflight++
	}
}

// finish counts a request answered, and reports whether the connection is
// to be closed now.
func (p *presence) finish(cl *mqtt.Client) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.sessions[cl]
	if !ok {
		return false
	}
	s.inflight--
	return s.inflight == 0 && s.dropWhenIdle
}

// OnSessionEstablished publishes the connected event of an accepted
// connection.
func (h *brokerHook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	if cl.Net.Inline {
		return
	}
	id, _, _ := h.core.identify(cl)
	s := h.core.presence.open(cl, id)
	h.core.publishPresence(cl, s, presenceEvent{EventType: PresenceConnected})
}

// OnDisconnect publishes the disconnected event of a connection that was
// accepted, with the reason the broker can tell.
func (h *brokerHook) OnDisconnect(cl *mqtt.Client, err error, _ bool) {
	s, ok := h.core.presence.close(cl)
	if !ok {
		return
	}
	reason := disconnectReason(s, cl.StopCause(), err)
	clientInitiated := reason == disconnectClientInitiated
	h.core.publishPresence(cl, s, presenceEvent{
		EventType:                 PresenceDisconnected,
		ClientInitiatedDisconnect: &clientInitiated,
		DisconnectReason:          reason,
	})
}

// disconnectReason maps how a connection ended to AWS IoT's reasons.
func disconnectReason(s *session, cause, readErr error) string {
	var netErr net.Error
	switch {
	case s.authError.Load():
		return disconnectAuthError
	case errors.Is(cause, packets.ErrSessionTakenOver):
		return disconnectDuplicateClient
	case errors.Is(cause, packets.ErrServerShuttingDown):
		return disconnectServerInitiated
	case errors.Is(cause, packets.CodeDisconnect), errors.Is(cause, packets.CodeDisconnectWillMessage):
		return disconnectClientInitiated
	case errors.As(readErr, &netErr) && netErr.Timeout():
		return disconnectKeepAlive
	case errors.Is(cause, packets.ErrPacketTooLarge), errors.Is(readErr, packets.ErrPacketTooLarge),
		errors.Is(cause, packets.ErrProtocolViolation):
		return disconnectClientError
	}
	return disconnectConnectionLost
}

// publishPresence completes e from the session and publishes it as AWS IoT
// does; topic rules whose filter matches receive it like any other message.
// Client IDs holding MQTT wildcards get no lifecycle events, as in AWS IoT.
func (c *Core) publishPresence(cl *mqtt.Client, s *session, e presenceEvent) {
	if strings.ContainsAny(cl.ID, "#+") {
		return
	}
	e.ClientID = cl.ID
	e.Timestamp = c.now().UnixMilli()
	e.SessionIdentifier = s.id
	e.PrincipalIdentifier = s.certificateID
	e.VersionNumber = s.version
	if host, _, err := net.SplitHostPort(cl.Net.Remote); err == nil {
		e.IPAddress = host
	}
	payload, err := json.Marshal(e)
	if err != nil {
		c.log.Error("encode presence event", "clientId", cl.ID, "error", err)
		return
	}
	c.mu.Lock()
	server := c.server
	c.mu.Unlock()
	if server == nil {
		return
	}
	topic := presenceTopicPrefix + e.EventType + "/" + cl.ID
	if err := server.Publish(topic, payload, false, 1); err != nil {
		c.log.Warn("presence event not published", "topic", topic, "error", err)
	}
}

// Rule is an AWS IoT topic rule with a Lambda action: each message published
// on a topic that matches TopicFilter (the rule's SELECT * FROM '<filter>')
// is passed to Action as the function's event, asynchronously, as AWS IoT
// invokes a rule's Lambda action. A failed invocation is logged with the
// rule's name, where AWS IoT would run the rule's error action.
type Rule struct {
	Name        string
	TopicFilter string
	Action      func(ctx context.Context, event json.RawMessage) error
}

// ruleDeadline bounds one rule action: a Lambda function's timeout.
const ruleDeadline = 10 * time.Second

// subscribeRules makes every rule an inline subscription of the broker, so
// that rules see exactly what subscribers see.
func (c *Core) subscribeRules(server *mqtt.Server) error {
	for i, r := range c.rules {
		err := server.Subscribe(r.TopicFilter, i+1, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
			payload, topic := slices.Clone(pk.Payload), pk.TopicName
			if !c.track(func(ctx context.Context) { c.runRule(ctx, r, topic, payload) }) {
				c.log.Warn("topic rule not run: the local IoT is closing", "rule", r.Name, "topic", topic)
			}
		})
		if err != nil {
			return fmt.Errorf("topic rule %s: filter %q: %w", r.Name, r.TopicFilter, err)
		}
	}
	return nil
}

// runRule invokes a rule's action as Lambda would be invoked: a request ID in
// the context, a deadline, and a panic counted as a failed invocation.
func (c *Core) runRule(ctx context.Context, r Rule, topic string, payload []byte) {
	requestID := newRequestID()
	log := c.log.With("rule", r.Name, "topic", topic, "requestId", requestID)
	if !json.Valid(payload) {
		log.Warn("topic rule skipped a message that is not JSON")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, ruleDeadline)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: requestID})
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("action panicked: %v", p)
			}
		}()
		return r.Action(ctx, payload)
	}()
	if err != nil {
		log.Error("topic rule action failed", "error", err)
		return
	}
	log.Debug("topic rule action succeeded")
}
