package iot

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// pruneEvery is how often an update also drops what has expired. Expiry is
// checked wherever a token is used, so pruning only keeps the registry from
// growing; doing it on every change made each change cost the size of the
// whole registry.
const pruneEvery = time.Minute

// prune drops expired ownership tokens and, as AWS IoT does, the pending
// certificates whose token has expired without a RegisterThing.
func (t *txn) prune(now time.Time) {
	for k, tok := range t.base.Tokens {
		if !now.Before(tok.ExpiresAt) {
			t.deleteToken(k)
		}
	}
	for id, c := range t.base.Certificates {
		if c.Status == statusPendingActivation && !now.Before(c.CreatedAt.Add(ownershipTokenLifetime)) {
			t.deleteCertificate(id)
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
//
// A change is appended to a journal (journalFile, one JSON line of the
// records it wrote or deleted) and flushed, rather than the whole registry
// rewritten: the registry grows with every certificate, so rewriting it on
// each change made each provisioning slower than the last. The journal is
// folded into the snapshot (stateFile) when the store opens and once it has
// grown as large as the snapshot, which keeps the cost of a change in
// proportion to the change.
type store struct {
	dir *os.Root
	now func() time.Time

	mu           sync.RWMutex
	state        *state
	journal      *os.File
	journalSize  int64 // bytes of whole lines in the journal
	snapshotSize int64 // bytes of the last snapshot written or read
	minCompact   int64 // journal size below which it is not compacted
	broken       error // set when the journal may hold a partial line
	lastPrune    time.Time
}

// journalFile holds the changes made since the snapshot was written.
const journalFile = "state.journal"

// minCompaction is the journal size below which it is never folded into the
// snapshot while the store is open: small registries need no compaction.
const minCompaction = 1 << 20

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
	journal, err := dir.OpenFile(journalFile, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", journalFile, err)
	}
	s := &store{dir: dir, now: now, state: loaded, journal: journal, minCompact: minCompaction}
	replayed, err := s.replay()
	if err == nil && replayed > 0 {
		err = s.compact()
	}
	if err != nil {
		_ = journal.Close()
		return nil, err
	}
	if info, err := dir.Stat(stateFile); err == nil {
		s.snapshotSize = info.Size()
	}
	return s, nil
}

// replay applies the journal's changes to the loaded snapshot, in order. A
// last line without its newline is a write a crash interrupted, which no
// client was told had succeeded: it is ignored. It returns how many changes
// it applied.
func (s *store) replay() (int, error) {
	data, err := io.ReadAll(s.journal)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", journalFile, err)
	}
	n := 0
	for len(data) > 0 {
		line, rest, complete := bytes.Cut(data, []byte{'\n'})
		if !complete {
			break
		}
		var ch change
		if err := json.Unmarshal(line, &ch); err != nil {
			return n, fmt.Errorf("decode %s, change %d: %w", journalFile, n+1, err)
		}
		ch.apply(s.state)
		data = rest
		n++
	}
	return n, nil
}

// compact writes the current state as the snapshot, then empties the
// journal. A crash between the two leaves a journal whose changes the
// snapshot already holds; replaying them again changes nothing.
func (s *store) compact() error {
	data, err := json.MarshalIndent(s.state, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if err := statefile.WriteFile(s.dir, stateFile, data, 0o600); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	s.snapshotSize = int64(len(data))
	if err := s.journal.Truncate(0); err != nil {
		return fmt.Errorf("empty %s: %w", journalFile, err)
	}
	if err := s.journal.Sync(); err != nil {
		return fmt.Errorf("empty %s: %w", journalFile, err)
	}
	s.journalSize = 0
	return nil
}

// close releases the journal.
func (s *store) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.journal.Close()
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

// update runs fn in a transaction and, if fn succeeds, journals what it
// wrote and applies it. If fn or the write fails nothing changes, so a
// failed request never leaves half its effects behind. A change costs the
// records it touches, not the registry's size (but for a prune each
// pruneEvery).
func (s *store) update(fn func(*txn) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken != nil {
		return s.broken
	}
	tx := &txn{base: s.state}
	if err := fn(tx); err != nil {
		return err
	}
	now := s.now()
	pruned := now.Sub(s.lastPrune) >= pruneEvery
	if pruned {
		tx.prune(now)
	}
	ch := tx.ch
	if ch.empty() {
		return nil
	}
	line, err := json.Marshal(ch)
	if err != nil {
		return fmt.Errorf("encode change: %w", err)
	}
	line = append(line, '\n')
	if _, err := s.journal.Write(line); err != nil {
		return s.undoWrite(fmt.Errorf("save state: %w", err))
	}
	if err := s.journal.Sync(); err != nil {
		return s.undoWrite(fmt.Errorf("save state: %w", err))
	}
	s.journalSize += int64(len(line))
	ch.apply(s.state)
	if pruned {
		s.lastPrune = now
	}
	if s.journalSize >= max(s.minCompact, s.snapshotSize) {
		// The change is already durable; a failed compaction only leaves
		// the journal longer, and is retried on the next change.
		_ = s.compact()
	}
	return nil
}

// undoWrite cuts the journal back to its last whole line after a failed
// write, so that later changes do not follow a partial one. If even that
// fails, the store refuses every later change rather than risk a journal
// it cannot replay.
func (s *store) undoWrite(err error) error {
	if terr := s.journal.Truncate(s.journalSize); terr != nil {
		s.broken = fmt.Errorf("local IoT registry: journal unusable after a failed write: %w", terr)
		return errors.Join(err, s.broken)
	}
	return err
}

// change is one update's effect on the registry, as a journal line: each
// record it wrote, by key, and null for each it deleted.
type change struct {
	Certificates map[string]*certRecord  `json:"certificates,omitempty"`
	Things       map[string]*thingRecord `json:"things,omitempty"`
	Tokens       map[string]*tokenRecord `json:"ownershipTokens,omitempty"`
}

func (ch change) empty() bool {
	return len(ch.Certificates) == 0 && len(ch.Things) == 0 && len(ch.Tokens) == 0
}

// apply makes ch's writes and deletions in s.
func (ch change) apply(s *state) {
	applyMap(s.Certificates, ch.Certificates)
	applyMap(s.Things, ch.Things)
	applyMap(s.Tokens, ch.Tokens)
}

func applyMap[V any](m map[string]V, ch map[string]*V) {
	for k, v := range ch {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = *v
		}
	}
}

// txn is an update in progress: its reads see the registry as the update
// has changed it so far, and its writes are collected in a change that the
// store applies only once it is on disk. Records are values, and a thing's
// slices and maps are copied on the way in and out, so nothing fn does
// reaches the registry before then.
type txn struct {
	base *state
	ch   change
}

func (t *txn) certificate(id string) (certRecord, bool) {
	return lookup(t.ch.Certificates, t.base.Certificates, id)
}

func (t *txn) putCertificate(c certRecord) { record(&t.ch.Certificates, c.ID, &c) }

func (t *txn) deleteCertificate(id string) { record(&t.ch.Certificates, id, nil) }

func (t *txn) thing(name string) (thingRecord, bool) {
	th, ok := lookup(t.ch.Things, t.base.Things, name)
	return th.clone(), ok
}

func (t *txn) putThing(th thingRecord) {
	th = th.clone()
	record(&t.ch.Things, th.Name, &th)
}

func (t *txn) token(key string) (tokenRecord, bool) {
	return lookup(t.ch.Tokens, t.base.Tokens, key)
}

func (t *txn) putToken(key string, tok tokenRecord) { record(&t.ch.Tokens, key, &tok) }

func (t *txn) deleteToken(key string) { record(&t.ch.Tokens, key, nil) }

// clone copies a thing's attributes and certificate list, which its value
// would otherwise share.
func (th thingRecord) clone() thingRecord {
	th.Attributes = maps.Clone(th.Attributes)
	th.CertificateIDs = slices.Clone(th.CertificateIDs)
	return th
}

// lookup reads key from the changes made so far (nil: deleted), else from
// the registry.
func lookup[V any](changed map[string]*V, base map[string]V, key string) (V, bool) {
	if v, ok := changed[key]; ok {
		if v == nil {
			var zero V
			return zero, false
		}
		return *v, true
	}
	v, ok := base[key]
	return v, ok
}

// record notes a write (or, with nil, a deletion) of key in a change.
func record[V any](changed *map[string]*V, key string, v *V) {
	if *changed == nil {
		*changed = map[string]*V{}
	}
	(*changed)[key] = v
}
