package tokenactor_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokenactor/tokenactor"
)

// dbCredentials is a database login leased from a secrets manager.
type dbCredentials struct {
	User     string
	Password tokenactor.SecretToken // prints as a mask
	LeaseID  string
}

// secretsManager stands in for a secrets manager that issues short-lived
// database users, each under a lease that ends at a given time.
type secretsManager struct {
	mu     sync.Mutex
	leases int
}

// Lease issues new credentials for role, valid for ttl.
func (m *secretsManager) Lease(ctx context.Context, role string, ttl time.Duration) (dbCredentials, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return dbCredentials{}, time.Time{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.leases++
	return dbCredentials{
		User:     fmt.Sprintf("%s-%d", role, m.leases),
		Password: tokenactor.NewSecretToken(fmt.Sprintf("pw-%d", m.leases)),
		LeaseID:  fmt.Sprintf("lease-%d", m.leases),
	}, time.Now().Add(ttl), nil
}

// Database credentials leased from a secrets manager: every connection the
// pool opens asks the cache, which holds one lease and takes a new one
// before it ends, or as soon as the database refuses it.
func ExampleNew_databaseCredentials() {
	manager := &secretsManager{}
	lease := func(ctx context.Context, _ *tokenactor.Entry[dbCredentials]) (tokenactor.Entry[dbCredentials], error) {
		creds, ends, err := manager.Lease(ctx, "orders-rw", 15*time.Minute)
		if err != nil {
			return tokenactor.Entry[dbCredentials]{}, err
		}
		return tokenactor.Entry[dbCredentials]{Value: creds, ExpiresAt: ends}, nil
	}
	creds := tokenactor.New(tokenactor.RefresherFunc[dbCredentials](lease))
	defer creds.Close()
	ctx := context.Background()

	for conn := range 3 {
		c, err := creds.Get(ctx)
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Printf("connection %d: %s (password %v, %s)\n", conn, c.User, c.Password, c.LeaseID)
		if conn == 1 {
			// The database refused the login: the lease was revoked
			// early. Drop these credentials, unless already replaced.
			creds.InvalidateIf(func(current dbCredentials) bool { return current.LeaseID == c.LeaseID })
		}
	}
	// Output:
	// connection 0: orders-rw-1 (password [REDACTED], lease-1)
	// connection 1: orders-rw-1 (password [REDACTED], lease-1)
	// connection 2: orders-rw-2 (password [REDACTED], lease-2)
}

// jwks is a JSON Web Key Set (RFC 7517), reduced to the key IDs.
type jwks struct {
	Keys []struct {
		KeyID string `json:"kid"`
	} `json:"keys"`
}

// A JSON Web Key Set that a token verifier needs on every request, fetched
// from the issuer and renewed in the background: while the next set is
// fetched, verifiers are served the current one at once.
func ExampleNew_jwks() {
	var fetches atomic.Int32 // the issuer rotates its key on each fetch
	issuer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"keys":[{"kid":"key-%d","kty":"OKP","crv":"Ed25519"}]}`, fetches.Add(1))
	}))
	defer issuer.Close()

	fetch := func(ctx context.Context, _ *tokenactor.Entry[jwks]) (tokenactor.Entry[jwks], error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, issuer.URL, nil)
		if err != nil {
			return tokenactor.Entry[jwks]{}, err
		}
		resp, err := issuer.Client().Do(req)
		if err != nil {
			return tokenactor.Entry[jwks]{}, err
		}
		defer resp.Body.Close()
		var set jwks
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
			return tokenactor.Entry[jwks]{}, err
		}
		if len(set.Keys) == 0 {
			return tokenactor.Entry[jwks]{}, errors.New("jwks: no keys")
		}
		// Good for an hour, but the issuer asks verifiers to look for a new
		// key half a second from now (in practice, minutes before it signs
		// with it). A RefreshAt already past when the cache stores the entry
		// would be ignored, hence a margin a slow machine cannot eat.
		now := time.Now()
		return tokenactor.Entry[jwks]{Value: set, ExpiresAt: now.Add(time.Hour), RefreshAt: now.Add(500 * time.Millisecond)}, nil
	}
	refreshed := make(chan struct{}, 2)
	keys := tokenactor.New(tokenactor.RefresherFunc[jwks](fetch),
		tokenactor.WithEventHook(func(e tokenactor.Event) {
			if _, ok := e.(tokenactor.RefreshSucceeded); ok {
				refreshed <- struct{}{}
			}
		}))
	defer keys.Close()
	ctx := context.Background()

	get := func() string {
		set, err := keys.Get(ctx)
		if err != nil {
			return "error: " + err.Error()
		}
		return set.Keys[0].KeyID
	}
	fmt.Println("verify with", get())
	<-refreshed // the first fetch

	// Requests keep coming and are served key-1 at once; the first one
	// that finds the set due starts the background fetch.
	fmt.Println("verify with", get())
	for deadline := time.Now().Add(10 * time.Second); len(refreshed) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			fmt.Println("no background fetch within 10 s")
			return
		}
		get()
	}
	<-refreshed
	fmt.Println("verify with", get())
	// Output:
	// verify with key-1
	// verify with key-1
	// verify with key-2
}
