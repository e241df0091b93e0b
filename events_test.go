package tokenactor_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor"
)

// recordHandler is a slog.Handler that keeps every record it is given, with
// its attributes as strings.
type recordHandler struct {
	mu      sync.Mutex
	records []logRecord
}

type logRecord struct {
	Level slog.Level
	Msg   string
	Attrs map[string]string
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordHandler) WithGroup(string) slog.Handler            { return h }

func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{Level: r.Level, Msg: r.Message, Attrs: map[string]string{}}
	r.Attrs(func(a slog.Attr) bool {
		rec.Attrs[a.Key] = a.Value.Resolve().String()
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, rec)
	return nil
}

func TestLogEvents(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	panicErr := &tokenactor.PanicError{Value: "boom"}
	tests := []struct {
		name string
		give tokenactor.Event
		want logRecord
	}{
		{
			name: "started",
			give: tokenactor.RefreshStarted{Op: tokenactor.OpRefresh, Attempt: 2, Background: true},
			want: logRecord{Level: slog.LevelDebug, Msg: "tokenactor: refresh started",
				Attrs: map[string]string{"op": "refresh", "attempt": "2", "background": "true"}},
		},
		{
			name: "succeeded",
			give: tokenactor.RefreshSucceeded{Op: tokenactor.OpAuthenticate, Attempt: 1, ExpiresAt: at, Took: 250 * time.Millisecond, Waiters: 4, Waited: 600 * time.Millisecond},
			want: logRecord{Level: slog.LevelDebug, Msg: "tokenactor: refresh succeeded",
				Attrs: map[string]string{"op": "authenticate", "attempt": "1", "expires_at": at.String(), "took": "250ms", "waiters": "4", "waited": "600ms"}},
		},
		{
			name: "failed",
			give: tokenactor.RefreshFailed{Op: tokenactor.OpRefresh, Attempt: 3, Err: errors.New("server said no"), NextRetry: at, Took: time.Second, Waiters: 2, Waited: 1500 * time.Millisecond},
			want: logRecord{Level: slog.LevelWarn, Msg: "tokenactor: refresh failed",
				Attrs: map[string]string{"op": "refresh", "attempt": "3", "next_retry": at.String(), "error": "server said no", "took": "1s", "waiters": "2", "waited": "1.5s"}},
		},
		{
			name: "refresher panicked",
			give: tokenactor.RefreshFailed{Op: tokenactor.OpAuthenticate, Attempt: 1, Err: panicErr, NextRetry: at},
			want: logRecord{Level: slog.LevelError, Msg: "tokenactor: refresh failed",
				Attrs: map[string]string{"op": "authenticate", "attempt": "1", "next_retry": at.String(), "error": "tokenactor: panic: boom", "took": "0s", "waiters": "0", "waited": "0s"}},
		},
		{
			name: "closed",
			give: tokenactor.Closed{Abandoned: true},
			want: logRecord{Level: slog.LevelDebug, Msg: "tokenactor: closed", Attrs: map[string]string{"abandoned": "true"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &recordHandler{}
			tokenactor.LogEvents(slog.New(h))(tt.give)
			if diff := cmp.Diff([]logRecord{tt.want}, h.records); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
		})
	}
}

// secretRefresher returns a value holding a secret, then fails with an
// error.
type secretRefresher struct{}

func (secretRefresher) Refresh(_ context.Context, previous *tokenactor.Entry[tokenactor.ServiceToken]) (tokenactor.Entry[tokenactor.ServiceToken], error) {
	if previous != nil {
		return tokenactor.Entry[tokenactor.ServiceToken]{}, errors.New("refused")
	}
	return tokenactor.Entry[tokenactor.ServiceToken]{
		Value:     tokenactor.ServiceToken{AccessToken: tokenactor.NewSecretToken("top-secret-value")},
		ExpiresAt: time.Now().Add(time.Hour),
	}, nil
}

// TestLogEventsFromCache wires LogEvents to a real cache and checks that its
// records describe the calls without the value.
func TestLogEventsFromCache(t *testing.T) {
	h := &recordHandler{}
	cache := tokenactor.New(secretRefresher{}, tokenactor.WithEventHook(tokenactor.LogEvents(slog.New(h))))
	if _, err := cache.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	cache.Invalidate()
	if _, err := cache.Get(context.Background()); err == nil {
		t.Fatal("Get after a refused refresh succeeded")
	}
	cache.Close() // waits for the loop, so every event has been logged

	h.mu.Lock()
	defer h.mu.Unlock()
	var msgs []string
	for _, r := range h.records {
		msgs = append(msgs, r.Msg)
		for k, v := range r.Attrs {
			if strings.Contains(v, "top-secret-value") {
				t.Errorf("record %q attribute %s holds the secret", r.Msg, k)
			}
		}
	}
	want := []string{
		"tokenactor: refresh started", "tokenactor: refresh succeeded",
		"tokenactor: refresh started", "tokenactor: refresh failed",
		"tokenactor: closed",
	}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}
