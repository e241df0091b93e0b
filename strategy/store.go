package strategy

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/tokenactor/tokenactor"
)

// A Session is a persisted OAuth 2.0 login: the tokens a device-code login
// or a refresh produced, and where to refresh them. Its tokens print as a
// mask; a TokenStore writes them with [tokenactor.SecretToken.Reveal].
type Session struct {
	// TokenURL is the token endpoint the session refreshes at.
	TokenURL string
	// ClientID is the client the session was issued to.
	ClientID string
	// AccessToken, TokenType and ExpiresAt are the last access token.
	// ExpiresAt is zero if the server gave no lifetime.
	AccessToken tokenactor.SecretToken
	TokenType   string
	ExpiresAt   time.Time
	// RefreshToken renews the session (RFC 6749 §6); empty if the server
	// issued none.
	RefreshToken tokenactor.SecretToken
	// Scope is the scope the server granted, space-separated.
	Scope string
	// RefreshAt is when the server suggested renewing the access token
	// (refresh_in in its answer); zero if it gave no hint. A cache serving
	// the session starts its renewal then instead of its refresh window
	// before ExpiresAt.
	RefreshAt time.Time
}

// serviceToken returns the part of s a service needs.
func (s Session) serviceToken() tokenactor.ServiceToken {
	return tokenactor.ServiceToken{AccessToken: s.AccessToken, TokenType: s.TokenType, ExpiresAt: s.ExpiresAt}
}

// LogValue makes log/slog print the session without its tokens.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("token_url", s.TokenURL),
		slog.String("client_id", s.ClientID),
		slog.Time("expires_at", s.ExpiresAt),
		slog.Bool("refreshable", !s.RefreshToken.IsZero()),
	)
}

// ErrNoSession reports that a store holds no session for a profile: nobody
// logged in, or they logged out. It matches tokenactor.ErrNotAuthenticated.
var ErrNoSession = fmt.Errorf("strategy: no saved session: %w", tokenactor.ErrNotAuthenticated)

// ErrSessionExpired reports that a session's access token expired and it
// has no refresh token to renew it. It matches ErrLoginRequired.
var ErrSessionExpired = fmt.Errorf("%w: session expired and has no refresh token", ErrLoginRequired)

// A TokenStore persists sessions by profile name, for [OAuthStrategy] and
// [DeviceCodeStrategy]. Implementations must be safe for concurrent use;
// [FileStore] shares sessions between processes, [MemoryStore] within one.
type TokenStore interface {
	// Load returns the session saved under profile. It returns an error
	// matching ErrNoSession if there is none, and a clear error (never a
	// zero session) if what is saved cannot be read.
	Load(ctx context.Context, profile string) (Session, error)
	// Save replaces the session under profile. When it returns nil the
	// session is durable: it survives a crash of the process or machine.
	Save(ctx context.Context, profile string, s Session) error
	// Delete removes the session under profile. Deleting a session that
	// does not exist is not an error.
	Delete(ctx context.Context, profile string) error
	// Lock takes the exclusive lock of profile, shared with every user of
	// the same store (every process, for a FileStore). It returns when the
	// lock is held, or with ctx's error when ctx ends first. Calling unlock
	// releases it; holders must not block on anything but the token
	// endpoint and the store while holding it.
	Lock(ctx context.Context, profile string) (unlock func(), err error)
}

// A CorruptSessionError reports a saved session that cannot be read: not
// JSON, an unknown version, missing tokens, or too large. Stores never
// overwrite such a file on their own: remove it (tokenactor logout) or
// inspect it. The error names the file, never its content.
type CorruptSessionError struct {
	// Path is the file (or key) holding the session.
	Path string
	// Reason says what is wrong.
	Reason string
}

// Error describes the problem.
func (e *CorruptSessionError) Error() string {
	return fmt.Sprintf("strategy: saved session %s is unreadable: %s (remove it and log in again)", e.Path, e.Reason)
}

// DefaultProfile is the profile used when a config leaves it empty.
const DefaultProfile = "default"

// checkProfile accepts 1 to 64 of [A-Za-z0-9._-], not starting with a dot:
// a profile name becomes a file name.
func checkProfile(p string) error {
	if p == "" || len(p) > 64 || p[0] == '.' {
		return &ConfigError{Field: "profile", Reason: "must be 1 to 64 characters, not starting with a dot"}
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return &ConfigError{Field: "profile", Reason: "may contain only letters, digits, '.', '_' and '-'"}
		}
	}
	return nil
}

// A MemoryStore keeps sessions in memory, for tests and for strategies in
// one process that should share one session. The zero value is not usable;
// create one with [NewMemoryStore]. It is safe for concurrent use.
//
// It prints (every fmt verb, log/slog, encoding/json) as the names of the
// profiles it holds, never their tokens.
type MemoryStore struct {
	// mu guards sessions and locks: a channel with buffer 1, full while
	// held (see guard).
	mu       chan struct{}
	sessions map[string]Session
	// locks holds one lock per profile: a channel with buffer 1, full while
	// the profile is locked. Created under mu, never removed.
	locks map[string]chan struct{}
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		mu:       make(chan struct{}, 1),
		sessions: map[string]Session{},
		locks:    map[string]chan struct{}{},
	}
}

// guard runs f with m's state locked. It uses a channel rather than a
// sync.Mutex so tests in testing/synctest bubbles see waiters as durably
// blocked.
func (m *MemoryStore) guard(f func()) {
	m.mu <- struct{}{}
	defer func() { <-m.mu }()
	f()
}

// Load returns the session under profile, or an error matching ErrNoSession.
func (m *MemoryStore) Load(ctx context.Context, profile string) (Session, error) {
	var s Session
	var ok bool
	m.guard(func() { s, ok = m.sessions[profile] })
	if !ok {
		return Session{}, ErrNoSession
	}
	return s, nil
}

// Save replaces the session under profile.
func (m *MemoryStore) Save(ctx context.Context, profile string, s Session) error {
	m.guard(func() { m.sessions[profile] = s })
	return nil
}

// Delete removes the session under profile.
func (m *MemoryStore) Delete(ctx context.Context, profile string) error {
	m.guard(func() { delete(m.sessions, profile) })
	return nil
}

// Lock takes profile's lock, waiting until it is free or ctx ends.
func (m *MemoryStore) Lock(ctx context.Context, profile string) (func(), error) {
	var l chan struct{}
	m.guard(func() {
		l = m.locks[profile]
		if l == nil {
			l = make(chan struct{}, 1)
			m.locks[profile] = l
		}
	})
	select {
	case l <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-l }) }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// profiles returns the names of the profiles m holds, sorted.
func (m *MemoryStore) profiles() []string {
	var names []string
	m.guard(func() {
		for p := range m.sessions {
			names = append(names, p)
		}
	})
	slices.Sort(names)
	return names
}

// memoryStoreView is what a MemoryStore prints as.
type memoryStoreView struct{ Profiles []string }

// Format prints the store's profile names, for every verb: fmt would
// otherwise print the sessions of its unexported map, tokens in clear.
func (m *MemoryStore) Format(f fmt.State, verb rune) {
	formatMasked(f, verb, memoryStoreView{Profiles: m.profiles()}, "strategy.MemoryStore")
}

// LogValue makes log/slog print the store's profile names only.
func (m *MemoryStore) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("profiles", m.profiles()))
}

// MarshalJSON encodes the store's profile names only.
func (m *MemoryStore) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Profiles []string `json:"profiles"`
	}{m.profiles()})
}
