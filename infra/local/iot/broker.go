package iot

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"slices"
	"strings"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// brokerHook authenticates and authorizes MQTT clients by their certificate
// and serves the fleet provisioning API. CONNECT usernames and passwords are
// ignored: AWS IoT authenticates by certificate, and its Device SDKs put
// metrics such as "?SDK=..." in the username.
type brokerHook struct {
	mqtt.HookBase
	core *Core
}

func (h *brokerHook) ID() string { return "fleetclaim-local-iot" }

func (h *brokerHook) Provides(b byte) bool {
	return bytes.IndexByte([]byte{mqtt.OnConnect, mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnPublish, mqtt.OnWill,
		mqtt.OnSessionEstablished, mqtt.OnDisconnect}, b) >= 0
}

// identify returns the ID and the record of the client's certificate.
// Identity is read from the TLS connection on every check rather than cached
// at connect, so a change of status applies at once and a session taken over
// by another connection never inherits its rights.
func (c *Core) identify(cl *mqtt.Client) (string, certRecord, bool) {
	conn, ok := cl.Net.Conn.(*tls.Conn)
	if !ok {
		return "", certRecord{}, false
	}
	peers := conn.ConnectionState().PeerCertificates
	if len(peers) == 0 {
		return "", certRecord{}, false
	}
	id := certificateID(peers[0].Raw)
	rec, ok := c.store.certificate(id)
	return id, rec, ok
}

// connectRefusal says why a connection may not proceed, or "" if it may.
// It admits an active claim certificate with any client ID, and an active
// device certificate only with its thing's name as client ID and only while
// it is attached to that thing, as the device policy's
// iot:Connection.Thing.IsAttached condition has it. A certificate made
// INACTIVE (UpdateCertificate) is refused, as AWS IoT refuses it. The TLS
// handshake has already verified the chain and the validity period (by the
// Core's clock), so an expired claim never gets here. A last will is a
// publish the broker makes for the client later, so its topic must be one
// the certificate may publish to now: otherwise a client could reach any
// topic by connecting with a will and dropping the connection.
func (c *Core) connectRefusal(cl *mqtt.Client, pk packets.Packet) (id, reason string) {
	id, rec, ok := c.identify(cl)
	switch {
	case !ok:
		return id, "unknown certificate"
	case rec.Status != statusActive:
		return id, "certificate is " + rec.Status
	case rec.Kind == kindDevice && cl.ID != rec.ThingName:
		return id, "client ID is not the certificate's thing name"
	case rec.Kind == kindDevice && !c.store.attached(rec.ThingName, id):
		return id, "certificate is not attached to its thing"
	case pk.Connect.WillFlag && !c.may(rec, pk.Connect.WillTopic, true):
		return id, "the will's topic is not one the certificate may publish to"
	}
	return id, ""
}

// OnConnect refuses a connection its certificate's policy does not allow
// with CONNACK 135 (not authorized; return code 5 in MQTT 3.1 and 3.1.1),
// as AWS IoT does. The broker's own refusal, after OnConnectAuthenticate,
// would be 134 (bad user name or password) to an MQTT 5 client, naming a
// credential AWS IoT never reads: it authenticates by certificate and
// ignores the user name.
func (h *brokerHook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	id, reason := h.core.connectRefusal(cl, pk)
	if reason == "" {
		h.core.log.Info("MQTT client connected", "clientId", cl.ID, "certificateId", id)
		return nil
	}
	h.core.log.Warn("MQTT connection refused", "reason", reason, "clientId", cl.ID, "certificateId", id)
	h.core.mu.Lock()
	server := h.core.server
	h.core.mu.Unlock()
	if server != nil {
		// The broker has no MQTT 3 form of 135 and would send it as is,
		// which MQTT 3 clients cannot read.
		code := packets.ErrNotAuthorized
		if cl.Properties.ProtocolVersion < 5 {
			code = packets.Err3NotAuthorized
		}
		if err := server.SendConnack(cl, code, false, nil); err != nil {
			h.core.log.Warn("MQTT CONNACK not sent", "clientId", cl.ID, "error", err)
		}
	}
	return packets.ErrNotAuthorized
}

// OnConnectAuthenticate checks again what OnConnect checked: the broker
// refuses every client when no hook provides it, and a certificate revoked
// between the two calls must not get in.
func (h *brokerHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	_, reason := h.core.connectRefusal(cl, pk)
	return reason == ""
}

// OnACLCheck applies the policy of the client's certificate to a publish
// (write), a subscription filter or a delivery (read).
func (h *brokerHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	id, rec, ok := h.core.identify(cl)
	allowed := ok && h.core.may(rec, topic, write)
	if !allowed {
		h.core.log.Warn("MQTT operation denied", "clientId", cl.ID, "certificateId", id, "topic", topic, "publish", write)
	}
	return allowed
}

// OnWill checks the last will again as the broker is about to publish it,
// since the certificate may have been revoked since it connected. The broker
// cannot be told to drop a will, so a will that may no longer be published
// is emptied: no topic, no payload, no retain, which reaches nobody.
func (h *brokerHook) OnWill(cl *mqtt.Client, will mqtt.Will) (mqtt.Will, error) {
	id, rec, ok := h.core.identify(cl)
	if ok && h.core.may(rec, will.TopicName, true) {
		return will, nil
	}
	h.core.log.Warn("MQTT will dropped", "clientId", cl.ID, "certificateId", id, "topic", will.TopicName)
	return mqtt.Will{}, nil
}

