package cognito

import (
	"strings"
	"sync"
	"time"
)

// Attempt limits, modelled on Cognito's as its developer guide describes
// them: five failed sign-ins are allowed; after that each failure starts a
// temporary lock-out, 1 second at first and twice the last one after each
// further failure, up to 15 minutes; attempts during a lock-out are
// ignored (answered "Password attempts exceeded" whatever the password);
// 15 minutes without attempts forget it all. Cognito documents no figures
// for confirmation codes; it answers repeated wrong codes with
// LimitExceededException, and the stand-in does so after as many wrong
// codes as it allows failed sign-ins, invalidating the code.
const (
	// freeSignInFailures are the failed sign-ins allowed before lock-outs.
	freeSignInFailures = 5
	firstLockout       = time.Second
	maxLockout         = 15 * time.Minute
	// quietReset is how long without attempts forgets past failures.
	quietReset = 15 * time.Minute
	// maxCodeFailures wrong confirmation codes invalidate the code and
	// lock confirmation for codeLockout.
	maxCodeFailures = 5
	codeLockout     = 15 * time.Minute
)

// Errors for attempts over the limits, as Cognito words them.
var (
	errPasswordAttemptsExceeded = newError(codeNotAuthorized, "Password attempts exceeded")
	errAttemptLimitExceeded     = newError(codeLimitExceeded, "Attempt limit exceeded, please try after some time.")
)

// attemptLimits counts failed sign-ins and wrong confirmation codes per
// user. It is kept in memory: a restart of the stand-in forgets it. It is
// safe for concurrent use.
type attemptLimits struct {
	mu      sync.Mutex
	signIns map[string]*lockout
	codes   map[string]*lockout
}

// lockout is one user's record for one kind of attempt.
type lockout struct {
	failures    int
	last        time.Time // the last attempt that counted
	lockedUntil time.Time
	duration    time.Duration // of the last lock-out
}

func newAttemptLimits() *attemptLimits {
	return &attemptLimits{signIns: map[string]*lockout{}, codes: map[string]*lockout{}}
}

// attemptKey names the user an attempt is for: the user's sub when the
// user exists, else the name given, so that unknown users are limited like
// known ones and the limits tell no one which users exist.
func attemptKey(u *user, username string) string {
	if u != nil {
		return "sub:" + u.Sub
	}
	return "name:" + strings.ToLower(username)
}

// signInLocked reports whether a sign-in for key at now falls in a
// lock-out, and so is ignored.
func (l *attemptLimits) signInLocked(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.signIns[key]
	if r == nil {
		return false
	}
	if now.Sub(r.last) >= quietReset && !now.Before(r.lockedUntil) {
		delete(l.signIns, key)
		return false
	}
	return now.Before(r.lockedUntil)
}

// signInFailed counts a failed sign-in and starts a lock-out past the free
// failures, twice as long as the last one, up to maxLockout.
func (l *attemptLimits) signInFailed(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := countFailure(l.signIns, key, now)
	if r.failures < freeSignInFailures {
		return
	}
	r.duration = min(max(2*r.duration, firstLockout), maxLockout)
	r.lockedUntil = now.Add(r.duration)
}

// countFailure counts a failed attempt at now in key's record of records,
// which it starts if key has none, and returns the record. The caller holds
// the limits' lock.
func countFailure(records map[string]*lockout, key string, now time.Time) *lockout {
	r := records[key]
	if r == nil {
		r = &lockout{}
		records[key] = r
	}
	r.failures++
	r.last = now
	return r
}

// signInSucceeded forgets the user's failures.
func (l *attemptLimits) signInSucceeded(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.signIns, key)
}

// codeLocked reports whether confirmation is locked for key at now.
func (l *attemptLimits) codeLocked(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.codes[key]
	if r == nil {
		return false
	}
	if !now.Before(r.lockedUntil) && r.failures >= maxCodeFailures {
		// The lock-out is over; the code it invalidated stays invalid.
		delete(l.codes, key)
		return false
	}
	return now.Before(r.lockedUntil)
}

// codeFailed counts a wrong code and reports whether it reached the limit,
// which locks confirmation for codeLockout; the caller invalidates the
// code.
func (l *attemptLimits) codeFailed(key string, now time.Time) (limitReached bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := countFailure(l.codes, key, now)
	if r.failures < maxCodeFailures {
		return false
	}
	r.lockedUntil = now.Add(codeLockout)
	return true
}

// codeSucceeded forgets the user's wrong codes.
func (l *attemptLimits) codeSucceeded(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.codes, key)
}
