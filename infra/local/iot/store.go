package iot

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/fleetclaim/fleetclaim/infra/local/statefile"
)

// stateFile holds the registry in the data directory.
const stateFile = "state.json"

// Certificate kinds: a claim certificate may only use the fleet provisioning
// API of its template; a device certificate acts as its thing.
const (
	kindClaim  = "claim"
	kindDevice = "device"
)

// Certificate statuses, named as AWS IoT names them.
const (
	statusActive            = "ACTIVE"
	statusInactive          = "INACTIVE"
	statusRevoked           = "REVOKED"
	statusPendingActivation = "PENDING_ACTIVATION"
)

// certRecord is a certificate the local IoT issued. Private keys are never
// recorded: they are returned once and forgotten.
type certRecord struct {
	ID        string    `json:"certificateId"`
	PEM       string    `json:"certificatePem"`
	Kind      string    `json:"kind"`
	Status    string    `json:"status"`
	Template  string    `json:"templateName"`
	ThingName string    `json:"thingName,omitempty"`
	ClaimID   string    `json:"claimCertificateId,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	NotAfter  time.Time `json:"notAfter"`
	// UpdatedAt is when the status last changed through UpdateCertificate.
	UpdatedAt time.Time `json:"updatedAt"`
}

// thingRecord is a registered thing and the certificates attached to it.
type thingRecord struct {
	Name           string            `json:"thingName"`
	Template       string            `json:"templateName"`
	Attributes     map[string]string `json:"attributes,omitempty"`
	CertificateIDs []string          `json:"certificateIds"`
	CreatedAt      time.Time         `json:"createdAt"`
	UpdatedAt      time.Time         `json:"updatedAt"`
}

// tokenRecord binds a certificate ownership token to the certificate it
// proves, and to the claim and template it was issued under.
type tokenRecord struct {
	CertificateID string    `json:"certificateId"`
	ClaimID       string    `json:"claimCertificateId"`
	Template      string    `json:"templateName"`
	ExpiresAt     time.Time `json:"expiresAt"`
}

// state is everything the local IoT persists besides its CA.
type state struct {
	Certificates map[string]certRecord  `json:"certificates"`
	Things       map[string]thingRecord `json:"things"`
	// Tokens are keyed by tokenKey: the file never holds a usable token.
	Tokens map[string]tokenRecord `json:"ownershipTokens"`
}

func newState() *state {
	return &state{
		Certificates: map[string]certRecord{},
		Things:       map[string]thingRecord{},
		Tokens:       map[string]tokenRecord{},
	}
}

// clone copies s deeply enough that changing the copy, record by record,
// leaves s untouched.
func (s *state) clone() *state {
	c := &state{
		Certificates: maps.Clone(s.Certificates),
		Things:       make(map[string]thingRecord, len(s.Things)),
		Tokens:       maps.Clone(s.Tokens),
	}
	for name, t := range s.Things {
		t.Attributes = maps.Clone(t.Attributes)
		t.CertificateIDs = slices.Clone(t.CertificateIDs)
		c.Things[name] = t
	}
	return c
}

// prune drops expired ownership tokens and, as AWS IoT does, the pending
// certificates whose token has expired without a RegisterThing.
func (s *state) prune(now time.Time) {
	for k, t := range s.Tokens {
		if !now.Before(t.ExpiresAt) {
			delete(s.Tokens, k)
		}
	}
	for id, c := range s.Certificates {
		if c.Status == statusPendingActivation && !now.Before(c.CreatedAt.Add(ownershipTokenLifetime)) {
			delete(s.Certificates, id)
		}
	}
}

// tokenKey is how an ownership token is looked up and stored.
func tokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// store is the persisted registry. Every change is written to disk before it
// becomes visible, so a restart never loses what a client was told.
type store struct {
	dir *os.Root
	now func() time.Time

	mu    sync.RWMutex
	state *state
}

func openStore(dir *os.Root, now func() time.Time) (*store, error) {
	loaded := newState()
	if err := statefile.Load(dir, stateFile, loaded); err != nil {
		return nil, err
	}
	// Unmarshal keeps the empty maps for absent fields, but a "null" in a
	// hand-edited file would leave a nil map to panic on the first write.
	if loaded.Certificates == nil {
		loaded.Certificates = map[string]certRecord{}
	}
	if loaded.Things == nil {
		loaded.Things = map[string]thingRecord{}
	}
	if loaded.Tokens == nil {
		loaded.Tokens = map[string]tokenRecord{}
	}
	return &store{dir: dir, now: now, state: loaded}, nil
}

// view runs fn on the current state; fn must not keep or change it.
func (s *store) view(fn func(*state)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fn(s.state)
}

// certificate returns the record of a certificate by ID.
func (s *store) certificate(id string) (certRecord, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.state.Certificates[id]
	return c, ok
}

// attached reports whether the certificate is attached to the thing, which
// the device policy's iot:Connection.Thing.IsAttached condition requires.
func (s *store) attached(thing, certificateID string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Contains(s.state.Things[thing].CertificateIDs, certificateID)
}

// update applies fn to a copy of the state and, if fn succeeds, saves the
// copy and makes it current. If fn or the save fails nothing changes, so a
// failed request never leaves half its effects behind.
func (s *store) update(fn func(*state) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.state.clone()
	if err := fn(next); err != nil {
		return err
	}
	next.prune(s.now())
	if err := statefile.Save(s.dir, stateFile, next); err != nil {
		return err
	}
	s.state = next
	return nil
}
