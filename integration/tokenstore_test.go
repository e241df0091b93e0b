package integration_test

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/go-oauth2/oauth2/v4"
	"github.com/go-oauth2/oauth2/v4/models"
)

// memTokenStore is an oauth2.TokenStore in maps. go-oauth2's own memory
// store runs a buntdb database whose background goroutine cannot be
// stopped through the store, which goleak would rightly report. Entries
// are stored as JSON copies because the manager mutates the TokenInfo it
// loaded before storing it again.
type memTokenStore struct {
	mu                          sync.Mutex
	byCode, byAccess, byRefresh map[string][]byte
}

var _ oauth2.TokenStore = (*memTokenStore)(nil)

func newMemTokenStore() *memTokenStore {
	return &memTokenStore{byCode: map[string][]byte{}, byAccess: map[string][]byte{}, byRefresh: map[string][]byte{}}
}

func (s *memTokenStore) Create(ctx context.Context, info oauth2.TokenInfo) error {
	jv, err := json.Marshal(info)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if code := info.GetCode(); code != "" {
		s.byCode[code] = jv
		return nil
	}
	if a := info.GetAccess(); a != "" {
		s.byAccess[a] = jv
	}
	if r := info.GetRefresh(); r != "" {
		s.byRefresh[r] = jv
	}
	return nil
}

func (s *memTokenStore) remove(m map[string][]byte, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(m, key)
	return nil
}

func (s *memTokenStore) RemoveByCode(ctx context.Context, code string) error {
	return s.remove(s.byCode, code)
}

func (s *memTokenStore) RemoveByAccess(ctx context.Context, access string) error {
	return s.remove(s.byAccess, access)
}

func (s *memTokenStore) RemoveByRefresh(ctx context.Context, refresh string) error {
	return s.remove(s.byRefresh, refresh)
}

// get returns the token stored under key, or nil (not an error) if none:
// the manager turns nil into the right OAuth error.
func (s *memTokenStore) get(m map[string][]byte, key string) (oauth2.TokenInfo, error) {
	s.mu.Lock()
	jv, ok := m[key]
	s.mu.Unlock()
	if !ok {
		return nil, nil
	}
	var t models.Token
	if err := json.Unmarshal(jv, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

func (s *memTokenStore) GetByCode(ctx context.Context, code string) (oauth2.TokenInfo, error) {
	return s.get(s.byCode, code)
}

func (s *memTokenStore) GetByAccess(ctx context.Context, access string) (oauth2.TokenInfo, error) {
	return s.get(s.byAccess, access)
}

func (s *memTokenStore) GetByRefresh(ctx context.Context, refresh string) (oauth2.TokenInfo, error) {
	return s.get(s.byRefresh, refresh)
}