// may applies the policy of an active certificate to a publish (write), a
// subscription filter or a delivery (read).
func (c *Core) may(rec certRecord, topic string, write bool) bool {
	if rec.Status != statusActive {
		return false
	}
	switch rec.Kind {
	case kindClaim:
		return c.claimMay(topic, write)
	case kindDevice:
		return deviceMay(rec.ThingName, topic, write)
	}
	return false
}

// claimMay is the policy of a claim certificate: publish the fleet
// provisioning requests and receive their replies, in the JSON payload format
// only. A claim may ask any existing template to provision it: which template
// it was minted for is a rule of the pre-provisioning hook, which is told the
// template the device asked for, so that rule is enforced where fleetclaim
// enforces it and a refusal reaches the device on /rejected.
func (c *Core) claimMay(topic string, write bool) bool {
	request := topic
	if !write {
		var ok bool
		if request, ok = strings.CutSuffix(topic, suffixAccepted); !ok {
			if request, ok = strings.CutSuffix(topic, suffixRejected); !ok {
				return false
			}
		}
	}
	switch request {
	case topicCreateKeysAndCertificate, topicCreateCertificateFromCSR:
		return true
	}
	_, ok := c.templates[templateOfRegisterTopic(request)]
	return ok
}

// deviceMay is the policy of a provisioned device, as the stack's device
// policy (infra/iot.go) grants it: publish to its telemetry topics, subscribe
// to and receive its commands, and both on its shadow; nothing of any other
// thing. Topic filters pass only if they stay under one of these prefixes;
// thing names cannot hold MQTT wildcards, so a filter such as cmd/<thing>/#
// cannot reach further.
func deviceMay(thing string, topic string, write bool) bool {
	own := "cmd/" + thing + "/"
	if write {
		own = "dt/" + thing + "/"
	}
	return strings.HasPrefix(topic, own) || strings.HasPrefix(topic, "$aws/things/"+thing+"/shadow/")
}

// OnPublish takes fleet provisioning requests out of normal routing and
// answers them in the background, so a slow hook never stalls the client's
// connection. Other publishes are routed as usual.
func (h *brokerHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	_, rec, ok := h.core.identify(cl)
	if !ok || rec.Kind != kindClaim {
		return pk, nil
	}
	handle := h.core.operation(pk.TopicName)
	if handle == nil {
		return pk, nil
	}
	req := request{claim: rec, clientID: cl.ID, topic: pk.TopicName, payload: slices.Clone(pk.Payload)}
	h.core.presence.begin(cl)
	tracked := h.core.track(func(ctx context.Context) {
		defer h.core.answered(cl)
		reply, rejection := handle(ctx, req)
		topic := req.topic + suffixAccepted
		if rejection != nil {
			topic, reply = req.topic+suffixRejected, rejection
		}
		payload, err := json.Marshal(reply)
		if err != nil {
			h.core.log.Error("encode fleet provisioning reply", "topic", topic, "error", err)
			return
		}
		h.core.deliver(cl, topic, payload)
	})
	if !tracked {
		h.core.answered(cl)
	}
	// Acknowledged, but never routed: a request carries nothing that any
	// subscriber may see.
	return pk, packets.CodeSuccessIgnore
}

// replyGrace is how long a connection whose certificate was deactivated
// during a request lives on after the reply: long enough for the client to
// read its answer before it sees the connection end (a client library may
// report the loss before it hands over a message that arrived with it).
// AWS IoT drops such connections "within a few minutes"; this is sooner.
const replyGrace = 250 * time.Millisecond

// answered ends a request of cl; if its certificate was deactivated
// meanwhile, the connection is closed a moment after the reply is out.
func (c *Core) answered(cl *mqtt.Client) {
	if !c.presence.finish(cl) {
		return
	}
	c.mu.Lock()
	server := c.server
	c.mu.Unlock()
	time.AfterFunc(replyGrace, func() {
		c.log.Warn("MQTT connection dropped: certificate no longer active", "clientId", cl.ID)
		dropClient(server, cl)
	})
}

// deliver publishes a reply to the requesting connection alone. The reply
// topics are shared names, and a CreateKeysAndCertificate reply holds a
// private key, so replies bypass the broker's fan-out; AWS likewise answers
// on the connection that made the request. As in AWS, a client that has not
// subscribed to the reply topic does not get the reply. Replies go out at
// QoS 0.
func (c *Core) deliver(cl *mqtt.Client, topic string, payload []byte) {
	c.mu.Lock()
	server := c.server
	c.mu.Unlock()
	if current, ok := server.Clients.Get(cl.ID); !ok || current != cl || cl.Closed() {
		c.log.Info("fleet provisioning reply dropped: requester disconnected", "clientId", cl.ID, "topic", topic)
		return
	}
	if _, ok := server.Topics.Subscribers(topic).Subscriptions[cl.ID]; !ok {
		c.log.Info("fleet provisioning reply dropped: requester not subscribed", "clientId", cl.ID, "topic", topic)
		return
	}
	err := cl.WritePacket(packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish},
		TopicName:   topic,
		Payload:     payload,
	})
	if err != nil {
		c.log.Warn("fleet provisioning reply not sent", "clientId", cl.ID, "topic", topic, "error", err)
	}
}
