package cognito

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/fleetclaim/fleetclaim/infra/local/statefile"
)

// User statuses, as AdminGetUser reports them.
const (
	statusUnconfirmed = "UNCONFIRMED"
	statusConfirmed   = "CONFIRMED"
	// statusForceChangePassword is a user made by AdminCreateUser: it signs
	// in once with its temporary password and must answer the
	// NEW_PASSWORD_REQUIRED challenge.
	statusForceChangePassword = "FORCE_CHANGE_PASSWORD"
)

// user is one user of the pool.
type user struct {
	Sub      string       `json:"sub"`
	Username string       `json:"username"`
	Password passwordHash `json:"password"`
	// Attributes holds every attribute except sub, which is the identity.
	Attributes map[string]string `json:"attributes"`
	Status     string            `json:"status"`
	Groups     []string          `json:"groups,omitempty"`
	Created    time.Time         `json:"created"`
	Modified   time.Time         `json:"modified"`
	// Code is the pending sign-up confirmation code. It is kept in the clear
	// because the stand-in logs it anyway: there is no email to deliver it.
	Code *pendingCode `json:"code,omitempty"`
	// Temporary is the temporary password of a FORCE_CHANGE_PASSWORD user
	// and when it stops working. Like Code it is kept in the clear because
	// the stand-in logs it in place of the invitation email.
	Temporary *pendingCode `json:"temporary,omitempty"`
	// Challenge is the NEW_PASSWORD_REQUIRED challenge's session: the hex
	// SHA-256 of the Session string, and when it expires.
	Challenge *pendingCode `json:"challenge,omitempty"`
}

type pendingCode struct {
	Value   string    `json:"value"`
	Expires time.Time `json:"expires"`
}

// confirm marks the user confirmed. Only a confirmation code proves the user
// reads the mailbox, so only ConfirmSignUp sets emailVerified.
func (u *user) confirm(now time.Time, emailVerified bool) {
	u.Status = statusConfirmed
	u.Code = nil
	if emailVerified && u.Attributes["email"] != "" {
		u.Attributes["email_verified"] = "true"
	}
	u.Modified = now
}

// clone returns a copy that is safe to read after the lock is released.
func (u *user) clone() *user {
	c := *u
	c.Attributes = maps.Clone(u.Attributes)
	c.Groups = slices.Clone(u.Groups)
	for _, p := range []**pendingCode{&c.Code, &c.Temporary, &c.Challenge} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	return &c
}

// allAttributes is the attribute map Cognito shows: sub plus the rest.
func (u *user) allAttributes() map[string]string {
	all := maps.Clone(u.Attributes)
	all["sub"] = u.Sub
	return all
}

type group struct {
	Name     string    `json:"name"`
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified"`
}

// session is what a refresh token stands for: one sign-in, named by the
// origin_jti that every token derived from it carries.
type session struct {
	Sub string `json:"sub"`
	// TokenHash is the hex SHA-256 of the refresh token; the token itself is
	// never stored.
	TokenHash string    `json:"tokenHash"`
	EventID   string    `json:"eventId"`
	AuthTime  time.Time `json:"authTime"`
	Expires   time.Time `json:"expires"`
}

const stateFile = "state.json"

// store is the pool's persistent state. The Pool's mutex guards it.
type store struct {
	PoolID   string              `json:"poolId"`
	ClientID string              `json:"clientId"`
	Users    map[string]*user    `json:"users"`    // by sub
	Groups   map[string]*group   `json:"groups"`   // by name
	Sessions map[string]*session `json:"sessions"` // by origin_jti

	dir          string
	emailAliases bool
	byName       map[string]string // folded username → sub
	byEmail      map[string]string // folded email → sub, when emails sign in
	byToken      map[string]string // refresh token hash → origin_jti
}

func openStore(dir string, emailAliases bool) (*store, error) {
	s := &store{
		Users:    map[string]*user{},
		Groups:   map[string]*group{},
		Sessions: map[string]*session{},
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	defer root.Close()
	if err := statefile.Load(root, stateFile, s); err != nil {
		return nil, err
	}
	s.dir, s.emailAliases = dir, emailAliases
	s.byName, s.byEmail, s.byToken = map[string]string{}, map[string]string{}, map[string]string{}
	for _, u := range s.Users {
		s.index(u)
	}
	for jti, sess := range s.Sessions {
		s.byToken[sess.TokenHash] = jti
	}
	return s, nil
}

// fold makes usernames and aliases case-insensitive, as a pool created with
// the default (case-insensitive) username configuration treats them.
func fold(name string) string { return strings.ToLower(name) }

func (s *store) index(u *user) {
	s.byName[fold(u.Username)] = u.Sub
	if email := u.Attributes["email"]; s.emailAliases && email != "" {
		s.byEmail[fold(email)] = u.Sub
	}
}

func (s *store) add(u *user) {
	s.Users[u.Sub] = u
	s.index(u)
}

// find looks a user up by username or, when emails sign in, by email. Admin
// operations also accept the sub, as Cognito's do.
func (s *store) find(name string, orSub bool) *user {
	if sub, ok := s.byName[fold(name)]; ok {
		return s.Users[sub]
	}
	if sub, ok := s.byEmail[fold(name)]; ok {
		return s.Users[sub]
	}
	if orSub {
		return s.Users[name]
	}
	return nil
}

func (s *store) emailTaken(email string) bool {
	_, ok := s.byEmail[fold(email)]
	return ok
}

// addSession records a sign-in and drops sessions that have expired, so the
// file does not grow without bound.
func (s *store) addSession(originJTI string, sess *session, now time.Time) {
	for jti, old := range s.Sessions {
		if !now.Before(old.Expires) {
			s.removeSession(jti)
		}
	}
	s.Sessions[originJTI] = sess
	s.byToken[sess.TokenHash] = originJTI
}

func (s *store) sessionByToken(hash string) (string, *session) {
	jti, ok := s.byToken[hash]
	if !ok {
		return "", nil
	}
	return jti, s.Sessions[jti]
}

func (s *store) removeSession(originJTI string) {
	if sess, ok := s.Sessions[originJTI]; ok {
		delete(s.byToken, sess.TokenHash)
		delete(s.Sessions, originJTI)
	}
}

// signOut revokes every refresh token of a user.
func (s *store) signOut(sub string) {
	for jti, sess := range s.Sessions {
		if sess.Sub == sub {
			s.removeSession(jti)
		}
	}
}

func (s *store) save() error {
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	defer root.Close()
	return statefile.Save(root, stateFile, s)
}
